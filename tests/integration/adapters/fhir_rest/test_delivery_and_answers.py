"""Delivery to a real FHIR journal system and the answer's return, by polling and by callback."""

from __future__ import annotations

from typing import Any

from gateway.canonical import CS_REJECTION_REASON
from tests.integration.adapters.fhir_rest.conftest import BENGT, FhirWorld
from tests.support.fhir_data import FHIR_JSON


def _entry_types(bundle: dict[str, Any]) -> list[str]:
    return sorted(e["resource"]["resourceType"] for e in bundle["entry"])


def test_bundle_delivery_with_a_smart_token_and_answers_by_polling(fhir_world: FhirWorld) -> None:
    world = fhir_world
    world.use(smart=world.smart(), form="bundle", receive="poll")
    task = world.submit()
    assert world.deliver() == 1
    (arrival,) = world.journal.arrivals
    assert arrival.kind == "transaction"
    assert arrival.headers["idempotency-key"] == f"deliver:Task/{task['id']}"
    assert "Consent" in _entry_types(arrival.body)
    assert world.task(task["id"])["status"] == "received"
    assert world.journal.auth.issued == 1, "one token, from the peer's own token endpoint"

    remote = world.remote(task["id"])
    assert remote["id"] == task["id"], "in the Bundle form our ids are kept"
    world.journal.move(remote["id"], "accepted", "journalgranskning-pagar")
    report = world.poll()
    assert (report.updates, report.changed, report.refused) == (1, 1, 0), report.failures
    seen = world.task(task["id"])
    assert seen["status"] == "accepted"
    assert seen["businessStatus"]["coding"][0]["code"] == "journalgranskning-pagar"

    assert world.poll().updates == 0, "the high-water mark moved past what was applied"

    world.journal.answer(remote["id"])
    report = world.poll()
    assert (report.updates, report.changed) == (1, 1), report.failures
    done = world.task(task["id"])
    assert done["status"] == "completed"
    answer_ref = done["output"][0]["valueReference"]["reference"]
    answer = world.http.get(f"/fhir/{answer_ref}", headers=world.kommun)
    assert answer.status_code == 200, answer.text
    assert answer.json()["basedOn"] == [done["focus"]]
    assert world.journal.auth.issued == 1, "the token was reused until near its expiry"


def test_task_form_carries_the_request_contained_and_is_sent_once(fhir_world: FhirWorld) -> None:
    world = fhir_world
    world.use(smart=world.smart(), form="task", receive="poll")
    task = world.submit()
    world.deliver()
    (arrival,) = world.journal.arrivals
    assert arrival.kind == "task"
    sent = arrival.body
    contained = {r["resourceType"]: r for r in sent["contained"]}
    assert {"ServiceRequest", "Patient", "Consent", "PractitionerRole"} <= set(contained)
    assert sent["focus"]["reference"] == f"#{contained['ServiceRequest']['id']}"
    assert sent["for"]["reference"] == f"#{contained['Patient']['id']}"
    assert contained["ServiceRequest"]["supportingInfo"][0]["reference"].startswith("#consent-")
    remote = world.remote(task["id"])
    assert remote["id"] != task["id"], "the peer gave the Task an id of its own"

    # The same request delivered again (a retry after a lost answer) creates nothing new.
    from adapters.journal.fhir_rest.adapter import FhirRestAdapter
    from gateway.delivery.protocols import OutgoingRequest
    from gateway.store.resources import ResourceStore
    from gateway.workflow.dispatch import request_bundle

    adapter = world.app.state.registry.for_endpoint(_endpoint(world))
    assert isinstance(adapter, FhirRestAdapter)
    with world.app.state.session_factory() as session:
        store = ResourceStore(session)
        bundle = request_bundle(store, store.read("Task", task["id"]))
    again = adapter.deliver(
        OutgoingRequest(task["id"], bundle, f"deliver:Task/{task['id']}"), _endpoint(world)
    )
    assert again.outcome.value == "delivered"
    assert len(world.journal.tasks()) == 1

    world.journal.move(
        remote["id"], "rejected", reason_code="ej-listad", reason_system=CS_REJECTION_REASON
    )
    report = world.poll()
    assert report.changed == 1, report.failures
    rejected = world.task(task["id"])
    assert rejected["status"] == "rejected"
    assert rejected["statusReason"]["coding"][0]["code"] == "ej-listad"


