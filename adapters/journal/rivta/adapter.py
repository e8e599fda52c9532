"""The ``rivta`` journal adapter: ProcessMedicalStatementRequest over NTjP (RIVTA BP 2.1).

One call per delivery: a SOAP 1.1 envelope with the care unit's HSA-id as LogicalAddress,
over HTTPS with the gateway's client certificate, with the headers
``x-rivta-original-serviceconsumer-hsaid`` (the gateway's HSA-id) and
``x-skltp-correlation-id`` (fresh per call, logged, so one call can be followed through
the platform's logs). The envelope is checked against the contract's XSD before it
leaves, and the answer after it arrives; :mod:`adapters.journal.rivta.results` maps the
outcome onto delivered, retry or give up.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from typing import Any

from adapters.journal.rivta import results
from adapters.journal.rivta.messages import call_url, logical_address, message_for
from adapters.journal.rivta.settings import RivtaJournalSettings
from gateway.delivery.protocols import DeliveryResult, FetchResult, OutgoingRequest
from gateway.logging import get_logger
from gateway.rivta.contract import ACTION_PROCESS, read_request_response, request_envelope
from gateway.rivta.soap import (
    HEADER_CORRELATION_ID,
    HEADER_ORIGINAL_CONSUMER,
    SoapClient,
    SoapError,
    SoapFault,
    TlsConfig,
)

log = get_logger(__name__)


class RivtaAdapter:
    connection_type = "rivta"

    def __init__(self, settings: RivtaJournalSettings | None = None) -> None:
        self._settings = settings
        self._client: SoapClient | None = None
        self._lock = threading.Lock()

    @property
    def settings(self) -> RivtaJournalSettings:
        if self._settings is None:
            self._settings = RivtaJournalSettings()
        return self._settings

    def _soap(self) -> SoapClient:
        with self._lock:
            if self._client is None:
                settings = self.settings
                self._client = SoapClient(
                    timeout=settings.timeout_seconds,
                    max_response_bytes=settings.max_response_bytes,
                    tls=TlsConfig(settings.client_cert, settings.client_key, settings.ca_bundle),
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def deliver(self, request: OutgoingRequest, endpoint: dict[str, Any]) -> DeliveryResult:
        address = logical_address(endpoint)
        if address is None:
            return DeliveryResult.give_up(
                "the Endpoint names no logical address (an identifier with an HSA-id system)"
            )
        url = call_url(endpoint, self.settings)
        if url is None:
            return DeliveryResult.give_up(
                "no call address: the Endpoint's address is not a URL and "
                "KVGW_RIVTA_JOURNAL_SERVICE_URL is not set"
            )
        now = datetime.datetime.now(datetime.UTC)
        try:
            payload = request_envelope(address, message_for(request, address, now))
        except SoapError as error:
            return DeliveryResult.give_up(f"the request does not fit the contract: {error.detail}")
        try:
            client = self._soap()
        except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
            return DeliveryResult.give_up(
                f"the client certificate or CA bundle cannot be loaded ({type(error).__name__})"
            )
        correlation = uuid.uuid4().hex
        headers = {
            HEADER_ORIGINAL_CONSUMER: self.settings.sender_hsa_id,
            HEADER_CORRELATION_ID: correlation,
        }
        result = self._call(client, url, payload, headers)
        log.info(
            "rivta_delivery",
            task=request.task_id,
            logical_address=address,
            correlation_id=correlation,
            outcome=result.outcome.value,
            detail=result.detail,
        )
        return result

    @staticmethod
    def _call(
        client: SoapClient, url: str, payload: bytes, headers: dict[str, str]
    ) -> DeliveryResult:
        try:
            status, body = client.call(url, ACTION_PROCESS, payload, headers)
        except SoapError as error:
            return results.from_transport(error)
        if status not in (200, 500):
            return results.from_http(status)
        try:
            return results.from_result(read_request_response(body))
        except SoapFault as fault:
            return results.from_fault(fault)
        except SoapError as error:
            # A 500 that is not a readable fault is a server error like any other.
            return results.from_http(status) if status == 500 else results.from_garbage(error)

    def fetch_updates(self, endpoint: dict[str, Any], since: str | None) -> FetchResult:
        """Nothing to poll: the unit sends its answers with UpdateMedicalStatementRequest."""
        return FetchResult.nothing()

    def health(self, endpoint: dict[str, Any]) -> bool:
        """The producer (or platform) publishes the contract's WSDL over the same mutual TLS."""
        url = call_url(endpoint, self.settings)
        if url is None:
            return False
        try:
            return self._soap().get(f"{url}?wsdl") == 200
        except (SoapError, OSError, ValueError):
            return False
