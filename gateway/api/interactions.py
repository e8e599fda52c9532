"""The FHIR RESTful interactions, independent of HTTP.

Both the routes and the batch/transaction processor call these, so an entry in a Bundle
behaves exactly like the same request sent alone. Each interaction checks, in order: the
resource type is served, the interaction is allowed on it, the caller holds the scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qsl, urlencode

from gateway.errors import FhirError, Issue, Severity, not_found
from gateway.resources.references import walk_references
from gateway.resources.types import Interaction, allows
from gateway.search.query import SearchQuery, parse_search, small_number
from gateway.security.audit import AuditEntry, AuditTrail
from gateway.security.caller import Caller, require_scope
from gateway.security.tenancy import TenantRules
from gateway.settings import Settings
from gateway.store.resources import Companions, ResourceStore, StoredResource
from gateway.validation.pipeline import ValidationPipeline

RESOURCE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

_SCOPE_FOR: dict[Interaction, str] = {
    Interaction.CREATE: "c",
    Interaction.READ: "r",
    Interaction.VREAD: "r",
    Interaction.HISTORY_INSTANCE: "r",
    Interaction.HISTORY_TYPE: "r",
    Interaction.UPDATE: "u",
    Interaction.DELETE: "d",
    Interaction.SEARCH_TYPE: "s",
}


@dataclass(frozen=True)
class NewResource:
    """A resource checked for creation and not yet stored (``FhirInteractions.check_new``)."""

    entry: AuditEntry
    body: dict[str, Any]
    res_id: str | None


class SearchResult(NamedTuple):
    """A page of matches the caller may see. ``withheld``: why the read hooks kept some
    matches from the caller (consent that no longer permits, say), one issue each.
    ``total``: how many matches the caller may see, or None where that is not known
    (see :func:`total_shown`). ``more``: whether another page follows, by what matched,
    not by what was left (a page with a match withheld is still a full page)."""

    query: SearchQuery
    found: list[StoredResource]
    total: int | None
    withheld: list[Issue]
    more: bool


class HistoryResult(NamedTuple):
    """The versions the caller may see, how many those are (None where not known, as for
    a search) and whether another page follows. What the read checks withhold is left
    out unsaid: an R4 history Bundle has no place to say it (its entries are versions,
    each with a request and a response)."""

    versions: list[StoredResource]
    total: int | None
    more: bool


def withholds_on_read(hook: WriteHook) -> bool:
    """Whether ``hook``'s read check may keep a whole resource from a caller (refuse it),
    not only parts of it. A hook says so with a ``withholds_on_read`` attribute; one that
    does not say is taken to, if it checks reads at all (overrides ``after_read``)."""
    declared = getattr(hook, "withholds_on_read", None)
    if isinstance(declared, bool):
        return declared
    return getattr(type(hook), "after_read", None) is not PassThroughHook.after_read


def total_shown(
    counted: int | None, offset: int, on_page: int, kept: int, *, filtered: bool
) -> int | None:
    """What a search or history may answer as its ``total``: a figure that counts only
    what the caller can see, or none.

    ``counted``: the matches the database counted (over what the caller's grants admit),
    ``on_page``: how many of them this page held, ``kept``: how many of those the read
    checks let through, ``filtered``: whether those checks may withhold any. Where they
    may, the database's count can include what is withheld, so it is answered only when
    this page holds every match (then what is shown is the count); otherwise ``total`` is
    left out, as FHIR allows, rather than run the checks (each audited) over every match.
    """
    if counted is None or not filtered:
        return counted
    if offset == 0 and on_page == counted:
        return kept
    return None


@dataclass(frozen=True)
class WriteResult:
    status: int  # 200 or 201
    stored: StoredResource
    created: bool


def check_id(resource_type: str, res_id: str) -> None:
    if not RESOURCE_ID.match(res_id):
        raise FhirError.single(
            400,
            "invalid",
            "Resursens id har fel format.",
            expression=f"{resource_type}.id",
            diagnostics="ids are 1-64 characters of A-Z, a-z, 0-9, '-' and '.'",
        )


def _unknown_type() -> FhirError:
    return FhirError.single(
        404,
        "not-supported",
        "Resurstypen hanteras inte av den här tjänsten.",
        diagnostics="resource type not served; see /fhir/metadata",
    )


def _not_allowed(resource_type: str, interaction: Interaction) -> FhirError:
    return FhirError.single(
        405,
        "not-supported",
        "Åtgärden är inte tillåten för den här resurstypen.",
        diagnostics=f"{interaction.value} is not supported on {resource_type}",
    )


def _body_type_must_match(resource_type: str, body: dict[str, Any]) -> None:
    if body.get("resourceType") != resource_type:
        raise FhirError.single(
            400,
            "invalid",
            "Resursens typ stämmer inte med adressen.",
            expression="resourceType",
            diagnostics=f"the body's resourceType must be {resource_type}",
        )


class WriteHook(Protocol):
    """A pluggable step around writes of one resource type (like a HAPI interceptor).

    ``before_write`` may refuse (raise FhirError) or return the body to store; ``after_write``
    reacts to what was stored (in the same transaction). ``after_read`` may refuse a read,
    or return what of the resource the caller sees (itself, or a copy with parts left
    out). What it refuses is also left out of search pages and histories, and a version
    read. ``before_search`` may refuse a search, or a condition a write names, before it
    runs: a match that is then withheld would still tell what was searched for.

    A hook whose ``after_read`` only ever leaves parts out, never the whole resource, says
    so with ``withholds_on_read = False``: a search or history of its type then answers
    the total the database counts (see :func:`withholds_on_read` and :func:`total_shown`).
    """

    resource_type: str

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]: ...

    def after_write(
        self, fhir: FhirInteractions, stored: StoredResource, existing: StoredResource | None
    ) -> None: ...

    def after_read(self, fhir: FhirInteractions, stored: StoredResource) -> StoredResource: ...

    def before_search(self, fhir: FhirInteractions, query: SearchQuery) -> None: ...

    def before_delete(self, fhir: FhirInteractions, existing: StoredResource) -> None: ...


class PassThroughHook:
    """A :class:`WriteHook` that lets everything through: a hook overrides what it
    takes part in."""

    resource_type = ""

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        return body

    def after_write(
        self, fhir: FhirInteractions, stored: StoredResource, existing: StoredResource | None
    ) -> None:
        return None

    def after_read(self, fhir: FhirInteractions, stored: StoredResource) -> StoredResource:
        return stored

    def before_search(self, fhir: FhirInteractions, query: SearchQuery) -> None:
        return None

    def before_delete(self, fhir: FhirInteractions, existing: StoredResource) -> None:
        return None


class FhirInteractions:
    """The interactions, for one caller in one transaction, each checked and audited."""

    def __init__(
        self,
        store: ResourceStore,
        validator: ValidationPipeline,
        caller: Caller,
        settings: Settings,
        trail: AuditTrail,
        hooks: Sequence[WriteHook] = (),
    ) -> None:
        self.store = store
        self.validator = validator
        self.caller = caller
        self.settings = settings
        self.trail = trail
        self.rules = TenantRules(caller, store)
        # Set by a workflow that writes on the caller's behalf (a Task made by $submit).
        self.workflow_internal = False
        # Set while $submit stores a submission's resources (its ServiceRequest, say).
        self.submitting = False
        # Both only for a block: see writing_as.
        self.hooks: dict[str, list[WriteHook]] = {}
        for hook in hooks:
            self.hooks.setdefault(hook.resource_type, []).append(hook)
        # References to what this request creates and has not stored yet (expect_new).
        self._expected: set[str] = set()

    @contextmanager
    def writing_as(
        self, *, workflow_internal: bool = False, submitting: bool = False
    ) -> Iterator[None]:
        """Mark the writes of a block as the workflow's own or as a submission's; the
        marks are as before once the block ends, however it ends."""
        before = (self.workflow_internal, self.submitting)
        self.workflow_internal = self.workflow_internal or workflow_internal
        self.submitting = self.submitting or submitting
        try:
            yield
        finally:
            self.workflow_internal, self.submitting = before

    def _before_write(
        self, body: dict[str, Any], existing: StoredResource | None, *, validated: bool = False
    ) -> dict[str, Any]:
        hooks = self.hooks.get(body["resourceType"], [])
        if hooks and not validated:
            # The hooks read elements as their FHIR types; the profiles are checked after
            # them, since the workflow's own refusals explain best.
            self.validator.check_structure(body)
        for hook in hooks:
            body = hook.before_write(self, body, existing)
        self._check_references(body, existing)
        return body

    def expect_new(self, references: Iterable[str]) -> None:
        """Resources this request will create (a transaction's entries, a submission's):
        the writes before them may name them."""
        self._expected.update(references)

    def _check_references(self, body: dict[str, Any], existing: StoredResource | None) -> None:
        """What a write names, as it will be stored: every case record it refers to must be
        one the caller sees, or one this request creates (``TenantRules.check_reference``).
        What the version it replaces named already is not checked again: a party keeps
        what another party put there (a note's author, say)."""
        named_before: set[str] = set()
        if existing is not None and existing.body is not None:
            walk_references(existing.body, "", lambda h, _: named_before.add(h["reference"]))

        def visit(holder: dict[str, Any], path: str) -> None:
            reference = holder["reference"]
            if reference not in self._expected and reference not in named_before:
                self.rules.check_reference(reference, f"{path}.reference")

        walk_references(body, str(body["resourceType"]), visit)

    def _after_write(self, stored: StoredResource, existing: StoredResource | None) -> None:
        for hook in self.hooks.get(stored.resource_type, []):
            hook.after_write(self, stored, existing)

    def disclosed(self, stored: StoredResource) -> StoredResource:
        """What the caller sees of a resource it reads or that was found for it (by a
        search, or by a condition its request named): the read hooks' answer (they may
        refuse, or leave parts out)."""
        for hook in self.hooks.get(stored.resource_type, []):
            stored = hook.after_read(self, stored)
        return stored

    def _read_checks_withhold(self, resource_type: str) -> bool:
        """Whether the read hooks may keep a whole resource of this type from a caller."""
        return any(withholds_on_read(hook) for hook in self.hooks.get(resource_type, []))

    def check_search(self, query: SearchQuery) -> None:
        """Whether the caller may search so at all (the search hooks may refuse)."""
        for hook in self.hooks.get(query.resource_type, []):
            hook.before_search(self, query)

    def _disclosable(self, found: list[StoredResource]) -> tuple[list[StoredResource], list[Issue]]:
        """What of ``found`` may go to the caller: each resource passes the read hooks as
        a read of it would. One a hook refuses is left out, and the refusal's issues come
        back, as warnings, to tell the caller that something was withheld and why."""
        kept: list[StoredResource] = []
        withheld: list[Issue] = []
        for stored in found:
            if stored.body is None:  # a deletion in a history: nothing to disclose
                kept.append(stored)
                continue
            try:
                kept.append(self.disclosed(stored))
            except FhirError as refusal:
                withheld.extend(
                    replace(issue, severity=Severity.WARNING) for issue in refusal.issues
                )
        return kept, withheld

    def permit(self, resource_type: str, interaction: Interaction) -> None:
        if not allows(resource_type, Interaction.READ):
            raise _unknown_type()
        if not allows(resource_type, interaction):
            raise _not_allowed(resource_type, interaction)
        if not self.workflow_internal:  # what the workflow writes itself needs no scope
            require_scope(self.caller, resource_type, _SCOPE_FOR[interaction])

    # ----- reads ------------------------------------------------------------------------

    def read(self, resource_type: str, res_id: str) -> StoredResource:
        entry = self.trail.begin("read", resource_type, res_id)
        self.permit(resource_type, Interaction.READ)
        check_id(resource_type, res_id)
        stored = self.disclosed(self._visible(resource_type, res_id))
        entry.succeed(*_patients(stored))
        return stored

    def _visible(self, resource_type: str, res_id: str) -> StoredResource:
        """The current version if the caller may see it; 404 (never 403 or 410) otherwise."""
        self._check_history_visible(resource_type, res_id)
        return self.store.read(resource_type, res_id)

    def _check_history_visible(self, resource_type: str, res_id: str) -> None:
        visibility = self.rules.visibility(resource_type)
        if not visibility.everything and not visibility.admits(
            self.store.parties(resource_type, res_id)
        ):
            raise not_found(resource_type, res_id)

    def vread(self, resource_type: str, res_id: str, version: str) -> StoredResource:
        entry = self.trail.begin("vread", resource_type, res_id)
        self.permit(resource_type, Interaction.VREAD)
        check_id(resource_type, res_id)
        if small_number(version) is None:
            raise FhirError.single(
                400,
                "invalid",
                "Versionsnumret har fel format.",
                diagnostics="versions are integers",
            )
        self._check_history_visible(resource_type, res_id)
        stored = self.store.vread(resource_type, res_id, int(version))
        if stored.body is not None:
            stored = self.disclosed(stored)
        entry.succeed(*_patients(stored))
        return stored

    def search(
        self, resource_type: str, items: list[tuple[str, str]], *, lenient: bool = False
    ) -> SearchResult:
        entry = self.trail.begin("search-type", resource_type, query=urlencode(items))
        self.permit(resource_type, Interaction.SEARCH_TYPE)
        query = parse_search(
            resource_type,
            items,
            lenient=lenient,
            default_count=self.settings.default_page_size,
            max_count=self.settings.max_page_size,
        )
        self.check_search(query)
        matches, counted = self.store.search(
            query, visibility=self.rules.visibility(resource_type), with_total=query.want_total
        )
        found, withheld = self._disclosable(matches)
        entry.succeed(*(p for stored in found for p in _patients(stored)))
        more = (
            query.count > 0
            and len(matches) == query.count
            and (counted is None or query.offset + query.count < counted)
        )
        total = total_shown(
            counted,
            query.offset,
            len(matches),
            len(found),
            filtered=self._read_checks_withhold(resource_type),
        )
        return SearchResult(query, found, total, withheld, more)

    def history(
        self,
        resource_type: str,
        res_id: str | None,
        *,
        since: datetime | None,
        count: int,
        offset: int,
    ) -> HistoryResult:
        interaction = Interaction.HISTORY_TYPE if res_id is None else Interaction.HISTORY_INSTANCE
        entry = self.trail.begin(interaction.value, resource_type, res_id)
        self.permit(resource_type, interaction)
        if res_id is not None:
            check_id(resource_type, res_id)
            self._check_history_visible(resource_type, res_id)
        matched, counted = self.store.history(
            resource_type,
            res_id,
            since=since,
            count=count,
            offset=offset,
            visibility=self.rules.visibility(resource_type),
        )
        versions, _ = self._disclosable(matched)
        entry.succeed(*(p for stored in versions for p in _patients(stored)))
        total = total_shown(
            counted,
            offset,
            len(matched),
            len(versions),
            filtered=self._read_checks_withhold(resource_type),
        )
        return HistoryResult(versions, total, count > 0 and offset + count < counted)

    # ----- writes -----------------------------------------------------------------------

    def create(
        self,
        resource_type: str,
        body: dict[str, Any],
        *,
        if_none_exist: str | None = None,
        res_id: str | None = None,
        validated: bool = False,
    ) -> WriteResult:
        """Create under a server-assigned id; with ``if_none_exist``, at most once.

        ``validated``: the caller has already put this body through the validator and has
        since changed only its references (``$submit`` validates every entry before it
        routes); the check is not repeated.
        """
        entry = self.trail.begin("create", resource_type)
        body = self._creatable(resource_type, body)
        if if_none_exist:
            existing = self.match_for_create(resource_type, if_none_exist)
            if existing is not None:
                entry.succeed(existing.reference, *_patients(existing))
                return WriteResult(200, existing, created=False)
        body = self._checked_new(body, validated)
        stored = self.store.create(body, res_id=res_id, parties=self.rules.parties_of_new)
        self._hooked_and_audited(entry, stored)
        return WriteResult(201, stored, created=True)

    def create_all(
        self,
        items: Sequence[tuple[dict[str, Any], str | None]],
        *,
        validated: bool = False,
        visible_to: frozenset[str] = frozenset(),
    ) -> list[StoredResource]:
        """Create several resources (body, id or None) with one write per table.

        Each body is checked as :meth:`create` checks it, all are stored together, then
        each is recorded, hooked and audited as :meth:`create` does. For resources whose
        checks do not depend on one another (the entries of one submission).
        ``visible_to``: parties that may see the case resources besides those they name.
        """
        pending = [self.check_new(body, res_id, validated=validated) for body, res_id in items]
        return self.store_new(pending, visible_to=visible_to)

    def check_new(
        self, body: dict[str, Any], res_id: str | None = None, *, validated: bool = False
    ) -> NewResource:
        """The first half of a create: audited as begun, permitted, checked and hooked,
        not yet stored (:meth:`store_new`). ``validated`` as for :meth:`create`."""
        resource_type = str(body.get("resourceType"))
        entry = self.trail.begin("create", resource_type)
        checked = self._checked_new(self._creatable(resource_type, body), validated)
        return NewResource(entry, checked, res_id)

    def store_new(
        self,
        pending: Sequence[NewResource],
        *,
        visible_to: frozenset[str] = frozenset(),
        companions: Companions | None = None,
    ) -> list[StoredResource]:
        """The second half: store checked resources in one write (with ``companions``,
        rows of other tables made from them, as ``ResourceStore.create_many`` takes),
        then record, hook and audit each."""
        stored = self.store.create_many(
            [new.body for new in pending],
            res_ids=[new.res_id for new in pending],
            parties=partial(self.rules.parties_of_new, visible_to=visible_to),
            companions=companions,
        )
        for new, created in zip(pending, stored, strict=True):
            self._hooked_and_audited(new.entry, created)
        return stored

    def _creatable(self, resource_type: str, body: dict[str, Any]) -> dict[str, Any]:
        self.permit(resource_type, Interaction.CREATE)
        _body_type_must_match(resource_type, body)
        return {k: v for k, v in body.items() if k != "id"}  # the server assigns ids

    def _checked_new(self, body: dict[str, Any], validated: bool) -> dict[str, Any]:
        self.rules.check_write(body, None)
        body = self._before_write(body, None, validated=validated)
        if not validated:
            self.validator.check(body)
        return body

    def _hooked_and_audited(self, entry: AuditEntry, stored: StoredResource) -> None:
        self._after_write(stored, None)
        entry.succeed(stored.reference, *_patients(stored))

    def match_for_create(self, resource_type: str, criteria: str) -> StoredResource | None:
        """What a conditional create (If-None-Exist) finds instead of creating. The caller
        must be allowed to create the type, and a match goes back to it only as a read of
        it would: with read scope, past the read hooks (consent). A condition is no way to
        read what a read may not."""
        self.permit(resource_type, Interaction.CREATE)
        existing = self.find_one_for_condition(resource_type, criteria)
        if existing is None:
            return None
        self.permit(resource_type, Interaction.READ)
        return self.disclosed(existing)

    def find_one_for_condition(self, resource_type: str, criteria: str) -> StoredResource | None:
        """The single resource matching conditional criteria, None if none, 412 if several."""
        query = self._condition(resource_type, criteria)
        self.store.lock_criteria(resource_type, criteria)
        matches, _ = self.store.search(
            query, visibility=self.rules.visibility(resource_type), with_total=False
        )
        if len(matches) > 1:
            raise FhirError.single(
                412,
                "multiple-matches",
                "Villkoret matchar flera resurser. Ange ett mer precist villkor.",
                diagnostics="the condition matches more than one resource",
            )
        return matches[0] if matches else None

    def _condition(self, resource_type: str, criteria: str) -> SearchQuery:
        items = parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
        if not items:
            raise FhirError.single(
                400,
                "invalid",
                "Villkoret för villkorligt skapande är tomt.",
                diagnostics="If-None-Exist needs search parameters",
            )
        query = parse_search(resource_type, [*items, ("_count", "2")], max_count=2)
        self.check_search(query)
        return query

    def update(
        self,
        resource_type: str,
        res_id: str,
        body: dict[str, Any],
        *,
        if_match: str | None = None,
    ) -> WriteResult:
        entry = self.trail.begin("update", resource_type, res_id)
        self.permit(resource_type, Interaction.UPDATE)
        check_id(resource_type, res_id)
        _body_type_must_match(resource_type, body)
        if body.get("id") != res_id:
            raise FhirError.single(
                400,
                "invalid",
                "Resursens id måste finnas och vara samma som i adressen.",
                expression=f"{resource_type}.id",
                diagnostics="the body's id must equal the id in the URL",
            )
        self._check_history_visible(resource_type, res_id)  # 404 when the party cannot see it
        if not self.store.known(resource_type, res_id):
            if not self.rules.visibility(resource_type).everything:
                # As for a record the party may not see, so neither answer tells them apart
                # (a kommun's PractitionerRole, say).
                raise not_found(resource_type, res_id)
            if if_match is not None:
                raise _no_current_version()
            raise FhirError.single(
                405,
                "not-supported",
                "Resursen finns inte. Nya resurser skapas med POST; servern väljer id.",
                diagnostics="update-as-create is not supported (server-assigned ids)",
            )
        existing = self.store.current(resource_type, res_id)
        self.rules.check_write(body, existing)
        body = self._before_write(body, existing)
        self.validator.check(body)
        # Written only over the version checked above: on PostgreSQL another transaction
        # may have committed a change since it was read.
        stored = self.store.update(
            body,
            res_id,
            if_match=if_match,
            based_on=existing.version_id if existing is not None else None,
        )
        self.rules.record_write(stored)
        self._after_write(stored, existing)
        entry.succeed(*_patients(stored))
        # The answer shows the new version as a read of it would (parts may be left out).
        return WriteResult(200, self.disclosed(stored), created=False)

    def delete(
        self, resource_type: str, res_id: str, *, if_match: str | None = None
    ) -> StoredResource | None:
        """Delete the current version (with ``if_match``, only that one: 412 otherwise).
        A resource deleted already stays so and None comes back: FHIR makes a delete
        idempotent, so a client that repeats one after a lost answer gets 204 again. Only
        a client that may delete it, though: the repeat is checked as the delete of the
        version before the deletion would be, so a party that may not delete the resource
        gets the same refusal whether or not it is deleted already."""
        entry = self.trail.begin("delete", resource_type, res_id)
        self.permit(resource_type, Interaction.DELETE)
        check_id(resource_type, res_id)
        self._check_history_visible(resource_type, res_id)  # 404 when the party cannot see it
        existing = self.store.current(resource_type, res_id)
        if existing is None or existing.body is None:
            if not self.store.known(resource_type, res_id):
                raise not_found(resource_type, res_id)
            last = self._last_written(resource_type, res_id)
            if last is not None:
                self._check_delete(last)
            if if_match is not None:
                raise _no_current_version()
            entry.succeed()
            return None
        self._check_delete(existing)
        stored = self.store.delete(resource_type, res_id, if_match=if_match)
        entry.succeed(*_patients(existing))
        return stored

    def _check_delete(self, existing: StoredResource) -> None:
        """Raise unless the caller may delete ``existing``, a version with a body
        (tenancy, then the hooks)."""
        if existing.body is not None:
            self.rules.check_write(existing.body, existing)
        for hook in self.hooks.get(existing.resource_type, []):
            hook.before_delete(self, existing)

    def _last_written(self, resource_type: str, res_id: str) -> StoredResource | None:
        """The newest version of a deleted resource that holds a body (the one deleted)."""
        offset, page = 0, 8
        while True:
            versions, _ = self.store.history(resource_type, res_id, count=page, offset=offset)
            for version in versions:
                if version.body is not None:
                    return version
            if len(versions) < page:
                return None
            offset += page


def _no_current_version() -> FhirError:
    """412 for an ``If-Match`` on a resource that does not exist or was deleted: there is
    no current version for it to match (HTTP), whatever it names, ``*`` included."""
    return FhirError.single(
        412,
        "conflict",
        "Resursen finns inte, eller har tagits bort, så villkoret i If-Match uppfylls inte.",
        diagnostics="If-Match, but the resource has no current version",
    )


def _patients(stored: StoredResource) -> list[str]:
    """The Patient references a resource is about, for the audit's patient entities."""
    body = stored.body or {}
    if stored.resource_type == "Patient":
        return [stored.reference]
    found: list[str] = []
    for element in ("subject", "patient", "for"):
        value = body.get(element)
        if isinstance(value, dict) and str(value.get("reference", "")).startswith("Patient/"):
            found.append(str(value["reference"]))
    return found
