"""The workflow's steps around writes and reads of ServiceRequest, Task,
QuestionnaireResponse, Consent, Communication and Subscription (plugged into the FHIR
interactions)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from gateway.api.interactions import FhirInteractions, PassThroughHook
from gateway.canonical import CS_GATEWAY_TASK_REASON, CS_TASK_PARAMETER_TYPE
from gateway.consent.evaluator import WITHDRAWN_SV
from gateway.delivery import webhook_targets
from gateway.delivery.outbox import withhold
from gateway.delivery.webhook_targets import TargetRefusedError, WebhookTargets
from gateway.errors import FhirError, not_found
from gateway.resources.references import as_logical, references_in
from gateway.routing.directory_hooks import EndpointChecksHook, UniqueHsaIdHook
from gateway.routing.person import CANONICAL_SYSTEM
from gateway.search.index import split_reference
from gateway.search.query import SearchQuery, parse_search
from gateway.security.caller import PartyKind
from gateway.store.resources import StoredResource, utc_now
from gateway.validation.terminology import canonical_url
from gateway.workflow.attachments import checked_attachments
from gateway.workflow.consent_checks import (
    may_withdraw,
    organization_of,
    task_decision,
)
from gateway.workflow.dispatch import consent_still_permits
from gateway.workflow.notices import JOURNAL_NOTICE, queue_notice
from gateway.workflow.submit import identifier_criteria
from gateway.workflow.subscriptions import NOTIFICATION, notify_subscribers
from gateway.workflow.task_parts import (
    UNITS_PARAMETERS,
    party_elements,
    without_redacted_label,
    without_units_part,
)
from gateway.workflow.task_states import OPEN, Role, check_transition
from gateway.workflow.transitions import REASON_CONSENT_WITHDRAWN, change_task, reason

# What a party may change on a Task, besides moving its status. ``meta`` is compared on
# its own (_meta_changed); ``output`` is the gateway's, set when the answer arrives. Notes
# are only added to, and the unit's work status is the unit's (task_parts.party_elements).
_TASK_MUTABLE = frozenset({"status", "businessStatus", "statusReason", "note", "lastModified"})
# Stamped by the store on every version.
_SERVER_META = frozenset({"versionId", "lastUpdated"})


def _refuse(
    status: int, text_sv: str, diagnostics: str, expression: str | None = None
) -> FhirError:
    code = {403: "forbidden", 409: "business-rule", 422: "business-rule"}.get(status, "invalid")
    return FhirError.single(status, code, text_sv, expression=expression, diagnostics=diagnostics)


def _first(value: Any) -> str | None:
    references = references_in(value)
    return references[0] if references else None


def task_role(fhir: FhirInteractions, task: dict[str, Any]) -> Role | None:
    if fhir.caller.party_kind is PartyKind.OPERATOR:
        return Role.GATEWAY
    if _first(task.get("owner")) == fhir.caller.party:
        return Role.OWNER
    requester = task.get("requester")
    if requester and organization_of(fhir.store)(requester) == fhir.caller.party:
        return Role.REQUESTER
    return None


def _meta_changed(sent: dict[str, Any], kept: dict[str, Any]) -> bool:
    """Whether ``sent`` changes any of ``kept``'s meta elements besides those the store
    stamps (security labels, tags, profiles). An element left out is kept."""
    sent_meta, kept_meta = sent.get("meta") or {}, kept.get("meta") or {}
    return any(sent_meta[k] != kept_meta.get(k) for k in set(sent_meta) - _SERVER_META)


def _kept_meta(sent: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    return {**(kept.get("meta") or {}), **(sent.get("meta") or {})}


class _Hook(PassThroughHook):
    # A record the case rests on: changed through its workflow, never deleted by a party.
    case_record = False

    def before_delete(self, fhir: FhirInteractions, existing: StoredResource) -> None:
        if self.case_record and fhir.caller.party_kind is not PartyKind.OPERATOR:
            raise _refuse(
                409,
                "Ärendets handlingar tas inte bort. Kommunen återkallar en förfrågan genom "
                "att sätta uppgiften till återkallad, vårdcentralen avvisar den, och ett "
                "samtycke återkallas genom att sättas till inaktivt.",
                f"a {self.resource_type} is part of the case record; only an operator deletes",
                self.resource_type,
            )


class ServiceRequestHook(_Hook):
    """A kommun's request is submitted, never created alone: a ServiceRequest stored
    without routing, consent decision and Task would reach no vårdcentral, while the
    kommun took it as sent."""

    resource_type = "ServiceRequest"
    case_record = True

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        if existing is None and fhir.caller.party_kind is PartyKind.KOMMUN and not fhir.submitting:
            raise _refuse(
                422,
                "En förfrågan skickas med ServiceRequest/$submit, eller som en transaktion "
                "tillsammans med personens samtycke. En ensam ServiceRequest når ingen "
                "vårdcentral.",
                "a kommun's ServiceRequest is created by submitting it ($submit or a "
                "transaction Bundle with its Consent)",
                "ServiceRequest",
            )
        return body


class TaskHook(_Hook):
    """Tasks are made by submitting a request; afterwards only legal changes, by the right party."""

    resource_type = "Task"
    case_record = True
    # Its read check leaves the unit's part out, never the Task: counts of Tasks stay exact.
    withholds_on_read = False

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        if existing is None or existing.body is None:
            if fhir.caller.party_kind is not PartyKind.OPERATOR and not fhir.workflow_internal:
                raise _refuse(
                    422,
                    "En uppgift skapas när kommunen skickar en förfrågan ($submit).",
                    "Tasks are created by ServiceRequest/$submit",
                )
            return body
        role = task_role(fhir, existing.body)
        if role is None:
            raise _refuse(
                403, "Du får inte ändra den här uppgiften.", "neither owner nor requester"
            )
        body = without_redacted_label(body)
        changed = {k for k in set(body) | set(existing.body) if body.get(k) != existing.body.get(k)}
        frozen = changed - _TASK_MUTABLE - {"meta"}
        if _meta_changed(body, existing.body):
            frozen.add("meta")
        if frozen and role is not Role.GATEWAY:
            raise _refuse(
                409,
                "Bara status, arbetsstatus, anledning och anteckningar får ändras på uppgiften.",
                f"immutable elements changed: {', '.join(sorted(frozen))}",
                f"Task.{sorted(frozen)[0]}",
            )
        new_status = body.get("status", "")
        if new_status == "completed" and role is not Role.GATEWAY:
            raise _refuse(
                409,
                "Uppgiften blir klar när utlåtandet skickas in, inte genom att ändra status.",
                "Task completion happens by submitting the QuestionnaireResponse",
                "Task.status",
            )
        check_transition(existing.body["status"], new_status, role)
        if new_status == "rejected" and not (body.get("statusReason") or {}).get("coding"):
            raise _refuse(
                422,
                "Ange en anledning (kod) när förfrågan avvisas.",
                "a rejected Task needs statusReason with a code from the rejection reasons",
                "Task.statusReason",
            )
        if new_status == "on-hold" and not (body.get("businessStatus") or {}).get("coding"):
            raise _refuse(
                422,
                "Ange en arbetsstatus (kod) som säger vad arbetet väntar på när uppgiften "
                "blir vilande, till exempel besök bokat eller väntar på komplettering.",
                "an on-hold Task needs businessStatus with a code from the business statuses",
                "Task.businessStatus",
            )
        body = dict(body)
        body["meta"] = _kept_meta(body, existing.body)  # security labels stay when left out
        now = utc_now().isoformat().replace("+00:00", "Z")
        body["lastModified"] = now
        if role is not Role.GATEWAY:
            body = party_elements(body, existing.body, role, fhir.caller.party, now)
        return body

    def after_write(
        self, fhir: FhirInteractions, stored: StoredResource, existing: StoredResource | None
    ) -> None:
        notify_subscribers(fhir.store, stored)
        if stored.body and stored.body.get("status") in ("cancelled", "rejected"):
            withhold(fhir.store.session, stored.reference, ("journal-request",))

    def after_read(self, fhir: FhirInteractions, stored: StoredResource) -> StoredResource:
        """What the unit wrote on the kommun's Task (its notes, its work status, its reason)
        is a disclosure like its answer: with consent no longer permitting, the kommun sees
        the Task without it. Consent is only checked, and the decision audited, when the
        Task holds something the reader did not write. Any kommun that reads the Task is
        checked so, whatever its requester resolves to now."""
        if fhir.caller.party_kind is not PartyKind.KOMMUN or stored.body is None:
            return stored
        redacted = without_units_part(stored.body, fhir.caller.party)
        if redacted is None:
            return stored
        check = consent_still_permits(fhir.store, stored)
        fhir.trail.events.append(task_decision(fhir.store, stored, check, fhir.caller))
        return stored if check.permitted else replace(stored, body=redacted)

    def before_search(self, fhir: FhirInteractions, query: SearchQuery) -> None:
        """The unit's work status is the unit's word about the person: a kommun that could
        search, sort or match a condition on it would learn it from what matches, even
        where the read leaves it out. The kommun reads it on the Task."""
        if (
            fhir.caller.party_kind is PartyKind.KOMMUN
            and UNITS_PARAMETERS & query.parameter_names()
        ):
            raise _refuse(
                403,
                "Kommunen kan inte söka, sortera eller ställa villkor på vårdcentralens "
                "arbetsstatus. Den visas på uppgiften när samtycket medger det.",
                "business-status is the unit's; kommun callers read it on the Task",
                "Task.businessStatus",
            )


ANSWERED = frozenset({"completed", "amended"})


def _asked_questionnaire(task: dict[str, Any]) -> str | None:
    """The Questionnaire the Task asks to be answered (its ``input``), ``url|version``."""
    for given in task.get("input") or []:
        codes = {c.get("code") for c in (given.get("type") or {}).get("coding") or []}
        if "questionnaire" in codes and isinstance(given.get("valueCanonical"), str):
            return str(given["valueCanonical"])
    return None


def _answers_the_task(fhir: FhirInteractions, body: dict[str, Any], task: dict[str, Any]) -> None:
    """An answer completes its Task, so it must be one: finished, and to the Questionnaire
    the Task asks for (its author: :func:`_author`). Without these the answer
    would close the kommun's case with anything at all. The form's version may differ: a
    deployment that ships a new version answers open requests on it (validation holds the
    answer to the version the gateway has)."""
    asked, given = _asked_questionnaire(task), body.get("questionnaire")
    if asked and (not isinstance(given, str) or canonical_url(given) != canonical_url(asked)):
        raise _refuse(
            422,
            "Utlåtandet ska besvara det frågeformulär som förfrågan anger.",
            f"questionnaire must be {canonical_url(asked)}",
            "QuestionnaireResponse.questionnaire",
        )
    if body.get("status") not in ANSWERED:
        raise _refuse(
            422,
            "Utlåtandet ska vara färdigt (status completed) när det skickas.",
            f"status must be one of {', '.join(sorted(ANSWERED))}",
            "QuestionnaireResponse.status",
        )


def _author(fhir: FhirInteractions, author: Any, task: dict[str, Any]) -> Any:
    """The answer's author as it is stored. A literal reference opens the answer to the
    author's organisation (tenancy's parties), so one to a resource here must be a role
    of the unit that owns the Task. One that names nothing here (a journal system's own
    id for its user) becomes a logical reference: who it is, not where."""
    if not isinstance(author, dict) or "reference" not in author:
        return author  # a logical reference names a person and opens nothing
    if organization_of(fhir.store)(author) == _first(task.get("owner")):
        return author
    ref_type, ref_id = split_reference(str(author["reference"]))
    if ref_type is not None and fhir.store.current(ref_type, ref_id) is None:
        return as_logical(author)
    raise _refuse(
        422,
        "Författaren ska vara en yrkesroll på den vårdcentral som har förfrågan.",
        "author must be a PractitionerRole of the Task's owner",
        "QuestionnaireResponse.author",
    )


class PatientHook(_Hook):
    """One Patient per person for each kommun. A submission finds the person among the
    kommun's own records, so a second record with the same personnummer or
    samordningsnummer would make every later submission about the person ambiguous
    (which record is it about?): a kommun's write that would make one is refused (409).
    A submission looks the person up itself and uses the record it finds. Other parties'
    records feed no submission (a region's register may hold what it holds)."""

    resource_type = "Patient"

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        if fhir.submitting or fhir.caller.party_kind is not PartyKind.KOMMUN:
            return body
        held = {
            (i.get("system"), i.get("value"))
            for i in ((existing.body or {}).get("identifier") or [] if existing else [])
        }
        for index, identifier in enumerate(body.get("identifier") or []):
            system, value = identifier.get("system"), identifier.get("value")
            if system not in CANONICAL_SYSTEM or not isinstance(value, str):
                continue
            if (system, value) in held:
                continue  # the record's own: it is not made a second time
            try:
                found = fhir.find_one_for_condition("Patient", identifier_criteria(system, value))
            except FhirError as error:
                if error.status != 412:
                    raise
                raise _duplicate_person(index) from None  # held twice already
            if found is not None and (existing is None or found.id != existing.id):
                raise _duplicate_person(index)
        return body


def _duplicate_person(index: int) -> FhirError:
    return FhirError.single(
        409,
        "duplicate",
        "Personen finns redan hos er med samma personnummer. Använd den posten (sök på "
        "identifier, eller skicka If-None-Exist) i stället för att lägga upp en till.",
        expression=f"Patient.identifier[{index}]",
        diagnostics="the caller holds a Patient with this identifier already",
    )


class QuestionnaireResponseHook(_Hook):
    """The answer: from the owning unit, to an open Task, with consent; completes the Task."""

    resource_type = "QuestionnaireResponse"
    case_record = True

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        if existing is not None:
            raise _refuse(
                409,
                "Ett inskickat utlåtande kan inte ändras.",
                "answers are final",
                "QuestionnaireResponse",
            )
        request_type, request_id = split_reference(_first(body.get("basedOn")) or "")
        if request_type != "ServiceRequest":
            raise _refuse(
                422,
                "Utlåtandet ska höra till en förfrågan (basedOn).",
                "basedOn must name the ServiceRequest",
                "QuestionnaireResponse.basedOn",
            )
        request = _visible_or_404(fhir, "ServiceRequest", request_id)
        task = self._task(fhir, request)
        role = task_role(fhir, task.body or {})
        if role not in (Role.OWNER, Role.GATEWAY):
            raise _refuse(
                403,
                "Bara vårdcentralen som har uppgiften kan svara.",
                "caller does not own the Task",
            )
        status = (task.body or {}).get("status")
        if status not in OPEN:
            raise _refuse(
                409,
                "Förfrågan är redan avslutad.",
                f"the Task is {status}",
                "QuestionnaireResponse.basedOn",
            )
        _answers_the_task(fhir, body, task.body or {})
        _consent_or_refuse(
            fhir,
            task,
            422,
            "Samtycket tillåter inte längre att utlåtandet lämnas ut.",
            "QuestionnaireResponse",
        )
        body = dict(body)
        if "author" in body:
            body["author"] = _author(fhir, body["author"], task.body or {})
        body["basedOn"] = [{"reference": request.reference}]
        body["subject"] = (request.body or {}).get("subject")
        body.setdefault("authored", utc_now().isoformat().replace("+00:00", "Z"))
        return body

    def after_write(
        self, fhir: FhirInteractions, stored: StoredResource, existing: StoredResource | None
    ) -> None:
        request_ref = _first((stored.body or {}).get("basedOn"))
        request = fhir.store.current("ServiceRequest", split_reference(request_ref or "")[1])
        assert request is not None
        task = self._task(fhir, request)
        kommun = organization_of(fhir.store)((task.body or {}).get("requester") or {})
        fhir.store.grant(
            stored.resource_type,
            stored.id,
            {p for p in (kommun, _first((task.body or {}).get("owner"))) if p},
        )
        output = [
            {
                "type": {
                    "coding": [{"system": CS_TASK_PARAMETER_TYPE, "code": "questionnaire-response"}]
                },
                "valueReference": {"reference": stored.reference},
            }
        ]
        change_task(fhir.store, task.id, "completed", Role.GATEWAY, output=output)

    def after_read(self, fhir: FhirInteractions, stored: StoredResource) -> StoredResource:
        """Consent is checked again when the kommun reads the answer."""
        if fhir.caller.party_kind is not PartyKind.KOMMUN:
            return stored
        request_ref = _first((stored.body or {}).get("basedOn"))
        request = fhir.store.current("ServiceRequest", split_reference(request_ref or "")[1])
        if request is None:
            return stored
        task = self._task(fhir, request)
        _consent_or_refuse(
            fhir,
            task,
            403,
            "Samtycket gäller inte längre; utlåtandet lämnas inte ut.",
            "QuestionnaireResponse",
        )
        return stored

    @staticmethod
    def _task(fhir: FhirInteractions, request: StoredResource) -> StoredResource:
        query = parse_search("Task", [("focus", request.reference), ("_count", "1")])
        found, _ = fhir.store.search(query, with_total=False)
        if not found:
            raise _refuse(422, "Förfrågan har ingen uppgift.", "no Task for the ServiceRequest")
        return found[0]


def _consent_or_refuse(
    fhir: FhirInteractions, task: StoredResource, status: int, text_sv: str, expression: str
) -> None:
    """Check the Task's consent for this disclosure, audit the decision (written and
    chained with the rest of the request's trail, whatever its fate), and refuse with
    ``status`` when it no longer permits."""
    check = consent_still_permits(fhir.store, task)
    fhir.trail.events.append(task_decision(fhir.store, task, check, fhir.caller))
    if not check.permitted:
        raise _refuse(status, text_sv, f"consent ({check.code})", expression)


class ConsentHook(_Hook):
    """Revocation cancels open Tasks, withholds their answers and tells the vårdcentral.
    A Consent is revoked by setting it inactive or rejected, or by a newer Consent of the
    person that withdraws it (``dispatch.consent_still_permits``)."""

    resource_type = "Consent"
    case_record = True

    @staticmethod
    def _tell_the_unit(fhir: FhirInteractions, task: StoredResource) -> None:
        _tell_the_unit_about(
            fhir,
            task,
            "Personen har återkallat sitt samtycke. Förfrågan är återkallad; inga uppgifter "
            "ska lämnas ut.",
        )

    def after_write(
        self, fhir: FhirInteractions, stored: StoredResource, existing: StoredResource | None
    ) -> None:
        body = stored.body or {}
        revoked: set[str] = set()
        if existing is not None and body.get("status") in ("inactive", "rejected"):
            for task in self._tasks_resting_on(fhir, stored):
                self._revoke(fhir, task)
                revoked.add(task.id)
        if may_withdraw(body):  # new or changed, it may withdraw the person's other consents
            for task in self._tasks_of(fhir, _first(body.get("patient"))):
                if task.id in revoked:
                    continue
                check = consent_still_permits(fhir.store, task)
                if not check.permitted and check.code == "consent-withdrawn":
                    self._revoke(fhir, task)

    @staticmethod
    def _tasks_resting_on(fhir: FhirInteractions, consent: StoredResource) -> list[StoredResource]:
        requests = parse_search(
            "ServiceRequest", [("supporting-info", consent.reference), ("_count", "200")]
        )
        found, _ = fhir.store.search(requests, with_total=False)
        tasks: list[StoredResource] = []
        for request in found:
            query = parse_search("Task", [("focus", request.reference)])
            tasks.extend(fhir.store.search(query, with_total=False)[0])
        return tasks

    @staticmethod
    def _tasks_of(fhir: FhirInteractions, patient: str | None) -> list[StoredResource]:
        if not patient:
            return []
        query = parse_search("Task", [("patient", patient), ("_count", "200")])
        return fhir.store.search(query, with_total=False)[0]

    def _revoke(self, fhir: FhirInteractions, task: StoredResource) -> None:
        body = task.body or {}
        kommun = organization_of(fhir.store)(body.get("requester") or {})
        # First: what is still waiting (the request, notifications, the kommun's messages)
        # stays; then the unit is told, and that notice goes.
        withhold(
            fhir.store.session, task.reference, ("journal-request", NOTIFICATION, JOURNAL_NOTICE)
        )
        if body.get("status") in OPEN:
            cancelled = change_task(
                fhir.store,
                task.id,
                "cancelled",
                Role.GATEWAY,
                reason=reason(WITHDRAWN_SV, REASON_CONSENT_WITHDRAWN, CS_GATEWAY_TASK_REASON),
            )
            self._tell_the_unit(fhir, cancelled)
        for output in body.get("output", []):
            answer = (output.get("valueReference") or {}).get("reference", "")
            answer_type, answer_id = split_reference(answer)
            if answer_type and kommun:
                fhir.store.revoke(answer_type, answer_id, {kommun})


# A case's dialogue: the parties' messages (the inbox shows 200 on one page, the gateway's
# own few notices included), and what one message may carry.
MAX_MESSAGES_PER_TASK = 150
MAX_PAYLOAD_PARTS = 20


class CommunicationHook(_Hook):
    """Direct dialogue about a Task: between its requester and its owner, with consent.
    The gateway stamps when a message was sent; a case holds at most
    MAX_MESSAGES_PER_TASK messages, each of at most MAX_PAYLOAD_PARTS parts, and what it
    attaches keeps to the rules of ``attachments``."""

    resource_type = "Communication"
    case_record = True

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        if existing is not None:
            raise _refuse(409, "Ett skickat meddelande kan inte ändras.", "messages are final")
        task = self._task(fhir, body)
        role = task_role(fhir, task.body or {})
        if role not in (Role.OWNER, Role.REQUESTER):
            raise _refuse(
                403, "Bara ärendets parter kan skriva om det.", "neither owner nor requester"
            )
        if (task.body or {}).get("status") not in OPEN:
            raise _refuse(409, "Ärendet är avslutat.", "the Task is closed", "Communication.partOf")
        _consent_or_refuse(
            fhir, task, 422, "Samtycket tillåter inte längre utbyte i ärendet.", "Communication"
        )
        if len(body.get("payload") or []) > MAX_PAYLOAD_PARTS:
            raise _refuse(
                422,
                f"Ett meddelande får ha högst {MAX_PAYLOAD_PARTS} delar.",
                f"at most {MAX_PAYLOAD_PARTS} payload parts",
                "Communication.payload",
            )
        body = checked_attachments(body)
        if _messages_in(fhir, task) >= MAX_MESSAGES_PER_TASK:
            raise _refuse(
                409,
                f"Ärendet har redan {MAX_MESSAGES_PER_TASK} meddelanden, och fler tas inte "
                "emot. Ring eller boka ett avstämningsmöte i stället.",
                f"a Task holds at most {MAX_MESSAGES_PER_TASK} messages",
                "Communication.partOf",
            )
        task_body = task.body or {}
        kommun = organization_of(fhir.store)(task_body.get("requester") or {})
        unit = _first(task_body.get("owner"))
        other = unit if role is Role.REQUESTER else kommun
        body = dict(body)
        body["partOf"] = [{"reference": task.reference}]
        body["basedOn"] = task_body.get("basedOn", [])
        body["subject"] = task_body.get("for")
        body["sender"] = {"reference": fhir.caller.party}
        body["recipient"] = [{"reference": other}] if other else []
        # When it was sent is the gateway's to say: the dialogue is ordered by it. When it
        # was received is not the sender's to say at all.
        body["sent"] = utc_now().isoformat().replace("+00:00", "Z")
        body.pop("received", None)
        return body

    def after_write(
        self, fhir: FhirInteractions, stored: StoredResource, existing: StoredResource | None
    ) -> None:
        task = self._task(fhir, stored.body or {})
        fhir.store.grant(stored.resource_type, stored.id, fhir.store.parties("Task", task.id))
        recipient = _first((stored.body or {}).get("recipient"))
        if recipient == _first((task.body or {}).get("owner")):
            queue_notice(fhir.store, task, stored)
        else:
            notify_subscribers(fhir.store, task, cause=stored.reference)

    def after_read(self, fhir: FhirInteractions, stored: StoredResource) -> StoredResource:
        """The unit's message is a disclosure to the kommun: consent is checked again when
        the kommun reads it, as for the answer."""
        if fhir.caller.party_kind is not PartyKind.KOMMUN:
            return stored
        body = stored.body or {}
        task_type, task_id = split_reference(_first(body.get("partOf")) or "")
        task = fhir.store.current("Task", task_id) if task_type == "Task" else None
        if task is None or _first(body.get("sender")) != _first((task.body or {}).get("owner")):
            return stored  # the kommun's own message, the gateway's notice, or no case to speak of
        _consent_or_refuse(
            fhir,
            task,
            403,
            "Samtycket gäller inte längre; vårdcentralens meddelande lämnas inte ut.",
            "Communication",
        )
        return stored

    @staticmethod
    def _task(fhir: FhirInteractions, body: dict[str, Any]) -> StoredResource:
        reference = _first(body.get("partOf"))
        ref_type, ref_id = split_reference(reference or "")
        if ref_type != "Task":
            raise _refuse(
                422,
                "Meddelandet ska höra till ett ärende (partOf: Task).",
                "partOf must name the Task",
                "Communication.partOf",
            )
        return _visible_or_404(fhir, "Task", ref_id)


def _messages_in(fhir: FhirInteractions, task: StoredResource) -> int:
    """How many messages the Task's dialogue holds (the gateway's own notices included)."""
    query = parse_search("Communication", [("part-of", task.reference), ("_count", "1")])
    _, total = fhir.store.search(query)
    return total or 0


def _visible_or_404(fhir: FhirInteractions, resource_type: str, res_id: str) -> StoredResource:
    """The resource a write refers to, if the caller may see it: one that does not exist
    and one of another party answer alike (404), so neither's existence leaks."""
    found = fhir.store.current(resource_type, res_id) if res_id else None
    if found is None or found.body is None:
        raise not_found(resource_type, res_id)
    fhir.rules.check_visible(found)
    return found


def _tell_the_unit_about(fhir: FhirInteractions, task: StoredResource, text_sv: str) -> None:
    """A Communication from the gateway to the unit, through its journal adapter."""
    owner = _first((task.body or {}).get("owner"))
    notice = fhir.store.create(
        {
            "resourceType": "Communication",
            "status": "completed",
            "partOf": [{"reference": task.reference}],
            "basedOn": (task.body or {}).get("basedOn", []),
            "recipient": [{"reference": owner}] if owner else [],
            "sent": utc_now().isoformat().replace("+00:00", "Z"),
            "payload": [{"contentString": text_sv}],
        }
    )
    fhir.store.grant(notice.resource_type, notice.id, fhir.store.parties("Task", task.id))
    queue_notice(fhir.store, task, notice)


class SubscriptionHook(_Hook):
    """Only rest-hook notifications about Tasks; the server activates what it accepts."""

    resource_type = "Subscription"

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        channel = body.get("channel") or {}
        if channel.get("type") != "rest-hook":
            raise _refuse(
                422,
                "Bara rest-hook stöds för prenumerationer.",
                "channel.type must be rest-hook",
                "Subscription.channel.type",
            )
        try:
            WebhookTargets.from_settings(fhir.settings).check(str(channel.get("endpoint") or ""))
        except TargetRefusedError as refused:
            raise _refuse(
                422, webhook_targets.REFUSAL_SV, str(refused), "Subscription.channel.endpoint"
            ) from None
        _check_channel_headers(channel.get("header") or [])
        if existing is None and _subscriptions_of(fhir) >= MAX_SUBSCRIPTIONS_PER_PARTY:
            raise _refuse(
                409,
                f"Ni har redan {MAX_SUBSCRIPTIONS_PER_PARTY} prenumerationer. Ta bort någon "
                "som inte behövs, eller samla dem i en.",
                f"a party holds at most {MAX_SUBSCRIPTIONS_PER_PARTY} Subscriptions",
                "Subscription",
            )
        criteria = str(body.get("criteria", ""))
        if not criteria.startswith("Task?") and criteria != "Task":
            raise _refuse(
                422,
                "Prenumerationer gäller uppgifter (Task).",
                "criteria must be a Task search",
                "Subscription.criteria",
            )
        try:
            # Matched on every change of a Task: a criterion the kommun may not search on
            # would tell it as well, by whether it is notified.
            fhir.check_search(parse_search("Task", parse_qsl(criteria.partition("?")[2])))
        except FhirError as error:
            raise FhirError(422, [i.at("Subscription.criteria") for i in error.issues]) from None
        body = dict(body)
        if body.get("status") in ("requested", "active"):
            body["status"] = "active"
        return body


MAX_SUBSCRIPTIONS_PER_PARTY = 10
MAX_CHANNEL_HEADERS = 10
MAX_CHANNEL_HEADER_CHARS = 1024
# A header the subscriber may ask for: a token for a name (RFC 9110 section 5.1), visible
# ASCII and inner spaces for a value. Those that shape the request itself are the
# gateway's to set.
_HEADER = re.compile(
    r"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)"
)
_GATEWAY_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "idempotency-key",
        "proxy-authorization",
        "proxy-connection",
    }
)


