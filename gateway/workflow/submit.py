"""Submitting a request: validate, route, check consent, store, create the Task, queue it.

Everything happens in the caller's one database transaction: either the request is
stored with its Task, its outbox row and its audit events, or nothing is. Submitting the
same request twice (same kommun case identifier, or the same Idempotency-Key) returns the
Task of the first submission and creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from gateway.api.body import repeating
from gateway.api.bundle_processing import checked_full_url
from gateway.api.interactions import FhirInteractions
from gateway.canonical import IDEMPOTENCY_KEY_SYSTEM, PROTECTED_IDENTITY_CODES
from gateway.consent.evaluator import Action, Decision, Disclosure, evaluate
from gateway.delivery.models import OutboxMessage
from gateway.delivery.outbox import outbox_row
from gateway.errors import FhirError
from gateway.resources.references import references_in, walk_references
from gateway.routing.person import CANONICAL_SYSTEM
from gateway.search.index import split_reference
from gateway.security.caller import PartyKind
from gateway.store.models import table_of
from gateway.store.resources import StoredResource, new_id, utc_now
from gateway.validation.identifiers import SYSTEM_KOMMUNKOD
from gateway.validation.pipeline import relocate
from gateway.workflow.consent_checks import (
    given_at,
    organization_of,
    record_decision,
    withdrawn_since,
)
from gateway.workflow.new_task import requested_task
from gateway.workflow.routing_port import RoutedUnit, UnitRouter

JOURNAL_REQUEST = "journal-request"
CONTACT_ELEMENTS = ("address", "telecom", "contact", "photo")


@dataclass(frozen=True)
class Submitted:
    task: StoredResource
    created: bool
    # Entry index -> what the entry stands for: what was stored, or found (``existing``).
    # By index, not fullUrl: a create that nothing refers to may come without one.
    resources: dict[int, StoredResource]
    existing: frozenset[int] = frozenset()  # entries that named what was stored before


def _refuse(
    status: int, code: str, text_sv: str, expression: str | None, diagnostics: str
) -> FhirError:
    return FhirError.single(status, code, text_sv, expression=expression, diagnostics=diagnostics)


@dataclass
class _Entry:
    index: int
    full_url: str
    resource: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType"))


def _check_references(entries: list[_Entry]) -> None:
    """What the entries refer to: one another by fullUrl, or a stored resource by
    ``Type/id`` (checked as every write's references are). A ``urn:`` that names no entry
    would be stored pointing nowhere, and a conditional reference as a search string,
    which may hold a personnummer in clear (the index keeps reference strings)."""
    full_urls = {entry.full_url for entry in entries}

    def check(entry: _Entry) -> None:
        def visit(holder: dict[str, Any], path: str) -> None:
            reference: str = holder["reference"]
            where = f"Bundle.entry[{entry.index}].{path}.reference"
            if reference.startswith("urn:") and reference not in full_urls:
                raise _refuse(
                    422,
                    "business-rule",
                    "Referensen pekar inte på någon post i förfrågan (fullUrl).",
                    where,
                    "a urn: reference must be the fullUrl of an entry",
                )
            if "?" in reference:
                raise _refuse(
                    422,
                    "business-rule",
                    "Förfrågans poster hänvisar till varandra med fullUrl, inte med sökvillkor.",
                    where,
                    "conditional references are not taken in a submission",
                )

        walk_references(entry.resource, "resource", visit)

    for entry in entries:
        check(entry)


def _within_entries(error: FhirError, entries: list[_Entry]) -> FhirError:
    """``error`` with each issue that names a resource's own element (``Patient.identifier``,
    ``Consent``, as routing, consent and the stores raise them) placed at the entry of that
    type (the first, for the Consents), as validation's issues are."""
    first: dict[str, _Entry] = {}
    for entry in entries:
        first.setdefault(entry.type, entry)
    issues = []
    for issue in error.issues:
        head = issue.expression[0].split(".", 1)[0] if issue.expression else ""
        owner = first.get(head)
        if owner is None or not all(e.split(".", 1)[0] == head for e in issue.expression):
            issues.append(issue)
        else:
            issues.append(relocate(issue, head, f"Bundle.entry[{owner.index}].resource"))
    return FhirError(error.status, issues, error.headers)


