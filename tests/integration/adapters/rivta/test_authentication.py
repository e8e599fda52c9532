"""Authentication and authorisation in both directions, and the endpoint's answers to
malformed calls: SOAP Faults with a code, never an echo of the message."""

from __future__ import annotations

import base64
import datetime
import json
import re

import httpx
import pytest

from gateway.delivery.outbox import DEAD
from gateway.demo_peers.rivta_journal import example_answer
from gateway.rivta import contract
from gateway.rivta.contract import ACTION_UPDATE, PROCESS, MedicalStatementUpdate
from gateway.rivta.safe_xml import read_envelope, schema
from gateway.rivta.soap import (
    HEADER_ORIGINAL_CONSUMER,
    SoapFault,
    TlsConfig,
    ssl_context,
)
from tests.integration.adapters.rivta.conftest import (
    ANSWER_PATH,
    DAVID,
    GATEWAY_HSA,
    JOURNAL_HSA,
    OTHER_UNIT_HSA,
    UNIT_HSA,
    World,
    adapter_for,
)
from tests.support.pki import serve_tls

# ----- the gateway calling the journal system ---------------------------------------------


@pytest.mark.parametrize("client", ["none", "rogue"])
def test_the_peer_refusing_our_client_certificate_is_a_clear_failure(
    world: World, client: str
) -> None:
    pair = None if client == "none" else world.pki.rogue_journal
    adapter = adapter_for(world.pki, pair)
    world.app.state.registry.register(adapter)
    pki = world.pki
    try:
        with serve_tls(world.journal.app(), pki.peer_server, pki.ca.bundle, tls12=True) as base:
            world.point_endpoint(f"{base}/{PROCESS}/1/rivtabp21")
            task = world.submit()
            world.deliver()
    finally:
        adapter.close()
    (message,) = world.messages()
    assert message.status == DEAD, message.last_error
    assert "TLS handshake failed" in (message.last_error or "")
    assert world.journal.requests() == []
    assert world.task(task["id"])["status"] == "failed"


def test_a_tls13_peer_that_drops_the_connection_is_retried(world: World) -> None:
    """Under TLS 1.3 a server that refuses the certificate without a TLS alert looks like a
    peer that went away: retried, and it fails after the budget like any other."""
    adapter = adapter_for(world.pki, None)
    world.app.state.registry.register(adapter)
    try:
        world.submit()
        world.deliver()
    finally:
        adapter.close()
    (message,) = world.messages()
    assert message.status == "pending"
    assert "peer unreachable" in (message.last_error or "")
    assert world.journal.requests() == []


def test_we_refuse_a_peer_whose_server_certificate_we_do_not_trust(world: World) -> None:
    adapter = adapter_for(world.pki, world.pki.gateway, ca=world.pki.rogue.bundle)
    world.app.state.registry.register(adapter)
    try:
        world.submit()
        world.deliver()
    finally:
        adapter.close()
    (message,) = world.messages()
    assert message.status == DEAD
    assert "TLS" in (message.last_error or "")
    assert world.journal.requests() == []


# ----- the journal system calling the gateway ---------------------------------------------


def _delivered(world: World) -> str:
    task = world.submit()
    world.deliver()
    assert world.task(task["id"])["status"] == "received"
    return str(task["id"])


def _answer(world: World, task_id: str, care_unit: str = UNIT_HSA) -> tuple[str | None, str]:
    report = world.journal.report(task_id, care_unit, status="completed", answer=example_answer())
    if report.result is not None:
        return report.result.code, report.result.error_code or ""
    return None, report.error or ""