def test_a_contained_answer_and_a_peer_reason_of_its_own(fhir_world: FhirWorld) -> None:
    world = fhir_world
    world.journal.contain_answers = True
    world.use(smart=world.smart(), form="task", receive="poll")
    first, second = world.submit(), world.submit(BENGT.personnummer, case_id="2026-0002")
    world.deliver()
    world.journal.answer(world.remote(first["id"])["id"])
    world.journal.move(world.remote(second["id"])["id"], "rejected", reason_code="LOCAL-17")
    report = world.poll()
    assert (report.updates, report.changed, report.refused) == (2, 2, 0), report.failures
    assert world.task(first["id"])["status"] == "completed"
    rejected = world.task(second["id"])
    assert rejected["status"] == "rejected"
    assert rejected["statusReason"]["coding"][0]["code"] == "annat", "unknown codes map to annat"


def test_answers_by_callback_into_the_gateway_api(fhir_world: FhirWorld) -> None:
    """The unit's system calls the gateway's FHIR API over HTTP with its own SMART token."""
    from gateway.demo_peers.fhir_journal import GatewayCallback
    from gateway.security.caller import PartyKind
    from tests.support.auth import new_identity, register_client
    from tests.support.live_server import serve

    world = fhir_world
    world.use(smart=world.smart(), form="bundle", receive="callback")
    identity = new_identity("jonkoping-journal")
    register_client(
        world.app, "Organization/vc-jonkoping-centrum", PartyKind.VARDCENTRAL, identity=identity
    )
    task = world.submit()
    world.deliver()
    with serve(world.app) as gateway:
        world.journal.callback = GatewayCallback(
            fhir_base=f"{gateway}/fhir",
            token_url=f"{gateway}/auth/token",
            client_id=identity.client_id,
            key=identity.key,
            kid=identity.kid,
            audience="http://testserver/auth/token",  # the gateway's configured public URL
        )
        remote = world.remote(task["id"])
        world.journal.move(remote["id"], "accepted")
        assert world.task(task["id"])["status"] == "accepted"
        world.journal.answer(remote["id"])
    assert world.journal.callback.results == [200, 200, 200, 201], world.journal.callback.results
    assert world.task(task["id"])["status"] == "completed"
    assert world.poll().updates == 0, "a callback profile is never polled"


def _endpoint(world: FhirWorld) -> dict[str, Any]:
    from gateway.store.resources import ResourceStore

    with world.app.state.session_factory() as session:
        body = ResourceStore(session).read("Endpoint", "ep-vc-jonkoping-centrum").body
    assert body is not None
    return body


def test_polling_pages_through_the_peer_and_ignores_what_a_unit_cannot_do(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    world.use(smart=world.smart(), receive="poll", poll_page_size=1)
    tasks = [world.submit(case_id=f"2026-010{n}") for n in range(3)]
    world.deliver()
    first, second, third = (world.remote(t["id"])["id"] for t in tasks)
    world.journal.move(first, "in-progress")
    world.journal.move(second, "cancelled")  # a unit cannot withdraw the kommun's request
    world.journal.move(third, "on-hold", business_status="besok-bokat")
    report = world.poll()
    assert (report.updates, report.changed, report.refused) == (2, 2, 0), report.failures
    assert [world.task(t["id"])["status"] for t in tasks] == ["in-progress", "received", "on-hold"]
    on_hold = world.task(tasks[2]["id"])
    assert on_hold["businessStatus"]["coding"][0]["code"] == "besok-bokat"
    history = world.http.get(f"/fhir/Task/{tasks[2]['id']}/_history", headers=world.kommun).json()
    statuses = [e["resource"]["status"] for e in reversed(history["entry"])]
    assert statuses == ["requested", "received", "accepted", "on-hold"], "the skipped step is taken"


def test_a_follow_up_question_reaches_the_peer_in_either_form(fhir_world: FhirWorld) -> None:
    world = fhir_world
    for form, case in (("bundle", "2026-0201"), ("task", "2026-0202")):
        world.use(smart=world.smart(), form=form)
        task = world.submit(case_id=case)
        world.deliver()
        question = {
            "resourceType": "Communication",
            "status": "completed",
            "partOf": [{"reference": f"Task/{task['id']}"}],
            "payload": [{"contentString": "Kan vi ringa om praktiken?"}],
        }
        sent = world.http.post(
            "/fhir/Communication", json=question, headers={**world.kommun, **FHIR_JSON}
        )
        assert sent.status_code == 201, sent.text
        world.deliver()
        arrival = world.journal.arrivals[-1]
        if form == "task":
            assert arrival.kind == "communication"
            assert arrival.body["partOf"][0]["identifier"]["value"] == task["id"]
        else:
            assert arrival.kind == "transaction"
            assert "Communication" in _entry_types(arrival.body)
    assert all(m.status == "delivered" for m in world.messages("journal-notice"))