class SubmitWorkflow:
    def __init__(self, fhir: FhirInteractions, router: UnitRouter, answer_days: int) -> None:
        self.fhir = fhir
        self.store = fhir.store
        self.router = router
        self.answer_days = answer_days

    # ----- entry point ----------------------------------------------------------------

    def submit(
        self,
        bundle: dict[str, Any],
        idempotency_key: str | None = None,
        *,
        if_none_exist: str | None = None,
    ) -> Submitted:
        """Submit one request. ``if_none_exist``: conditional-create criteria for the
        ServiceRequest (the If-None-Exist header, or its transaction entry's
        ``ifNoneExist``); a request they find is answered with its Task, as a repeated
        case identifier or Idempotency-Key is."""
        entries = self._entries(bundle)
        try:
            return self._submit(entries, idempotency_key, if_none_exist)
        except FhirError as error:
            raise _within_entries(error, entries) from None

    def _submit(
        self, entries: list[_Entry], idempotency_key: str | None, if_none_exist: str | None
    ) -> Submitted:
        request = self._single(entries, "ServiceRequest")
        patient = self._single(entries, "Patient")
        consents = [e for e in entries if e.type == "Consent"]
        if not consents:
            raise _refuse(
                422,
                "business-rule",
                "Förfrågan saknar personens samtycke (Consent).",
                "Bundle.entry",
                "a Consent must travel with the ServiceRequest",
            )
        for entry in entries:
            self._validate(entry)
        _check_references(entries)

        existing = self._already_submitted(request.resource, idempotency_key, if_none_exist)
        if existing is not None:
            # The first submission's Task, as a read of it shows it now.
            return Submitted(self.fhir.disclosed(existing), created=False, resources={})

        kommun = self._requesting_kommun(entries, request)
        kommunkod = self._kommunkod(kommun)
        person_system, person_value = self._person(patient)
        unit = self.router.route(
            self.store.session, person_system, person_value, kommunkod, asked_by=kommun
        )

        ids = {e.full_url: f"{e.type}/{new_id()}" for e in entries}
        stored_patient = self._existing_patient(patient)
        if stored_patient is not None:
            ids[patient.full_url] = stored_patient.reference
        # What the entries name of one another: new, or the caller's own record of the person.
        self.fhir.expect_new(ids.values())
        for entry in entries:
            self._rewrite(entry, ids)

        consent = consents[0].resource
        disclosure = Disclosure(
            subject=ids[patient.full_url],
            discloser=unit.organization,
            recipient=kommun,
            action=Action.DISCLOSE,
            at=utc_now(),
        )
        consent_id = split_reference(ids[consents[0].full_url])[1]
        decision = evaluate({**consent, "id": consent_id}, disclosure, organization_of(self.store))
        if (
            decision.permitted
            and stored_patient is not None  # a person new here has said nothing else yet
            and withdrawn_since(self.store, None, given_at(consent, utc_now()), disclosure)
        ):
            decision = Decision.deny(
                "consent-withdrawn",
                "Personen har senare återkallat sitt samtycke. Ett nytt samtycke behövs.",
                f"Consent/{consent_id}",
            )
        record_decision(self.fhir, decision, ids[patient.full_url], kommun, unit.organization)
        if not decision.permitted:
            raise _refuse(
                422,
                "business-rule",
                decision.text_sv,
                "Consent",
                f"consent refused: {decision.code}",
            )

        protected = _is_protected(patient.resource) or unit.protected_identity
        stored, task = self._store(
            entries, ids, patient, stored_patient, request, unit, protected, idempotency_key
        )
        if stored_patient is not None:  # the unit sees the person it is asked about
            self.store.grant("Patient", stored_patient.id, {unit.organization})
        self._claim_stored_requester(request.resource, stored, kommun, unit)
        return Submitted(
            task,
            created=True,
            resources=stored,
            existing=frozenset({patient.index}) if stored_patient else frozenset(),
        )

    def _claim_stored_requester(
        self,
        request: dict[str, Any],
        stored: dict[int, StoredResource],
        kommun: str,
        unit: RoutedUnit,
    ) -> None:
        """The socialsekreterare's role, and the Practitioner it (or the request) names,
        are the kommun's and the unit's to see, not directory entries
        (gateway.security.tenancy). One sent with the request was granted so as it was
        stored; one stored before is claimed here (a Practitioner in the directory stays
        one). What was sent is not read again: no round trip for a whole submission."""
        new = {resource.reference: resource for resource in stored.values()}
        parties = {kommun, unit.organization}
        for reference in references_in(request.get("requester")):
            ref_type, ref_id = split_reference(reference)
            named = new.get(f"{ref_type}/{ref_id}")
            if named is None and ref_type in ("PractitionerRole", "Practitioner"):
                named = self.store.current(ref_type, ref_id)
                if named is not None:
                    self.fhir.rules.claim_for(ref_type, ref_id, parties)
            if named is None or ref_type != "PractitionerRole":
                continue
            for person in references_in((named.body or {}).get("practitioner")):
                person_type, person_id = split_reference(person)
                if (
                    person_type == "Practitioner"
                    and f"{person_type}/{person_id}" not in new
                    and self.store.current(person_type, person_id) is not None
                ):
                    self.fhir.rules.claim_for(person_type, person_id, parties)

    # ----- reading the submission -----------------------------------------------------

    def _entries(self, bundle: dict[str, Any]) -> list[_Entry]:
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in (
            "transaction",
            "collection",
        ):
            raise _refuse(
                400,
                "invalid",
                "Förfrågan ska skickas som en Bundle (transaction).",
                "Bundle.type",
                "submit takes a transaction or collection Bundle",
            )
        entries: list[_Entry] = []
        for index, raw in enumerate(repeating(bundle, "entry", "Bundle.entry")):
            resource = raw.get("resource") if isinstance(raw, dict) else None
            if not isinstance(resource, dict):
                raise _refuse(
                    400,
                    "invalid",
                    "En post saknar resurs.",
                    f"Bundle.entry[{index}]",
                    "entry without resource",
                )
            where = f"Bundle.entry[{index}]"
            earlier: list[str | None] = [entry.full_url for entry in entries]
            full_url = checked_full_url(raw, where, earlier) or f"urn:uuid:{new_id()}"
            entries.append(_Entry(index, full_url, resource))
        return entries

    def _single(self, entries: list[_Entry], resource_type: str) -> _Entry:
        found = [e for e in entries if e.type == resource_type]
        if len(found) != 1:
            raise _refuse(
                422,
                "business-rule",
                f"Förfrågan ska innehålla exakt en {resource_type}.",
                "Bundle.entry",
                f"exactly one {resource_type} is required, got {len(found)}",
            )
        return found[0]

    def _validate(self, entry: _Entry) -> None:
        try:
            self.fhir.validator.check(entry.resource)
        except FhirError as error:
            prefix = f"Bundle.entry[{entry.index}].resource"
            raise FhirError(
                error.status, [relocate(i, entry.type, prefix) for i in error.issues]
            ) from None

    def _requesting_kommun(self, entries: list[_Entry], request: _Entry) -> str:
        requester = references_in(request.resource.get("requester"))
        by_url = {e.full_url: e for e in entries}
        organization: str | None = None
        if requester:
            role = by_url.get(requester[0])
            if role is not None and role.type == "PractitionerRole":
                organizations = references_in(role.resource.get("organization"))
                organization = organizations[0] if organizations else None
            elif role is None and self._sees(requester[0]):
                # A role the caller cannot see is one it names as if it did not exist:
                # the reference check refuses it later with 404, as an unknown id.
                organization = organization_of(self.store)({"reference": requester[0]})
        if organization is not None and organization in by_url:
            organization = self._directory_kommun(by_url[organization].resource)
        caller = self.fhir.caller
        if caller.party_kind is PartyKind.KOMMUN:
            if organization not in (None, caller.party):
                raise _refuse(
                    403,
                    "forbidden",
                    "Förfrågan kan bara skickas för den egna kommunen.",
                    "ServiceRequest.requester",
                    "the requester's organisation is not the caller's kommun",
                )
            return caller.party
        if organization is None:
            raise _refuse(
                422,
                "business-rule",
                "Förfrågan saknar beställande socialsekreterare och kommun.",
                f"Bundle.entry[{request.index}].resource.requester",
                "requester must be a PractitionerRole of the kommun",
            )
        return organization

    def _sees(self, reference: str) -> bool:
        ref_type, ref_id = split_reference(reference)
        stored = self.store.current(ref_type, ref_id) if ref_type else None
        return stored is not None and self.fhir.rules.sees(stored)

    def _directory_kommun(self, organization: dict[str, Any]) -> str:
        for identifier in organization.get("identifier", []):
            if identifier.get("system") == SYSTEM_KOMMUNKOD:
                kod = identifier.get("value")
                if self.store.current("Organization", f"kommun-{kod}") is not None:
                    return f"Organization/kommun-{kod}"
        raise _refuse(
            422,
            "business-rule",
            "Kommunen finns inte i katalogen.",
            "Organization.identifier",
            "the requesting Organization must carry a kommunkod known to the directory",
        )

    def _kommunkod(self, kommun: str) -> str:
        _, kommun_id = split_reference(kommun)
        stored = self.store.current("Organization", kommun_id)
        for identifier in (stored.body or {}).get("identifier", []) if stored else []:
            if identifier.get("system") == SYSTEM_KOMMUNKOD:
                return str(identifier.get("value"))
        raise _refuse(
            422,
            "business-rule",
            "Kommunens kommunkod saknas i katalogen.",
            None,
            "the kommun's Organization has no kommunkod identifier",
        )

    def _person(self, patient: _Entry) -> tuple[str, str]:
        for identifier in patient.resource.get("identifier", []):
            if identifier.get("system") in CANONICAL_SYSTEM and identifier.get("value"):
                return str(identifier["system"]), str(identifier["value"])
        raise _refuse(
            422,
            "business-rule",
            "Personen saknar personnummer eller samordningsnummer.",
            f"Bundle.entry[{patient.index}].resource.identifier",
            "the Patient needs a personnummer or samordningsnummer",
        )

    # ----- idempotency ----------------------------------------------------------------

    def _already_submitted(
        self, request: dict[str, Any], idempotency_key: str | None, if_none_exist: str | None
    ) -> StoredResource | None:
        if if_none_exist:
            found = self.fhir.find_one_for_condition("ServiceRequest", if_none_exist)
            if found is not None:
                return self.fhir.find_one_for_condition("Task", f"focus={found.reference}")
        token = self._idempotency_token(idempotency_key)
        if token:
            criteria = identifier_criteria(IDEMPOTENCY_KEY_SYSTEM, token)
            task = self.fhir.find_one_for_condition("Task", criteria)
            if task is not None:
                return task
        for identifier in request.get("identifier", []):
            if identifier.get("system") and identifier.get("value"):
                criteria = identifier_criteria(identifier["system"], identifier["value"])
                existing = self.fhir.find_one_for_condition("ServiceRequest", criteria)
                if existing is not None:
                    return self.fhir.find_one_for_condition("Task", f"focus={existing.reference}")
        return None

    def _existing_patient(self, patient: _Entry) -> StoredResource | None:
        system, value = self._person(patient)
        try:
            return self.fhir.find_one_for_condition("Patient", identifier_criteria(system, value))
        except FhirError as error:
            if error.status != 412:
                raise
            # Stored twice (before the Patient hook refused a second record): the kommun
            # sent no condition, so "the condition matches several" would tell it nothing.
            raise _refuse(
                409,
                "duplicate",
                "Personen finns registrerad flera gånger hos er med samma personnummer. "
                "Kontakta gatewayens förvaltning så att posterna slås ihop.",
                f"Bundle.entry[{patient.index}].resource.identifier",
                "the caller holds more than one Patient with this identifier",
            ) from None

    def _idempotency_token(self, idempotency_key: str | None) -> str | None:
        """The Task identifier that makes a repeated Idempotency-Key find the first Task:
        the key is the caller's own, so another party's equal key is another request."""
        return f"{self.fhir.caller.party}:{idempotency_key}" if idempotency_key else None

    # ----- storing --------------------------------------------------------------------

    def _rewrite(self, entry: _Entry, ids: dict[str, str]) -> None:
        def visit(holder: dict[str, Any], path: str) -> None:
            if holder["reference"] in ids:
                holder["reference"] = ids[holder["reference"]]

        walk_references(entry.resource, "resource", visit)

    def _store(
        self,
        entries: list[_Entry],
        ids: dict[str, str],
        patient: _Entry,
        stored_patient: StoredResource | None,
        request: _Entry,
        unit: RoutedUnit,
        protected: bool,
        idempotency_key: str | None,
    ) -> tuple[dict[int, StoredResource], StoredResource]:
        """Store the submission's new resources, its Task and the Task's delivery
        message in one write; answer what each entry stands for, and the Task."""
        request.resource["performer"] = [{"reference": unit.organization}]
        if protected:  # address and contact data of a protected person are never passed on
            for element in CONTACT_ELEMENTS:
                patient.resource.pop(element, None)
        new = [
            entry
            for entry in entries
            if not (entry is patient and stored_patient is not None)
            # The kommun comes from the directory, not from the submission.
            and entry.type != "Organization"
        ]
        with self.fhir.writing_as(submitting=True):
            pending = [
                self.fhir.check_new(e.resource, split_reference(ids[e.full_url])[1], validated=True)
                for e in new
            ]
        checked_request = next(p for e, p in zip(new, pending, strict=True) if e is request)
        task_id = new_id()
        task = requested_task(
            checked_request.body,
            ids[request.full_url],
            patient=ids[patient.full_url],
            owner=unit.organization,
            now=utc_now(),
            answer_days=self.answer_days,
            idempotency_token=self._idempotency_token(idempotency_key),
            protected=protected,
        )
        with self.fhir.writing_as(workflow_internal=True):
            # Built here from the validated request (gateway.workflow.new_task).
            pending.append(self.fhir.check_new(task, task_id, validated=True))
        task_reference = f"Task/{task_id}"
        delivery = outbox_row(
            self.store.session,
            kind=JOURNAL_REQUEST,
            target=unit.endpoint or unit.organization,
            payload={"task": task_reference, "unit": unit.organization},
            # Its key names the new Task, so no message can hold it yet: a plain insert.
            idempotency_key=f"deliver:{task_reference}",
            task=task_reference,
        )
        *created, stored_task = self.fhir.store_new(
            pending,
            # The unit sees the person, the request and the consent it is asked about.
            visible_to=frozenset({unit.organization}),
            companions=lambda _: [(table_of(OutboxMessage), [delivery])],
        )
        resources = {entry.index: s for entry, s in zip(new, created, strict=True)}
        if stored_patient is not None:
            resources[patient.index] = stored_patient
        return resources, stored_task


def identifier_criteria(system: str, value: str) -> str:
    """``identifier=system|value`` as a query string that reads back as exactly this
    identifier: URL-encoded (``+``, ``%``, ``&`` are the value's own) and with FHIR's
    escape for a comma, which would otherwise mean "or"."""
    return urlencode({"identifier": f"{system}|{value}".replace(",", "\\,")})


def _is_protected(patient: dict[str, Any]) -> bool:
    labels = (patient.get("meta") or {}).get("security") or []
    return any(label.get("code") in PROTECTED_IDENTITY_CODES for label in labels)
