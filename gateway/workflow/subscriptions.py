"""R4 Subscriptions (rest-hook): who is told when a Task changes.

A Subscription's criteria (``Task?status=completed&requester=…``) are evaluated as a search
for the changed Task, under the visibility of the party that created the Subscription, so
nobody is notified about a Task they could not read. A match queues a notification in the
outbox; the notification carries the Task's reference and nothing else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from gateway.delivery.outbox import enqueue
from gateway.errors import FhirError
from gateway.search.query import parse_search
from gateway.store.resources import ResourceStore, StoredResource
from gateway.store.visibility import of_party

NOTIFICATION = "subscription-notification"


def _active_rest_hooks(store: ResourceStore) -> list[StoredResource]:
    query = parse_search(
        "Subscription", [("status", "active"), ("type", "rest-hook"), ("_count", "200")]
    )
    found, _ = store.search(query, with_total=False)
    return found


def _matches(store: ResourceStore, subscription: StoredResource, task: StoredResource) -> bool:
    body = subscription.body or {}
    criteria = str(body.get("criteria", ""))
    resource_type, _, query = criteria.partition("?")
    if resource_type != task.resource_type:
        return False
    try:
        search = parse_search(resource_type, [*parse_qsl(query), ("_id", task.id)])
    except FhirError:
        return False
    for party in sorted(store.parties("Subscription", subscription.id)):
        found, _ = store.search(search, visibility=of_party(party), with_total=False)
        if found:
            return True
    return False


def notify_subscribers(store: ResourceStore, task: StoredResource, cause: str | None = None) -> int:
    """Queue a notification for every active rest-hook Subscription the change matches.

    ``cause`` names what happened to the Task when it was not a new version of it (a
    Communication about it, say), so that each event is notified once.
    """
    event = cause or f"{task.reference}/_history/{task.version_id}"
    queued = 0
    for subscription in _active_rest_hooks(store):
        if _matches(store, subscription, task):
            queued += enqueue(
                store.session,
                kind=NOTIFICATION,
                target=subscription.reference,
                payload={"subscription": subscription.reference, "task": task.reference},
                idempotency_key=f"notify:{subscription.reference}:{event}",
                task=task.reference,
            )
    return queued


def notification_body(task_url: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": task_url}]}
