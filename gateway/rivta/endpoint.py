"""The gateway as a RIVTA producer: ``POST /rivta/UpdateMedicalStatementRequest/1/rivtabp21``.

A care unit's journal system reports status changes and the answer here (the contract is
in :mod:`gateway.rivta.contract`; ``GET`` on the same path gives its WSDL). One call is
taken in this order, and the first check that fails ends it:

1. **Who is calling.** Mutual TLS ends at the edge: the TLS proxy verifies the client
   certificate and forwards it in ``KVGW_MTLS_CLIENT_CERT_HEADER``; the certificate's
   serialNumber is the caller's HSA-id. When that HSA-id is one of the service platform's
   (``KVGW_RIVTA_PLATFORM_HSA_IDS``), the consumer is the one the platform names in
   ``x-rivta-original-serviceconsumer-hsaid``; from anyone else that header is ignored.
2. **A well-formed message of the contract**: size, safe XML, a SOAP 1.1 envelope, the
   SOAPAction, the XSD, and a sentAt the gateway can read (the XSD lets through hour 24
   and years beyond 9999).
3. **Addressed to this gateway**: the LogicalAddress is the gateway's HSA-id
   (``KVGW_RIVTA_ACTOR_ID``).
4. **Anropsbehörighet**: the routing table's authorisation part must hold (consumer,
   this contract's namespace, the care unit in the message) for now. The logical-address
   column names the care unit the consumer may speak for, since the gateway is the only
   receiver of this contract.
5. **The workflow**: :meth:`gateway.delivery.inbound.InboundApplier.apply` applies the change as
   the care unit, which must own the Task; anything it refuses changes nothing. A Task
   that another change reached first while this one was checked is TECHNICAL_ERROR: the
   same message sent again is checked against the Task as it is then.

Steps 1-4 failing is a SOAP Fault (``soapenv:Client``, or ``soapenv:Server`` for a passing
fault here), sent with HTTP 500 as SOAP 1.1 (section 6.2) and WS-I Basic Profile (R1126)
require. Step 5 answers with the contract's ResultType. Fault strings and result texts are
fixed texts with a code; they never echo the message, so no patient data leaves in them.
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response

from gateway.delivery.inbound import (
    InboundApplier,
    InboundResult,
    first_blocking,
    is_changed_meanwhile,
)
from gateway.delivery.protocols import InboundUpdate
from gateway.errors import FhirError
from gateway.logging import get_logger
from gateway.rivta.contract import (
    ACTION_UPDATE,
    APPLICATION_ERROR,
    MAX_MESSAGE_BYTES,
    NS_UPDATE,
    TECHNICAL_ERROR,
    TRANSFORMATION_ERROR,
    UPDATE,
    VALIDATION_ERROR,
    WSDL_UPDATE,
    MedicalStatementUpdate,
    ReceivedUpdate,
    Result,
    receive_update,
    update_response_envelope,
)
from gateway.rivta.safe_xml import build_fault
from gateway.rivta.soap import HEADER_CORRELATION_ID, HEADER_ORIGINAL_CONSUMER, SoapError, SoapFault
from gateway.routing.routing_table import is_authorised
from gateway.security.certificates import CertificateRejectedError, hsa_id_from_header
from gateway.settings import Settings

log = get_logger(__name__)

router = APIRouter()

SERVICE_PATH = f"{UPDATE}/1/rivtabp21"
VIA = "rivta"
XML = "text/xml; charset=utf-8"
_HSA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}")
_CORRELATION = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


class Refusal(Exception):  # noqa: N818 - a SOAP Fault to send
    """A SOAP Fault: ``who`` is Client or Server, ``code`` a stable KVnnn code."""

    def __init__(self, who: str, code: str, text: str) -> None:
        super().__init__(code)
        self.who = who
        self.code = code
        self.text = text

    def response(self) -> Response:
        body = build_fault(self.who, f"{self.code} {self.text}")
        return Response(body, status_code=500, media_type=XML)


def _wsdl() -> bytes:
    return files("gateway.rivta.schemas").joinpath(WSDL_UPDATE).read_bytes()


@router.get("/rivta/{service:path}", include_in_schema=False)
async def contract_wsdl(service: str) -> Response:
    if service != SERVICE_PATH:
        return Refusal("Client", "KV104", "no such service at this gateway").response()
    return Response(_wsdl(), media_type=XML)


@router.post("/rivta/{service:path}", include_in_schema=False)
async def receive(service: str, request: Request) -> Response:
    try:
        if service != SERVICE_PATH:
            raise Refusal("Client", "KV104", "no such service at this gateway")
        body = await _body(request, MAX_MESSAGE_BYTES)
        handled: Response = await run_in_threadpool(
            _handle, request.app.state.inbound, request.headers, body
        )
        return handled
    except Refusal as refusal:
        return refusal.response()
    except Exception as error:  # never a bare 500: a fault the consumer can act on
        log.error("rivta_inbound_failed", error_type=type(error).__name__)
        return Refusal("Server", "KV200", "temporary fault in the gateway; send again").response()


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refusal("Client", "KV100", "the message is too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal("Client", "KV100", "the message is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _consumer(settings: Settings, headers: Headers) -> str:
    """Step 1: the consumer's HSA-id, from the client certificate the edge forwarded."""
    name = settings.mtls_client_cert_header
    forwarded = headers.get(name) if name else None
    if not forwarded:
        raise Refusal("Client", "KV101", "no client certificate (mutual TLS is required)")
    try:
        caller = hsa_id_from_header(forwarded)
    except CertificateRejectedError:
        raise Refusal("Client", "KV101", "the client certificate is not usable") from None
    if caller not in settings.rivta_platform_hsa_ids:
        return caller
    original = (headers.get(HEADER_ORIGINAL_CONSUMER) or "").strip()
    if not _HSA_ID.fullmatch(original):
        raise Refusal(
            "Client", "KV102", f"a call through the platform must carry {HEADER_ORIGINAL_CONSUMER}"
        )
    return original


