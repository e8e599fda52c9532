"""A small journal system that speaks the project's RIVTA contract, for the demo and tests.

It is what a vårdcentral's journal system behind the national service platform looks like
to the gateway's ``rivta`` adapter: a producer of ``ProcessMedicalStatementRequest``
(``POST /ProcessMedicalStatementRequest/1/rivtabp21``; ``GET`` there gives the WSDL) that
reads each message through the contract's XSD, files it once per messageId, and answers
with the RIVTA ResultType. It refuses messages for care units it does not serve.

With a :class:`GatewayLink` it is also a consumer of ``UpdateMedicalStatementRequest``:
its staff (:meth:`RivtaJournal.report`, or an :class:`AutoAnswer` in the demo) send status
changes and the answer on the national form back to the gateway, over mutual TLS with the
system's own certificate. ``GET /`` lists what arrived (task ids only). Everything here is
synthetic demo data.

Run it on its own with ``uvicorn --factory gateway.demo_peers.rivta_journal:demo_app``; see
:func:`demo_app` for its environment variables.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from gateway.demo_peers.auto_answer import AutoAnswer
from gateway.rivta.contract import (
    ACTION_PROCESS,
    ACTION_UPDATE,
    APPLICATION_ERROR,
    MAX_MESSAGE_BYTES,
    PROCESS,
    REQUEST,
    WSDL_PROCESS,
    MedicalStatementRequest,
    MedicalStatementUpdate,
    Result,
    read_request,
    read_update_response,
    request_response_envelope,
    update_envelope,
)
from gateway.rivta.safe_xml import build_fault
from gateway.rivta.soap import (
    HEADER_CORRELATION_ID,
    HEADER_ORIGINAL_CONSUMER,
    SoapClient,
    SoapError,
    TlsConfig,
)
from gateway.validation.conformance import DEFAULT_COMPILED_DIR

SERVICE_PATH = f"/{PROCESS}/1/rivtabp21"
XML = "text/xml; charset=utf-8"
EXAMPLE_ANSWER = "QuestionnaireResponse-example-questionnaireresponse.json"


def example_answer() -> dict[str, Any]:
    """The national form, filled in (the published example answer), as a unit sends it."""
    answer: dict[str, Any] = json.loads(
        (DEFAULT_COMPILED_DIR / EXAMPLE_ANSWER).read_text(encoding="utf-8")
    )
    for element in ("id", "basedOn", "subject"):
        answer.pop(element, None)
    answer["authored"] = _now().isoformat(timespec="seconds").replace("+00:00", "Z")
    return answer


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class GatewayLink:
    """How the journal system reports back to the gateway.

    ``url`` is the gateway's UpdateMedicalStatementRequest address, ``gateway_hsa_id`` its
    logical address, ``sender_hsa_id`` this system's HSA-id (the serialNumber of its
    certificate). ``forward_cert_header``/``forward_cert_pem``: for a demo without a TLS
    proxy, send the certificate in the header the proxy would (never in production).
    """

    url: str
    gateway_hsa_id: str
    sender_hsa_id: str
    tls: TlsConfig = field(default_factory=TlsConfig)
    timeout: float = 10.0
    forward_cert_header: str | None = None
    forward_cert_pem: str | None = None


@dataclass(frozen=True)
class Report:
    """One update sent to the gateway and what came back (a Result, or the error's reason)."""

    update: MedicalStatementUpdate
    result: Result | None
    task_status: str | None
    error: str | None = None


class RivtaJournal:
    """The journal system's state and its ASGI app (:meth:`app`)."""

    def __init__(
        self,
        *,
        care_units: frozenset[str] | None = None,
        link: GatewayLink | None = None,
        auto: AutoAnswer | None = None,
    ) -> None:
        self.care_units = care_units  # None: every care unit
        self.link = link
        self.auto = auto
        self.received: dict[str, MedicalStatementRequest] = {}  # by messageId
        self.headers: list[dict[str, str]] = []  # the HTTP headers of each call
        self.addressed: list[str | None] = []  # the LogicalAddress of each message read
        self.reports: list[Report] = []
        self._lock = threading.Lock()
        self._client: SoapClient | None = None

    # ----- the producer side ---------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(SERVICE_PATH, self._process, methods=["POST"]),
                Route(SERVICE_PATH, self._wsdl, methods=["GET"]),
                Route("/", self._page, methods=["GET"]),
            ]
        )

    def requests(self) -> list[MedicalStatementRequest]:
        with self._lock:
            return list(self.received.values())

    async def _wsdl(self, request: Request) -> Response:
        return Response(
            files("gateway.rivta.schemas").joinpath(WSDL_PROCESS).read_bytes(), 200, media_type=XML
        )

    async def _process(self, request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_MESSAGE_BYTES:
            return _fault("Client", "the message is too large")
        body = await request.body()
        with self._lock:
            self.headers.append(dict(request.headers))
        if (request.headers.get("soapaction") or "").strip('" ') != ACTION_PROCESS:
            return _fault("Client", "the SOAPAction is not " + ACTION_PROCESS)
        try:
            address, message = read_request(body)
        except SoapError as error:
            return _fault("Client", f"the message does not follow the contract ({error.reason})")
        with self._lock:
            self.addressed.append(address)
        return self.respond(address, message)

    def respond(self, address: str | None, message: MedicalStatementRequest) -> Response:
        """File the message and answer; the tests' peers override this to misbehave."""
        if self.care_units is not None and address not in self.care_units:
            return _result(Result.error(APPLICATION_ERROR, "Enheten finns inte i journalsystemet."))
        with self._lock:
            first_time = message.message_id not in self.received
            self.received.setdefault(message.message_id, message)
        if first_time and self.auto is not None and message.message_type == REQUEST:
            self._schedule(message)
        return _result(Result.ok())

    async def _page(self, request: Request) -> HTMLResponse:
        arrived = self.requests()
        rows = "".join(
            f"<li>{html.escape(m.message_type)} Task/{html.escape(m.task_id)} "
            f"({html.escape(m.sent_at.isoformat(timespec='seconds'))})</li>"
            for m in arrived
        )
        return HTMLResponse(
            '<!doctype html><html lang="sv"><head><meta charset="utf-8">'
            "<title>Journalsystem (RIVTA)</title></head><body>"
            "<h1>Journalsystem via RIVTA (demo)</h1>"
            f"<p>Mottagna meddelanden: {len(arrived)}</p><ul>{rows}</ul>"
            "</body></html>"
        )

    # ----- the consumer side: reporting back ---------------------------------------------

    def _soap(self) -> SoapClient:
        assert self.link is not None
        with self._lock:
            if self._client is None:
                self._client = SoapClient(
                    timeout=self.link.timeout,
                    max_response_bytes=256 * 1024,
                    tls=self.link.tls,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def report(
        self,
        task_id: str,
        care_unit: str,
        *,
        status: str | None = None,
        business_status: str | None = None,
        status_reason: str | None = None,
        answer: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> Report:
        """Send one UpdateMedicalStatementRequest to the gateway; what came back is also
        kept in :attr:`reports`. Never raises for the gateway's answer."""
        if self.link is None:
            raise RuntimeError("this journal system has no link to the gateway")
        update = MedicalStatementUpdate(
            message_id=message_id or uuid.uuid4().hex,
            task_id=task_id,
            care_unit=care_unit,
            sent_at=_now(),
            status=status,
            business_status=business_status,
            status_reason=status_reason,
            answer=answer,
        )
        headers = {
            HEADER_ORIGINAL_CONSUMER: self.link.sender_hsa_id,
            HEADER_CORRELATION_ID: uuid.uuid4().hex,
        }
        if self.link.forward_cert_header and self.link.forward_cert_pem:
            headers[self.link.forward_cert_header] = quote(self.link.forward_cert_pem)
        try:
            _, body = self._soap().call(
                self.link.url,
                ACTION_UPDATE,
                update_envelope(self.link.gateway_hsa_id, update),
                headers,
            )
            result, task_status = read_update_response(body)
            outcome = Report(update, result, task_status)
        except SoapError as error:  # SoapFault included: the gateway refused the call
            outcome = Report(update, None, None, f"{error.reason}: {error.detail}")
        with self._lock:
            self.reports.append(outcome)
        return outcome

    def _schedule(self, message: MedicalStatementRequest) -> None:
        assert self.auto is not None
        accept = threading.Timer(
            self.auto.accept_after,
            self.report,
            args=(message.task_id, message.care_unit),
            kwargs={"status": "accepted", "business_status": "journalgranskning-pagar"},
        )
        answer = threading.Timer(
            self.auto.answer_after,
            lambda: self.report(
                message.task_id, message.care_unit, status="completed", answer=example_answer()
            ),
        )
        for timer in (accept, answer):
            timer.daemon = True
            timer.start()


def _result(result: Result) -> Response:
    return Response(request_response_envelope(result), 200, media_type=XML)


def _fault(who: str, text: str) -> Response:
    return Response(build_fault(who, text), 500, media_type=XML)


def demo_app() -> Starlette:
    """The demo's journal system, configured from the environment:

    ``KVGW_DEMO_RIVTA_GATEWAY_URL`` the gateway's base URL (default http://127.0.0.1:8080);
    ``KVGW_DEMO_RIVTA_GATEWAY_HSA_ID`` the gateway's HSA-id (default ``KVGW_RIVTA_ACTOR_ID``
    or SE0000000000-KVGW); ``KVGW_DEMO_RIVTA_SENDER_HSA_ID`` this system's HSA-id
    (default SE2321000198-JS01); ``KVGW_DEMO_RIVTA_CERT_HEADER`` the header the gateway
    reads forwarded client certificates from (``KVGW_MTLS_CLIENT_CERT_HEADER``): set, the
    demo sends a throwaway certificate there as a TLS proxy would; unset, it does not.
    """
    base = os.environ.get("KVGW_DEMO_RIVTA_GATEWAY_URL", "http://127.0.0.1:8080").rstrip("/")
    sender = os.environ.get("KVGW_DEMO_RIVTA_SENDER_HSA_ID", "SE2321000198-JS01")
    header = os.environ.get("KVGW_DEMO_RIVTA_CERT_HEADER") or None
    link = GatewayLink(
        url=f"{base}/rivta/UpdateMedicalStatementRequest/1/rivtabp21",
        gateway_hsa_id=os.environ.get(
            "KVGW_DEMO_RIVTA_GATEWAY_HSA_ID",
            os.environ.get("KVGW_RIVTA_ACTOR_ID", "SE0000000000-KVGW"),
        ),
        sender_hsa_id=sender,
        forward_cert_header=header,
        forward_cert_pem=throwaway_certificate(sender) if header else None,
    )
    return RivtaJournal(link=link, auto=AutoAnswer()).app()


def throwaway_certificate(hsa_id: str, days: int = 30) -> str:
    """A self-signed certificate (PEM) whose serialNumber is ``hsa_id``: demo only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Journalsystem (demo)"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, hsa_id),
        ]
    )
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
