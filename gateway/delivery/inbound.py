"""Applying what a vårdcentral's system reports: status changes and answers, inbound.

Adapters that learn of a change at the unit's system (by polling it, or because it sent a
message) describe it as an :class:`InboundUpdate` and hand it to :meth:`InboundApplier.apply`.
The change then goes through the normal workflow, exactly as if the unit's own client had
called the FHIR API: as a vårdcentral :class:`Caller` for the owning unit, through
:class:`FhirInteractions` with its tenant rules, the workflow hooks (legal transitions,
a reason code on rejection, the answer validated against the Questionnaire, consent
checked again before an answer is accepted), validation, and the audit trail, all in one
database transaction. An answer completes the Task.

Re-applying the same update changes nothing: a Task already in the reported state is
left alone, an answer is taken once, and an update whose ``remote_version`` was applied
before is skipped. A refused update comes back as an :class:`InboundResult` carrying the
:class:`FhirError` (its OperationOutcome); nothing was changed and the refusal is audited.
Whether the same update may pass when it is tried again is :func:`may_pass_later`, the one
rule the poller and the RIVTA endpoint both follow.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gateway.api.interactions import RESOURCE_ID, FhirInteractions, WriteHook, check_id
from gateway.api.outcome import operation_outcome
from gateway.canonical import CS_REJECTION_REASON, CS_TASK_BUSINESS_STATUS, CS_TASK_PARAMETER_TYPE
from gateway.delivery.protocols import InboundUpdate
from gateway.delivery.sync import receipt_exists, record_receipt
from gateway.errors import FhirError, Issue
from gateway.logging import get_logger
from gateway.resources.references import as_logical, references_in
from gateway.routing.directory import DirectoryError, unit_by_hsa_id
from gateway.security.audit import AuditLog, AuditTrail
from gateway.security.caller import Caller, PartyKind
from gateway.settings import Settings
from gateway.store.resources import ResourceStore
from gateway.validation.conformance import DEFAULT_COMPILED_DIR
from gateway.validation.identifiers import SYSTEM_HSA_ID
from gateway.validation.pipeline import ValidationPipeline, is_blocking
from gateway.workflow.dispatch import delivered_after_all
from gateway.workflow.task_states import OPEN, Role, check_transition

__all__ = [
    "INBOUND_SCOPES",
    "InboundApplier",
    "InboundResult",
    "InboundUpdate",
    "first_blocking",
    "is_changed_meanwhile",
    "may_pass_later",
]

log = get_logger(__name__)

# What a unit's system may do inbound, as SMART system scopes: read and change its Tasks,
# read the request, and answer. Nothing else, whatever the tenant rules would allow.
INBOUND_SCOPES = frozenset(
    {"system/Task.rus", "system/ServiceRequest.rs", "system/QuestionnaireResponse.crs"}
)
MAX_PARTOF_DEPTH = 8
# Statuses a unit's system reports only when it has the request.
_UNIT_AT_WORK = frozenset(
    {"received", "accepted", "in-progress", "on-hold", "rejected", "completed"}
)
MAX_STEPS = 3  # at most this many statuses between what a Task is and what is reported
# The elements of the peer's answer that are the peer's own bookkeeping, not the answer.
_ANSWER_DROPPED = ("id", "meta", "subject", "basedOn", "partOf", "encounter", "contained")


def first_blocking(error: FhirError) -> Issue | None:
    """The refusal's first error (or fatal) issue; its first issue when none is one."""
    issues = error.issues
    return next((i for i in issues if is_blocking(i)), issues[0] if issues else None)


def is_changed_meanwhile(error: FhirError) -> bool:
    """Whether the update was refused because another change reached the Task first
    while this one was checked: the store's 409 ``changed_meanwhile`` (a write over a
    version since replaced), or the 412 ``version_conflict`` of the If-Match the applier
    writes with (the version it read is no longer current). Checked against the Task as
    it is then, the same update may well pass."""
    first = first_blocking(error)
    return error.status in (409, 412) and first is not None and first.code == "conflict"