def _check_channel_headers(headers: list[Any]) -> None:
    """The headers a notification carries for the subscriber (its own credentials, say):
    each ``Name: value`` on one line, at most MAX_CHANNEL_HEADERS of them, and none the
    gateway sets itself."""
    if len(headers) > MAX_CHANNEL_HEADERS:
        raise _refuse(
            422,
            f"En prenumeration får ha högst {MAX_CHANNEL_HEADERS} huvudrader.",
            f"at most {MAX_CHANNEL_HEADERS} channel headers",
            "Subscription.channel.header",
        )
    for index, header in enumerate(headers):
        where = f"Subscription.channel.header[{index}]"
        match = _HEADER.fullmatch(header) if isinstance(header, str) else None
        if match is None or len(header) > MAX_CHANNEL_HEADER_CHARS:
            raise _refuse(
                422,
                "En huvudrad ska skrivas 'Namn: värde' på en rad, med högst "
                f"{MAX_CHANNEL_HEADER_CHARS} tecken.",
                "a channel header is 'Name: value' in visible ASCII on one line",
                where,
            )
        if match.group(1).lower() in _GATEWAY_HEADERS:
            raise _refuse(
                422,
                "Den huvudraden sätter tjänsten själv.",
                "the gateway sets this header itself",
                where,
            )


def _subscriptions_of(fhir: FhirInteractions) -> int:
    """How many Subscriptions the caller's party holds."""
    query = parse_search("Subscription", [("_count", "1")])
    _, total = fhir.store.search(query, visibility=fhir.rules.visibility("Subscription"))
    return total or 0


# Every write hook the gateway runs: the workflow's, and the directory's own rule.
WORKFLOW_HOOKS = (
    UniqueHsaIdHook(),
    EndpointChecksHook(),
    PatientHook(),
    ServiceRequestHook(),
    TaskHook(),
    QuestionnaireResponseHook(),
    ConsentHook(),
    CommunicationHook(),
    SubscriptionHook(),
)
