"""R4 Subscriptions (rest-hook): who is told when a Task changes.

A Subscription's criteria (``Task?status=completed&requester=…``) are evaluated as a search
for the changed Task, under the visibility of the party that created the Subscription, so
nobody is notified about a Task they could not read. A match queues a notification in the
outbox; the notification carries the Task's reference and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from gateway.delivery.outbox import enqueue
from gateway.errors import FhirError
from gateway.search.query import parse_search
from gateway.store.directory_cache import cached
from gateway.store.resources import ResourceStore, StoredResource
from gateway.store.visibility import of_party

NOTIFICATION = "subscription-notification"


_PAGE = 200


@dataclass(frozen=True)
class _RestHook:
    subscription: StoredResource
    owners: frozenset[str]  # the parties whose visibility the criteria are evaluated under


def _active_rest_hooks(store: ResourceStore) -> list[_RestHook]:
    """Every active rest-hook Subscription with its owners.

    Subscriptions change seldom, so which ones are active (and whose they are) is
    memoised with the directory (:mod:`gateway.store.directory_cache`): a Task change
    asks the database nothing when nobody subscribes.
    """

    def read() -> tuple[tuple[str, frozenset[str]], ...]:
        found: list[StoredResource] = []
        while True:
            page, _ = store.search(
                parse_search(
                    "Subscription",
                    [
                        ("status", "active"),
                        ("type", "rest-hook"),
                        ("_count", str(_PAGE)),
                        ("_offset", str(len(found))),
                    ],
                ),
                with_total=False,
            )
            found.extend(page)
            if len(page) < _PAGE:
                break
        return tuple((s.id, frozenset(store.parties("Subscription", s.id))) for s in found)

    hooks: list[_RestHook] = []
    for res_id, owners in cached(store.session, ("active-rest-hooks",), read):
        subscription = store.current("Subscription", res_id)
        if subscription is not None:
            hooks.append(_RestHook(subscription, owners))
    return hooks


def _matches(
    store: ResourceStore, hook: _RestHook, task: StoredResource, readers: set[str]
) -> bool:
    body = hook.subscription.body or {}
    criteria = str(body.get("criteria", ""))
    resource_type, _, query = criteria.partition("?")
    if resource_type != task.resource_type:
        return False
    try:
        search = parse_search(resource_type, [*parse_qsl(query), ("_id", task.id)])
    except FhirError:
        return False
    for party in sorted(hook.owners & readers):
        found, _ = store.search(search, visibility=of_party(party), with_total=False)
        if found:
            return True
    return False


def notify_subscribers(store: ResourceStore, task: StoredResource, cause: str | None = None) -> int:
    """Queue a notification for every active rest-hook Subscription the change matches,
    judged under the visibility of the Subscription's owners (only owners who can see the
    Task can match).

    ``cause`` names what happened to the Task when it was not a new version of it (a
    Communication about it, say), so that each event is notified once.
    """
    hooks = _active_rest_hooks(store)
    if not hooks:
        return 0
    readers = store.parties(task.resource_type, task.id)
    event = cause or f"{task.reference}/_history/{task.version_id}"
    queued = 0
    for hook in hooks:
        if hook.owners & readers and _matches(store, hook, task, readers):
            reference = hook.subscription.reference
            queued += enqueue(
                store.session,
                kind=NOTIFICATION,
                target=reference,
                payload={"subscription": reference, "task": task.reference},
                idempotency_key=f"notify:{reference}:{event}",
                task=task.reference,
            )
    return queued


def notification_body(task_url: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": task_url}]}
