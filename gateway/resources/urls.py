"""Reading an http(s) URL that someone gives the gateway to call.

One reading for every place that takes one: a Subscription's rest-hook
(gateway.delivery.webhook_targets), an Endpoint's address (gateway.routing.directory_hooks),
a region's listing server (gateway.settings) and a client's ``jwks_uri``
(gateway.security.clients). Each adds its own rules on top: which schemes, which addresses.
And one way to show a configured URL without its password (``kv-gateway config show``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import SplitResult, urlsplit

# Whitespace and control characters: never part of a URL or address the gateway calls.
UNSAFE_CHARACTERS = re.compile(r"[\s\x00-\x1f\x7f]")
HTTP_SCHEMES = ("http", "https")


class UrlRefusedError(ValueError):
    """Why a text is not a URL the gateway calls: English, a predicate for a subject the
    caller names ("the endpoint …"), never repeating the text."""


def http_url(text: str) -> SplitResult:
    """The parts of ``text`` as an absolute ``http`` or ``https`` URL (the scheme in lower
    case, as it is written) with a host, a readable port other than 0 and no user
    information (``https://127.0.0.1@elsewhere.example/`` is elsewhere's); UrlRefusedError
    otherwise."""
    if UNSAFE_CHARACTERS.search(text):
        raise UrlRefusedError("holds whitespace or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UrlRefusedError("is not a URL (its host or port cannot be read)") from None
    scheme = text.partition(":")[0]
    if scheme not in HTTP_SCHEMES or not text.startswith(f"{scheme}://"):
        raise UrlRefusedError("is not an absolute http(s) URL")
    if "@" in parts.netloc:
        raise UrlRefusedError("must not carry user information (user@ or user:password@)")
    if not parts.hostname:
        raise UrlRefusedError("names no host")
    if port == 0:
        raise UrlRefusedError("has port 0 (a port is 1-65535)")
    return parts


def is_loopback_host(host: str) -> bool:
    """Exactly ``localhost`` or a loopback address literal (127.0.0.0/8, ::1,
    ::ffff:127.0.0.1): no name that merely starts so (``127.0.0.1.nip.io``,
    ``localhost.example``), nor one under ``localhost``, which a resolver may send anywhere."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_plain_http_off_host(parts: SplitResult) -> bool:
    """Whether a call to ``parts`` (as :func:`http_url` reads them) would cross a network
    unencrypted: plain ``http`` to a host other than this one (:func:`is_loopback_host`).
    Production refuses such a URL wherever the gateway sends personal data over it."""
    return parts.scheme == "http" and not is_loopback_host(parts.hostname or "")


# ----- showing a URL: its password masked ------------------------------------------------

MASK = "********"

# user:password@ right after scheme://. The password runs to the first "@", as SQLAlchemy
# reads it (it may hold "/" or "?"); the user name holds no ":", "/" or "@".
_AUTHORITY_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@]*:)[^@]*(?=@)")
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)[^&#]*", re.IGNORECASE)


def mask_url_password(value: str) -> str:
    """``value`` with the password of a URL in it masked; any other text as it is."""
    if "://" not in value:
        return value
    masked = _AUTHORITY_PASSWORD.sub(lambda m: m["head"] + MASK, value, count=1)
    return _QUERY_PASSWORD.sub(lambda m: m["head"] + MASK, masked)


def mask_url_passwords(value: Any) -> Any:
    """``value`` with every URL password masked, in strings, lists and mapping values."""
    if isinstance(value, str):
        return mask_url_password(value)
    if isinstance(value, dict):
        return {key: mask_url_passwords(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_url_passwords(item) for item in value]
    return value
