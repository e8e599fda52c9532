"""The unit's requests: the list, one request and its printable view, and what she can do
with it: accept, reject with a reason, set the work status (forward inside the unit, put
on hold) and write to the socialsekreterare."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.api.interactions import FhirInteractions
from gateway.errors import FhirError
from gateway.search.query import small_number
from gateway.store.resources import StoredResource, utc_now
from gateway.web.inbox.case import (
    CAN_HOLD,
    business_statuses,
    case_context,
    own_task,
    rejection_reasons,
)
from gateway.web.inbox.catalog import FormCatalog, Terminology, catalog
from gateway.web.inbox.pages import (
    Fields,
    InboxRoute,
    IncompleteFormError,
    Posted,
    SignedIn,
    SignedInPost,
    Visit,
    error_page,
    field,
    interactions,
    page,
    see_other,
)
from gateway.web.inbox.views import OPEN, Reader

router = APIRouter(prefix="/inbox", route_class=InboxRoute)

OPEN_STATUSES = ",".join(sorted(OPEN))
CLOSED_STATUSES = "cancelled,completed,failed,rejected"
CLOSED_SHOWN = 50
OPEN_PAGE_SIZE = 50  # rows per page of the open list (app.state.inbox_page_size overrides)
NOTICES = {
    "accepterad": "Förfrågan är accepterad.",
    "avvisad": "Förfrågan är avvisad. Socialsekreteraren får besked.",
    "arbetsstatus": "Arbetsstatus är sparad.",
    "meddelande": "Meddelandet är skickat till socialsekreteraren.",
    "utlatande": "Utlåtandet är skickat till kommunen. Förfrågan är klar.",
}
# Where each action's fields are on the request page, for the error summary's links.
FIELD_IDS = {
    "reason": "reject-reason",
    "comment": "reject-comment",
    "business_status": "business-status",
    "on_hold": "on-hold",
    "message": "message",
    "note": "forward-note",
}
MAX_NOTE_CHARS = 5000  # a note, or the explanation of a rejection: as long as a message
# The inbox adds no note to a Task that holds this many. The kommun sends the whole Task
# back with each change, so it must stay well within the API's body limit (2 MiB): 50
# notes of 5000 characters are at most 1 MB, even at four bytes a character.
MAX_NOTES = 50


def form_catalog(request: Request) -> FormCatalog:
    """The compiled conformance the validator uses (``app.state.inbox_compiled_dir``)."""
    directory = getattr(request.app.state, "inbox_compiled_dir", None)
    return catalog(directory) if directory is not None else catalog()


@router.get("/arenden")
def task_list(request: Request, visit: SignedIn) -> Response:
    codes = form_catalog(request).terminology
    today = utc_now().date()
    size = _open_page_size(request)
    with interactions(request, visit.user) as fhir:
        owner = ("owner", visit.user.party)
        number = _page_number(request.query_params.get("sida"))
        shown, total = _open_in_answer_order(fhir, owner, number, size)
        pages = max(1, -(-total // size))
        if number > pages:  # past the end: the last page
            number = pages
            shown, total = _open_in_answer_order(fhir, owner, number, size)
        closed_tasks = fhir.search(
            "Task",
            [owner, ("status", CLOSED_STATUSES), ("_sort", "-modified"), ("_count", "50")],
        ).found
        reader = Reader(fhir, codes)
        open_rows = [reader.row(stored, today) for stored in shown]
        closed_rows = [reader.row(stored, today) for stored in closed_tasks]
        unit = reader.organization_name(visit.user.party)
    return page(
        request,
        "inbox/list.html",
        {
            "visit": visit,
            "unit": unit,
            "open_rows": open_rows,
            "open_total": total,
            "open_first": (number - 1) * size + 1,
            "open_last": (number - 1) * size + len(shown),
            "open_page": number,
            "open_pages": pages,
            "closed_rows": closed_rows,
            "closed_shown": CLOSED_SHOWN,
        },
    )


def _open_in_answer_order(
    fhir: FhirInteractions, owner: tuple[str, str], number: int, size: int
) -> tuple[list[StoredResource], int]:
    """Page ``number`` of the unit's open requests, the one to answer first first (by
    desired answer date, then by arrival), and how many there are: sorted and counted
    by the database, so every request is listed, however many."""
    result = fhir.search(
        "Task",
        [
            owner,
            ("status", OPEN_STATUSES),
            ("_sort", "due,authored-on"),
            ("_count", str(size)),
            ("_offset", str((number - 1) * size)),
            ("_total", "accurate"),
        ],
    )
    return result.found, result.total or 0


def _open_page_size(request: Request) -> int:
    size = getattr(request.app.state, "inbox_page_size", OPEN_PAGE_SIZE)
    return int(size)


def _page_number(raw: str | None) -> int:
    """``?sida=N``; anything but a positive number is the first page."""
    number = small_number(raw) if raw is not None else None
    return number if number is not None and 0 < number < 1_000_000 else 1


def task_page(
    request: Request,
    visit: Visit,
    task_id: str,
    template: str = "inbox/task.html",
    *,
    errors: dict[str, str] | None = None,
    posted: Fields | None = None,
    status_code: int = 200,
) -> Response:
    try:
        with interactions(request, visit.user) as fhir:
            stored = own_task(fhir, visit.user, task_id)
            context = case_context(fhir, visit.user, stored, form_catalog(request).terminology)
    except FhirError as error:
        return error_page(request, visit, error)
    return page(
        request,
        template,
        {
            **context,
            "visit": visit,
            "notice": NOTICES.get(request.query_params.get("klart", "")) if not errors else None,
            "errors": errors or {},
            "field_ids": FIELD_IDS,
            "posted": dict(posted or []),
        },
        status_code=status_code,
    )


@router.get("/arenden/{task_id}")
def show_task(request: Request, task_id: str, visit: SignedIn) -> Response:
    return task_page(request, visit, task_id)


@router.get("/arenden/{task_id}/utskrift")
def print_task(request: Request, task_id: str, visit: SignedIn) -> Response:
    return task_page(request, visit, task_id, "inbox/print_request.html")


# ----- changing the Task ------------------------------------------------------------------


def _accept(task: dict[str, Any], fields: Fields, visit: Visit, codes: Terminology) -> None:
    task["status"] = "accepted"


def _reject(task: dict[str, Any], fields: Fields, visit: Visit, codes: Terminology) -> None:
    code = field(fields, "reason")
    option = next((o for o in rejection_reasons(codes) if o.code == code), None)
    comment = field(fields, "comment").strip()
    errors: dict[str, str] = {}
    if option is None:
        errors["reason"] = "Välj varför förfrågan avvisas."
    elif option.code == "annat" and not comment:
        errors["comment"] = "Beskriv anledningen när du väljer Annan anledning."
    if len(comment) > MAX_NOTE_CHARS:
        errors["comment"] = f"Förklaringen får vara högst {MAX_NOTE_CHARS} tecken."
    if errors:
        raise IncompleteFormError(errors)
    assert option is not None
    task["status"] = "rejected"
    task["statusReason"] = {"coding": [option.coding()], "text": comment or option.display}


def _work_status(task: dict[str, Any], fields: Fields, visit: Visit, codes: Terminology) -> None:
    code = field(fields, "business_status")
    option = next((o for o in business_statuses(codes) if o.code == code), None)
    hold = field(fields, "on_hold") == "ja"
    note = field(fields, "note").strip()
    status = str(task.get("status"))
    errors: dict[str, str] = {}
    if option is None:
        errors["business_status"] = "Välj en arbetsstatus."
    if hold and status not in CAN_HOLD:
        errors["on_hold"] = "Acceptera förfrågan innan du sätter den som vilande."
    if len(note) > MAX_NOTE_CHARS:
        errors["note"] = f"Anteckningen får vara högst {MAX_NOTE_CHARS} tecken."
    elif note and len(task.get("note") or []) >= MAX_NOTES:
        errors["note"] = (
            f"Förfrågan har redan {MAX_NOTES} anteckningar, och fler sparas inte. Spara "
            "arbetsstatus utan anteckning, eller skriv ett meddelande till socialsekreteraren."
        )
    if errors:
        raise IncompleteFormError(errors)
    assert option is not None
    task["businessStatus"] = {"coding": [option.coding()], "text": option.display}
    if hold:
        task["status"] = "on-hold"
    elif status == "on-hold":
        task["status"] = "in-progress"
    if note:
        stamp = utc_now().isoformat(timespec="seconds").replace("+00:00", "Z")
        task.setdefault("note", []).append(
            {"text": note, "authorString": visit.user.display_name, "time": stamp}
        )


CHANGES = {"accepterad": _accept, "avvisad": _reject, "arbetsstatus": _work_status}


def _change_task(request: Request, task_id: str, change: str, posted: Posted) -> Response:
    visit, fields = posted.visit, posted.fields
    codes = form_catalog(request).terminology
    try:
        with interactions(request, visit.user) as fhir:
            stored = own_task(fhir, visit.user, task_id)
            body = copy.deepcopy(stored.body or {})
            CHANGES[change](body, fields, visit, codes)
            fhir.update("Task", task_id, body, if_match=f'W/"{stored.version_id}"')
    except IncompleteFormError as incomplete:
        return task_page(
            request, visit, task_id, errors=incomplete.errors, posted=fields, status_code=422
        )
    except FhirError as error:
        if error.status == 404:
            return error_page(request, visit, error)
        text = " ".join(i.text_sv for i in error.issues)
        return task_page(
            request,
            visit,
            task_id,
            errors={"task": text},
            posted=fields,
            status_code=error.status,
        )
    return see_other(f"/inbox/arenden/{task_id}?klart={change}")


@router.post("/arenden/{task_id}/acceptera")
def accept(request: Request, task_id: str, posted: SignedInPost) -> Response:
    return _change_task(request, task_id, "accepterad", posted)


@router.post("/arenden/{task_id}/avvisa")
def reject(request: Request, task_id: str, posted: SignedInPost) -> Response:
    return _change_task(request, task_id, "avvisad", posted)


@router.post("/arenden/{task_id}/arbetsstatus")
def work_status(request: Request, task_id: str, posted: SignedInPost) -> Response:
    return _change_task(request, task_id, "arbetsstatus", posted)


# ----- writing to the socialsekreterare ---------------------------------------------------

MAX_MESSAGE_CHARS = 5000


@router.post("/arenden/{task_id}/meddelande")
def message(request: Request, task_id: str, posted: SignedInPost) -> Response:
    visit, fields = posted.visit, posted.fields
    text = field(fields, "message").strip()
    try:
        if not text:
            raise IncompleteFormError({"message": "Skriv ett meddelande."})
        if len(text) > MAX_MESSAGE_CHARS:
            raise IncompleteFormError(
                {"message": f"Meddelandet får vara högst {MAX_MESSAGE_CHARS} tecken."}
            )
        with interactions(request, visit.user) as fhir:
            own_task(fhir, visit.user, task_id)
            fhir.create(
                "Communication",
                {
                    "resourceType": "Communication",
                    "status": "completed",
                    "partOf": [{"reference": f"Task/{task_id}"}],
                    "payload": [{"contentString": text}],
                },
            )
    except IncompleteFormError as incomplete:
        return task_page(
            request, visit, task_id, errors=incomplete.errors, posted=fields, status_code=422
        )
    except FhirError as error:
        if error.status == 404:
            return error_page(request, visit, error)
        return task_page(
            request,
            visit,
            task_id,
            errors={"message": " ".join(i.text_sv for i in error.issues)},
            posted=fields,
            status_code=error.status,
        )
    return see_other(f"/inbox/arenden/{task_id}?klart=meddelande")
