"""HTTP headers of FHIR responses (ETag, Last-Modified, Location), and the Prefer,
If-Match, If-None-Match and Idempotency-Key headers of requests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import format_datetime

from starlette.requests import Request

from gateway.errors import FhirError
from gateway.store.resources import StoredResource

IDEMPOTENCY_KEY_MAX = 255
# Visible ASCII and inner spaces: what an HTTP header carries unchanged, and a FHIR string.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
# One entity tag as this server writes them (W/"3"), or strong ("3"): a version number.
_VERSION_TAG = re.compile(r'(?:W/)?"([0-9]+)"')
# Any entity tag (RFC 9110 section 8.8.3), its opaque part (quotes included) captured;
# and what may stand between the tags of a list: spaces, tabs and commas, since a
# list may have empty elements (section 5.6.1).
_ENTITY_TAG = re.compile(r'(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")')
_LIST_GAP = re.compile(r"[ \t,]*")


@dataclass(frozen=True)
class Preferences:
    """``Prefer: return=minimal|representation|OperationOutcome, handling=strict|lenient``."""

    return_: str = "representation"
    lenient: bool = False


def preferences(request: Request) -> Preferences:
    return_ = "representation"
    lenient = False
    for part in request.headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        key, value = key.strip().lower(), value.strip().strip('"')
        if key == "return" and value in ("minimal", "representation", "OperationOutcome"):
            return_ = value
        elif key == "handling":
            lenient = value == "lenient"
    return Preferences(return_, lenient)


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, or None without one; 400 when it is not 1 to 255
    visible ASCII characters. It becomes part of the Task's identifier."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if len(key) > IDEMPOTENCY_KEY_MAX or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise FhirError.single(
            400,
            "invalid",
            "Idempotency-Key ska vara 1–255 tecken: bokstäver a–z, siffror och vanliga tecken,"
            " utan å, ä och ö.",
            expression="http.Idempotency-Key",
            diagnostics=f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX} visible ASCII characters",
        )
    return key


def if_match_of(raw: str | None, expression: str = "http.If-Match") -> str | None:
    """An ``If-Match`` precondition (the header, or a Bundle entry's ``request.ifMatch``
    at ``expression``): None without one, ``*`` for any current version, else the version
    number it names. 400 for anything else, a list of tags included: the update or
    delete would otherwise fail as a conflict that no reload can resolve."""
    if raw is None:
        return None
    value = raw.strip()
    if value == "*":
        return value
    match = _VERSION_TAG.fullmatch(value)
    if match is None:
        raise FhirError.single(
            400,
            "invalid",
            "Villkoret If-Match har fel format. Ange resursens version så som den står i "
            'ETag när resursen hämtas, till exempel W/"3".',
            expression=expression,
            diagnostics='If-Match takes one ETag of this server, W/"<versionId>", or *',
        )
    return match.group(1)


def _opaque_tags(value: str) -> list[str] | None:
    """The opaque parts of a comma-separated list of entity tags, or None if it is not one."""
    tags: list[str] = []
    position, end = 0, len(value)
    while True:
        gap = _LIST_GAP.match(value, position)
        assert gap is not None  # it matches the empty string
        if gap.end() == end:
            return tags
        if tags and "," not in gap.group():  # two tags side by side
            return None
        tag = _ENTITY_TAG.match(value, gap.end())
        if tag is None:
            return None
        tags.append(tag.group(1))
        position = tag.end()


def none_match(headers: list[str], etag: str) -> bool:
    """Whether the ``If-None-Match`` header lines of a read name its current version
    ``etag``: ``*``, or a list of entity tags one of which is ``etag`` by the weak
    comparison (``"3"`` and ``W/"3"`` are the same, RFC 9110 section 13.1.2); then the
    answer is 304. A malformed header names nothing, so the read answers in full: unlike
    a malformed If-Match (400, see :func:`if_match_of`), it costs the client no more than
    a body it already may read."""
    if not headers:
        return False
    value = ",".join(headers).strip()
    if value == "*":
        return True
    tags = _opaque_tags(value)
    return tags is not None and etag.removeprefix("W/") in tags


def location(base_url: str, stored: StoredResource) -> str:
    return f"{base_url}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}"


def http_date(stored: StoredResource) -> str:
    return format_datetime(stored.last_updated, usegmt=True)


def version_headers(stored: StoredResource) -> dict[str, str]:
    return {"ETag": stored.etag, "Last-Modified": http_date(stored)}
