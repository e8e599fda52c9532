"""Delivery over RIVTA and the answer's return, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time

from adapters.journal.rivta.messages import logical_address
from gateway.demo_peers.auto_answer import AutoAnswer
from gateway.demo_peers.rivta_journal import example_answer
from gateway.rivta.contract import ACTION_PROCESS, INFO, OK, REQUEST
from gateway.rivta.soap import HEADER_CORRELATION_ID, HEADER_ORIGINAL_CONSUMER
from gateway.store.resources import ResourceStore
from gateway.validation.identifiers import SYSTEM_PERSONNUMMER
from tests.integration.adapters.rivta.conftest import (
    DAVID,
    ENDPOINT,
    GATEWAY_HSA,
    UNIT_HSA,
    World,
)


def test_the_request_goes_to_the_logical_address_and_the_answer_completes_the_task(
    world: World,
) -> None:
    world.journal.auto = AutoAnswer(accept_after=0.2, answer_after=0.6)
    task = world.submit()
    assert world.deliver() == 1

    (message,) = world.journal.requests()
    assert world.journal.addressed == [UNIT_HSA]
    assert message.message_type == REQUEST
    assert message.task_id == task["id"]
    assert message.care_unit == UNIT_HSA
    assert message.patient is not None
    assert message.patient.extension == DAVID.personnummer
    assert message.patient.root == "1.2.752.129.2.1.3.1"
    kinds = {e["resource"]["resourceType"] for e in message.bundle["entry"]}
    assert {"Task", "ServiceRequest", "Patient", "Consent"} <= kinds
    patient = next(
        e["resource"] for e in message.bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert {"system": SYSTEM_PERSONNUMMER, "value": DAVID.personnummer} in patient["identifier"]
    (headers,) = world.journal.headers
    assert headers[HEADER_ORIGINAL_CONSUMER] == GATEWAY_HSA
    assert re.fullmatch(r"[0-9a-f]{32}", headers[HEADER_CORRELATION_ID])
    assert headers["soapaction"].strip('"') == ACTION_PROCESS
    assert world.task(task["id"])["status"] in ("received", "accepted", "completed")

    done = world.wait_for(task["id"], "completed")
    assert done["status"] == "completed", [r.result or r.error for r in world.journal.reports]
    # The journal system keeps a report once the gateway's answer is back, which can be a
    # moment after the gateway committed the completion.
    deadline = time.monotonic() + 10
    while len(world.journal.reports) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(r.update.status, r.result and r.result.code) for r in world.journal.reports] == [
        ("accepted", OK),
        ("completed", OK),
    ]
    assert world.journal.reports[-1].task_status == "completed"
    answers = world.http.get(
        "/fhir/QuestionnaireResponse",
        params={"based-on": task["focus"]["reference"]},
        headers=world.kommun,
    ).json()
    assert answers["total"] == 1


def test_a_message_sent_again_changes_nothing_the_second_time(world: World) -> None:
    task = world.submit()
    world.deliver()
    first = world.journal.report(
        task["id"], UNIT_HSA, status="completed", answer=example_answer(), message_id="vc-42"
    )
    again = world.journal.report(
        task["id"], UNIT_HSA, status="completed", answer=example_answer(), message_id="vc-42"
    )
    assert first.result is not None
    assert first.result.code == OK
    assert again.result is not None
    assert again.result.code == INFO
    assert again.task_status == "completed"
    answers = world.http.get(
        "/fhir/QuestionnaireResponse",
        params={"based-on": task["focus"]["reference"]},
        headers=world.kommun,
    ).json()
    assert answers["total"] == 1


def test_a_rejection_with_its_reason_and_a_business_status(world: World) -> None:
    task = world.submit()
    world.deliver()
    moved = world.journal.report(task["id"], UNIT_HSA, business_status="besok-bokat")
    assert moved.result is not None
    assert moved.result.code == OK, moved
    assert world.task(task["id"])["businessStatus"]["coding"][0]["code"] == "besok-bokat"
    rejected = world.journal.report(
        task["id"], UNIT_HSA, status="rejected", status_reason="ej-listad"
    )
    assert rejected.result is not None
    assert rejected.result.code == OK, rejected
    after = world.task(task["id"])
    assert after["status"] == "rejected"
    assert after["statusReason"]["coding"][0]["code"] == "ej-listad"


def test_health_reads_the_wsdl_over_mutual_tls(world: World) -> None:
    with world.app.state.session_factory() as session:
        endpoint = ResourceStore(session).current("Endpoint", ENDPOINT)
    assert endpoint is not None
    assert endpoint.body is not None
    assert logical_address(endpoint.body) == UNIT_HSA
    assert world.adapter.health(endpoint.body)
    assert not world.adapter.health({**endpoint.body, "address": "https://127.0.0.1:9/x"})
