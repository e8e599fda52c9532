"""Operator actions on the workflow: rerunning dead deliveries."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.delivery.models import OutboxMessage
from gateway.delivery.outbox import rerun
from gateway.search.index import split_reference
from gateway.store.resources import ResourceStore
from gateway.workflow.submit import JOURNAL_REQUEST
from gateway.workflow.task_states import Role
from gateway.workflow.transitions import change_task


def rerun_delivery(session: Session, message_id: str) -> bool:
    """Queue a dead message again; a request whose Task failed makes the Task requested again."""
    message = session.get(OutboxMessage, message_id)
    if message is None or not rerun(session, message_id):
        return False
    if message.kind == JOURNAL_REQUEST and message.task:
        store = ResourceStore(session)
        _, task_id = split_reference(message.task)
        task = store.current("Task", task_id)
        if task is not None and task.body is not None and task.body.get("status") == "failed":
            change_task(store, task_id, "requested", Role.GATEWAY)
    return True
