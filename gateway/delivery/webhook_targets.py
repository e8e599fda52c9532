"""Where the gateway may send what a party asks it to: a Subscription's rest-hook URL.

A kommun names that URL, and the gateway POSTs to it with headers the kommun chose. So the
URL must not point the gateway at what only the gateway can reach: its own loopback, the
networks it sits in, a cloud's metadata service (server-side request forgery). A target
must be ``https`` and reach a public address, or an address in a network the operator has
allowed (``KVGW_WEBHOOK_ALLOWED_NETWORKS``, for kommun systems on Sjunet or a private
network). In development ``http`` to loopback is allowed too, for local receivers.

The URL is judged when the Subscription is written, without DNS (``refusal``), and again
at every delivery, after resolving its host: the POST then goes to an address that was
checked (``resolve``), so a name that resolves elsewhere later (DNS rebinding) is caught.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult

import httpx

from gateway.resources.urls import UrlRefusedError, http_url
from gateway.settings import Environment, Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


REFUSAL_SV = (
    "Mottagaradressen ska vara en https-adress som nås via internet eller via ett nät som "
    "tjänstens förvaltning har godkänt."
)


class TargetRefusedError(Exception):
    """The URL may not be a target; the message (English, for diagnostics and the outbox)
    says why without repeating the URL."""


@dataclass(frozen=True)
class Resolved:
    """A target URL with the addresses its host resolved to, each one allowed."""

    url: SplitResult
    addresses: tuple[IPAddress, ...]

    @property
    def host(self) -> str:
        return self.url.hostname or ""


@dataclass(frozen=True)
class WebhookTargets:
    allowed_networks: tuple[IPNetwork, ...] = ()
    loopback_http: bool = False  # development only

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookTargets:
        return cls(
            allowed_networks=tuple(settings.webhook_allowed_networks),
            loopback_http=settings.environment is Environment.DEVELOPMENT,
        )

    def check(self, url: str) -> SplitResult:
        """The URL's parts, or TargetRefusedError: judged on the URL alone (no DNS)."""
        try:
            parts = http_url(url)
        except UrlRefusedError as refused:
            raise TargetRefusedError(f"the endpoint {refused}") from None
        host = parts.hostname or ""
        literal = _literal(host)
        named_loopback = literal is None and _is_localhost(host)
        loopback = named_loopback or (literal is not None and literal.is_loopback)
        if parts.scheme == "http" and not (loopback and self.loopback_http):
            raise TargetRefusedError("the endpoint must be https")
        if named_loopback and not self.loopback_http:
            raise TargetRefusedError("the endpoint names this host (localhost)")
        if literal is not None and not self._allowed(literal):
            raise TargetRefusedError(
                "the endpoint's address is not public nor in an allowed network"
            )
        return parts

    def resolve(self, url: str) -> Resolved:
        """Check the URL, resolve its host and check every address it resolves to.
        TargetRefusedError if any is not allowed; OSError if the name does not resolve."""
        parts = self.check(url)
        host = parts.hostname or ""
        literal = _literal(host)
        if literal is not None:
            return Resolved(parts, (literal,))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = tuple(dict.fromkeys(_literal_of(str(info[4][0])) for info in found))
        if not addresses:
            raise OSError("the endpoint's host has no address")
        if not all(self._allowed(address) for address in addresses):
            raise TargetRefusedError("the endpoint's host resolves to an address not allowed")
        return Resolved(parts, addresses)

    def _allowed(self, address: IPAddress) -> bool:
        address = _embedded(address)
        if any(address in network for network in self.allowed_networks):
            return True
        if address.is_loopback:
            return self.loopback_http
        if any(address in network for network in _NEVER):
            return False
        return address.is_global and not address.is_multicast


def post(
    target: Resolved,
    payload: dict[str, Any],
    headers: dict[str, str],
    timeout: float,
    deadline: float,
) -> httpx.Response:
    """POST to the target at the addresses it was checked for, the first that takes a
    connection: the URL names the address, while the Host header and (for https) the TLS
    server name, which the certificate must match, keep the name the kommun gave.

    ``timeout`` bounds each step (connect, each read); ``deadline`` the whole exchange, so
    a receiver that trickles its answer cannot hold the delivery worker, which serves every
    party: past it the attempt is left to end on its own and TimeoutException is raised."""
    answer: list[httpx.Response | Exception] = []

    def attempt() -> None:
        try:
            answer.append(_post(target, payload, headers, timeout))
        except Exception as error:  # handed to the caller below
            answer.append(error)

    sender = threading.Thread(target=attempt, name="rest-hook", daemon=True)
    sender.start()
    sender.join(deadline)
    if not answer:
        raise httpx.TimeoutException("the subscriber did not answer within the deadline")
    if isinstance(answer[0], Exception):
        raise answer[0]
    return answer[0]


def _post(
    target: Resolved, payload: dict[str, Any], headers: dict[str, str], timeout: float
) -> httpx.Response:
    tls = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    failure: httpx.ConnectError | None = None
    with httpx.Client(timeout=timeout) as client:
        for address in target.addresses:
            host = f"[{address}]" if address.version == 6 else str(address)
            netloc = host if target.url.port is None else f"{host}:{target.url.port}"
            try:
                return client.post(
                    target.url._replace(netloc=netloc).geturl(),
                    json=payload,
                    headers={**headers, "Host": target.url.netloc},
                    extensions=tls,
                )
            except httpx.ConnectError as error:
                failure = error
    assert failure is not None  # resolve() gives at least one address
    raise failure


# IPv6 ranges that carry an IPv4 address of their own, judged by that address instead:
# NAT64's well-known prefix (RFC 6052) reaches any IPv4 host, a private one included.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# IPv6 ranges never reachable as a public address, whatever ipaddress says of them:
# IPv4-compatible and SIIT-translated forms, local-use NAT64 (RFC 8215), site-local,
# discard-only, Teredo and documentation.
_NEVER = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "::/96",
        "::ffff:0:0:0/96",
        "64:ff9b:1::/48",
        "fec0::/10",
        "100::/64",
        "2001::/32",
        "2001:db8::/32",
    )
)


def _embedded(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, NAT64), or itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _is_localhost(host: str) -> bool:
    """``localhost`` and the names under it, which resolve to loopback (RFC 6761)."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def _literal(host: str) -> IPAddress | None:
    try:
        return _literal_of(host)
    except ValueError:
        return None


def _literal_of(text: str) -> IPAddress:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone is not an address
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address