def may_pass_later(error: FhirError) -> bool:
    """Whether a refused update may pass when the same update is tried again: a fault in
    the service (5xx), or a Task that changed while the update was checked
    (:func:`is_changed_meanwhile`). Anything else, the workflow refuses however often it
    is tried."""
    return error.status >= 500 or is_changed_meanwhile(error)


@dataclass(frozen=True)
class InboundResult:
    """What :meth:`InboundApplier.apply` did with one update."""

    task_id: str
    changed: bool = False  # something was written
    task_status: str | None = None  # the Task's status afterwards, when it could be read
    error: FhirError | None = None  # the refusal; nothing was changed

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def may_pass_later(self) -> bool:
        """Refused for a reason that may be gone next time (see :func:`may_pass_later`):
        the update is to be tried again, not given up on."""
        return self.error is not None and may_pass_later(self.error)

    @property
    def outcome(self) -> dict[str, Any] | None:
        """The refusal as an OperationOutcome, None when the update was applied."""
        if self.error is None:
            return None
        return operation_outcome(self.error.issues)

    @property
    def detail(self) -> str:
        """For operators: the refusal's status and diagnostics (never patient data)."""
        if self.error is None:
            return "changed" if self.changed else "unchanged"
        reasons = "; ".join(i.diagnostics or i.code for i in self.error.issues)
        return f"refused {self.error.status}: {reasons}"


@dataclass(frozen=True)
class InboundApplier:
    """Applies inbound updates with the app's own parts: its sessions, settings, audit
    log, validator and workflow hooks (the app builds one: ``app.state.inbound``)."""

    sessions: sessionmaker[Session]
    settings: Settings
    audit: AuditLog
    validator: ValidationPipeline
    hooks: tuple[WriteHook, ...]

    def apply(self, update: InboundUpdate, *, via: str) -> InboundResult:
        """Apply ``update`` as the owning unit through the normal workflow, in one
        transaction.

        ``via`` names the channel for the audit trail (``fhir-rest:poll``, ``rivta`` …);
        the caller's client id is ``{via}:{unit HSA-id}``. Never raises for a refused
        update.
        """
        trail = AuditTrail(None)
        try:
            with self.sessions() as session, session.begin():
                result = _apply(session, self, update, via, trail)
                self.audit.write_trail(session, trail)
            return result
        except FhirError as error:
            self._audit_failure(trail, update, error.status)
            log.info(
                "inbound_refused", via=via, task=update.task_id, status=error.status, changed=False
            )
            return InboundResult(update.task_id, error=error)
        except Exception as error:  # a broken update must not stop the poller or the adapter
            # The type only: a traceback's locals or message may hold patient data.
            log.error("inbound_failed", via=via, error_type=type(error).__name__)
            self._audit_failure(trail, update, 500)
            failure = FhirError.single(
                500,
                "exception",
                "Ändringen från vårdcentralens system kunde inte tas emot på grund av ett fel "
                "i tjänsten. Den prövas igen.",
                diagnostics=f"internal error: {type(error).__name__}",
            )
            return InboundResult(update.task_id, error=failure)

    def _audit_failure(self, trail: AuditTrail, update: InboundUpdate, status: int) -> None:
        if not trail.entries:  # refused before anything began: record the attempt itself
            trail.begin("update", "Task", update.task_id if _plain_id(update.task_id) else None)
        with self.sessions() as session, session.begin():
            self.audit.write_trail(session, trail, failed_status=status)


def _plain_id(value: str) -> bool:
    return bool(RESOURCE_ID.match(value))


