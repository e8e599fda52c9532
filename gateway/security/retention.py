"""Retention: closed cases older than the retention period are purged; the audit stays.

A case is closed when its Task is completed, cancelled, rejected or failed. Its resources
are the Task, the ServiceRequest it is about, the Consents that request rests on, the
answers (QuestionnaireResponse) and the Communications of the case. The Patient goes too
unless another remaining request or Task still refers to it, and so does the kommun's
PractitionerRole that asked (a socialsekreterare's contact data are the kommun's, not a
directory entry's, gateway.security.tenancy) unless another remaining request or Task names
it as requester. A role in the directory, granted to no party, stays. The kommun's
Practitioner that role names (or that a request names as requester) goes with it, unless a
remaining request, Task or role still names it; one in the directory, granted to every
party, stays. Purging removes every
version and index row; AuditEvents refer to resources by id only and are kept, so the
audit trail outlives the case (``KVGW_AUDIT_RETENTION_DAYS`` is the documented period for
archiving the audit, which this command does not touch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway.resources.references import references_in
from gateway.search.index import split_reference
from gateway.search.query import parse_search
from gateway.store.resources import ResourceStore, StoredResource, utc_now
from gateway.store.visibility import EVERY_PARTY

CLOSED_STATUSES = "completed,cancelled,rejected,failed"


@dataclass
class CasePlan:
    task: str
    resources: list[str] = field(default_factory=list)


@dataclass
class RetentionPlan:
    cutoff: datetime
    cases: list[CasePlan] = field(default_factory=list)

    @property
    def resource_count(self) -> int:
        return sum(len(c.resources) for c in self.cases)


def _search_all(
    store: ResourceStore, resource_type: str, items: list[tuple[str, str]]
) -> list[StoredResource]:
    found: list[StoredResource] = []
    offset = 0
    while True:
        query = parse_search(
            resource_type, [*items, ("_count", "200"), ("_offset", str(offset))], max_count=200
        )
        page, _ = store.search(query, with_total=False)
        found.extend(page)
        if len(page) < 200:
            return found
        offset += 200


# Where a remaining request or Task names a Patient, or a requester's role, or where a
# remaining role names a person.
_NAMING_PATIENT = (("ServiceRequest", "subject"), ("Task", "patient"))
_NAMING_REQUESTER = (("ServiceRequest", "requester"), ("Task", "requester"))
_NAMING_PERSON = (*_NAMING_REQUESTER, ("PractitionerRole", "practitioner"))


def _still_used(
    store: ResourceStore, reference: str, purged: set[str], naming: tuple[tuple[str, str], ...]
) -> bool:
    for resource_type, param in naming:
        for stored in _search_all(store, resource_type, [(param, reference)]):
            if stored.reference not in purged:
                return True
    return False


def _is_kommuns_own(store: ResourceStore, role: str) -> bool:
    """A role granted to a party (a kommun's, see gateway.security.tenancy), not one of
    the directory's, which are granted to none."""
    role_type, role_id = split_reference(role)
    return role_type == "PractitionerRole" and bool(store.parties(role_type, role_id))


def _is_kommuns_own_person(store: ResourceStore, person: str) -> bool:
    """A Practitioner that is not granted to every party (a kommun's, see
    gateway.security.tenancy), not one of the directory's."""
    person_type, person_id = split_reference(person)
    if person_type != "Practitioner":
        return False
    parties = store.parties(person_type, person_id)
    return bool(parties) and EVERY_PARTY not in parties


def _people_named(store: ResourceStore, requesters: set[str], roles: list[str]) -> set[str]:
    """The Practitioners that requests name as requester, or that purged roles name."""
    people = {r for r in requesters if r.startswith("Practitioner/")}
    for role in roles:
        stored = store.current("PractitionerRole", split_reference(role)[1])
        people.update(
            r
            for r in references_in((stored.body or {}).get("practitioner") if stored else None)
            if r.startswith("Practitioner/")
        )
    return people


def plan(store: ResourceStore, retention_days: int, now: datetime | None = None) -> RetentionPlan:
    cutoff = (now or utc_now()) - timedelta(days=retention_days)
    stamp = cutoff.isoformat().replace("+00:00", "Z")
    result = RetentionPlan(cutoff)
    tasks = _search_all(
        store, "Task", [("status", CLOSED_STATUSES), ("_lastUpdated", f"lt{stamp}")]
    )
    patients: set[str] = set()
    requesters: set[str] = set()
    for task in tasks:
        case = CasePlan(task.reference, [task.reference])
        body = task.body or {}
        requests = [
            r
            for r in references_in(body.get("focus")) + references_in(body.get("basedOn"))
            if r.startswith("ServiceRequest/")
        ]
        for request_ref in dict.fromkeys(requests):
            request_type, request_id = split_reference(request_ref)
            request = store.current("ServiceRequest", request_id) if request_type else None
            if request is None:
                continue
            case.resources.append(request.reference)
            case.resources += [
                r
                for r in references_in((request.body or {}).get("supportingInfo"))
                if r.startswith("Consent/")
            ]
            case.resources += [
                s.reference
                for s in _search_all(
                    store, "QuestionnaireResponse", [("based-on", request.reference)]
                )
            ]
            case.resources += [
                s.reference
                for s in _search_all(store, "Communication", [("based-on", request.reference)])
            ]
            patients.update(
                r
                for r in references_in((request.body or {}).get("subject"))
                if r.startswith("Patient/")
            )
            requesters.update(references_in((request.body or {}).get("requester")))
        case.resources += [
            s.reference for s in _search_all(store, "Communication", [("part-of", task.reference)])
        ]
        patients.update(r for r in references_in(body.get("for")) if r.startswith("Patient/"))
        requesters.update(references_in(body.get("requester")))
        case.resources = list(dict.fromkeys(case.resources))
        result.cases.append(case)
    purged = {r for case in result.cases for r in case.resources}
    for patient in sorted(patients):
        if not _still_used(store, patient, purged, _NAMING_PATIENT) and result.cases:
            result.cases[0].resources.append(patient)
    roles: list[str] = []
    for role in sorted(requesters):
        if (
            _is_kommuns_own(store, role)
            and not _still_used(store, role, purged, _NAMING_REQUESTER)
            and result.cases
        ):
            result.cases[0].resources.append(role)
            roles.append(role)
    purged.update(roles)
    for person in sorted(_people_named(store, requesters, roles)):
        if (
            _is_kommuns_own_person(store, person)
            and not _still_used(store, person, purged, _NAMING_PERSON)
            and result.cases
        ):
            result.cases[0].resources.append(person)
    return result


def execute(store: ResourceStore, retention: RetentionPlan) -> int:
    count = 0
    for case in retention.cases:
        for reference in case.resources:
            resource_type, res_id = split_reference(reference)
            if resource_type and store.purge(resource_type, res_id):
                count += 1
    return count
