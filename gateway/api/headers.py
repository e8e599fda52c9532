"""HTTP headers of FHIR responses (ETag, Last-Modified, Location) and the Prefer header."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import format_datetime

from starlette.requests import Request

from gateway.store.resources import StoredResource


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


def location(base_url: str, stored: StoredResource) -> str:
    return f"{base_url}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}"


def http_date(stored: StoredResource) -> str:
    return format_datetime(stored.last_updated, usegmt=True)


def version_headers(stored: StoredResource) -> dict[str, str]:
    return {"ETag": stored.etag, "Last-Modified": http_date(stored)}
