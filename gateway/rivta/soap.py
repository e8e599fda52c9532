"""Safe SOAP 1.1 for RIVTA BP 2.1: build envelopes, call over (mutual) TLS, parse answers.

Parsing goes through defusedxml with DTDs forbidden outright, so entity expansion
(billion laughs), external entities (XXE) and external DTDs are all refused before any
content is looked at. Answers are read with a hard size limit, streamed, so a hostile or
broken peer cannot exhaust memory, and every call has a timeout.
"""

from __future__ import annotations

import ssl
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from gateway.capped_http import ResponseTooLargeError, send_capped

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
LOGICAL_ADDRESS_NS = "urn:riv:itintegration:registry:1"
# RIVTA/SKLTP HTTP headers: the original consumer's HSA-id (trusted by a producer only from
# the platform), and the correlation id that follows one call through the platform's logs.
HEADER_ORIGINAL_CONSUMER = "x-rivta-original-serviceconsumer-hsaid"
HEADER_CORRELATION_ID = "x-skltp-correlation-id"


class SoapError(Exception):
    """The exchange failed. ``reason`` is a machine code; no message carries person data."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class SoapFault(SoapError):  # noqa: N818 - the SOAP term
    def __init__(self, faultcode: str, faultstring: str) -> None:
        # A fault string may echo the request; keep only a bounded, single-line prefix.
        clean = " ".join(faultstring.split())[:200]
        super().__init__("soap-fault", f"{faultcode}: {clean}")
        self.faultcode = faultcode


@dataclass(frozen=True)
class TlsConfig:
    client_cert: str | None = None
    client_key: str | None = None
    ca_bundle: str | None = None


def envelope(logical_address: str, body: ET.Element) -> bytes:
    """A SOAP 1.1 envelope with the RIVTA BP 2.1 LogicalAddress header."""
    env = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    header = ET.SubElement(env, f"{{{SOAP_ENV}}}Header")
    address = ET.SubElement(header, f"{{{LOGICAL_ADDRESS_NS}}}LogicalAddress")
    address.text = logical_address
    soap_body = ET.SubElement(env, f"{{{SOAP_ENV}}}Body")
    soap_body.append(body)
    encoded: bytes = ET.tostring(env, encoding="utf-8", xml_declaration=True)
    return encoded


def parse(data: bytes) -> ET.Element:
    """Parse untrusted XML: no DTD, no entities, no external references."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise SoapError("unsafe-xml", "the answer contains a DTD or entity declarations") from None
    except ET.ParseError:
        raise SoapError("malformed-response", "the answer is not well-formed XML") from None


def body_child(data: bytes, expected: str) -> ET.Element:
    """The single element in the SOAP Body, which must be ``expected`` ({ns}local), or
    :class:`SoapFault` if the Body holds a Fault."""
    root = parse(data)
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapError("malformed-response", "the answer is not a SOAP 1.1 envelope")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) == 0:
        raise SoapError("malformed-response", "the SOAP envelope has no Body content")
    child = body[0]
    if child.tag == f"{{{SOAP_ENV}}}Fault":
        raise SoapFault(
            (child.findtext("faultcode") or "").strip(),
            (child.findtext("faultstring") or "").strip(),
        )
    if child.tag != expected:
        raise SoapError("malformed-response", f"unexpected answer element {child.tag[:120]}")
    return child


def ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """Verify the server against ``ca_bundle`` (or the system store) and present the client
    certificate, if one is configured. TLS 1.2 or newer."""
    context = ssl.create_default_context(cafile=tls.ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.client_cert:
        context.load_cert_chain(tls.client_cert, tls.client_key)
    return context


class SoapClient:
    """Posts envelopes; one instance per configuration (it pools connections)."""

    def __init__(
        self,
        *,
        timeout: float,
        max_response_bytes: int,
        tls: TlsConfig | None = None,
    ) -> None:
        self.max_response_bytes = max_response_bytes
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=ssl_context(tls or TlsConfig()),
            follow_redirects=False,
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def call(
        self,
        url: str,
        soap_action: str,
        payload: bytes,
        extra_headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """POST and return (status, body). Raises :class:`SoapError` on transport trouble."""
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{soap_action}"',
            "Accept": "text/xml",
            **(extra_headers or {}),
        }
        return self._exchange("POST", url, payload, headers)

    def get(self, url: str) -> int:
        """GET (for a health check, e.g. of ``?wsdl``); returns the status, reads nothing."""
        return self._exchange("GET", url, None, {"Accept": "text/xml"})[0]

    def _exchange(
        self, method: str, url: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        try:
            response = send_capped(
                self._client,
                method,
                url,
                max_bytes=self.max_response_bytes,
                content=payload,
                headers=headers,
            )
            return response.status_code, response.content
        except ResponseTooLargeError:
            raise SoapError("too-large", "the answer exceeds the size limit") from None
        except httpx.TimeoutException:
            raise SoapError("timeout", "no answer within the timeout") from None
        except httpx.TransportError as error:
            if _tls_failure(error):
                # Our client certificate or the peer's server certificate was refused: a
                # configuration matter, not a passing one.
                raise SoapError("tls", "TLS handshake failed (a certificate was refused)") from None
            if isinstance(error, httpx.ConnectError):
                raise SoapError("transport", "connection refused or unreachable") from None
            raise SoapError("transport", type(error).__name__) from None
        except httpx.HTTPError as error:
            raise SoapError("transport", type(error).__name__) from None


def _tls_failure(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(6):  # httpx wraps httpcore, which wraps the ssl module's error
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
