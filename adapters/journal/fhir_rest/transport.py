"""HTTP to one peer: TLS (server trust, optional client certificate) and what failures mean.

Failures the gateway cannot cure by waiting are *final* (the delivery gives up with a
detail that tells an operator what to fix, and ``kv-gateway outbox retry`` sends it again
once it is fixed): the peer refuses our client certificate, its server certificate does
not verify, or our key or certificate files cannot be read. Anything else on the way
(connection refused, timeouts, resets) is passing: retried with backoff.
"""

from __future__ import annotations

import ssl

import httpx

from adapters.journal.fhir_rest.config import PeerProfile


class PeerError(Exception):
    """A failure on the way to the peer. ``final``: retrying will not help."""

    def __init__(self, detail: str, final: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.final = final


def ssl_context(profile: PeerProfile) -> ssl.SSLContext:
    """Server trust (the profile's CA file, else the system store) and the client certificate."""
    try:
        context = ssl.create_default_context(
            cafile=str(profile.ca_file) if profile.ca_file else None
        )
    except (OSError, ssl.SSLError) as error:
        raise PeerError(
            f"cannot load the CA file of the fhir-rest profile ({type(error).__name__})", final=True
        ) from None
    if profile.tls is not None:
        try:
            context.load_cert_chain(str(profile.tls.cert_file), str(profile.tls.key_file))
        except (OSError, ssl.SSLError) as error:
            raise PeerError(
                "cannot load the client certificate or its key for mutual TLS "
                f"({type(error).__name__}); check tls.cert_file and tls.key_file",
                final=True,
            ) from None
    return context


def http_client(profile: PeerProfile) -> httpx.Client:
    return httpx.Client(
        verify=ssl_context(profile),
        timeout=profile.timeout_seconds,
        follow_redirects=False,  # never carry a token to wherever a redirect points
        headers={"accept": "application/fhir+json"},
    )


# Some servers (asyncio-based ones among them) drop a connection whose client certificate
# they refuse without a TLS alert: it looks like any dropped connection, so it is retried,
# with a hint.
_DROPPED = (
    "the peer closed the connection without answering; a peer that refuses our client "
    "certificate may do so: check tls.cert_file and that the peer trusts its CA"
)


def _ssl_error_in(error: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        for arg in getattr(current, "args", ()):
            if isinstance(arg, ssl.SSLError):
                return arg
        current = current.__cause__ or current.__context__
    return None


def classify(error: httpx.HTTPError, *, client_certificate: bool = False) -> PeerError:
    """What an httpx failure means for delivery (never includes a URL or payload)."""
    found = _ssl_error_in(error)
    if isinstance(found, ssl.SSLCertVerificationError):
        return PeerError(
            "the peer's server certificate did not verify against the configured CA "
            f"({found.verify_message or 'verification failed'}); check ca_file",
            final=True,
        )
    if found is not None:
        reason = (found.reason or "").upper()
        if any(
            word in reason
            for word in (
                "CERTIFICATE_REQUIRED",
                "BAD_CERTIFICATE",
                "UNKNOWN_CA",
                "CERTIFICATE_UNKNOWN",
                "ACCESS_DENIED",
                "CERTIFICATE_REVOKED",
                "CERTIFICATE_EXPIRED",
            )
        ):
            return PeerError(
                f"the peer refused our client certificate (TLS alert {found.reason}); "
                "check tls.cert_file and that the peer trusts its CA",
                final=True,
            )
        if client_certificate and isinstance(found, ssl.SSLEOFError):
            return PeerError(_DROPPED)
        return PeerError(f"TLS failure talking to the peer ({found.reason or 'unknown'})")
    if client_certificate and isinstance(error, httpx.RemoteProtocolError):
        return PeerError(_DROPPED)
    if isinstance(error, httpx.TimeoutException):
        return PeerError(f"peer timed out: {type(error).__name__}")
    return PeerError(f"peer unreachable: {type(error).__name__}")
