"""FHIR REST delivery to journal systems with an R4 API (Cosmic, Millennium …).

The request is POSTed as a transaction Bundle to the unit's Endpoint.address with an
``Idempotency-Key`` header, so a retried delivery never creates a second request there.
2xx is delivered; timeouts, connection failures, 408, 429 and 5xx are retried; any other
answer is final. (Authentication to the peer, answers by polling and the Task-only form
are the journal-adapter work still to come; see the README's status table.)
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.delivery.protocols import DeliveryResult, FetchResult, OutgoingRequest

TIMEOUT_SECONDS = 15.0
RETRYABLE = frozenset({408, 425, 429})


class FhirRestAdapter:
    connection_type = "fhir-rest"

    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    def deliver(self, request: OutgoingRequest, endpoint: dict[str, Any]) -> DeliveryResult:
        address = str(endpoint.get("address", "")).rstrip("/")
        if not address.startswith(("http://", "https://")):
            return DeliveryResult.give_up("the Endpoint has no http(s) address")
        headers = {
            "content-type": "application/fhir+json",
            "accept": "application/fhir+json",
            "idempotency-key": request.idempotency_key,
        }
        try:
            response = httpx.post(
                address, json=request.bundle, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as error:
            return DeliveryResult.retry(f"peer unreachable: {type(error).__name__}")
        if 200 <= response.status_code < 300:
            return DeliveryResult.delivered(f"peer answered {response.status_code}")
        if response.status_code in RETRYABLE or response.status_code >= 500:
            return DeliveryResult.retry(f"peer answered {response.status_code}")
        return DeliveryResult.give_up(f"peer refused with {response.status_code}")

    def fetch_updates(self, endpoint: dict[str, Any], since: str | None) -> FetchResult:
        return FetchResult.nothing()  # polling the peer comes with the journal-adapter work

    def health(self, endpoint: dict[str, Any]) -> bool:
        address = str(endpoint.get("address", "")).rstrip("/")
        try:
            return httpx.get(f"{address}/metadata", timeout=self.timeout).status_code == 200
        except httpx.HTTPError:
            return False
