"""What a ProcessMedicalStatementRequest call's outcome means for the outbox: delivered,
retry later, or give up.

Giving up makes the message dead and the Task failed at once; an operator reruns it
(``kv-gateway outbox retry``) once the cause is fixed. Retrying goes on with backoff
until the retry budget (``KVGW_DELIVERY_MAX_ATTEMPTS``) is spent, and then ends the same
way. Retrying is always safe: the messageId stays the same, and the contract makes the
producer take a message once.

| what came back | outcome |
|---|---|
| resultCode OK | delivered |
| resultCode INFO | delivered, noted |
| resultCode ERROR, TECHNICAL_ERROR | retry |
| resultCode ERROR, VALIDATION_ERROR / TRANSFORMATION_ERROR / APPLICATION_ERROR | give up |
| SOAP fault VP004 (no route), VP006 (ambiguous route), VP007 (no anropsbehörighet), VP002, VP003, VP005, VP010, VP011 (the platform's configuration or our call) | give up |
| SOAP fault VP008 (platform's routing data unavailable), VP009 (producer unreachable or slow) | retry |
| other SOAP fault: faultcode Client / Server | give up / retry |
| HTTP 408, 429, 5xx without a readable fault; timeout; connection refused | retry |
| other HTTP status (3xx, 4xx) | give up |
| an answer that is not XML, unsafe XML, too large, or not the contract's response | retry |
| TLS handshake refused (our client certificate or their server certificate) | give up |

Details name codes only: a fault string or resultText may echo the request, so neither is
kept.
"""

from __future__ import annotations

import re

from gateway.delivery.protocols import DeliveryResult
from gateway.rivta.contract import (
    APPLICATION_ERROR,
    ERROR,
    INFO,
    OK,
    TECHNICAL_ERROR,
    TRANSFORMATION_ERROR,
    VALIDATION_ERROR,
    Result,
)
from gateway.rivta.soap import SoapError, SoapFault

GIVE_UP_VP = frozenset({"VP002", "VP003", "VP004", "VP005", "VP006", "VP007", "VP010", "VP011"})
RETRY_VP = frozenset({"VP008", "VP009"})
RETRY_HTTP = frozenset({408, 425, 429})
_VP_CODE = re.compile(r"\bVP0\d\d\b")


def from_result(result: Result) -> DeliveryResult:
    if result.code == OK:
        return DeliveryResult.delivered("resultCode OK")
    if result.code == INFO:
        return DeliveryResult.delivered("resultCode INFO (the producer added a note)")
    if result.code == ERROR and result.error_code == TECHNICAL_ERROR:
        return DeliveryResult.retry("resultCode ERROR TECHNICAL_ERROR")
    if result.code == ERROR and result.error_code in (
        VALIDATION_ERROR,
        TRANSFORMATION_ERROR,
        APPLICATION_ERROR,
    ):
        return DeliveryResult.give_up(f"resultCode ERROR {result.error_code}")
    return DeliveryResult.give_up(f"resultCode {result.code} {result.error_code or ''}".strip())


def from_fault(fault: SoapFault) -> DeliveryResult:
    found = _VP_CODE.search(fault.detail)
    code = found.group(0) if found else None
    who = fault.faultcode.rsplit(":", 1)[-1]
    detail = f"SOAP fault {who}" + (f" {code}" if code else "")
    if code in GIVE_UP_VP:
        return DeliveryResult.give_up(f"{detail} from the platform")
    if code in RETRY_VP:
        return DeliveryResult.retry(f"{detail} from the platform")
    if who == "Client":
        return DeliveryResult.give_up(detail)
    return DeliveryResult.retry(detail)


def from_transport(error: SoapError) -> DeliveryResult:
    if error.reason == "tls":
        return DeliveryResult.give_up(f"TLS: {error.detail}")
    if error.reason in ("timeout", "transport"):
        return DeliveryResult.retry(f"peer unreachable: {error.detail}")
    return from_garbage(error)


def from_garbage(error: SoapError) -> DeliveryResult:
    """An answer that is not the contract's response: retried, since the message itself may
    have been fine (a proxy's error page, a producer mid-deployment)."""
    return DeliveryResult.retry(
        f"the answer is not a valid response ({error.reason}): {error.detail}"
    )


def from_http(status: int) -> DeliveryResult:
    if status in RETRY_HTTP or status >= 500:
        return DeliveryResult.retry(f"peer answered HTTP {status}")
    return DeliveryResult.give_up(f"peer refused with HTTP {status}")
