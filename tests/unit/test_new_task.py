"""The Task a submission creates is built, not validated, on every submission: every shape
the builder makes must pass the kv-task profile here instead."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.canonical import EXT_DESIRED_ANSWER_DATE, IDEMPOTENCY_KEY_SYSTEM
from gateway.errors import Severity
from gateway.validation.conformance import DEFAULT_COMPILED_DIR
from gateway.validation.factory import build_validator
from gateway.workflow.new_task import requested_task

pytestmark = pytest.mark.skipif(
    not DEFAULT_COMPILED_DIR.is_dir(), reason="profiles/compiled is not present"
)

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
REQUEST = {
    "resourceType": "ServiceRequest",
    "status": "active",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "requester": {"reference": "PractitionerRole/r1"},
}
# The longest key the header check lets through, with every kind of character it allows.
LONGEST_KEY = ("a-Z_0.9~!#$%&'*+/:;<=>?@[]^`{|} " * 8)[:254] + "x"


def _task(request: dict[str, Any] = REQUEST, **options: Any) -> dict[str, Any]:
    return requested_task(
        request,
        "ServiceRequest/sr1",
        patient="Patient/p1",
        owner="Organization/vc-1",
        now=NOW,
        answer_days=21,
        **options,
    )


def _blocking(task: dict[str, Any]) -> list[str]:
    issues = build_validator().issues(task, strict=True)
    return [
        f"{i.expression}: {i.diagnostics}"
        for i in issues
        if i.severity in (Severity.ERROR, Severity.FATAL)
    ]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"idempotency_token": "Organization/kommun-2180:abc"},
        {"idempotency_token": f"Organization/kommun-2180:{LONGEST_KEY}"},
        {"protected": True},
        {"idempotency_token": "Organization/kommun-0180:k", "protected": True},
    ],
    ids=["plain", "key", "longest-key", "protected", "key-and-protected"],
)
def test_every_shape_passes_the_task_profile(options: dict[str, Any]) -> None:
    assert _blocking(_task(**options)) == []


def test_without_a_requester_the_task_still_passes() -> None:
    request = {k: v for k, v in REQUEST.items() if k != "requester"}
    task = _task(request)
    assert "requester" not in task
    assert _blocking(task) == []


def test_the_requested_answer_date_wins_over_the_default() -> None:
    request = {
        **REQUEST,
        "extension": [{"url": EXT_DESIRED_ANSWER_DATE, "valueDate": "2026-12-01"}],
    }
    task = _task(request)
    assert task["restriction"]["period"]["end"] == "2026-12-01"
    assert _blocking(task) == []
    assert _task()["restriction"]["period"]["end"] == "2026-12-14"  # 21 days after NOW


def test_the_task_names_who_asks_whom_about_what() -> None:
    task = _task(idempotency_token="Organization/kommun-2180:abc", protected=True)
    assert task["status"] == "requested"
    assert task["intent"] == "order"
    assert task["focus"] == {"reference": "ServiceRequest/sr1"}
    assert task["basedOn"] == [{"reference": "ServiceRequest/sr1"}]
    assert task["for"] == {"reference": "Patient/p1"}
    assert task["owner"] == {"reference": "Organization/vc-1"}
    assert task["requester"] == {"reference": "PractitionerRole/r1"}
    assert task["authoredOn"] == task["lastModified"] == "2026-11-23T09:30:00Z"
    assert task["identifier"] == [
        {"system": IDEMPOTENCY_KEY_SYSTEM, "value": "Organization/kommun-2180:abc"}
    ]
    assert task["meta"]["security"][0]["code"] == "skyddadFolkbokforing"


def test_a_broken_shape_would_be_caught() -> None:
    """The check above can fail: a Task the profile refuses is reported."""
    task = _task()
    task["status"] = "not-a-status"
    del task["owner"]
    assert any("Task.status" in problem for problem in _blocking(task))
