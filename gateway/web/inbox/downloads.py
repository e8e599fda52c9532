"""An attachment of a message in the dialogue, downloaded from the request page.

Only the signed-in user of the unit that owns the Task gets it (the case page's check),
and the message is read as any read of it is (tenant rules, the Communication's read
check on consent, the audit trail). The content goes out as a download
(``Content-Disposition: attachment``) under a name of the gateway's choosing, never the
sender's title, with its allowed type and ``nosniff``, so a browser does not render it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.api.interactions import FhirInteractions
from gateway.errors import FhirError
from gateway.search.query import small_number
from gateway.store.resources import StoredResource
from gateway.web.inbox.case import own_task
from gateway.web.inbox.pages import InboxRoute, SignedIn, error_page, interactions
from gateway.web.inbox.views import first_reference
from gateway.workflow.attachments import Served, served

router = APIRouter(prefix="/inbox", route_class=InboxRoute)


def _no_attachment() -> FhirError:
    return FhirError.single(
        404, "not-found", "Bilagan finns inte.", diagnostics="no such attachment in the case"
    )


def _message_in(
    fhir: FhirInteractions, task: StoredResource, communication_id: str
) -> StoredResource:
    """The case's message, read as the unit reads it over the API; 404 if it is not one."""
    try:
        message = fhir.read("Communication", communication_id)
    except FhirError as error:
        if error.status in (404, 410):
            raise _no_attachment() from None
        raise  # the read check's own refusal (the consent), with its text
    if first_reference((message.body or {}).get("partOf")) != task.reference:
        raise _no_attachment()
    return message


def _attachment(message: StoredResource, index: str) -> Served:
    payload = (message.body or {}).get("payload") or []
    number = small_number(index)
    if number is None or number >= len(payload):
        raise _no_attachment()
    part = payload[number]
    content = served(part.get("contentAttachment"), f"bilaga-{int(index) + 1}")
    if content is None:
        raise _no_attachment()
    return content


@router.get("/arenden/{task_id}/meddelanden/{communication_id}/bilagor/{index}")
def download(
    request: Request, task_id: str, communication_id: str, index: str, visit: SignedIn
) -> Response:
    try:
        with interactions(request, visit.user) as fhir:
            task = own_task(fhir, visit.user, task_id)
            content = _attachment(_message_in(fhir, task, communication_id), index)
    except FhirError as error:
        return error_page(request, visit, error)
    return Response(
        content.content,
        media_type=content.media_type,
        headers={
            "content-disposition": f'attachment; filename="{content.filename}"',
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )
