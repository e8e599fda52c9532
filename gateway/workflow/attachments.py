"""What a message (Communication) may carry as an attachment, and the attachment as the
inbox serves it.

An attachment is a document the other party opens: a PDF, a PNG or JPEG image or plain
text, and its content must be what its type says (checked by its first bytes; a text
must be UTF-8 and keep to the string rule of ``json_shape``). Its ``data`` is at most
:data:`MAX_ATTACHMENT_BYTES` once decoded (the request's body limit caps the message as a
whole), and the gateway states its ``size`` itself. An attachment held elsewhere
(``url``) is never fetched by the gateway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from gateway.errors import FhirError, Issue
from gateway.validation.json_shape import text_issue


@dataclass(frozen=True)
class Kind:
    """One allowed content type: how it is served and named, and how its content starts."""

    served_as: str
    extension: str
    label_sv: str
    magic: bytes = b""


KINDS: dict[str, Kind] = {
    "application/pdf": Kind("application/pdf", "pdf", "PDF-dokument", b"%PDF-"),
    "image/png": Kind("image/png", "png", "PNG-bild", b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": Kind("image/jpeg", "jpg", "JPEG-bild", b"\xff\xd8\xff"),
    "text/plain": Kind("text/plain; charset=utf-8", "txt", "Textfil"),
}
MAX_ATTACHMENT_BYTES = 1024 * 1024

_TYPES_SV = "PDF, PNG, JPEG eller vanlig text"


def kind_of(content_type: Any) -> Kind | None:
    """The allowed kind a ``contentType`` names (its parameters aside), or None."""
    if not isinstance(content_type, str):
        return None
    return KINDS.get(content_type.split(";")[0].strip().lower())


def decoded(data: Any) -> bytes | None:
    """A base64Binary's bytes (FHIR allows whitespace in it), None if it is not base64."""
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _sha1(content: bytes) -> bytes:
    """Attachment.hash as FHIR defines it: the SHA-1 of the data (an integrity check of
    the sender's, not a security measure)."""
    return hashlib.sha1(content, usedforsecurity=False).digest()


def _refusal(expression: str, text_sv: str, diagnostics: str) -> Issue:
    return Issue("business-rule", text_sv, expression=(expression,), diagnostics=diagnostics)


def _content_issue(kind: Kind, content: bytes, expression: str) -> Issue | None:
    if kind.magic and not content.startswith(kind.magic):
        return _refusal(
            expression,
            "Bilagans innehåll är inte av den typ som anges i contentType.",
            "the data does not match its contentType",
        )
    if kind.extension == "txt":
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return _refusal(
                expression,
                "En textbilaga ska vara kodad som UTF-8.",
                "text/plain data must be UTF-8",
            )
        return text_issue(expression, text)
    return None


def _other_charset(content_type: Any) -> bool:
    """Whether a ``contentType`` names a charset other than UTF-8, which every text
    attachment is (a system that trusted the stated one would read it wrongly)."""
    for parameter in str(content_type).split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return True
    return False


def _attachment_issues(attachment: dict[str, Any], expr: str) -> list[Issue]:
    kind = kind_of(attachment.get("contentType"))
    if kind is not None and _other_charset(attachment.get("contentType")):
        return [
            _refusal(
                f"{expr}.contentType",
                "En textbilaga ska vara kodad som UTF-8 (charset=utf-8), och contentType ska "
                "inte ange någon annan teckenkodning.",
                "contentType names a charset other than utf-8",
            )
        ]
    if kind is None:
        return [
            _refusal(
                f"{expr}.contentType",
                f"Bilagan måste vara {_TYPES_SV}, och contentType ska ange vilket.",
                "contentType must be one of " + ", ".join(KINDS),
            )
        ]
    if "data" not in attachment:
        if "url" in attachment:
            return []
        return [
            _refusal(
                expr,
                "Bilagan saknar innehåll: ange data eller url.",
                "an attachment needs data or url",
            )
        ]
    content = decoded(attachment["data"])
    if content is None:
        return [
            _refusal(f"{expr}.data", "Bilagans data är inte base64-kodad.", "data is not base64")
        ]
    if len(content) > MAX_ATTACHMENT_BYTES:
        return [
            _refusal(
                f"{expr}.data",
                f"En bilaga får vara högst {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.",
                f"data exceeds {MAX_ATTACHMENT_BYTES} bytes",
            )
        ]
    stated_hash = attachment.get("hash")
    if stated_hash is not None and decoded(stated_hash) != _sha1(content):
        return [
            _refusal(
                f"{expr}.hash",
                "Bilagans kontrollsumma (hash) stämmer inte med dess innehåll.",
                "hash is not the SHA-1 of data",
            )
        ]
    found = _content_issue(kind, content, f"{expr}.data")
    return [found] if found is not None else []


def checked_attachments(body: dict[str, Any]) -> dict[str, Any]:
    """The message with each attachment's ``size`` as the gateway counts it; 422 naming
    every attachment that breaks the rules above."""
    issues: list[Issue] = []
    payload = []
    for index, part in enumerate(body.get("payload") or []):
        attachment = part.get("contentAttachment") if isinstance(part, dict) else None
        if not isinstance(attachment, dict):
            payload.append(part)
            continue
        expr = f"Communication.payload[{index}].contentAttachment"
        found = _attachment_issues(attachment, expr)
        issues.extend(found)
        content = decoded(attachment.get("data")) if not found else None
        if content is not None:
            attachment = {**attachment, "size": len(content)}
        payload.append({**part, "contentAttachment": attachment})
    if issues:
        raise FhirError(422, issues)
    return {**body, "payload": payload} if payload else body


@dataclass(frozen=True)
class Served:
    """An attachment's content as the inbox sends it."""

    content: bytes
    media_type: str
    filename: str


def served(attachment: Any, name: str) -> Served | None:
    """The content of an attachment the gateway accepted, to be downloaded as
    ``{name}.{extension}`` (a name of the gateway's choosing, never the sender's title);
    None if it has none the inbox may serve."""
    if not isinstance(attachment, dict):
        return None
    kind = kind_of(attachment.get("contentType"))
    content = decoded(attachment.get("data"))
    if kind is None or content is None or _content_issue(kind, content, "") is not None:
        return None
    return Served(content, kind.served_as, f"{name}.{kind.extension}")
