"""Workflow operations on the FHIR API: ``ServiceRequest/$submit``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.api.headers import location, version_headers
from gateway.api.media import FhirResponse
from gateway.api.routes import RESOURCE_BODY, Body, Fhir
from gateway.api.submission import submit as submit_request

router = APIRouter(prefix="/fhir", tags=["Workflow"])


@router.post(
    "/ServiceRequest/$submit", summary="Submit a request (Bundle)", openapi_extra=RESOURCE_BODY
)
def submit(request: Request, fhir: Fhir, bundle: Body) -> Response:
    """The kommun's request: validated, routed, consent-checked, stored; answers the Task."""
    result = submit_request(
        request, fhir, bundle, if_none_exist=request.headers.get("if-none-exist")
    )
    headers = version_headers(result.task)
    headers["Location"] = location(request.app.state.settings.fhir_base_url, result.task)
    return FhirResponse(
        result.task.body,
        status_code=201 if result.created else 200,
        headers=headers,
        request=request,
    )