def _unchanged(world: World, task_id: str) -> None:
    task = world.task(task_id)
    assert task["status"] == "received"
    assert not task.get("output")


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("no-certificate", "KV101"),
        ("forged-certificate-header", "KV101"),
        ("rogue-ca", "tls"),
        ("stranger", "KV107"),
        ("stranger-claims-to-be-the-journal", "KV107"),
        ("platform-without-consumer", "KV102"),
        ("wrong-logical-address", "KV103"),
        ("unit-without-anropsbehorighet", "KV107"),
    ],
)
def test_an_inbound_call_that_is_not_authorised_is_refused_and_changes_nothing(
    world: World, case: str, refusal: str
) -> None:
    task_id = _delivered(world)
    pki, link = world.pki, world.link
    care_unit = UNIT_HSA
    if case == "no-certificate":
        world.journal.link = link(None)
    elif case == "forged-certificate-header":
        # What the edge alone may send: a copy from the client is dropped at the edge.
        world.journal.link = link(
            None, forward_cert_header="x-kvgw-client-cert", forward_cert_pem=pki.journal.pem
        )
    elif case == "rogue-ca":
        world.journal.link = link(pki.rogue_journal)
    elif case == "stranger":
        world.journal.link = link(pki.stranger)
    elif case == "stranger-claims-to-be-the-journal":
        # Only the platform's certificates may name the consumer in the header.
        world.journal.link = link(pki.stranger, sender_hsa_id=JOURNAL_HSA)
    elif case == "platform-without-consumer":
        world.journal.link = link(pki.platform, sender_hsa_id="")
    elif case == "wrong-logical-address":
        world.journal.link = link(pki.journal, gateway_hsa_id="SE2321000016-ANNAN")
    elif case == "unit-without-anropsbehorighet":
        care_unit = OTHER_UNIT_HSA
    world.journal.close()  # a new link: a new client
    code, detail = _answer(world, task_id, care_unit)
    assert code is None
    assert refusal in detail
    _unchanged(world, task_id)


def test_through_the_platform_the_original_consumer_is_the_caller(world: World) -> None:
    task_id = _delivered(world)
    world.journal.link = world.link(world.pki.platform, sender_hsa_id=JOURNAL_HSA)
    assert _answer(world, task_id) == (contract.OK, "")
    assert world.task(task_id)["status"] == "completed"


def test_an_answer_for_a_task_the_unit_does_not_own_is_refused_and_changes_nothing(
    world: World,
) -> None:
    task_id = _delivered(world)
    world.authorise(JOURNAL_HSA, OTHER_UNIT_HSA)  # the system also serves Halmstad Norr
    report = world.journal.report(
        task_id, OTHER_UNIT_HSA, status="completed", answer=example_answer()
    )
    assert report.result is not None
    assert (report.result.code, report.result.error_code) == (
        contract.ERROR,
        contract.APPLICATION_ERROR,
    )
    assert report.task_status is None  # nothing about the Task is told
    _unchanged(world, task_id)
    unknown = world.journal.report("finns-inte", UNIT_HSA, status="accepted")
    assert unknown.result == report.result


# ----- malformed calls --------------------------------------------------------------------


def _post(
    world: World, body: bytes, *, action: str = ACTION_UPDATE, path: str = ANSWER_PATH
) -> httpx.Response:
    tls = TlsConfig(
        str(world.pki.journal.cert), str(world.pki.journal.key), str(world.pki.ca.bundle)
    )
    with httpx.Client(verify=ssl_context(tls), timeout=20) as http:
        return http.post(
            f"{world.edge_base}{path}",
            content=body,
            headers={
                "content-type": "text/xml; charset=utf-8",
                "soapaction": f'"{action}"',
                HEADER_ORIGINAL_CONSUMER: JOURNAL_HSA,
            },
        )


def _update(world: World, task_id: str, **changes: object) -> bytes:
    fields: dict[str, object] = {
        "message_id": "m-1",
        "task_id": task_id,
        "care_unit": UNIT_HSA,
        "sent_at": datetime.datetime.now(datetime.UTC),
        "status": "accepted",
    }
    fields.update(changes)
    return contract.update_envelope(GATEWAY_HSA, MedicalStatementUpdate(**fields))  # type: ignore[arg-type]


def _fault_of(response: httpx.Response) -> SoapFault:
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/xml")
    with pytest.raises(SoapFault) as caught:
        read_envelope(response.content, 100_000)
    return caught.value


