"""Workflow operations on the FHIR API: ``ServiceRequest/$submit``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.api.headers import location, version_headers
from gateway.api.media import FhirResponse
from gateway.api.routes import RESOURCE_BODY, Body, Fhir
from gateway.errors import FhirError
from gateway.metrics import SUBMISSIONS
from gateway.routing.api import route_resolver
from gateway.workflow.routing_adapter import ResolverRouter
from gateway.workflow.submit import Submitted, SubmitWorkflow

router = APIRouter(prefix="/fhir", tags=["Workflow"])


def submit_bundle(request: Request, fhir: Fhir, bundle: Body) -> Submitted:
    settings = request.app.state.settings
    workflow = SubmitWorkflow(fhir, ResolverRouter(route_resolver(request)), settings.answer_days)
    try:
        submitted = workflow.submit(bundle, request.headers.get("idempotency-key"))
    except FhirError as refusal:
        SUBMISSIONS.labels("refused", str(refusal.status)).inc()
        raise
    if submitted.created:
        SUBMISSIONS.labels("created", "201").inc()
    else:
        SUBMISSIONS.labels("duplicate", "200").inc()
    return submitted


@router.post(
    "/ServiceRequest/$submit", summary="Submit a request (Bundle)", openapi_extra=RESOURCE_BODY
)
def submit(request: Request, fhir: Fhir, bundle: Body) -> Response:
    """The kommun's request: validated, routed, consent-checked, stored; answers the Task."""
    result = submit_bundle(request, fhir, bundle)
    headers = version_headers(result.task)
    headers["Location"] = location(request.app.state.settings.fhir_base_url, result.task)
    return FhirResponse(
        result.task.body,
        status_code=201 if result.created else 200,
        headers=headers,
        request=request,
    )
