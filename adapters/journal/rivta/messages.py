"""From what the delivery worker hands over to a ProcessMedicalStatementRequest.

The Endpoint says where and to whom: its ``identifier`` with an HSA-id system is the
logical address (the profile's "Mottagarens HSA-id (logisk adress)"); an Endpoint whose
``address`` is not an http(s) URL is read as that logical address itself, per the
connection type's definition. The call goes to the address when it is a URL (a producer
or the platform reached directly), otherwise to the configured platform address.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from typing import Any

from adapters.journal.rivta.settings import RivtaJournalSettings
from gateway.delivery.protocols import OutgoingRequest
from gateway.rivta.contract import NOTICE, REQUEST, MedicalStatementRequest, PersonRef
from gateway.routing.person import PersonId, PersonIdError
from gateway.validation.identifiers import SYSTEM_HSA_ID, SYSTEM_HSA_ID_RIVTA

HSA_SYSTEMS = (SYSTEM_HSA_ID, SYSTEM_HSA_ID_RIVTA)
_MESSAGE_ID = re.compile(r"[!-~]{1,128}")


def _is_url(address: str) -> bool:
    return address.startswith(("https://", "http://"))


def logical_address(endpoint: dict[str, Any]) -> str | None:
    for identifier in endpoint.get("identifier") or []:
        if identifier.get("system") in HSA_SYSTEMS and identifier.get("value"):
            return str(identifier["value"])
    address = str(endpoint.get("address") or "").strip()
    return address if address and not _is_url(address) else None


def call_url(endpoint: dict[str, Any], settings: RivtaJournalSettings) -> str | None:
    address = str(endpoint.get("address") or "").strip()
    return address if _is_url(address) else settings.service_url


def message_id(idempotency_key: str) -> str:
    """The outbox's idempotency key, which the contract's messageId can carry as it is
    when short and printable; otherwise a digest of it (stable across retries)."""
    if _MESSAGE_ID.fullmatch(idempotency_key):
        return idempotency_key
    return "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle.get("entry") or []
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]


def _of_type(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r.get("resourceType") == kind]


def _patient(resources: list[dict[str, Any]]) -> PersonRef | None:
    for patient in _of_type(resources, "Patient"):
        for identifier in patient.get("identifier") or []:
            try:
                person = PersonId.parse(identifier.get("system"), identifier.get("value"))
            except PersonIdError:
                continue
            return PersonRef(person.rivta_root, person.value)
    return None


def _answer_by(task: dict[str, Any] | None) -> datetime.date | None:
    end = (((task or {}).get("restriction") or {}).get("period") or {}).get("end")
    try:
        return datetime.date.fromisoformat(str(end)[:10]) if end else None
    except ValueError:
        return None


def _care_unit(resources: list[dict[str, Any]], task: dict[str, Any] | None, fallback: str) -> str:
    """The Task owner's HSA-id when the Bundle carries the owner, else the logical address."""
    owner = str(((task or {}).get("owner") or {}).get("reference") or "")
    for organization in _of_type(resources, "Organization"):
        if owner and owner == f"Organization/{organization.get('id')}":
            for identifier in organization.get("identifier") or []:
                if identifier.get("system") in HSA_SYSTEMS and identifier.get("value"):
                    return str(identifier["value"])
    return fallback


def message_for(
    request: OutgoingRequest, address: str, now: datetime.datetime
) -> MedicalStatementRequest:
    resources = _resources(request.bundle)
    tasks = _of_type(resources, "Task")
    task = tasks[0] if tasks else None
    is_request = bool(_of_type(resources, "ServiceRequest"))
    return MedicalStatementRequest(
        message_id=message_id(request.idempotency_key),
        message_type=REQUEST if is_request else NOTICE,
        task_id=request.task_id,
        care_unit=_care_unit(resources, task, address),
        sent_at=now,
        bundle=request.bundle,
        patient=_patient(resources) if is_request else None,
        answer_by=_answer_by(task) if is_request else None,
    )
