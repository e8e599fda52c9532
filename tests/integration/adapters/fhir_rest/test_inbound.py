"""The shared inbound seam: a unit's system reports a change, applied through the workflow."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gateway.delivery.inbound import InboundUpdate
from gateway.routing.demo_directory import unit_hsa_id
from gateway.security.models import AuditChainLink
from gateway.store.resources import ResourceStore
from tests.integration.workflow.conftest import ANNA, GAVLE, World, world
from tests.support.answers import example_answer
from tests.support.submissions import submission

__all__ = ["world"]  # the workflow tests' world: demo directory, peer, tokens

JONKOPING = unit_hsa_id("vc-jonkoping-centrum")
HALMSTAD = unit_hsa_id("vc-halmstad-norr")


def _answer() -> dict[str, Any]:
    answer = example_answer()
    answer["id"] = "remote-qr-17"  # the peer's own id: dropped
    answer["basedOn"] = [{"reference": "ServiceRequest/remote-id"}]  # the peer's: replaced
    return answer


def _apply(world: World, update: InboundUpdate) -> Any:
    return world.app.state.inbound.apply(update, via="test")


def _delivered_task(world: World) -> dict[str, Any]:
    task: dict[str, Any] = world.submit(submission(ANNA.personnummer, GAVLE)).json()
    world.deliver()
    return task


def _versions(world: World, task_id: str) -> int:
    with world.app.state.session_factory() as session:
        return ResourceStore(session).read("Task", task_id).version_id


def _audit_count(world: World) -> int:
    with world.app.state.session_factory() as session:
        return max(session.scalars(select(AuditChainLink.seq)), default=0)


def test_a_status_change_goes_through_the_workflow_once(world: World) -> None:
    task = _delivered_task(world)
    accepted = _apply(world, InboundUpdate(task["id"], JONKOPING, status="accepted"))
    assert accepted.ok, accepted.detail
    assert (accepted.changed, accepted.task_status) == (True, "accepted")
    version = _versions(world, task["id"])
    again = _apply(world, InboundUpdate(task["id"], JONKOPING, status="accepted"))
    assert (again.ok, again.changed) == (True, False)
    assert _versions(world, task["id"]) == version, "re-applying changes nothing"

    forwarded = _apply(
        world,
        InboundUpdate(
            task["id"],
            JONKOPING,
            status="in-progress",
            business_status="vidarebefordrad-till-profession",
            remote_version="7",
        ),
    )
    assert forwarded.ok, forwarded.detail
    seen = world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()
    assert seen["status"] == "in-progress"
    assert seen["businessStatus"]["coding"][0]["code"] == "vidarebefordrad-till-profession"
    assert seen["businessStatus"]["text"] == "Vidarebefordrad till profession"
    version = _versions(world, task["id"])
    # The same remote version again, even claiming something else, is skipped.
    replay = _apply(
        world, InboundUpdate(task["id"], JONKOPING, status="on-hold", remote_version="7")
    )
    assert (replay.ok, replay.changed, replay.task_status) == (True, False, "in-progress")
    assert _versions(world, task["id"]) == version


def test_an_answer_completes_the_task_once(world: World) -> None:
    task = _delivered_task(world)
    done = _apply(world, InboundUpdate(task["id"], JONKOPING, status="completed", answer=_answer()))
    assert done.ok, done.detail
    assert done.task_status == "completed"
    seen = world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()
    answer_ref = seen["output"][0]["valueReference"]["reference"]
    answer = world.as_kommun("GET", f"/fhir/{answer_ref}").json()
    assert answer["basedOn"] == [seen["focus"]], "tied to our request, not the peer's id"
    assert answer["id"] != "remote-qr-17"
    again = _apply(
        world, InboundUpdate(task["id"], JONKOPING, status="completed", answer=_answer())
    )
    assert (again.ok, again.changed) == (True, False)
    answers = world.as_kommun(
        "GET", "/fhir/QuestionnaireResponse", **{"based-on": seen["focus"]["reference"]}
    ).json()
    assert answers["total"] == 1


def test_refusals_come_back_as_operation_outcomes_and_change_nothing(world: World) -> None:
    task = _delivered_task(world)
    version = _versions(world, task["id"])

    no_reason = _apply(world, InboundUpdate(task["id"], JONKOPING, status="rejected"))
    assert no_reason.error is not None
    assert no_reason.error.status == 422
    outcome = no_reason.outcome
    assert outcome is not None
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["Task.statusReason"]

    illegal = _apply(world, InboundUpdate(task["id"], JONKOPING, status="completed"))
    assert illegal.error is not None
    assert illegal.error.status == 409

    invalid_answer = {**_answer(), "item": [{"linkId": "no-such-question", "text": "x"}]}
    refused = _apply(world, InboundUpdate(task["id"], JONKOPING, answer=invalid_answer))
    assert refused.error is not None
    assert refused.error.status in (400, 422)

    bad_code = _apply(world, InboundUpdate(task["id"], JONKOPING, business_status="no-such-code"))
    assert bad_code.error is not None
    assert bad_code.error.status in (400, 422)

    # received -> accepted -> on-hold: the step taken on the way is undone with the refusal
    held = _apply(world, InboundUpdate(task["id"], JONKOPING, status="on-hold"))
    assert held.error is not None
    assert held.error.status == 422
    assert held.outcome is not None
    assert held.outcome["issue"][0]["expression"] == ["Task.businessStatus"]

    hostile = _apply(world, InboundUpdate("../Task/x' OR 1=1", JONKOPING, status="accepted"))
    assert hostile.error is not None
    assert hostile.error.status == 400
    assert _versions(world, task["id"]) == version

    rejected = _apply(
        world, InboundUpdate(task["id"], JONKOPING, status="rejected", status_reason="fel-enhet")
    )
    assert rejected.ok, rejected.detail
    seen = world.as_kommun("GET", f"/fhir/Task/{task['id']}").json()
    assert seen["statusReason"]["coding"][0]["code"] == "fel-enhet"


def test_a_unit_that_does_not_own_the_task_is_refused_and_audited(world: World) -> None:
    task = _delivered_task(world)
    version = _versions(world, task["id"])
    before = _audit_count(world)
    foreign = _apply(world, InboundUpdate(task["id"], HALMSTAD, status="accepted"))
    assert foreign.error is not None
    assert foreign.error.status == 404
    assert _versions(world, task["id"]) == version
    unknown = _apply(world, InboundUpdate(task["id"], "SE0000000000-NOPE", status="accepted"))
    assert unknown.error is not None
    assert unknown.error.status == 403
    assert "katalogen" in unknown.error.issues[0].text_sv
    assert _versions(world, task["id"]) == version
    refusals = [
        e
        for e in _audit_events_after(world, before)
        if e["outcome"] == "4" and e["agent"][0].get("altId", "").startswith("test:")
    ]
    assert {e["agent"][0]["altId"] for e in refusals} == {
        f"test:{HALMSTAD}",
        "test:SE0000000000-NOPE",
    }, "both refusals are in the audit trail, with who claimed to speak"


def _audit_events_after(world: World, seq: int) -> list[dict[str, Any]]:
    with world.app.state.session_factory() as session:
        links = session.scalars(select(AuditChainLink).where(AuditChainLink.seq > seq))
        store = ResourceStore(session)
        return [store.read("AuditEvent", link.event_id).body or {} for link in links]
