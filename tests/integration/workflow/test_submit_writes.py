"""What one submission sends to PostgreSQL: its writes go in together."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from gateway.delivery.models import OutboxMessage
from tests.integration.workflow.conftest import ANNA, GAVLE, World
from tests.support.submissions import submission


@contextmanager
def statements(engine: Engine, kept: Callable[[str], bool]) -> Iterator[list[str]]:
    """The SQL statements the block sends through ``engine`` that ``kept`` picks."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if kept(statement):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_resources_task_and_delivery_go_in_with_one_statement(world: World) -> None:
    engine: Engine = world.app.state.session_factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite inserts table by table (executemany), by design")
    with statements(engine, lambda s: "INSERT" in s.upper()) as inserts:
        answer = world.submit(submission(ANNA.personnummer, GAVLE, case_id="one-write"))
    assert answer.status_code == 201, answer.text
    task = answer.json()
    # The submission's resources with the Task and its delivery message; then the audit
    # events with their chain links.
    assert len(inserts) == 2, inserts
    assert "INSERT INTO outbox_message" in inserts[0]
    assert "INSERT INTO audit_chain" in inserts[1]
    with world.app.state.session_factory() as session:
        queued = session.scalars(
            select(OutboxMessage).where(OutboxMessage.task == f"Task/{task['id']}")
        ).all()
    assert [(m.kind, m.idempotency_key) for m in queued] == [
        ("journal-request", f"deliver:Task/{task['id']}")
    ]


def test_a_known_persons_submission_looks_up_no_grant_for_what_its_entries_name(
    world: World,
) -> None:
    """The entries of a submission name one another and the caller's own record of the
    person: the check that a write names only what its party sees has nothing to look up
    for them (one read of the person's grants remains, to let the unit see the record)."""
    engine: Engine = world.app.state.session_factory.kw["bind"]
    first = world.submit(submission(ANNA.personnummer, GAVLE, case_id="känd-1"))
    assert first.status_code == 201, first.text
    grant_read = "SELECT resource_party.party"
    with statements(engine, lambda s: s.lstrip().startswith(grant_read)) as grants_read:
        again = world.submit(submission(ANNA.personnummer, GAVLE, case_id="känd-2"))
    assert again.status_code == 201, again.text
    assert again.json()["for"] == first.json()["for"], "the same record of the person"
    assert len(grants_read) <= 1, grants_read
