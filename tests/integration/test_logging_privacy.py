"""A submitted personnummer never reaches the logs, whatever the request does."""

from __future__ import annotations

import io
import logging

import pytest
from fastapi.testclient import TestClient

from gateway.logging import configure_logging, mask_person_numbers
from gateway.settings import LogFormat
from tests.support.fhir_data import FHIR_JSON, patient, personnummer


def test_personnummer_never_in_captured_logs(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(LogFormat.JSON, "DEBUG")
    number = personnummer(11)
    created = client.post("/fhir/Patient", json=patient(11), headers=FHIR_JSON)
    assert created.status_code == 201
    client.get("/fhir/Patient", params={"identifier": number})
    client.get(f"/fhir/Patient/{number}")
    bad = patient(11)
    bad["birthDate"] = number
    client.post("/fhir/Patient", json=bad, headers=FHIR_JSON)
    client.post("/fhir/Patient", content=f'{{"x": "{number}"', headers=FHIR_JSON)
    captured = capsys.readouterr()
    logs = captured.out + captured.err
    assert '"event": "request"' in logs, "the access log must have been captured"
    assert number not in logs
    assert number[2:] not in logs  # nor its 10-digit form


@pytest.mark.parametrize(
    "text",
    ["191212121212", "19121212-1212", "121212-1212", "1212121212", "id 191212121212 x"],
)
def test_masking_catches_every_written_form(text: str) -> None:
    masked = mask_person_numbers(text)
    assert "1212" not in masked.replace("[personnummer]", "")


def test_the_servers_own_error_records_keep_the_type_and_place_not_the_data() -> None:
    """uvicorn logs an exception that reaches it ("Exception in ASGI application") with
    its message and traceback, and a database error's message quoted its parameters."""
    configure_logging(LogFormat.JSON, "INFO")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))  # prints any traceback too
    server_log = logging.getLogger("uvicorn.error")
    # A uvicorn started earlier in this process set the logger's level (log_level="critical"
    # for the test peers); serve runs it at "warning", which lets an exception through.
    level = server_log.level
    server_log.setLevel(logging.WARNING)
    server_log.addHandler(handler)
    number = personnummer(12)
    try:
        try:
            raise ValueError(f"parameters: {{'value': '{number}'}}")
        except ValueError:
            server_log.exception("Exception in ASGI application for %s", number)
    finally:
        server_log.removeHandler(handler)
        server_log.setLevel(level)
    written = stream.getvalue()
    assert "ValueError at tests.integration.test_logging_privacy:" in written
    assert "details withheld" in written
    assert number not in written
    assert "parameters" not in written
    assert "Traceback" not in written
