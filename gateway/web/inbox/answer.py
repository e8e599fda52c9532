"""The answer: the national Questionnaire as a form, submitted through the workflow, and
its printable view.

Submitting creates the QuestionnaireResponse through :class:`FhirInteractions` as the
unit, like a journal system would over the FHIR API: the workflow checks that the unit
owns the open Task, checks consent again, validates the answer against the Questionnaire
and the profile, completes the Task and tells the kommun. What the validator refuses is
shown beside the field it concerns.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.canonical import BASE
from gateway.errors import FhirError
from gateway.validation.pipeline import ValidationPipeline
from gateway.web.inbox.accounts import InboxUser
from gateway.web.inbox.case import case_context, not_found, own_task
from gateway.web.inbox.pages import (
    InboxRoute,
    IncompleteFormError,
    SignedIn,
    SignedInPost,
    Visit,
    error_page,
    interactions,
    page,
    see_other,
)
from gateway.web.inbox.questionnaire import Form, FormItem, Submission, place_issues, read_form
from gateway.web.inbox.tasks import form_catalog
from gateway.web.inbox.views import Reader, first_reference

router = APIRouter(prefix="/inbox", route_class=InboxRoute)

INBOX_ACCOUNT_SYSTEM = f"{BASE}/identifier/inbox-account"


def author_of(user: InboxUser) -> dict[str, Any]:
    """Who answered: the signed-in person in her role at the unit. She has no
    PractitionerRole resource of her own, so the reference is logical (the account) and
    says her name; the unit is the Task's owner."""
    return {
        "type": "PractitionerRole",
        "identifier": {"system": INBOX_ACCOUNT_SYSTEM, "value": user.username},
        "display": user.display_name,
    }


def _requested_questionnaire(task: dict[str, Any]) -> list[str | None]:
    """The canonicals the Task asks to be answered (Task.input valueCanonical)."""
    return [
        entry.get("valueCanonical")
        for entry in task.get("input") or []
        if isinstance(entry.get("valueCanonical"), str)
    ]


def _form(request: Request, *canonicals: str | None) -> Form:
    forms = form_catalog(request)
    return Form.build(forms.questionnaire(*canonicals), forms.terminology)


def _answer_page(
    request: Request,
    visit: Visit,
    task_id: str,
    submission: Submission | None = None,
    status_code: int = 200,
) -> Response:
    try:
        with interactions(request, visit.user) as fhir:
            stored = own_task(fhir, visit.user, task_id)
            context = case_context(fhir, visit.user, stored, form_catalog(request).terminology)
    except FhirError as error:
        return error_page(request, visit, error)
    form = _form(request, *_requested_questionnaire(context["task"]))
    return page(
        request,
        "inbox/answer_form.html",
        {
            **context,
            "visit": visit,
            "form": form,
            "values": submission.values if submission else {},
            "errors": submission.errors if submission else {},
        },
        status_code=status_code,
    )


@router.get("/arenden/{task_id}/utlatande")
def answer_form(request: Request, task_id: str, visit: SignedIn) -> Response:
    return _answer_page(request, visit, task_id)


@router.post("/arenden/{task_id}/utlatande")
def submit_answer(request: Request, task_id: str, posted: SignedInPost) -> Response:
    visit, fields = posted.visit, posted.fields
    validator: ValidationPipeline = request.app.state.validator
    submission: Submission | None = None
    form: Form | None = None
    try:
        with interactions(request, visit.user) as fhir:
            task = own_task(fhir, visit.user, task_id).body or {}
            form = _form(request, *_requested_questionnaire(task))
            submission = read_form(
                form,
                fields,
                based_on=first_reference(task.get("focus")) or "",
                author=author_of(visit.user),
            )
            if submission.errors:
                # Unreadable values stop here; show everything else that is wrong too.
                place_issues(form, submission, validator.issues(submission.response))
                raise IncompleteFormError({})
            fhir.create("QuestionnaireResponse", submission.response)
    except IncompleteFormError:
        return _answer_page(request, visit, task_id, submission, status_code=422)
    except FhirError as error:
        if submission is None or form is None or error.status == 404:
            return error_page(request, visit, error)
        place_issues(form, submission, error.issues)
        return _answer_page(request, visit, task_id, submission, status_code=error.status)
    return see_other(f"/inbox/arenden/{task_id}?klart=utlatande")


@router.get("/arenden/{task_id}/utlatande/utskrift")
def print_answer(request: Request, task_id: str, visit: SignedIn) -> Response:
    try:
        with interactions(request, visit.user) as fhir:
            stored = own_task(fhir, visit.user, task_id)
            context = case_context(fhir, visit.user, stored, form_catalog(request).terminology)
            answer = Reader(fhir, form_catalog(request).terminology).get(context["answer_ref"])
            if answer is None:
                raise not_found()
    except FhirError as error:
        return error_page(request, visit, error)
    form = _form(request, answer.get("questionnaire"))
    answers = answers_by_link_id(answer)
    return page(
        request,
        "inbox/print_answer.html",
        {
            **context,
            "visit": visit,
            "form": form,
            "answer": answer,
            "answers": answers,
            "answered": _answered(form.items, answers),
        },
    )


def _answered(items: list[FormItem], answers: dict[str, list[str]]) -> set[str]:
    """linkIds of the items that have an answer, themselves or below them."""
    found: set[str] = set()
    for item in items:
        below = _answered(item.children, answers)
        found |= below
        if item.link_id in answers or below:
            found.add(item.link_id)
    return found


def _shown(raw: Any) -> str:
    if isinstance(raw, bool):
        return "Ja" if raw else "Nej"
    if isinstance(raw, dict):
        return str(raw.get("display") or raw.get("code") or "")
    return str(raw)


def answers_by_link_id(answer: dict[str, Any]) -> dict[str, list[str]]:
    """Every answer of the QuestionnaireResponse as text, by linkId."""
    shown: dict[str, list[str]] = {}

    def visit(items: list[dict[str, Any]]) -> None:
        for item in items:
            for value in item.get("answer") or []:
                for key, raw in value.items():
                    if key.startswith("value"):
                        shown.setdefault(str(item.get("linkId")), []).append(_shown(raw))
                visit(value.get("item") or [])
            visit(item.get("item") or [])

    visit(answer.get("item") or [])
    return shown