def test_malformed_calls_get_a_fault_with_a_code_and_no_echo(world: World) -> None:
    task_id = _delivered(world)
    good = _update(world, task_id)
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with_person = good.replace(
        b"<status>accepted</status>", f"<status>{DAVID.personnummer}</status>".encode()
    )
    cases = {
        "KV100 not a SOAP": _post(world, b"not xml"),
        "KV100 ": _post(world, xxe),
        "KV105": _post(world, with_person),
        "KV104 SOAPAction": _post(world, good, action="urn:fel"),
        "KV104 no such service": _post(world, good, path="/rivta/GetSomething/1/rivtabp21"),
        "KV100 the message is too large": _post(world, b"x" * (contract.MAX_MESSAGE_BYTES + 10)),
    }
    for expected, response in cases.items():
        fault = _fault_of(response)
        assert expected in fault.detail, (expected, fault.detail)
        assert fault.faultcode == "soapenv:Client"
        assert DAVID.personnummer not in response.text
    assert "/UpdateMedicalStatementRequest/status" in _fault_of(cases["KV105"]).detail
    _unchanged(world, task_id)


@pytest.mark.parametrize(
    "sent_at", ["2026-12-07T24:00:00Z", "12026-12-07T10:00:00Z", "-2026-12-07T10:00:00Z"]
)
def test_a_sent_at_the_xsd_allows_but_no_clock_has_is_a_client_fault(
    world: World, sent_at: str
) -> None:
    task_id = _delivered(world)
    envelope = re.sub(
        rb"<sentAt>[^<]*</sentAt>", f"<sentAt>{sent_at}</sentAt>".encode(), _update(world, task_id)
    )
    schema(contract.XSD_UPDATE).check(read_envelope(envelope, 100_000).body)
    fault = _fault_of(_post(world, envelope))
    assert fault.faultcode == "soapenv:Client", "a message that stays wrong is not sent again"
    assert fault.detail.endswith("KV100 sentAt is not a date and time the gateway can read")
    assert sent_at not in fault.detail
    _unchanged(world, task_id)


def test_a_payload_that_is_not_fhir_json_is_a_transformation_error(world: World) -> None:
    task_id = _delivered(world)
    envelope = _update(
        world, task_id, status="completed", answer={"resourceType": "QuestionnaireResponse"}
    )
    encoded = base64.b64encode(
        json.dumps({"resourceType": "QuestionnaireResponse"}, separators=(",", ":")).encode()
    )
    response = _post(world, envelope.replace(encoded, base64.b64encode(b"{inte json")))
    assert response.status_code == 200
    result, status = contract.read_update_response(response.content)
    assert (result.code, result.error_code, status) == (
        contract.ERROR,
        contract.TRANSFORMATION_ERROR,
        None,
    )
    _unchanged(world, task_id)


@pytest.mark.parametrize("narrative", [True, False], ids=["with-text", "warned-for-no-text"])
def test_a_refused_answer_is_told_without_echoing_the_message(
    world: World, narrative: bool
) -> None:
    task_id = _delivered(world)
    answer = example_answer()
    if narrative:  # else the first issue is a warning, which says nothing of the refusal
        answer["text"] = {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">Utlåtande</div>',
        }
    answer["item"].append(
        {"linkId": f"LEAK-{DAVID.personnummer}", "answer": [{"valueString": "x"}]}
    )
    report = world.journal.report(task_id, UNIT_HSA, status="completed", answer=answer)
    assert report.result is not None
    assert (report.result.code, report.result.error_code) == (
        contract.ERROR,
        contract.VALIDATION_ERROR,
    )
    assert "LEAK" not in (report.result.text or "")
    assert report.result.text == "Svaret följer inte frågeformulärets eller profilens struktur."
    _unchanged(world, task_id)


def test_the_wsdl_is_served_where_the_service_is(world: World) -> None:
    tls = TlsConfig(None, None, str(world.pki.ca.bundle))
    with httpx.Client(verify=ssl_context(tls), timeout=20) as http:
        response = http.get(f"{world.edge_base}{ANSWER_PATH}?wsdl")
    assert response.status_code == 200
    assert b'soapAction="' + ACTION_UPDATE.encode() in response.content
    assert (
        world.http.get("/openapi.json")
        .json()["paths"]
        .keys()
        .isdisjoint({ANSWER_PATH, "/rivta/{service}"})
    )