def _apply(
    session: Session,
    parts: InboundApplier,
    update: InboundUpdate,
    via: str,
    trail: AuditTrail,
) -> InboundResult:
    store = ResourceStore(session)
    check_id("Task", update.task_id)
    caller = _caller_for(store, update, via, trail)
    trail.caller = caller
    fhir = FhirInteractions(store, parts.validator, caller, parts.settings, trail, parts.hooks)
    task = fhir.read("Task", update.task_id)  # 404 unless the caller's unit may see it
    assert task.body is not None
    if update.remote_version is not None and _seen(session, update, via):
        return InboundResult(update.task_id, False, task.body.get("status"))
    changed = False
    if task.body.get("status") == "failed" and _reports_work(update):
        task = delivered_after_all(fhir, task)
        changed = (task.body or {}).get("status") != "failed"
    assert task.body is not None
    wanted = _task_change(task.body, update)
    if wanted is not None:
        # A system that skips a step (received straight to on-hold) passes through the
        # steps the unit may take, each a version of its own, as the unit's client would.
        for step in _steps_between(str(task.body.get("status")), str(wanted["status"]))[:-1]:
            assert task.body is not None
            body = {**task.body, "status": step}
            task = fhir.update("Task", update.task_id, body, if_match=str(task.version_id)).stored
        assert task.body is not None
        wanted = {
            **wanted,
            "meta": task.body.get("meta"),
            "lastModified": task.body.get("lastModified"),
        }
        task = fhir.update("Task", update.task_id, wanted, if_match=str(task.version_id)).stored
        changed = True
    if update.answer is not None and not _answered(task.body or {}):
        fhir.create("QuestionnaireResponse", _answer_for(task.body or {}, update.answer))
        changed = True
    if update.remote_version is not None:
        _remember(session, update, via)
    current = store.current("Task", update.task_id)
    status = (current.body or {}).get("status") if current is not None else None
    return InboundResult(update.task_id, changed, status)


def _caller_for(store: ResourceStore, update: InboundUpdate, via: str, trail: AuditTrail) -> Caller:
    """The vårdcentral the update speaks for.

    It is the unit with the HSA-id, or, when the Task belongs to a unit reached through it
    (a filial under the unit that runs the journal system), that owning unit. A unit that
    neither owns the Task nor is above its owner gets its own identity, and the tenant
    rules then refuse it the Task.
    """
    try:
        unit = unit_by_hsa_id(store, update.unit_hsa_id)
    except DirectoryError:
        unit = None
    if unit is None:
        # Audited as who claimed to speak: a conditional reference to the unknown HSA-id.
        claimed = f"Organization?identifier={SYSTEM_HSA_ID}|{update.unit_hsa_id[:64]}"
        trail.caller = _caller(claimed, update, via)
        raise FhirError.single(
            403,
            "forbidden",
            "Vårdcentralen som ändringen kommer från finns inte i katalogen.",
            expression="Task.owner",
            diagnostics="no active Organization carries the unit's HSA-id",
        )
    party = unit.reference
    task = store.current("Task", update.task_id)
    owners = references_in((task.body or {}).get("owner")) if task is not None else []
    if owners and owners[0] != party and _is_above(store, party, owners[0]):
        party = owners[0]
    return _caller(party, update, via)


def _caller(party: str, update: InboundUpdate, via: str) -> Caller:
    return Caller(
        client_id=f"{via}:{update.unit_hsa_id}"[:128],
        party=party,
        party_kind=PartyKind.VARDCENTRAL,
        scopes=INBOUND_SCOPES,
    )


def _is_above(store: ResourceStore, ancestor: str, unit: str) -> bool:
    current: str | None = unit
    for _ in range(MAX_PARTOF_DEPTH):
        if current is None or not current.startswith("Organization/"):
            return False
        organization = store.current("Organization", current.split("/", 1)[1])
        if organization is None or organization.body is None:
            return False
        parents = references_in(organization.body.get("partOf"))
        current = parents[0] if parents else None
        if current == ancestor:
            return True
    return False


def _steps_between(current: str, wanted: str) -> list[str]:
    """The shortest chain of statuses the owner may move through from ``current`` to
    ``wanted`` (ending with ``wanted``); just ``[wanted]`` when there is none, so that the
    workflow refuses it with its own explanation."""
    if current == wanted:
        return [wanted]
    paths: list[list[str]] = [[current]]
    for _ in range(MAX_STEPS):
        longer: list[list[str]] = []
        for path in paths:
            for status in (*sorted(OPEN), "rejected"):
                if status in path or not _owner_may(path[-1], status):
                    continue
                if status == wanted:
                    return [*path[1:], status]
                longer.append([*path, status])
        paths = longer
    return [wanted]


