"""A peer that is down, one that answers garbage, and what each RIVTA result code and
platform fault means for the outbox."""

from __future__ import annotations

import pytest

from gateway.delivery.outbox import DEAD, RetryPolicy
from gateway.rivta.contract import PROCESS
from gateway.store.resources import utc_now
from tests.integration.adapters.rivta.conftest import DAVID, World
from tests.support.live_server import free_port


def test_a_peer_that_is_down_is_retried_and_nothing_is_lost(world: World) -> None:
    world.point_endpoint(f"https://127.0.0.1:{free_port()}/{PROCESS}/1/rivtabp21")
    task = world.submit()
    world.deliver()
    (message,) = world.messages()
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.next_attempt_at > utc_now()
    assert "unreachable" in (message.last_error or "")

    world.point_endpoint(f"{world.peer_base}/{PROCESS}/1/rivtabp21")
    world.journal.mode = "down"  # now it answers, but 503
    world.due_now()
    world.deliver()
    (message,) = world.messages()
    assert (message.status, message.attempts) == ("pending", 2)
    assert "HTTP 503" in (message.last_error or "")

    world.journal.mode = "ok"
    world.due_now()
    world.deliver()
    assert len(world.journal.requests()) == 1
    assert world.messages()[0].status == "delivered"
    assert world.task(task["id"])["status"] == "received"


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("not-xml", "not a valid response (malformed-response)"),
        ("invalid-xsd", "/ProcessMedicalStatementRequestResponse/result/resultCode"),
        ("fault", "SOAP fault Server"),
    ],
)
def test_garbage_fails_the_task_after_the_budget_and_the_operator_reruns_it(
    world: World, mode: str, error: str
) -> None:
    world.journal.mode = mode
    world.app.state.worker.policy = RetryPolicy(max_attempts=3, base_seconds=0)
    task = world.submit()
    for _ in range(3):
        world.due_now()
        world.deliver()
    (message,) = world.messages()
    assert (message.status, message.attempts) == (DEAD, 3)
    assert error in (message.last_error or "")
    assert DAVID.personnummer not in (message.last_error or "")
    failed = world.task(task["id"])
    assert failed["status"] == "failed"
    assert "kunde inte levereras" in failed["statusReason"]["text"]

    world.journal.mode = "ok"
    rerun = world.operator_retry(message.id)
    assert rerun.returncode == 0, rerun.stderr
    assert world.task(task["id"])["status"] == "requested"
    world.deliver()
    assert world.task(task["id"])["status"] == "received"
    assert len(world.journal.requests()) == 1


@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [
        ("info", "delivered", None),
        ("error-technical", "pending", "resultCode ERROR TECHNICAL_ERROR"),
        ("vp009", "pending", "SOAP fault Server VP009 from the platform"),
        ("error-validation", DEAD, "resultCode ERROR VALIDATION_ERROR"),
        ("error-application", DEAD, "resultCode ERROR APPLICATION_ERROR"),
        ("vp007", DEAD, "SOAP fault Server VP007 from the platform"),
        ("vp004", DEAD, "SOAP fault Server VP004 from the platform"),
    ],
)
def test_result_codes_and_platform_faults_map_to_retry_or_give_up(
    world: World, mode: str, status: str, error: str | None
) -> None:
    world.journal.mode = mode
    task = world.submit()
    world.deliver()
    (message,) = world.messages()
    assert message.status == status, message.last_error
    assert message.attempts == 1
    if error is not None:
        assert error in (message.last_error or "")
    expected_task = {"delivered": "received", "pending": "requested", DEAD: "failed"}[status]
    assert world.task(task["id"])["status"] == expected_task
