"""Notices to the vårdcentral beside the request itself: follow-up Communications and the
one reminder when a Task is overdue. They travel through the unit's journal adapter as a
small transaction Bundle (the Communication and its Task)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import count

from gateway.delivery.handlers import AdapterHandler
from gateway.delivery.outbox import Message, enqueue, queued_before
from gateway.delivery.protocols import DeliveryResult
from gateway.resources.references import references_in
from gateway.search.index import split_reference
from gateway.search.query import parse_search
from gateway.store.resources import ResourceStore, StoredResource, utc_now
from gateway.workflow.consent_checks import task_decision
from gateway.workflow.dispatch import consent_still_permits
from gateway.workflow.task_states import OPEN

JOURNAL_NOTICE = "journal-notice"


def _endpoint_of_unit(store: ResourceStore, task: StoredResource) -> str | None:
    """The Endpoint the request itself went to (its journal-request outbox target)."""
    from sqlalchemy import select

    from gateway.delivery.models import OutboxMessage

    target = store.session.execute(
        select(OutboxMessage.target).where(
            OutboxMessage.task == task.reference, OutboxMessage.kind == "journal-request"
        )
    ).scalar_one_or_none()
    return target if target and target.startswith("Endpoint/") else None


def queue_notice(store: ResourceStore, task: StoredResource, communication: StoredResource) -> bool:
    endpoint = _endpoint_of_unit(store, task)
    if endpoint is None:
        return False
    return enqueue(
        store.session,
        kind=JOURNAL_NOTICE,
        target=endpoint,
        payload={"task": task.reference, "communication": communication.reference},
        idempotency_key=f"notice:{communication.reference}",
        task=task.reference,
    )


OVERDUE_PAGE = 200


def overdue_tasks(store: ResourceStore, now: datetime) -> Iterator[StoredResource]:
    """Every open Task past its answer date, page by page (oldest change first): those
    reminded already stay open and overdue, so one page would soon hold only them."""
    today = now.date().isoformat()
    for offset in count(0, OVERDUE_PAGE):
        query = parse_search(
            "Task",
            [
                ("restriction-period", f"lt{today}"),
                ("status", ",".join(sorted(OPEN))),
                ("_count", str(OVERDUE_PAGE)),
                ("_offset", str(offset)),
            ],
            max_count=OVERDUE_PAGE,
        )
        found, _ = store.search(query, with_total=False)
        yield from found
        if len(found) < OVERDUE_PAGE:
            return


def queue_reminders(store: ResourceStore, now: datetime | None = None) -> int:
    """Remind each overdue open Task's unit once (the outbox key makes it once)."""
    queued = 0
    for task in overdue_tasks(store, now or utc_now()):
        key = f"remind:{task.reference}"
        endpoint = _endpoint_of_unit(store, task)
        if endpoint is None or queued_before(store.session, key):
            continue
        owner = references_in((task.body or {}).get("owner"))
        reminder = store.create(
            {
                "resourceType": "Communication",
                "status": "completed",
                "partOf": [{"reference": task.reference}],
                "basedOn": (task.body or {}).get("basedOn", []),
                "category": [{"text": "påminnelse"}],
                "recipient": [{"reference": owner[0]}] if owner else [],
                "sent": utc_now().isoformat().replace("+00:00", "Z"),
                "payload": [
                    {
                        "contentString": "Påminnelse: förfrågan har passerat det önskade svarsdatumet."
                    }
                ],
            }
        )
        store.grant(reminder.resource_type, reminder.id, store.parties("Task", task.id))
        queued += enqueue(
            store.session,
            kind=JOURNAL_NOTICE,
            target=endpoint,
            payload={"task": task.reference, "communication": reminder.reference},
            idempotency_key=key,
            task=task.reference,
        )
    return queued


class JournalNoticeHandler(AdapterHandler):
    """Outbox kind ``journal-notice``: a Communication (and its Task) to the unit's system."""

    def deliver(self, message: Message) -> DeliveryResult:
        with self.sessions() as session:
            store = ResourceStore(session)
            found: list[StoredResource] = []
            for key in ("communication", "task"):
                ref_type, ref_id = split_reference(message.payload[key])
                current = store.current(ref_type, ref_id) if ref_type else None
                if current is None or current.body is None:
                    return DeliveryResult.give_up(f"the {key} is gone")
                found.append(current)
            communication, task = found
            assert task.body is not None
            if (
                message.idempotency_key.startswith("remind:")
                and task.body.get("status") not in OPEN
            ):
                return DeliveryResult.give_up("the Task was closed before the reminder went out")
            # A party's message is a disclosure between the parties: the consent is checked
            # again now, as at posting. The gateway's own notices (a reminder, the notice
            # of a cancellation or a withdrawn consent) carry no sender and always go.
            check = (
                consent_still_permits(store, task)
                if (communication.body or {}).get("sender")
                else None
            )
            decision = task_decision(store, task, check) if check is not None else None
            # Where the request went, now: it follows its unit to a new Endpoint.
            _, endpoint_id = split_reference(_endpoint_of_unit(store, task) or message.target)
            endpoint = store.current("Endpoint", endpoint_id)
        if decision is not None:
            self.record_apart(decision)
        if check is not None and not check.permitted:
            return DeliveryResult.give_up(f"consent no longer permits delivery ({check.code})")
        entries = [
            {"resource": stored.body, "request": {"method": "PUT", "url": stored.reference}}
            for stored in found
        ]
        if endpoint is None or endpoint.body is None:
            return DeliveryResult.give_up("the unit has no usable Endpoint")
        if endpoint.reference != message.target:
            self._reroute(message, endpoint.reference)
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        _, task_id = split_reference(message.payload["task"])
        return self._send(endpoint.body, task_id, bundle, message.idempotency_key)
