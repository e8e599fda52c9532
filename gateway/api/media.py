"""FHIR JSON on the wire: content negotiation, strict request media types, the response class."""

from __future__ import annotations

import json
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import FhirError

FHIR_JSON = "application/fhir+json"
PLAIN_JSON = "application/json"
_JSON_TYPES = {FHIR_JSON, PLAIN_JSON}
_FORMAT_ALIASES = {"json": FHIR_JSON, FHIR_JSON: FHIR_JSON, PLAIN_JSON: PLAIN_JSON}
_XML_TYPES = {"xml", "application/fhir+xml", "application/xml", "text/xml"}


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def response_media_type(request: Request | None) -> str:
    """FHIR JSON unless the client asked for plain JSON. XML is refused with 406."""
    if request is None:
        return FHIR_JSON
    fmt = request.query_params.get("_format")
    if fmt is not None:
        chosen = _FORMAT_ALIASES.get(fmt.strip().lower())
        if chosen is None:
            raise _not_acceptable()
        return chosen
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return FHIR_JSON
    offered = [_media_type(part) for part in accept.split(",")]
    for media in offered:
        if media in _JSON_TYPES:
            return media
        if media in ("*/*", "application/*"):
            return FHIR_JSON
    if any(media in _XML_TYPES for media in offered):
        raise _not_acceptable()
    return FHIR_JSON


def _not_acceptable() -> FhirError:
    return FhirError.single(
        406,
        "not-supported",
        "Servern kan bara svara med FHIR JSON.",
        diagnostics="only application/fhir+json and application/json are produced",
    )


def require_json_body(request: Request) -> None:
    """Refuse a body that does not declare a JSON media type (415)."""
    media = _media_type(request.headers.get("content-type", ""))
    if media not in _JSON_TYPES:
        raise FhirError.single(
            415,
            "not-supported",
            "Servern tar bara emot FHIR JSON. Ange Content-Type: application/fhir+json.",
            diagnostics="Content-Type must be application/fhir+json or application/json",
        )


class FhirResponse(Response):
    """A JSON response with the negotiated FHIR media type (errors fall back to FHIR JSON)."""

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        request: Request | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        try:
            media = response_media_type(request)
        except FhirError:
            media = FHIR_JSON
        super().__init__(
            content,
            status_code=status_code,
            headers=headers,
            media_type=f"{media}; charset=utf-8",
            background=background,
        )

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
