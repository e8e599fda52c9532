"""What a message may hold: no characters that make it read otherwise than it is written
(json_shape, for every text of every resource), and attachments only of the allowed
kinds, whose content is what they say (workflow.attachments). A refused message is 422
at its element, in Swedish, and nothing is stored or sent. The refusals come before the
store, so SQLite is enough here; the inbox's tests store attachments on both backends."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gateway.workflow import attachments
from tests.integration.workflow.conftest import ANNA, GAVLE, World, communication
from tests.support.submissions import submission

# The checks run before anything is stored: one backend is enough.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _task(world: World) -> dict[str, Any]:
    created = world.submit(submission(ANNA.personnummer, GAVLE, case_id="dialog-innehall"))
    assert created.status_code == 201, created.text
    world.deliver()
    task: dict[str, Any] = created.json()
    return task


def _attached(task_id: str, **attachment: Any) -> dict[str, Any]:
    message = communication(task_id, "Se bilagan.")
    message["payload"].append({"contentAttachment": {"title": "Intyg", **attachment}})
    return message


def _messages(world: World, task_id: str) -> int:
    found = world.as_kommun("GET", "/fhir/Communication", **{"part-of": f"Task/{task_id}"})
    return len(found.json().get("entry", []))


def _refused_at(response: Any, path: str, text: str) -> None:
    assert response.status_code == 422, response.text
    (issue,) = response.json()["issue"]
    assert issue["expression"] == [path]
    assert text in issue["details"]["text"]


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


HOSTILE = [
    ("Ring \u202eenummok\u202c inte", "skrivriktningen"),  # Trojan Source: RLO … PDF
    ("Beviljas \u2067ej\u2069", "skrivriktningen"),  # an isolate
    ("Hej\u009b31m", "styrtecken"),  # C1: the 8-bit CSI of a terminal escape
]


@SQLITE_ONLY
def test_a_message_that_reads_otherwise_than_written_is_refused(world: World) -> None:
    task = _task(world)
    task_url = f"/fhir/Task/{task['id']}"
    version = world.as_unit("GET", task_url).json()["meta"]["versionId"]
    for hostile, text in HOSTILE:
        message = communication(task["id"], hostile)
        refused = world.as_kommun("POST", "/fhir/Communication", message)
        _refused_at(refused, "Communication.payload[0].contentString", text)
        # The same text as a note on the Task: every text is held to the same rule.
        current = world.as_unit("GET", task_url).json()
        current["note"] = [{"text": hostile}]
        _refused_at(world.as_unit("PUT", task_url, current), "Task.note[0].text", text)
    assert _messages(world, task["id"]) == 0
    assert world.as_unit("GET", task_url).json()["meta"]["versionId"] == version
    # Marks that open no embedding are a right-to-left name's, and pass.
    marked = communication(task["id"], "Hälsningar \u200fعلي\u200e")
    assert world.as_kommun("POST", "/fhir/Communication", marked).status_code == 201


@SQLITE_ONLY
def test_attachments_are_refused_unless_of_an_allowed_kind_and_what_they_say(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _task(world)
    at = "Communication.payload[1].contentAttachment"

    def post(**attachment: Any) -> Any:
        return world.as_kommun("POST", "/fhir/Communication", _attached(task["id"], **attachment))

    _refused_at(post(contentType="text/html", data=_b64(b"<p>x</p>")), f"{at}.contentType", "PDF")
    _refused_at(post(data=_b64(PDF)), f"{at}.contentType", "PDF")
    _refused_at(post(contentType="application/pdf", data=_b64(b"<html>")), f"{at}.data", "typ")
    _refused_at(post(contentType="application/pdf", data="inte base64!"), f"{at}.data", "")
    _refused_at(post(contentType="image/png"), at, "data eller url")
    _refused_at(post(contentType="text/plain", data=_b64(b"\xff\xfe")), f"{at}.data", "UTF-8")
    latin = post(contentType="text/plain;charset=iso-8859-1", data=_b64(b"Hej"))
    _refused_at(latin, f"{at}.contentType", "UTF-8")
    _refused_at(
        post(contentType="text/plain", data=_b64("a\u202eb".encode())), f"{at}.data", "riktningen"
    )
    wrong_hash = _b64(b"0" * 20)
    _refused_at(
        post(contentType="application/pdf", data=_b64(PDF), hash=wrong_hash), f"{at}.hash", "hash"
    )
    monkeypatch.setattr(attachments, "MAX_ATTACHMENT_BYTES", len(PDF) - 1)
    _refused_at(post(contentType="application/pdf", data=_b64(PDF)), f"{at}.data", "högst")
    assert _messages(world, task["id"]) == 0
    monkeypatch.undo()

    accepted = post(contentType="application/pdf", data=_b64(PDF), size=1)
    assert accepted.status_code == 201, accepted.text
    stored = accepted.json()["payload"][1]["contentAttachment"]
    assert stored["size"] == len(PDF), "the gateway counts the size itself"
    held_elsewhere = post(contentType="image/jpeg", url="https://kommun.example/dok/1")
    assert held_elsewhere.status_code == 201, held_elsewhere.text
