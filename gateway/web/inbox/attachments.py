"""A message's attachments as the inbox lists them: title, type, size, and where to get
the content (the inbox serves what the message carries; what is held elsewhere it names,
and never fetches)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.workflow.attachments import kind_of


@dataclass(frozen=True)
class AttachmentView:
    title: str
    kind: str
    size: str
    download: str | None  # the inbox's path to the content, if the message carries it
    elsewhere: bool  # held by the sender's system (``url``), not in the message


def download_path(task_id: str, communication_id: str, index: int) -> str:
    return f"/inbox/arenden/{task_id}/meddelanden/{communication_id}/bilagor/{index}"


def size_sv(size: int) -> str:
    """``532 byte``, ``12 kB``, ``1,4 MB``."""
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} kB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def attachment_views(
    task_id: str, communication_id: str, payload: list[Any]
) -> list[AttachmentView]:
    """What the case page lists of a message's attachments, from what the gateway stated
    when it accepted the message (type, ``size``): nothing is decoded here, so a case
    with many large attachments renders as fast as one without (the download checks the
    content when it is asked for)."""
    found = []
    for index, part in enumerate(payload):
        attachment = part.get("contentAttachment") if isinstance(part, dict) else None
        if not isinstance(attachment, dict):
            continue
        kind = kind_of(attachment.get("contentType"))
        size = attachment.get("size")
        carried = kind is not None and isinstance(attachment.get("data"), str)
        found.append(
            AttachmentView(
                title=str(attachment.get("title") or "Bilaga utan namn"),
                kind=kind.label_sv if kind is not None else "Okänd filtyp",
                size=size_sv(size) if isinstance(size, int) and size >= 0 else "",
                download=download_path(task_id, communication_id, index) if carried else None,
                elsewhere="data" not in attachment and bool(attachment.get("url")),
            )
        )
    return found
