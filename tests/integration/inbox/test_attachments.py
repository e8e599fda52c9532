"""A message's attachments in the inbox: listed with title, type and size; what the
message carries is downloaded from the inbox (as a download, its type, nosniff) by the
unit the case belongs to and no one else; what is held elsewhere is named, not fetched."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from tests.integration.inbox.conftest import OTHER_PASSWORD, OTHER_USER, Inbox
from tests.support.html import described_by
from tests.support.live_server import serve

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _document_server(asked: list[str]) -> FastAPI:
    """The sender's document server: records every request made of it."""
    server = FastAPI()

    @server.api_route("/{path:path}", methods=["GET", "HEAD", "POST"])
    async def anything(request: Request, path: str) -> Response:
        asked.append(request.method)
        return Response(PDF, media_type="image/png")

    return server


def _message_with_attachments(task_id: str, elsewhere: str) -> dict[str, Any]:
    return {
        "resourceType": "Communication",
        "status": "completed",
        "partOf": [{"reference": f"Task/{task_id}"}],
        "payload": [
            {
                "contentAttachment": {
                    "contentType": "application/pdf",
                    "title": "Arbetsplatsbeskrivning praktik",
                    "data": base64.b64encode(PDF).decode(),
                }
            },
            {
                "contentAttachment": {
                    "contentType": "image/png",
                    "title": "Skannat samtycke",
                    "url": elsewhere,
                }
            },
        ],
    }


def test_attachments_are_listed_and_downloaded_by_the_case_s_unit_only(inbox: Inbox) -> None:
    task_id = inbox.request_for_halmstad()
    other_task = inbox.request_for_halmstad("2026-0101")
    asked: list[str] = []
    with serve(_document_server(asked)) as elsewhere:
        posted = inbox.world.as_kommun(
            "POST",
            "/fhir/Communication",
            _message_with_attachments(task_id, f"{elsewhere}/dokument/1"),
        )
        assert posted.status_code == 201, posted.text
        message_id = posted.json()["id"]
        agent = inbox.signed_in()

        page = agent.get(f"/inbox/arenden/{task_id}")

        assert page.status == 200
        shown = page.dom.by_id("messages").find_all("li", class_="attachment")
        assert len(shown) == 2
        pdf, held = shown
        assert "Arbetsplatsbeskrivning praktik (PDF-dokument, 48 byte)" in pdf.text
        link = pdf.find("a")
        path = f"/inbox/arenden/{task_id}/meddelanden/{message_id}/bilagor/0"
        assert link.attrs["href"] == path
        assert "Skannat samtycke (PNG-bild)" in held.text
        assert "finns i avsändarens system" in held.text
        assert not held.has("a"), "no link to the sender's system"
        assert asked == [], "the gateway never fetches what is held elsewhere"

    download = agent.http.get(path)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == 'attachment; filename="bilaga-1.pdf"'
    assert download.headers["x-content-type-options"] == "nosniff"

    printed = agent.get(f"/inbox/arenden/{task_id}/utskrift")
    assert "Bilaga: Arbetsplatsbeskrivning praktik (PDF-dokument, 48 byte)" in printed.dom.text
    assert not printed.dom.has("a", href=path), "a printout links nothing"

    # Not the attachment held elsewhere, nor one past the end, nor under another case.
    for wrong in (
        f"/inbox/arenden/{task_id}/meddelanden/{message_id}/bilagor/1",
        f"/inbox/arenden/{task_id}/meddelanden/{message_id}/bilagor/2",
        f"/inbox/arenden/{task_id}/meddelanden/{message_id}/bilagor/x",
        f"/inbox/arenden/{task_id}/meddelanden/{message_id}/bilagor/²",  # a digit int() refuses
        f"/inbox/arenden/{task_id}/meddelanden/{message_id}/bilagor/{'9' * 5000}",
        f"/inbox/arenden/{other_task}/meddelanden/{message_id}/bilagor/0",
    ):
        assert agent.http.get(wrong).status_code == 404, wrong
    # Another unit's user, and no one signed in, get nothing of it.
    other = inbox.signed_in(OTHER_USER, OTHER_PASSWORD).http.get(path)
    assert other.status_code == 404
    assert PDF not in other.content
    signed_out = inbox.agent().http.get(path)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/inbox/logga-in")

    # Her own message is held to the same rule as the kommun's, told beside the field.
    token = agent.get(f"/inbox/arenden/{task_id}").csrf()
    hostile = {"csrf": token, "message": "Vi kan \u202etnok\u202c ta emot"}
    refused = agent.post(f"/inbox/arenden/{task_id}/meddelande", hostile)
    assert refused.status == 422
    assert "skrivriktningen" in described_by(refused.dom, refused.dom.by_id("message"))[0]