def _read(headers: Headers, body: bytes) -> ReceivedUpdate:
    """Step 2: a well-formed UpdateMedicalStatementRequest that follows the XSD."""
    action = (headers.get("soapaction") or "").strip().strip('"')
    if action != ACTION_UPDATE:
        raise Refusal("Client", "KV104", f"SOAPAction must be {ACTION_UPDATE}")
    try:
        return receive_update(body)
    except SoapFault:
        raise Refusal("Client", "KV100", "a Fault is not a request") from None
    except SoapError as error:
        if error.reason == "schema":
            # The element path only, never a value: it may be a personnummer.
            raise Refusal("Client", "KV105", error.detail) from None
        if error.reason == "value":  # follows the XSD, but is no value the gateway can hold
            raise Refusal("Client", "KV100", error.detail) from None
        raise Refusal("Client", "KV100", f"not a SOAP 1.1 {UPDATE} ({error.reason})") from None


def _authorise(
    sessions: sessionmaker[Session], settings: Settings, consumer: str, message: ReceivedUpdate
) -> None:
    """Steps 3 and 4: addressed to this gateway, and an anropsbehörighet for the unit."""
    if message.logical_address != settings.rivta_actor_id:
        raise Refusal("Client", "KV103", "the LogicalAddress is not this gateway's HSA-id")
    with sessions() as session:
        allowed = is_authorised(session, consumer, NS_UPDATE, message.care_unit)
    if not allowed:
        raise Refusal(
            "Client", "KV107", "no anropsbehörighet for this consumer, contract and care unit"
        )


def _handle(inbound: InboundApplier, headers: Headers, body: bytes) -> Response:
    sessions, settings = inbound.sessions, inbound.settings
    correlation = headers.get(HEADER_CORRELATION_ID) or ""
    context: dict[str, Any] = {
        "correlation_id": correlation if _CORRELATION.fullmatch(correlation) else None
    }
    consumer: str | None = None
    try:
        consumer = _consumer(settings, headers)
        context["consumer"] = consumer
        message = _read(headers, body)
        context["task"] = message.task_id
        _authorise(sessions, settings, consumer, message)
    except Refusal as refusal:
        with sessions() as session, session.begin():
            inbound.audit.login(
                session,
                client_id=f"{VIA}:{consumer}" if consumer else None,
                outcome_ok=False,
                reason=f"rivta {refusal.code}",
            )
        log.info("rivta_inbound_refused", code=refusal.code, **context)
        return refusal.response()
    try:
        update = message.decode()
    except SoapError:
        result = Result.error(
            TRANSFORMATION_ERROR,
            "Svaret kunde inte läsas: det ska vara ett utlåtande (QuestionnaireResponse) i "
            "FHIR JSON.",
        )
        log.info("rivta_inbound_result", code=result.code, error_code=result.error_code, **context)
        return Response(update_response_envelope(result), media_type=XML)
    result, task_status = _apply(inbound, update)
    log.info("rivta_inbound_result", code=result.code, error_code=result.error_code, **context)
    return Response(update_response_envelope(result, task_status), media_type=XML)


