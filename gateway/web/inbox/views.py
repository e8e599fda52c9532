"""What the inbox pages show, read from the FHIR resources (all through FhirInteractions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from gateway.api.interactions import FhirInteractions
from gateway.canonical import PROTECTED_IDENTITY_CODES
from gateway.errors import FhirError
from gateway.resources.references import references_in
from gateway.search.dates import SWEDISH_TIME
from gateway.search.index import split_reference
from gateway.store.resources import StoredResource
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER
from gateway.web.inbox.attachments import AttachmentView, attachment_views
from gateway.web.inbox.catalog import Terminology

BASE = "https://kv-gateway.se/fhir/StructureDefinition/"
EXT_PLANNED_ACTIVITY = f"{BASE}kv-planned-activity"
EXT_PURPOSE = f"{BASE}kv-request-purpose"
EXT_BACKGROUND = f"{BASE}kv-background"
EXT_MIX = f"{BASE}kv-mix-need-group"
EXT_OTHER_CONTACT = f"{BASE}kv-other-contact"
EXT_DESIRED_DATE = f"{BASE}kv-desired-answer-date"
EXT_MEETING = f"{BASE}kv-avstamningsmote-requested"
EXT_CONSENT_METHOD = f"{BASE}kv-consent-method"
EXT_RECORDED_BY = f"{BASE}kv-consent-recorded-by"
SYSTEM_SAMORDNINGSNUMMER = "http://electronichealth.se/identifier/samordningsnummer"

STATUS_SV = {
    "requested": "Oläst",
    "received": "Läst",
    "accepted": "Accepterad",
    "in-progress": "Pågår",
    "on-hold": "Vilande",
    "completed": "Klar",
    "rejected": "Avvisad",
    "cancelled": "Återkallad",
    "failed": "Misslyckad",
}
OPEN = frozenset({"requested", "received", "accepted", "in-progress", "on-hold"})
TELECOM_SV = {"phone": "Telefon", "email": "E-post", "fax": "Fax"}


def try_read(fhir: FhirInteractions, reference: str | None) -> StoredResource | None:
    """The resource if it exists and the caller may see it; None otherwise."""
    ref_type, ref_id = split_reference(reference or "")
    if not ref_type or not ref_id:
        return None
    try:
        return fhir.read(ref_type, ref_id)
    except FhirError as error:
        if error.status in (403, 404, 410):
            return None
        raise


def first_reference(value: Any) -> str | None:
    found = references_in(value)
    return found[0] if found else None


def concept_text(concept: Any, codes: Terminology) -> str:
    if not isinstance(concept, dict):
        return ""
    for coding in concept.get("coding") or []:
        shown = coding.get("display") or codes.display(coding.get("system"), coding.get("code"))
        if shown:
            return str(shown)
    return str(concept.get("text") or "")


def _ext(body: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in body.get("extension") or [] if e.get("url") == url]


def _value(extension: dict[str, Any] | None) -> Any:
    if not extension:
        return None
    return next((v for k, v in extension.items() if k.startswith("value")), None)


def _sub(extension: dict[str, Any], url: str) -> Any:
    return _value(next((e for e in extension.get("extension") or [] if e.get("url") == url), None))


def local_time(value: Any) -> str:
    """A FHIR instant or dateTime as Swedish time, ``2026-03-01 14:05``."""
    text = str(value or "")
    if len(text) <= 10:  # a date (or nothing): no time to convert
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text[:16].replace("T", " ")
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(SWEDISH_TIME).strftime("%Y-%m-%d %H:%M")


def person_number(value: Any) -> str:
    """``YYYYMMDDNNNN`` as it is written: ``YYYYMMDD-NNNN``."""
    text = str(value or "")
    return f"{text[:8]}-{text[8:]}" if len(text) == 12 and text.isdigit() else text


def human_name(body: dict[str, Any] | None) -> str:
    for name in (body or {}).get("name") or []:
        if isinstance(name, dict):
            if name.get("text"):
                return str(name["text"])
            return " ".join([*name.get("given", []), name.get("family", "")]).strip()
        if isinstance(name, str):
            return name
    return ""


def is_protected(*bodies: dict[str, Any] | None) -> bool:
    for body in bodies:
        for label in ((body or {}).get("meta") or {}).get("security") or []:
            if label.get("code") in PROTECTED_IDENTITY_CODES:
                return True
    return False


@dataclass
class TaskRow:
    id: str
    status: str
    status_sv: str
    kommun: str
    person: str
    authored: str
    due: str
    overdue: bool
    business_status: str


@dataclass
class Person:
    name: str
    identifier_label: str
    identifier: str
    birth_date: str
    protected: bool
    address: list[str] = field(default_factory=list)
    telecom: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Activity:
    type: str
    hours: str
    start: str
    physical: str
    mental: str
    text: str


@dataclass
class ConsentSummary:
    status: str
    method: str
    period: str
    given: str
    recorded_by: str
    document: str


@dataclass
class Contact:
    name: str
    kommun: str
    telecom: list[tuple[str, str]]


@dataclass
class Message:
    sent: str
    from_us: bool
    sender: str
    text: str
    attachments: list[AttachmentView] = field(default_factory=list)


def due_date(task: dict[str, Any]) -> str:
    return str(((task.get("restriction") or {}).get("period") or {}).get("end") or "")


def is_overdue(task: dict[str, Any], today: date) -> bool:
    due = due_date(task)[:10]
    return bool(due) and task.get("status") in OPEN and due < today.isoformat()


class Reader:
    """Reads what a page needs, caching within one request."""

    def __init__(self, fhir: FhirInteractions, codes: Terminology) -> None:
        self.fhir = fhir
        self.codes = codes
        self._cache: dict[str, StoredResource | None] = {}

    def get(self, reference: str | None) -> dict[str, Any] | None:
        if not reference:
            return None
        if reference not in self._cache:
            self._cache[reference] = try_read(self.fhir, reference)
        stored = self._cache[reference]
        return stored.body if stored is not None else None

    def organization_name(self, reference: str | None) -> str:
        body = self.get(reference)
        return str((body or {}).get("name") or reference or "")

    def kommun_of(self, task: dict[str, Any]) -> str:
        requester = first_reference(task.get("requester"))
        if requester and requester.startswith("PractitionerRole/"):
            role = self.get(requester) or {}
            return self.organization_name(first_reference(role.get("organization")))
        return self.organization_name(requester)

    def row(self, stored: StoredResource, today: date) -> TaskRow:
        task = stored.body or {}
        patient = self.get(first_reference(task.get("for")))
        return TaskRow(
            id=stored.id,
            status=str(task.get("status")),
            status_sv=STATUS_SV.get(str(task.get("status")), str(task.get("status"))),
            kommun=self.kommun_of(task),
            person=human_name(patient),
            authored=str(task.get("authoredOn") or "")[:10],
            due=due_date(task)[:10],
            overdue=is_overdue(task, today),
            business_status=concept_text(task.get("businessStatus"), self.codes),
        )

    def person(self, task: dict[str, Any]) -> Person:
        patient = self.get(first_reference(task.get("for"))) or {}
        protected = is_protected(patient, task)
        label, value = "Identitet", ""
        for identifier in patient.get("identifier") or []:
            if identifier.get("system") == SYSTEM_PERSONNUMMER:
                label, value = "Personnummer", person_number(identifier.get("value"))
                break
            if identifier.get("system") == SYSTEM_SAMORDNINGSNUMMER:
                label, value = "Samordningsnummer", person_number(identifier.get("value"))
        person = Person(
            human_name(patient), label, value, str(patient.get("birthDate") or ""), protected
        )
        if not protected:  # address and contact data of a protected person are never shown
            for address in patient.get("address") or []:
                parts = [*address.get("line", []), address.get("postalCode"), address.get("city")]
                person.address.append(", ".join(str(p) for p in parts if p))
            person.telecom = _telecom(patient)
        return person

    def activities(self, request: dict[str, Any]) -> list[Activity]:
        found = []
        for extension in _ext(request, EXT_PLANNED_ACTIVITY):
            hours = _sub(extension, "hoursPerWeek")
            found.append(
                Activity(
                    type=concept_text(_sub(extension, "type"), self.codes),
                    hours="" if hours is None else f"{hours:g}",
                    start=str(_sub(extension, "startDate") or ""),
                    physical=str(_sub(extension, "physicalDemands") or ""),
                    mental=str(_sub(extension, "mentalDemands") or ""),
                    text=str(_sub(extension, "text") or ""),
                )
            )
        return found

    def question(self, request: dict[str, Any]) -> dict[str, Any]:
        """The kommun's question: reason, purpose, background, MIX, other contacts, wishes."""
        meeting = _value(next(iter(_ext(request, EXT_MEETING)), None))
        return {
            "reasons": [concept_text(c, self.codes) for c in request.get("reasonCode") or []],
            "purpose": _value(next(iter(_ext(request, EXT_PURPOSE)), None)) or "",
            "background": _value(next(iter(_ext(request, EXT_BACKGROUND)), None)) or "",
            "mix": concept_text(_value(next(iter(_ext(request, EXT_MIX)), None)), self.codes),
            "other_contacts": [
                " – ".join(
                    p
                    for p in (
                        concept_text(_sub(e, "type"), self.codes),
                        str(_sub(e, "text") or ""),
                    )
                    if p
                )
                for e in _ext(request, EXT_OTHER_CONTACT)
            ],
            "desired_date": _value(next(iter(_ext(request, EXT_DESIRED_DATE)), None)) or "",
            "meeting": meeting,
            "notes": [str(n.get("text")) for n in request.get("note") or [] if n.get("text")],
            "case_ids": [str(i.get("value")) for i in request.get("identifier") or []],
            "authored": str(request.get("authoredOn") or "")[:10],
        }

    def consent(self, request: dict[str, Any]) -> ConsentSummary | None:
        for reference in references_in(request.get("supportingInfo")):
            if not reference.startswith("Consent/"):
                continue
            body = self.get(reference)
            if body is None:
                continue
            provision = body.get("provision") or {}
            period = provision.get("period") or {}
            recorded = ""
            attachment = body.get("sourceAttachment") or {}
            for verification in body.get("verification") or []:
                for extension in _ext(verification, EXT_RECORDED_BY):
                    role_ref = first_reference(_value(extension))
                    role = self.get(role_ref) or {}
                    who = self.practitioner_name(role)
                    kommun = self.organization_name(first_reference(role.get("organization")))
                    when = str(verification.get("verificationDate") or "")[:10]
                    recorded = ", ".join(p for p in (who, kommun, when) if p)
            return ConsentSummary(
                status={"active": "Gäller", "inactive": "Återkallat"}.get(
                    str(body.get("status")), str(body.get("status"))
                ),
                method=concept_text(
                    _value(next(iter(_ext(body, EXT_CONSENT_METHOD)), None)), self.codes
                ),
                period=f"{period.get('start', '')[:10]} – {period.get('end', '')[:10]}".strip(),
                given=str(body.get("dateTime") or "")[:10],
                recorded_by=recorded,
                document=str(attachment.get("title") or ""),
            )
        return None

    def practitioner_name(self, role: dict[str, Any]) -> str:
        practitioner = self.get(first_reference(role.get("practitioner")))
        return human_name(practitioner)

    def contact(self, task: dict[str, Any]) -> Contact | None:
        role_ref = first_reference(task.get("requester"))
        if not role_ref or not role_ref.startswith("PractitionerRole/"):
            return None
        role = self.get(role_ref) or {}
        return Contact(
            name=self.practitioner_name(role),
            kommun=self.organization_name(first_reference(role.get("organization"))),
            telecom=_telecom(role),
        )

    def messages(self, task_ref: str, own_party: str) -> list[Message]:
        # All of them: the parties' messages are capped below this page (the workflow's
        # MAX_MESSAGES_PER_TASK), which leaves room for the gateway's own few notices.
        found = self.fhir.search("Communication", [("part-of", task_ref), ("_count", "200")]).found
        _, task_id = split_reference(task_ref)
        messages = []
        for stored in found:
            body = stored.body or {}
            sender = first_reference(body.get("sender")) or ""
            text = " ".join(
                str(p.get("contentString"))
                for p in body.get("payload") or []
                if p.get("contentString")
            )
            messages.append(
                Message(
                    sent=local_time(body.get("sent")),
                    from_us=sender == own_party,
                    sender=self.organization_name(sender),
                    text=text,
                    attachments=attachment_views(task_id, stored.id, body.get("payload") or []),
                )
            )
        return sorted(messages, key=lambda m: m.sent)


def _telecom(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (TELECOM_SV.get(str(t.get("system")), str(t.get("system"))), str(t.get("value")))
        for t in body.get("telecom") or []
        if t.get("value")
    ]
