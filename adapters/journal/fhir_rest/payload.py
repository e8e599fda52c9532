"""What travels to the peer: the transaction Bundle as it is, or one Task with its resources
contained.

Either way our Task carries the identifier ``{TASK_IDENTIFIER_SYSTEM}|{our Task id}``, so
that what the peer later reports (by polling) can be tied back to our Task whatever id
the peer gave it. In the Task form every resource the request needs (the ServiceRequest,
the person, the consent, the socialsekreterare and her kommun) is contained in the Task
and every reference between them points inside it (``#…``), so a journal system that only
accepts Tasks receives the whole request in one resource.
"""

from __future__ import annotations

import copy
from typing import Any

from gateway.canonical import BASE

TASK_IDENTIFIER_SYSTEM = f"{BASE}/identifier/task"
_REFERENCE_KEYS = ("reference",)


def our_identifier(task_id: str) -> dict[str, str]:
    return {"system": TASK_IDENTIFIER_SYSTEM, "value": task_id}


def our_task_id(remote_task: dict[str, Any]) -> str | None:
    """Our Task id, from the identifier we gave the Task; None for Tasks that are not ours."""
    for identifier in remote_task.get("identifier") or []:
        if (
            isinstance(identifier, dict)
            and identifier.get("system") == TASK_IDENTIFIER_SYSTEM
            and isinstance(identifier.get("value"), str)
        ):
            return str(identifier["value"])
    return None


def _with_identifier(task: dict[str, Any], task_id: str) -> dict[str, Any]:
    task = dict(task)
    identifiers = [
        i for i in task.get("identifier") or [] if i.get("system") != TASK_IDENTIFIER_SYSTEM
    ]
    task["identifier"] = [*identifiers, our_identifier(task_id)]
    return task


def resources_of(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry") or [] if isinstance(e.get("resource"), dict)]


def is_request(bundle: dict[str, Any]) -> bool:
    """A request (it carries the ServiceRequest), rather than a notice about one."""
    return any(r.get("resourceType") == "ServiceRequest" for r in resources_of(bundle))


def bundle_form(bundle: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The transaction Bundle with our identifier on the Task."""
    out = copy.deepcopy(bundle)
    for entry in out.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Task" and resource.get("id") == task_id:
            entry["resource"] = _with_identifier(resource, task_id)
    return out


def task_form(bundle: dict[str, Any], task_id: str) -> dict[str, Any]:
    """One Task with everything else in the Bundle contained, references rewritten."""
    resources = copy.deepcopy(resources_of(bundle))
    task = next(
        (r for r in resources if r.get("resourceType") == "Task" and r.get("id") == task_id), None
    )
    if task is None:
        raise ValueError("the request Bundle has no Task")
    others = [r for r in resources if r is not task]
    local = {f"{r['resourceType']}/{r['id']}": f"#{_local_id(r)}" for r in others if r.get("id")}
    contained = []
    for resource in others:
        resource = _rewrite(resource, local)
        resource["id"] = _local_id(resource)
        resource.pop("meta", None)  # versions and tags of our store mean nothing there
        contained.append(resource)
    out = _rewrite({k: v for k, v in task.items() if k not in ("id", "meta")}, local)
    out["contained"] = contained
    return _with_identifier(out, task_id)


def notice_form(bundle: dict[str, Any], task_id: str) -> dict[str, Any] | None:
    """The Communication of a notice, pointing at our Task by identifier (Task form)."""
    for resource in resources_of(bundle):
        if resource.get("resourceType") == "Communication":
            communication = {k: v for k, v in copy.deepcopy(resource).items() if k != "meta"}
            communication.pop("id", None)
            communication["partOf"] = [{"type": "Task", "identifier": our_identifier(task_id)}]
            return communication
    return None


def _local_id(resource: dict[str, Any]) -> str:
    return f"{str(resource['resourceType']).lower()}-{str(resource['id'])[:48]}"


def _rewrite(value: Any, local: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in _REFERENCE_KEYS and isinstance(item, str) and item in local:
                out[key] = local[item]
            else:
                out[key] = _rewrite(item, local)
        return out
    if isinstance(value, list):
        return [_rewrite(item, local) for item in value]
    return value
