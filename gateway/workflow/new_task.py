"""The Task a submission creates: what the vårdcentral is asked to do, by when, for whom.

The gateway builds this Task itself, from a ServiceRequest that has already passed the
profiles, so it is not put through the validator on every submission. Its one value from
outside the validated request, the Idempotency-Key header, is checked where it is read
(:func:`gateway.api.headers.idempotency_key`), and the tests validate every shape this
builder makes against the kv-task profile.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gateway.canonical import (
    CS_REQUEST_TYPE,
    CS_TASK_PARAMETER_TYPE,
    EXT_DESIRED_ANSWER_DATE,
    IDEMPOTENCY_KEY_SYSTEM,
    QUESTIONNAIRE,
    QUESTIONNAIRE_VERSION,
    SECURITY_LABEL_SYSTEM,
    profile,
)

REQUEST_CODE = "medicinskt-utlatande-aktivitetsformaga"


def requested_task(
    request: dict[str, Any],
    request_reference: str,
    *,
    patient: str,
    owner: str,
    now: datetime,
    answer_days: int,
    idempotency_token: str | None = None,
    protected: bool = False,
) -> dict[str, Any]:
    """A new Task (status requested) for a stored ServiceRequest.

    ``idempotency_token``: the Task identifier's value, ``<party>:<Idempotency-Key>``.
    ``protected``: the person has a protected identity; the Task carries the label.
    """
    stamp = now.isoformat().replace("+00:00", "Z")
    due = _desired_answer_date(request) or (now + timedelta(days=answer_days)).date().isoformat()
    task: dict[str, Any] = {
        "resourceType": "Task",
        "meta": {"profile": [profile("kv-task")]},
        "basedOn": [{"reference": request_reference}],
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": CS_REQUEST_TYPE, "code": REQUEST_CODE}]},
        "focus": {"reference": request_reference},
        "for": {"reference": patient},
        "authoredOn": stamp,
        "lastModified": stamp,
        "owner": {"reference": owner},
        "restriction": {"period": {"end": due}},
        "input": [
            {
                "type": {"coding": [{"system": CS_TASK_PARAMETER_TYPE, "code": "questionnaire"}]},
                "valueCanonical": f"{QUESTIONNAIRE}|{QUESTIONNAIRE_VERSION}",
            }
        ],
    }
    if request.get("requester"):
        task["requester"] = request["requester"]
    if idempotency_token:
        task["identifier"] = [{"system": IDEMPOTENCY_KEY_SYSTEM, "value": idempotency_token}]
    if protected:
        task["meta"]["security"] = [
            {"system": SECURITY_LABEL_SYSTEM, "code": "skyddadFolkbokforing"}
        ]
    return task


def _desired_answer_date(request: dict[str, Any]) -> str | None:
    for extension in request.get("extension", []):
        if extension.get("url") == EXT_DESIRED_ANSWER_DATE and extension.get("valueDate"):
            return str(extension["valueDate"])
    return None
