"""The search parameters the gateway declares, each with the FHIRPath that feeds its index.

One table drives three things: what the store indexes on every write, what the search
API accepts, and what the CapabilityStatement says. Declaring a parameter here is the only
way to make it searchable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from fhirpathpy import compile as compile_fhirpath
from fhirpathpy.models import models as fhirpath_models


class ParamType(StrEnum):
    TOKEN = "token"
    REFERENCE = "reference"
    DATE = "date"
    STRING = "string"
    URI = "uri"


R4_MODEL = fhirpath_models["r4"]


@dataclass(frozen=True)
class SearchParameter:
    resource_type: str
    name: str
    type: ParamType
    expression: str
    documentation: str
    definition: str | None = None
    targets: tuple[str, ...] = field(default=())
    # Personal identifiers: indexed and searched only as keyed blind indexes.
    blind: bool = False
    # A token on a boolean element: a search value is true or false, nothing else. It
    # changes what a search accepts, not the rows indexed (index_marks leaves it out).
    boolean: bool = False

    @cached_property
    def evaluate(self) -> Callable[[Mapping[str, Any], Mapping[str, Any] | None], list[Any]]:
        """The expression compiled once (fhirpathpy), called as ``evaluate(resource, None)``.
        With the R4 model, so that ``value`` finds ``valueCodeableConcept``, as in the
        IG's own SearchParameters. (Their expressions say ``extension.where(url=…)``:
        fhirpathpy's ``extension('url')`` returns only the first of several matches.)"""
        return compile_fhirpath(self.expression, R4_MODEL)

    @cached_property
    def _paths(self) -> tuple[tuple[str, ...], ...] | None:
        """``Type.a.b | Type.c`` as element paths, or None when the expression is more."""
        paths: list[tuple[str, ...]] = []
        for part in self.expression.split("|"):
            steps = part.strip().split(".")
            if len(steps) < 2 or steps[0] != self.resource_type:
                return None
            if not all(step.isidentifier() for step in steps[1:]):
                return None
            paths.append(tuple(steps[1:]))
        return tuple(paths)

    @cached_property
    def _extension_chain(self) -> tuple[str, ...] | None:
        """``Type.extension.where(url='a').extension.where(url='b').value`` as its urls
        (a and b), or None when the expression is something else."""
        head, tail = f"{self.resource_type}", ".value"
        if not self.expression.startswith(head) or not self.expression.endswith(tail):
            return None
        middle = self.expression[len(head) : -len(tail)]
        urls = tuple(_EXTENSION_STEP.findall(middle))
        if not urls or "".join(f".extension.where(url='{url}')" for url in urls) != middle:
            return None
        return urls

    def values(self, resource: dict[str, Any]) -> list[Any]:
        """What the expression selects in ``resource``: plain element paths and extension
        chains are walked directly (the index is filled on every write), anything else
        goes to fhirpathpy."""
        if resource.get("resourceType") == self.resource_type and self._extension_chain:
            return _extension_values(resource, self._extension_chain)
        paths = self._paths
        if paths is None or resource.get("resourceType") != self.resource_type:
            return list(self.evaluate(resource, None))
        found: list[Any] = []
        for path in paths:
            found.extend(_walk(resource, path))
        return found


_EXTENSION_STEP = re.compile(r"\.extension\.where\(url='([^']+)'\)")


def _extension_values(resource: dict[str, Any], urls: tuple[str, ...]) -> list[Any]:
    """The ``value[x]`` of the extensions at the end of a chain of urls, every match."""
    nodes: list[Any] = [resource]
    for url in urls:
        nodes = [
            extension
            for node in nodes
            for extension in (node.get("extension") or [] if isinstance(node, dict) else [])
            if isinstance(extension, dict) and extension.get("url") == url
        ]
    return [
        value
        for node in nodes
        for key, value in node.items()
        if key.startswith("value") and value is not None
    ]


