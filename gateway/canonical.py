"""Canonical URLs of kv-gateway's conformance resources (profiles/ defines them in FSH).

One place for the code systems, extensions and the national Questionnaire that the code
refers to, so the Python and the published artifacts cannot drift apart (a test compares
them with profiles/compiled when it is present).
"""

from __future__ import annotations

BASE = "https://kv-gateway.se/fhir"


def code_system(name: str) -> str:
    return f"{BASE}/CodeSystem/{name}"


def extension(name: str) -> str:
    return f"{BASE}/StructureDefinition/{name}"


def profile(name: str) -> str:
    return f"{BASE}/StructureDefinition/{name}"


def operation(name: str) -> str:
    return f"{BASE}/OperationDefinition/{name}"


QUESTIONNAIRE = f"{BASE}/Questionnaire/medicinskt-utlatande-aktivitetsformaga"
QUESTIONNAIRE_VERSION = "1.0.0"

CS_ORGANIZATION_TYPE = code_system("kv-organization-type")
CS_CONNECTION_TYPE = code_system("kv-endpoint-connection-type")
CS_REQUEST_TYPE = code_system("kv-request-type")
CS_TASK_PARAMETER_TYPE = code_system("kv-task-parameter-type")
CS_TASK_BUSINESS_STATUS = code_system("kv-task-business-status")
CS_REJECTION_REASON = code_system("kv-rejection-reason")
CS_GATEWAY_TASK_REASON = code_system("kv-gateway-task-reason")
CS_PRACTITIONER_ROLE = code_system("kv-practitioner-role")

# The gateway's own operations (the CapabilityStatement names them; profiles/ does not
# define them yet).
OP_SUBMIT = operation("ServiceRequest-submit")  # POST ServiceRequest/$submit
OP_RESOLVE_ROUTE = operation("resolve-route")  # POST $resolve-route

EXT_DESIRED_ANSWER_DATE = extension("kv-desired-answer-date")
EXT_RECORDED_BY = extension("kv-recorded-by")

SECURITY_LABEL_SYSTEM = "http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel"
PROTECTED_IDENTITY_CODES = frozenset({"sekretessmarkering", "skyddadFolkbokforing"})

# Identifier systems of the gateway's own making.
IDEMPOTENCY_KEY_SYSTEM = f"{BASE}/identifier/idempotency-key"
