"""Delivering a request to the vårdcentral, and notifications to the kommun (outbox handlers).

At dispatch the consent is checked again and the Task must still be open: a consent
revoked after submission stops the delivery. The request travels as a transaction Bundle
(Task, ServiceRequest, Patient, Consent, the requester) to the adapter that the unit's
Endpoint.connectionType names.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from gateway.api.interactions import FhirInteractions
from gateway.canonical import CS_GATEWAY_TASK_REASON
from gateway.consent.evaluator import WITHDRAWN_SV, Action, Decision, Disclosure, evaluate
from gateway.delivery import webhook_targets
from gateway.delivery.handlers import AdapterHandler, AuditedHandler
from gateway.delivery.outbox import Message, mark_arrived
from gateway.delivery.protocols import DeliveryResult
from gateway.delivery.registry import AdapterRegistry
from gateway.delivery.webhook_targets import TargetRefusedError, WebhookTargets
from gateway.resources.references import references_in
from gateway.routing.directory import DirectoryError, may_use, way_in
from gateway.search.index import split_reference
from gateway.security.audit import AuditLog
from gateway.settings import Settings
from gateway.store.resources import ResourceStore, StoredResource, utc_now
from gateway.workflow.consent_checks import (
    ConsentCheck,
    organization_of,
    recorded,
    task_decision,
    withdrawn_since,
)
from gateway.workflow.submit import JOURNAL_REQUEST
from gateway.workflow.subscriptions import notification_body
from gateway.workflow.task_states import OPEN, Role
from gateway.workflow.transitions import (
    REASON_STOPPED_BY_CONSENT,
    REASON_UNDELIVERED,
    change_task,
    reason,
)

NOTIFY_TIMEOUT_SECONDS = 10.0  # each step of a notification's POST
NOTIFY_DEADLINE_SECONDS = 20.0  # the whole of it: a slow subscriber holds no one else up
# Why a Task failed when its delivery gave up (not when consent stopped it).
UNDELIVERED_SV = "Förfrågan kunde inte levereras till vårdcentralen."
UNDELIVERED = ("requested", "received")  # a Task fails from these when its delivery ends


def _current(store: ResourceStore, reference: str) -> StoredResource | None:
    ref_type, ref_id = split_reference(reference)
    return store.current(ref_type, ref_id) if ref_type else None


def request_bundle(store: ResourceStore, task: StoredResource) -> dict[str, Any]:
    """The Task and what the unit needs to answer it, as a transaction Bundle."""
    body = task.body or {}
    included: list[StoredResource] = [task]
    request = _current(store, references_in(body.get("focus"))[0]) if body.get("focus") else None
    if request is not None:
        included.append(request)
        request_body = request.body or {}
        for element in ("subject", "requester", "supportingInfo"):
            for reference in references_in(request_body.get(element)):
                found = _current(store, reference)
                if found is not None:
                    included.append(found)
        requester = (
            _current(store, references_in(request_body.get("requester"))[0])
            if request_body.get("requester")
            else None
        )
        for reference in (
            references_in((requester.body or {}).get("organization")) if requester else []
        ):
            found = _current(store, reference)
            if found is not None:
                included.append(found)
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:kv-gateway:{stored.reference}",
                "resource": stored.body,
                "request": {"method": "PUT", "url": stored.reference},
            }
            for stored in {s.reference: s for s in included}.values()
        ],
    }


def consent_still_permits(store: ResourceStore, task: StoredResource) -> ConsentCheck:
    """Whether the request's consent still permits the disclosure, and why (a reason code).

    A consent sent with the request must permit it, and no Consent of the person recorded
    after it may withdraw it: the newest word of the person counts."""
    body = task.body or {}
    request = _current(store, references_in(body.get("focus"))[0]) if body.get("focus") else None
    if request is None or request.body is None:
        return ConsentCheck(False, "request-missing", None, "Förfrågan finns inte längre.")
    consents = [
        c
        for c in (_current(store, r) for r in references_in(request.body.get("supportingInfo")))
        if c
    ]
    recipient = organization_of(store)(request.body.get("requester") or {})
    disclosure = Disclosure(
        subject=references_in(body.get("for"))[0] if body.get("for") else "",
        discloser=references_in(body.get("owner"))[0] if body.get("owner") else "",
        recipient=recipient or "",
        action=Action.DISCLOSE,
        at=utc_now(),
    )
    first_refusal: Decision | None = None
    for consent in consents:
        decision = evaluate(consent.body, disclosure, organization_of(store))
        if decision.permitted:
            if withdrawn_since(store, consent.id, recorded(consent), disclosure):
                return ConsentCheck(False, "consent-withdrawn", consent.reference, WITHDRAWN_SV)
            return _check(decision)
        first_refusal = first_refusal or decision
    # Why the first consent sent with the request no longer permits; with none, the
    # evaluator's own word for a missing consent.
    return _check(first_refusal or evaluate(None, disclosure, organization_of(store)))


def delivered_after_all(fhir: FhirInteractions, task: StoredResource) -> StoredResource:
    """The unit's system reports on a Task that failed when its delivery gave up: the
    request did arrive (a peer that stored it but kept answering with errors, say). With
    the consent still permitting, the Task is received after all, so that what the unit
    reports, its answer above all, is not lost, and its dead request counts as delivered
    (no rerun sends it again). Otherwise it stays failed and the workflow refuses the
    report. A Task that failed for another reason (consent stopped its delivery, and the
    kommun was told to send a new request) is not revived. The consent decision is
    audited."""
    body = task.body or {}
    if not _undelivered(body.get("statusReason") or {}):
        return task
    check = consent_still_permits(fhir.store, task)
    fhir.trail.events.append(task_decision(fhir.store, task, check, fhir.caller))
    if not check.permitted:
        return task
    entry = fhir.trail.begin("update", "Task", task.id)
    received = change_task(fhir.store, task.id, "received", Role.GATEWAY)
    mark_arrived(fhir.store.session, task.reference, JOURNAL_REQUEST)
    entry.succeed(*references_in(body.get("for")))
    return received


def _check(decision: Decision) -> ConsentCheck:
    return ConsentCheck(decision.permitted, decision.code, decision.consent, decision.text_sv)


class RouteNotAuthorisedError(Exception):
    """The routing table's route to the unit is one the gateway is not authorised for."""


