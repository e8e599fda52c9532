"""Tenant rules on top of scopes: what each party may see and change.

- Case data (Patient, ServiceRequest, Consent, Task, QuestionnaireResponse, Communication,
  Subscription) is visible to the parties recorded for it: the party that wrote it and the
  parties it is addressed to (Task.owner, ServiceRequest.performer, Communication.recipient
  …). A kommun thus sees its own requests and their answers; a vårdcentral the Tasks it owns.
- The directory (Organization, Endpoint, PractitionerRole, Practitioner, Questionnaire) is
  readable by every party. A party changes only entries in its own subtree (itself and the
  units whose partOf chain reaches it): a region its units, a vårdcentral its own roles.
- Except a kommun's PractitionerRoles: the socialsekreterare who asks is not a directory
  entry but part of the kommun's cases. A role a kommun writes, or one a request names as
  its requester, is seen by the kommun and by the units its requests are addressed to, so
  no other party can list a kommun's requesters, their contact data, or count and date its
  submissions by them. A role granted to no party is a directory entry (Visibility's
  ``unclaimed``).
- And a kommun's Practitioners (the socialsekreterare's name a role points to), likewise:
  one a kommun or the test harness writes is seen by it and by the units its requests are
  addressed to (a request whose requester, or its role, names it). One a region, a
  vårdcentral or the operator writes is a directory entry: granted to every party
  (Visibility's ``public``, :data:`EVERY_PARTY`). Either way a Practitioner is changed only
  by the party that registered it, recorded as such (:func:`registrar`), since the units
  that may read a kommun's Practitioner may not change it.
- The request's own records (Patient, ServiceRequest, Consent) are written by the party
  that asks: a kommun, or the test harness in its place. The vårdcentral they are addressed
  to reads them and answers with records of its own (the Task's changes, the answer,
  messages); it never rewrites them, and so never re-addresses them to another party.
- The national test harness works only with synthetic data: everything it writes must be
  labelled HTEST.
- The operator sees and changes everything; the auditor and operator read the audit.

Refusals of things a party cannot see are 404, so existence does not leak; refusals of
things it can see but not change are 403. That holds for what a write names as well: a
reference to a case record the party cannot see is refused as if the record did not exist,
so no party builds on, or withdraws from, another party's case.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import FhirError, not_found
from gateway.resources.references import references_in
from gateway.resources.types import SUPPORTED_TYPES
from gateway.search.index import split_reference
from gateway.security.caller import Caller, PartyKind
from gateway.store.resources import ResourceStore, StoredResource
from gateway.store.visibility import EVERY_PARTY, EVERYTHING, NOTHING, Visibility, of_party

DIRECTORY_TYPES = frozenset({"Organization", "Endpoint", "PractitionerRole", "Practitioner"})
CONFORMANCE_TYPES = frozenset({"Questionnaire"})
AUDIT_TYPES = frozenset({"AuditEvent"})
SYNTHETIC_LABEL = ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "HTEST")
MAX_PARTOF_DEPTH = 8
REQUESTER_RECORDS = frozenset({"Patient", "ServiceRequest", "Consent"})
_REQUESTERS = frozenset({PartyKind.KOMMUN, PartyKind.TEST_HARNESS})
# Directory entries unless a party holds them as its own: a kommun's roles.
CLAIMABLE_TYPES = frozenset({"PractitionerRole"})
# Their registrar's: changed only by it, and a directory entry only when granted to
# EVERY_PARTY (as what a region or a unit registers is), else its own (a kommun's).
REGISTERED_TYPES = frozenset({"Practitioner"})
# Readable by every party, so no grants are recorded for them.
_SHARED = (DIRECTORY_TYPES | CONFORMANCE_TYPES) - REGISTERED_TYPES - CLAIMABLE_TYPES
_REGISTRAR_PREFIX = "registrar:"


def registrar(party: str) -> str:
    """The grant that records ``party`` as the registrar of a Practitioner: not a party
    any client acts for (those are Organization references), so it lets no one see."""
    return f"{_REGISTRAR_PREFIX}{party}"


# Where a case resource names the parties it is addressed to.
_ADDRESSED_TO: dict[str, tuple[str, ...]] = {
    "Task": ("owner", "requester"),
    "ServiceRequest": ("performer", "requester"),
    "Communication": ("recipient", "sender"),
    "QuestionnaireResponse": ("author",),
    "Consent": ("organization", "performer"),
}


def _forbidden(text_sv: str, diagnostics: str, expression: str | None = None) -> FhirError:
    return FhirError.single(
        403, "forbidden", text_sv, expression=expression, diagnostics=diagnostics
    )


class TenantRules:
    def __init__(self, caller: Caller, store: ResourceStore) -> None:
        self.caller = caller
        self.store = store

    @property
    def is_operator(self) -> bool:
        return self.caller.party_kind is PartyKind.OPERATOR

    # ----- seeing -----------------------------------------------------------------------

    def visibility(self, resource_type: str) -> Visibility:
        if self.is_operator:
            return EVERYTHING
        if resource_type in AUDIT_TYPES:
            return EVERYTHING if self.caller.party_kind is PartyKind.AUDITOR else NOTHING
        if self.caller.party_kind is PartyKind.AUDITOR:
            return NOTHING
        if resource_type in CLAIMABLE_TYPES:
            return of_party(self.caller.party, unclaimed=True)
        if resource_type in REGISTERED_TYPES:
            return of_party(self.caller.party, public=True)
        if resource_type in DIRECTORY_TYPES | CONFORMANCE_TYPES:
            return EVERYTHING
        return of_party(self.caller.party)

    def sees(self, stored: StoredResource) -> bool:
        visibility = self.visibility(stored.resource_type)
        return visibility.everything or visibility.admits(
            self.store.parties(stored.resource_type, stored.id)
        )

    def check_visible(self, stored: StoredResource) -> None:
        if not self.sees(stored):
            raise not_found(stored.resource_type, stored.id)

    def check_reference(self, reference: str, expression: str) -> None:
        """Raise 404 (at ``expression``) unless the caller may name ``reference`` in what it
        writes: a reference to a case record must be to one the caller sees. An absolute
        URL counts as the record its ``Type/id`` ends with, as everywhere in the gateway
        (the search index, what is delivered), whatever its base. Shared records (the
        directory, the Questionnaire) are not looked up."""
        if self.is_operator:
            return
        ref_type, ref_id = split_reference(reference)
        if ref_type not in SUPPORTED_TYPES or self.visibility(ref_type).everything:
            return
        stored = self.store.current(ref_type, ref_id)
        if stored is None or stored.body is None or not self.sees(stored):
            raise FhirError.single(
                404,
                "not-found",
                "Referensen pekar på en post som inte finns, eller som du saknar behörighet "
                "att se.",
                expression=expression,
                diagnostics=f"{ref_type} with that id is not known to this server",
            )

    # ----- changing ---------------------------------------------------------------------

    def check_write(self, body: dict[str, Any], existing: StoredResource | None) -> None:
        """Raise unless the caller may create ``body`` (or replace/delete ``existing``)."""
        resource_type = body["resourceType"]
        if existing is not None:
            self.check_visible(existing)
        if self.is_operator:
            return
        if resource_type in CONFORMANCE_TYPES:
            raise _forbidden(
                "Bara tjänstens förvaltning får ändra formulär.",
                "only the operator changes conformance resources",
            )
        if resource_type in REQUESTER_RECORDS and self.caller.party_kind not in _REQUESTERS:
            raise _forbidden(
                "Personuppgifter, förfrågan och samtycke registreras och ändras av kommunen "
                "som frågar. Vårdcentralen läser dem och svarar i uppgiften, i utlåtandet "
                "eller med ett meddelande.",
                f"a {resource_type} is written by the requesting party (a kommun), not a "
                f"{self.caller.party_kind.value}",
                resource_type,
            )
        if self.caller.party_kind is PartyKind.TEST_HARNESS and not self._is_synthetic(body):
            raise _forbidden(
                "Testklienten får bara hantera testdata (märkt HTEST).",
                "the test harness may only write resources labelled HTEST in meta.security",
            )
        if resource_type in REGISTERED_TYPES:
            # A person has no organisation of their own: the party that registered them
            # maintains them (not the units that may read a kommun's socialsekreterare).
            if existing is not None and registrar(self.caller.party) not in self.store.parties(
                existing.resource_type, existing.id
            ):
                raise _forbidden(
                    "Bara den organisation som registrerade personen får ändra uppgifterna.",
                    "a Practitioner is changed only by the party that registered it",
                )
        elif resource_type in DIRECTORY_TYPES:
            self._check_directory_write(body, existing.body if existing else None)

    def parties_for(self, body: dict[str, Any]) -> set[str]:
        """The parties that may see a case resource after this write."""
        parties = {self.caller.party}
        for element in _ADDRESSED_TO.get(body["resourceType"], ()):
            for reference in references_in(body.get(element)):
                organization = self._organization_of(reference)
                if organization:
                    parties.add(organization)
        return parties

    def parties_of_new(
        self, created: StoredResource, visible_to: frozenset[str] = frozenset()
    ) -> set[str]:
        """Who may see a resource being created (the store grants it in the same write):
        the parties it names, and for case data ``visible_to`` besides. No grants for a
        shared resource: every party sees those."""
        if created.body is None or created.resource_type in _SHARED:
            return set()
        if created.resource_type in CLAIMABLE_TYPES:
            # A kommun's own; anyone else's is a directory entry, granted to no party.
            if self.caller.party_kind not in _REQUESTERS:
                return set()
            return {self.caller.party} | visible_to
        if created.resource_type in REGISTERED_TYPES:
            # Its registrar's to change; a kommun's own to see, anyone else's everyone's.
            registered = {self.caller.party, registrar(self.caller.party)}
            if self.caller.party_kind not in _REQUESTERS:
                return registered | {EVERY_PARTY}
            return registered | visible_to
        parties = self.parties_for(created.body)
        if created.resource_type not in DIRECTORY_TYPES:
            parties |= visible_to
        return parties

    def record_write(self, stored: StoredResource) -> None:
        """After an update: the parties the new version names may see the resource too.
        (A role or a Practitioner names no party; whose it is was settled when it was
        created or first named by a request, see :meth:`claim_for`.)"""
        if stored.body is not None and stored.resource_type not in (
            _SHARED | CLAIMABLE_TYPES | REGISTERED_TYPES
        ):
            self.store.grant(stored.resource_type, stored.id, self.parties_for(stored.body))

    def claim_for(self, resource_type: str, res_id: str, parties: set[str]) -> None:
        """Let ``parties`` see a case resource, or a claimable one that a case has come to
        name (a role as a request's requester): it is theirs from now on, and no longer a
        directory entry if it was one. A Practitioner in the directory stays one (and its
        registrar's alone); a kommun's own is seen by ``parties`` besides."""
        if resource_type in _SHARED:
            return
        if resource_type in REGISTERED_TYPES:
            if EVERY_PARTY not in self.store.parties(resource_type, res_id):
                self.store.grant(resource_type, res_id, parties)
            return
        self.store.grant(resource_type, res_id, parties)

    # ----- internals --------------------------------------------------------------------

    def _is_synthetic(self, body: dict[str, Any]) -> bool:
        labels = (body.get("meta") or {}).get("security") or []
        return any((label.get("system"), label.get("code")) == SYNTHETIC_LABEL for label in labels)

    def _directory_anchors(
        self, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> list[str | None]:
        """The Organizations a directory write touches, each of which must be the caller's."""
        if body["resourceType"] == "Organization":
            parent = references_in(body.get("partOf"))
            new_parent = parent[0] if parent else None
            if existing is None:
                return [new_parent]
            old_parent = references_in(existing.get("partOf"))
            touched: list[str | None] = [f"Organization/{existing['id']}"]
            if new_parent != (old_parent[0] if old_parent else None):
                touched.append(new_parent)
            return touched
        field = {"Endpoint": "managingOrganization", "PractitionerRole": "organization"}[
            body["resourceType"]
        ]
        anchors: list[str | None] = []
        for version in (body, existing):
            if version is not None:
                references = references_in(version.get(field))
                anchors.append(references[0] if references else None)
        return anchors

    def _check_directory_write(self, body: dict[str, Any], existing: dict[str, Any] | None) -> None:
        for anchor in self._directory_anchors(body, existing):
            if anchor is None or not self._within_own_subtree(anchor):
                raise _forbidden(
                    "Du får bara ändra katalogposter för den egna organisationen och dess enheter.",
                    "directory entries may be changed only within the caller's own subtree",
                )

    def _within_own_subtree(self, reference: str) -> bool:
        current: str | None = reference
        for _ in range(MAX_PARTOF_DEPTH):
            if current is None:
                return False
            if current == self.caller.party:
                return True
            ref_type, ref_id = split_reference(current)
            organization = (
                self.store.current("Organization", ref_id) if ref_type == "Organization" else None
            )
            if organization is None or organization.body is None:
                return False
            parent = references_in(organization.body.get("partOf"))
            current = parent[0] if parent else None
        return False

    def _organization_of(self, reference: str) -> str | None:
        ref_type, ref_id = split_reference(reference)
        if ref_type == "Organization":
            return f"Organization/{ref_id}"
        role = (
            self.store.current("PractitionerRole", ref_id)
            if ref_type == "PractitionerRole"
            else None
        )
        if role is not None and role.body is not None:
            organizations = references_in(role.body.get("organization"))
            return organizations[0] if organizations else None
        return None