def _walk(resource: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    """FHIRPath member navigation: each step flattens lists and drops what is absent."""
    nodes: list[Any] = [resource]
    for step in path:
        following: list[Any] = []
        for node in nodes:
            value = node.get(step) if isinstance(node, dict) else None
            if isinstance(value, list):
                following.extend(item for item in value if item is not None)
            elif value is not None:
                following.append(value)
        nodes = following
    return nodes


def _core(resource: str, name: str) -> str:
    return f"http://hl7.org/fhir/SearchParameter/{resource}-{name}"


def _kv(code: str) -> str:
    return f"https://kv-gateway.se/fhir/SearchParameter/{code}"


_EXT = "https://kv-gateway.se/fhir/StructureDefinition/"


def _p(
    resource: str,
    name: str,
    type_: ParamType,
    expression: str,
    documentation: str,
    *targets: str,
    core_name: str | None = None,
    blind: bool = False,
    boolean: bool = False,
    definition: str | None = None,  # the gateway's own (the IG's), not a core parameter
) -> SearchParameter:
    return SearchParameter(
        resource_type=resource,
        name=name,
        type=type_,
        expression=expression,
        documentation=documentation,
        definition=definition or _core(resource, core_name or name),
        targets=targets,
        blind=blind,
        boolean=boolean,
    )


T, R, D, S, U = (
    ParamType.TOKEN,
    ParamType.REFERENCE,
    ParamType.DATE,
    ParamType.STRING,
    ParamType.URI,
)

_DECLARED: tuple[SearchParameter, ...] = (
    # ServiceRequest: the kommun's request
    _p("ServiceRequest", "identifier", T, "ServiceRequest.identifier", "Business identifier"),
    _p("ServiceRequest", "subject", R, "ServiceRequest.subject", "The person", "Patient"),
    _p(
        "ServiceRequest",
        "requester",
        R,
        "ServiceRequest.requester",
        "Who asks",
        "PractitionerRole",
        "Practitioner",
        "Organization",
    ),
    _p(
        "ServiceRequest",
        "performer",
        R,
        "ServiceRequest.performer",
        "The unit asked",
        "Organization",
        "PractitionerRole",
    ),
    _p("ServiceRequest", "status", T, "ServiceRequest.status", "Request status"),
    _p(
        "ServiceRequest",
        "planned-activity-type",
        T,
        f"ServiceRequest.extension.where(url='{_EXT}kv-planned-activity')"
        ".extension.where(url='type').value",
        "Type of planned activity (praktik, arbetsträning, SFI …)",
        definition=_kv("kv-servicerequest-planned-activity-type"),
    ),
    _p(
        "ServiceRequest",
        "mix-need-group",
        T,
        f"ServiceRequest.extension.where(url='{_EXT}kv-mix-need-group').value",
        "Need group according to MIX (AM1–AM3, RH1–RH3)",
        definition=_kv("kv-servicerequest-mix-need-group"),
    ),
    _p(
        "ServiceRequest",
        "desired-answer-date",
        D,
        f"ServiceRequest.extension.where(url='{_EXT}kv-desired-answer-date').value",
        "The kommun's desired answer date",
        definition=_kv("kv-servicerequest-desired-answer-date"),
    ),
    _p("ServiceRequest", "authored", D, "ServiceRequest.authoredOn", "When it was written"),
    _p(
        "ServiceRequest",
        "supporting-info",
        R,
        "ServiceRequest.supportingInfo",
        "The consent and other information the request rests on",
    ),
    # Task: the work item
    _p("Task", "identifier", T, "Task.identifier", "Business identifier"),
    _p("Task", "focus", R, "Task.focus", "What the task is about", "ServiceRequest"),
    _p("Task", "owner", R, "Task.owner", "Who does the work", "Organization", "PractitionerRole"),
    _p(
        "Task",
        "requester",
        R,
        "Task.requester",
        "Who asks",
        "PractitionerRole",
        "Organization",
        "Practitioner",
    ),
    _p("Task", "status", T, "Task.status", "Task status"),
    _p("Task", "business-status", T, "Task.businessStatus", "Business status"),
    _p("Task", "modified", D, "Task.lastModified", "Last modification"),
    _p("Task", "based-on", R, "Task.basedOn", "Request fulfilled", "ServiceRequest"),
    _p("Task", "patient", R, "Task.for", "The person", "Patient"),
    _p("Task", "authored-on", D, "Task.authoredOn", "When the request arrived"),
    _p(
        "Task",
        "restriction-period",
        D,
        "Task.restriction.period",
        "When the answer is wanted; overdue open Tasks: restriction-period=lt<today>",
        definition=_kv("kv-task-restriction-period"),
    ),
    _p(
        "Task",
        "due",
        D,
        "Task.restriction.period.end",
        "Desired answer date; the inbox lists open Tasks by _sort=due,authored-on",
        definition=_kv("kv-task-due"),
    ),
    # QuestionnaireResponse: the answer
    _p(
        "QuestionnaireResponse",
        "based-on",
        R,
        "QuestionnaireResponse.basedOn",
        "Request answered",
        "ServiceRequest",
    ),
    _p(
        "QuestionnaireResponse",
        "subject",
        R,
        "QuestionnaireResponse.subject",
        "The person",
        "Patient",
    ),
    _p(
        "QuestionnaireResponse",
        "questionnaire",
        R,
        "QuestionnaireResponse.questionnaire",
        "Form answered",
        "Questionnaire",
    ),
    _p("QuestionnaireResponse", "status", T, "QuestionnaireResponse.status", "Answer status"),
    _p("QuestionnaireResponse", "authored", D, "QuestionnaireResponse.authored", "When answered"),
    # Consent
    _p("Consent", "patient", R, "Consent.patient", "The person", "Patient"),
    _p("Consent", "status", T, "Consent.status", "Consent status"),
    _p(
        "Consent",
        "actor",
        R,
        "Consent.provision.actor.reference | Consent.provision.provision.actor.reference",
        "Party named in a provision",
        "Organization",
        "PractitionerRole",
        "Practitioner",
    ),
    # Directory
    _p("Organization", "identifier", T, "Organization.identifier", "HSA-id, orgnr, kommunkod"),
    _p("Organization", "name", S, "Organization.name | Organization.alias", "Name"),
    _p("Organization", "type", T, "Organization.type", "Kind of organisation"),
    _p("Organization", "partof", R, "Organization.partOf", "Parent", "Organization"),
    _p("Organization", "active", T, "Organization.active", "Whether active", boolean=True),
    _p("Endpoint", "identifier", T, "Endpoint.identifier", "Business identifier"),
    _p(
        "Endpoint",
        "organization",
        R,
        "Endpoint.managingOrganization",
        "Owning unit",
        "Organization",
    ),
    _p("Endpoint", "connection-type", T, "Endpoint.connectionType", "Adapter to use"),
    _p("Endpoint", "status", T, "Endpoint.status", "Endpoint status"),
    _p(
        "PractitionerRole",
        "organization",
        R,
        "PractitionerRole.organization",
        "Where",
        "Organization",
    ),
    _p(
        "PractitionerRole",
        "practitioner",
        R,
        "PractitionerRole.practitioner",
        "Who",
        "Practitioner",
    ),
    _p("PractitionerRole", "identifier", T, "PractitionerRole.identifier", "Business identifier"),
    _p("Practitioner", "identifier", T, "Practitioner.identifier", "HSA-id", blind=True),
    _p(
        "Patient",
        "identifier",
        T,
        "Patient.identifier",
        "Personnummer and other ids",
        blind=True,
    ),
    _p(
        "Patient",
        "general-practitioner",
        R,
        "Patient.generalPractitioner",
        "Listed unit",
        "Organization",
        "PractitionerRole",
        "Practitioner",
        core_name="general-practitioner",
    ),
    # Conformance and messaging
    _p("Questionnaire", "url", U, "Questionnaire.url", "Canonical URL"),
    _p("Questionnaire", "version", T, "Questionnaire.version", "Business version"),
    _p("Questionnaire", "status", T, "Questionnaire.status", "Publication status"),
    _p("Communication", "part-of", R, "Communication.partOf", "Task discussed", "Task"),
    _p("Communication", "based-on", R, "Communication.basedOn", "Request", "ServiceRequest"),
    _p("Communication", "subject", R, "Communication.subject", "The person", "Patient"),
    _p("Communication", "status", T, "Communication.status", "Status"),
    _p("Communication", "sent", D, "Communication.sent", "When sent"),
    _p("Subscription", "status", T, "Subscription.status", "Subscription status"),
    _p("Subscription", "type", T, "Subscription.channel.type", "Channel type"),
    # Audit (read and search only)
    _p("AuditEvent", "date", D, "AuditEvent.recorded", "When recorded"),
    _p("AuditEvent", "type", T, "AuditEvent.type", "Event type"),
    _p("AuditEvent", "subtype", T, "AuditEvent.subtype", "Event subtype"),
    _p("AuditEvent", "action", T, "AuditEvent.action", "C, R, U, D or E"),
    _p("AuditEvent", "outcome", T, "AuditEvent.outcome", "Outcome"),
    _p("AuditEvent", "entity", R, "AuditEvent.entity.what", "Resource concerned"),
    _p("AuditEvent", "agent", R, "AuditEvent.agent.who", "Who acted"),
)


def _index(params: Iterable[SearchParameter]) -> dict[str, dict[str, SearchParameter]]:
    by_type: dict[str, dict[str, SearchParameter]] = {}
    for param in params:
        by_type.setdefault(param.resource_type, {})[param.name] = param
    return by_type


SEARCH_PARAMETERS: dict[str, dict[str, SearchParameter]] = _index(_DECLARED)


def parameters_for(resource_type: str) -> dict[str, SearchParameter]:
    return SEARCH_PARAMETERS.get(resource_type, {})