def way_in_now(store: ResourceStore, unit: str, settings: Settings) -> StoredResource | None:
    """The active Endpoint that reaches ``unit`` now, found as routing finds it at submit
    (the unit's own or a parent's, or the routing table's route). The directory may have
    given the unit another since a request was queued: a move to a new journal system,
    say, with the old Endpoint switched off. None when the directory gives none now (the
    unit inactive or gone, no usable or no unambiguous Endpoint); RouteNotAuthorisedError when
    its route is one the gateway may not use."""
    ref_type, unit_id = split_reference(unit)
    found = store.current("Organization", unit_id) if ref_type == "Organization" else None
    if found is None or found.body is None or found.body.get("active") is False:
        return None
    try:
        way = way_in(store, found, settings.routing_service_contract)
    except DirectoryError:
        return None
    if not may_use(
        store.session, settings.routing_consumer_id, settings.routing_service_contract, way
    ):
        raise RouteNotAuthorisedError(way.logical_address)
    return way.endpoint if (way.endpoint.body or {}).get("status") == "active" else None


class JournalRequestHandler(AdapterHandler):
    """Outbox kind ``journal-request``: the request to the unit's journal system or inbox.
    It goes where routing finds the unit when it goes (:func:`way_in_now`), not where it
    was queued for: a request that waited, or an operator reruns, follows the unit to a new
    Endpoint. The queued one serves when the directory gives none now."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        registry: AdapterRegistry,
        audit: AuditLog,
        settings: Settings,
    ) -> None:
        super().__init__(sessions, registry, audit)
        self.settings = settings

    def deliver(self, message: Message) -> DeliveryResult:
        with self.sessions() as session:
            store = ResourceStore(session)
            task = _current(store, message.payload["task"])
            if task is None or task.body is None or task.body.get("status") not in OPEN:
                return DeliveryResult.give_up("the Task is closed or gone")
            check = consent_still_permits(store, task)
            decision = task_decision(store, task, check)
            try:
                endpoint = way_in_now(store, str(message.payload.get("unit", "")), self.settings)
                refused = False
            except RouteNotAuthorisedError:
                endpoint, refused = None, True
            if endpoint is None and message.target.startswith("Endpoint/"):
                endpoint = _current(store, message.target)
            bundle = request_bundle(store, task) if check.permitted else None
        if bundle is None:
            self._stop_for_consent(task.id, decision, check)
            return DeliveryResult.give_up(f"consent no longer permits delivery ({check.code})")
        self.record_apart(decision)  # every check is audited
        if refused:
            return DeliveryResult.retry(
                "the routing table's route to the unit is not authorised for the gateway"
            )
        if endpoint is None or endpoint.body is None:
            return DeliveryResult.give_up("the unit has no usable Endpoint")
        if endpoint.reference != message.target:
            self._reroute(message, endpoint.reference)
        return self._send(endpoint.body, task.id, bundle, message.idempotency_key)

    def on_delivered(self, session: Session, message: Message) -> None:
        store = ResourceStore(session)
        _, task_id = split_reference(message.payload["task"])
        task = store.current("Task", task_id)
        if task is not None and task.body is not None and task.body.get("status") == "requested":
            change_task(store, task_id, "received", Role.GATEWAY)
        super().on_delivered(session, message)

    def on_dead(self, session: Session, message: Message, error: str) -> None:
        _, task_id = split_reference(message.payload["task"])
        _fail_undelivered(ResourceStore(session), task_id, UNDELIVERED_SV, REASON_UNDELIVERED)
        super().on_dead(session, message, error)

    def _stop_for_consent(
        self, task_id: str, decision: dict[str, Any], check: ConsentCheck
    ) -> None:
        """The refusal's AuditEvent, and the Task failed with the consent's reason, in one
        transaction: the kommun learns (and is notified) that the request did not go out,
        and why, and that a new consent and a new request are needed."""
        with self.sessions() as session, session.begin():
            self.audit.append(session, decision)
            _fail_undelivered(
                ResourceStore(session),
                task_id,
                f"Förfrågan skickades inte till vårdcentralen. {check.text_sv} Inhämta ett "
                "giltigt samtycke och skicka en ny förfrågan.",
                REASON_STOPPED_BY_CONSENT,
            )


def _fail_undelivered(store: ResourceStore, task_id: str, text_sv: str, code: str) -> None:
    """Fail a Task that never reached its unit, unless it was closed meanwhile; ``code``
    (of the gateway's own reasons) says why, for systems, as ``text_sv`` does for people."""
    task = store.current("Task", task_id)
    if task is not None and task.body is not None and task.body.get("status") in UNDELIVERED:
        reason_given = reason(text_sv, code, CS_GATEWAY_TASK_REASON)
        change_task(store, task_id, "failed", Role.GATEWAY, reason=reason_given)


def _undelivered(status_reason: dict[str, Any]) -> bool:
    """Whether a failed Task's reason is that its delivery gave up. A Task failed before
    the gateway coded its reasons carries the text alone."""
    codings = status_reason.get("coding") or []
    if not codings:
        return status_reason.get("text") == UNDELIVERED_SV
    return any(
        c.get("system") == CS_GATEWAY_TASK_REASON and c.get("code") == REASON_UNDELIVERED
        for c in codings
    )


class RestHookHandler(AuditedHandler):
    """Outbox kind ``subscription-notification``: an R4 rest-hook POST to the subscriber."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        fhir_base_url: str,
        audit: AuditLog,
        targets: WebhookTargets,
    ) -> None:
        super().__init__(sessions, audit)
        self.fhir_base_url = fhir_base_url
        self.targets = targets

    def deliver(self, message: Message) -> DeliveryResult:
        with self.sessions() as session:
            subscription = _current(ResourceStore(session), message.payload["subscription"])
        if (
            subscription is None
            or subscription.body is None
            or subscription.body.get("status") != "active"
        ):
            return DeliveryResult.give_up("the Subscription is no longer active")
        channel = subscription.body.get("channel") or {}
        # The subscriber can tell a repeat (delivery is at least once) from a new event.
        headers = {"content-type": "application/fhir+json"}
        for header in channel.get("header", []):
            name, _, value = str(header).partition(":")
            if name.strip() and value:
                headers[name.strip()] = value.strip()
        headers["Idempotency-Key"] = message.idempotency_key
        body = notification_body(f"{self.fhir_base_url}/{message.payload['task']}")
        try:
            target = self.targets.resolve(str(channel.get("endpoint")))
        except TargetRefusedError as refused:
            return DeliveryResult.give_up(str(refused))
        except OSError as error:  # the name does not resolve (now)
            return DeliveryResult.retry(f"subscriber's host unknown: {type(error).__name__}")
        try:
            response = webhook_targets.post(
                target, body, headers, NOTIFY_TIMEOUT_SECONDS, NOTIFY_DEADLINE_SECONDS
            )
        except httpx.HTTPError as error:
            return DeliveryResult.retry(f"subscriber unreachable: {type(error).__name__}")
        if response.status_code < 300:
            return DeliveryResult.delivered()
        if response.status_code in (408, 429) or response.status_code >= 500:
            return DeliveryResult.retry(f"subscriber answered {response.status_code}")
        return DeliveryResult.give_up(f"subscriber refused with {response.status_code}")