def _owner_may(current: str, new: str) -> bool:
    try:
        check_transition(current, new, Role.OWNER)
    except FhirError:
        return False
    return True


def _reports_work(update: InboundUpdate) -> bool:
    """Whether the update says the unit has the request: a status only the unit's work
    reaches, or an answer."""
    return update.answer is not None or update.status in _UNIT_AT_WORK


def _task_change(task: dict[str, Any], update: InboundUpdate) -> dict[str, Any] | None:
    """The Task as the update wants it, or None when it already is so (or nothing is asked).

    A reported ``completed`` is not a change of its own: the Task is completed by the
    answer. Without an answer the normal workflow refuses it, as it refuses the unit's
    own client.
    """
    body = dict(task)
    if update.status and not (update.status == "completed" and update.answer is not None):
        body["status"] = update.status
    if update.business_status:
        coding = (body.get("businessStatus") or {}).get("coding") or [{}]
        if (coding[0].get("system"), coding[0].get("code")) != (
            CS_TASK_BUSINESS_STATUS,
            update.business_status,
        ):
            body["businessStatus"] = _concept(CS_TASK_BUSINESS_STATUS, update.business_status)
    if update.status_reason:
        coding = (body.get("statusReason") or {}).get("coding") or [{}]
        if (coding[0].get("system"), coding[0].get("code")) != (
            CS_REJECTION_REASON,
            update.status_reason,
        ):
            body["statusReason"] = _concept(CS_REJECTION_REASON, update.status_reason)
    return None if body == task else body


def _concept(system: str, code: str) -> dict[str, Any]:
    display = _displays(system).get(code)
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    concept: dict[str, Any] = {"coding": [coding]}
    if display:
        concept["text"] = display
    return concept


@functools.cache
def _displays(system: str) -> dict[str, str]:
    """The Swedish displays of one of our CodeSystems, from the compiled conformance."""
    name = system.rsplit("/", 1)[-1]
    path = DEFAULT_COMPILED_DIR / f"CodeSystem-{name}.json"
    try:
        concepts = json.loads(path.read_text(encoding="utf-8")).get("concept", [])
    except (OSError, ValueError):
        return {}
    return {str(c["code"]): str(c.get("display", "")) for c in concepts if "code" in c}


def _answered(task: dict[str, Any]) -> bool:
    for output in task.get("output") or []:
        for coding in (output.get("type") or {}).get("coding") or []:
            if (coding.get("system"), coding.get("code")) == (
                CS_TASK_PARAMETER_TYPE,
                "questionnaire-response",
            ):
                return True
    return False


def _answer_for(task: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The peer's QuestionnaireResponse, pointed at our request (its own ids dropped)."""
    if not isinstance(answer, dict) or answer.get("resourceType") != "QuestionnaireResponse":
        raise FhirError.single(
            400,
            "invalid",
            "Svaret från vårdcentralens system är inget utlåtande (QuestionnaireResponse).",
            expression="QuestionnaireResponse",
            diagnostics="the answer must be a QuestionnaireResponse",
        )
    body = {k: v for k, v in answer.items() if k not in _ANSWER_DROPPED}
    profiles = (
        (answer.get("meta") or {}).get("profile") if isinstance(answer.get("meta"), dict) else None
    )
    if isinstance(profiles, list) and profiles:
        body["meta"] = {"profile": profiles}  # the claim stays; the peer's versions do not
    body["basedOn"] = [task["focus"]] if task.get("focus") else []
    if isinstance(body.get("author"), dict):
        # The peer's reference points into its own system, where it means nothing here
        # (and an id that happened to match one of ours would name someone else).
        body["author"] = as_logical(body["author"])
    return body


# ----- remote versions already applied ---------------------------------------------------


def _seen(session: Session, update: InboundUpdate, via: str) -> bool:
    assert update.remote_version is not None
    return receipt_exists(session, update.task_id, via, update.remote_version)


def _remember(session: Session, update: InboundUpdate, via: str) -> None:
    assert update.remote_version is not None
    record_receipt(session, update.task_id, via, update.remote_version)