NOTHING_TO_DO = Result.error(
    VALIDATION_ERROR, "Meddelandet innehåller varken status, arbetsstatus eller svar."
)
NOT_THE_UNITS = Result.error(
    APPLICATION_ERROR, "Förfrågan finns inte hos vårdcentralen som meddelandet kommer från."
)
UNCHANGED = Result.info("Ingen ändring: förfrågan var redan i det läget.")
CHANGED_MEANWHILE = Result.error(
    TECHNICAL_ERROR,
    "Förfrågan ändrades medan meddelandet behandlades. Skicka meddelandet igen.",
)
FAILED = Result.error(TECHNICAL_ERROR, "Tillfälligt fel i tjänsten. Skicka igen senare.")
# What validation refuses, by the first issue's code. Fixed texts: an issue's own text may
# quote the message (a linkId, an element's name), and a result never echoes it.
INVALID_SV = {
    "required": "Ett obligatoriskt svar eller en obligatorisk uppgift saknas.",
    "structure": "Svaret följer inte frågeformulärets eller profilens struktur.",
    "value": "Ett värde i meddelandet har fel form eller typ.",
    "code-invalid": "En kod i meddelandet finns inte i den värdemängd som gäller.",
    "invariant": "Svaret bryter mot en regel i profilen.",
    "business-rule": "Ändringen följer inte reglerna för förfrågan.",
    "not-supported": "Meddelandet innehåller något som tjänsten inte tar emot.",
}


def _apply(inbound: InboundApplier, update: MedicalStatementUpdate) -> tuple[Result, str | None]:
    """Step 5, and the ResultType for what the workflow did."""
    if update.status is None and update.business_status is None and update.answer is None:
        return NOTHING_TO_DO, None
    outcome: InboundResult = inbound.apply(
        InboundUpdate(
            task_id=update.task_id,
            unit_hsa_id=update.care_unit,
            status=update.status,
            business_status=update.business_status,
            status_reason=update.status_reason,
            answer=update.answer,
            remote_version=update.message_id,
        ),
        via=VIA,
    )
    if outcome.error is None:
        return (Result.ok() if outcome.changed else UNCHANGED), outcome.task_status
    return refusal_result(outcome.error), None


def refusal_result(error: FhirError) -> Result:
    """The ResultType for a change the workflow refused (nothing was written).

    ERROR with TECHNICAL_ERROR tells the sender to send the message again, any other
    error code not to, so only a refusal that may pass another time is TECHNICAL_ERROR:
    a fault in the service, or a Task that another change reached first while this one
    was checked (issue code ``conflict``: the workflow's 409 ``changed_meanwhile``, or the
    412 of the version the applier read being no longer current). That is
    :func:`gateway.delivery.inbound.may_pass_later`, the rule the journal poller follows
    too.
    """
    status, first = error.status, first_blocking(error)
    if status in (403, 404):  # not the unit's Task: say no more than that
        return NOT_THE_UNITS
    if status in (400, 422):
        text = INVALID_SV.get(first.code if first else "", "Meddelandet följer inte reglerna.")
        return Result.error(VALIDATION_ERROR, text)
    if is_changed_meanwhile(error):
        return CHANGED_MEANWHILE
    if status in (409, 410):  # the workflow's own fixed texts, naming at most a Task status
        text = first.text_sv if first else ""
        return Result.error(APPLICATION_ERROR, text or "Ändringen är inte tillåten nu.")
    return FAILED
