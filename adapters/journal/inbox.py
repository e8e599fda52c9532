"""The web inbox, as a journal adapter: for units with no integration.

Delivering to the inbox means the request is waiting in the gateway for the unit's
rehabkoordinator, so delivery succeeds at once; the inbox pages read it from the store.
"""

from __future__ import annotations

from typing import Any

from gateway.delivery.protocols import DeliveryResult, FetchResult, OutgoingRequest


class InboxAdapter:
    connection_type = "inbox"

    def deliver(self, request: OutgoingRequest, endpoint: dict[str, Any]) -> DeliveryResult:
        return DeliveryResult.delivered("waiting in the gateway inbox")

    def fetch_updates(self, endpoint: dict[str, Any], since: str | None) -> FetchResult:
        return FetchResult.nothing()  # the inbox writes through the workflow itself

    def health(self, endpoint: dict[str, Any]) -> bool:
        return True
