"""``$validate``: check a resource without storing it.

``POST /fhir/{type}/$validate`` and ``POST /fhir/{type}/{id}/$validate`` take either the
resource itself (``profile`` and ``mode`` then come from the query string) or a
Parameters resource with ``resource``, ``profile`` and ``mode`` (create | update |
delete), as in the FHIR specification. The answer is 200 with an OperationOutcome that
lists every issue; when there is no error it says "Inga fel hittades".

The resource is checked strictly: against the core definition, the profiles it claims,
the ``profile`` asked for, and our default profile for its type
(:mod:`gateway.validation.selection`). Nothing is read or written in the store. The
caller needs ``system/{type}.r`` or ``system/{type}.c`` (for a Bundle: for each entry's
type).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from gateway.api.body import repeating
from gateway.api.media import FhirResponse, response_media_type
from gateway.api.outcome import operation_outcome
from gateway.api.routes import RESOURCE_BODY, Body
from gateway.errors import FhirError, Issue, Severity
from gateway.resources.types import VALIDATABLE_TYPES
from gateway.security.caller import Caller, current_caller, require_scope
from gateway.validation.pipeline import ValidationPipeline, is_blocking

router = APIRouter(prefix="/fhir", tags=["Validation"])

MODES = ("create", "update", "delete")
NO_ERRORS_SV = "Inga fel hittades."

CallerDep = Annotated[Caller, Depends(current_caller)]


def _bad_request(text_sv: str, diagnostics: str, expression: str | None = None) -> FhirError:
    return FhirError.single(400, "invalid", text_sv, expression=expression, diagnostics=diagnostics)


def _parameter_value(parameter: Mapping[str, Any]) -> str | None:
    for key in ("valueUri", "valueCanonical", "valueUrl", "valueCode", "valueString"):
        if isinstance(parameter.get(key), str):
            return str(parameter[key])
    return None


def _arguments(
    body: dict[str, Any], request: Request
) -> tuple[dict[str, Any] | None, list[str], str]:
    """(resource, profiles, mode) from a Parameters body or a plain resource + query."""
    if body.get("resourceType") != "Parameters":
        asked = request.query_params.getlist("profile")
        return body, asked, request.query_params.get("mode", "create")
    resource: dict[str, Any] | None = None
    profiles: list[str] = []
    mode = "create"
    for index, parameter in enumerate(repeating(body, "parameter", "Parameters.parameter")):
        if not isinstance(parameter, Mapping):
            continue
        name = parameter.get("name")
        if name == "resource":
            if not isinstance(parameter.get("resource"), dict):
                raise _bad_request(
                    "Parametern resource ska innehålla en resurs.",
                    "parameter 'resource' needs a resource",
                    f"Parameters.parameter[{index}]",
                )
            resource = parameter["resource"]
        elif name == "profile":
            value = _parameter_value(parameter)
            if value:
                profiles.append(value)
        elif name == "mode":
            mode = _parameter_value(parameter) or mode
    return resource, profiles, mode


def _require_scope(caller: Caller, resource_type: str, resource: Mapping[str, Any]) -> None:
    types = {resource_type}
    if resource_type == "Bundle":
        entries = resource.get("entry")  # not a list: the validation reports it
        types = {
            str(e["resource"].get("resourceType"))
            for e in (entries if isinstance(entries, list) else [])
            if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)
        }
    for one in sorted(types):
        if not (caller.has_scope(one, "r") or caller.has_scope(one, "c")):
            require_scope(caller, one, "r")  # raises 403


def _validate(
    request: Request, caller: Caller, resource_type: str, res_id: str | None, body: dict[str, Any]
) -> Response:
    response_media_type(request)  # refuse unacceptable formats before doing any work
    if resource_type not in VALIDATABLE_TYPES:
        raise FhirError.single(
            404,
            "not-supported",
            "Resurstypen hanteras inte av den här tjänsten.",
            diagnostics="resource type not served; see /fhir/metadata",
        )
    resource, profiles, mode = _arguments(body, request)
    if mode not in MODES:
        raise _bad_request(
            "Parametern mode ska vara create, update eller delete.",
            "mode must be create, update or delete",
        )
    issues: list[Issue] = []
    if mode == "delete":
        if res_id is None:
            raise _bad_request(
                "Kontroll inför borttagning görs på en bestämd resurs: /{typ}/{id}/$validate.",
                "mode=delete needs the instance-level operation",
            )
        _require_scope(caller, resource_type, {})
    else:
        if resource is None:
            raise _bad_request("Resursen som ska kontrolleras saknas.", "no resource to validate")
        if resource.get("resourceType") != resource_type:
            raise _bad_request(
                "Resursens typ stämmer inte med adressen.",
                "resourceType does not match the URL",
                "resourceType",
            )
        _require_scope(caller, resource_type, resource)
        if mode == "update" and (res_id is None or resource.get("id") != res_id):
            issues.append(
                Issue(
                    "invalid",
                    "Vid uppdatering ska resursens id vara detsamma som i adressen.",
                    Severity.ERROR,
                    (f"{resource_type}.id",),
                    "mode=update: the resource id must match the id in the URL",
                )
            )
        validator: ValidationPipeline = request.app.state.validator
        issues.extend(validator.issues(resource, profiles=profiles, strict=True))
    if not any(is_blocking(i) for i in issues):
        issues.insert(
            0, Issue("informational", NO_ERRORS_SV, Severity.INFORMATION, (), "no errors found")
        )
    return FhirResponse(operation_outcome(issues), request=request)


@router.post(
    "/{resource_type}/$validate",
    summary="Validate a resource ($validate)",
    openapi_extra=RESOURCE_BODY,
)
def validate_type(request: Request, resource_type: str, caller: CallerDep, body: Body) -> Response:
    return _validate(request, caller, resource_type, None, body)


@router.post(
    "/{resource_type}/{res_id}/$validate",
    summary="Validate a resource for an instance ($validate)",
    openapi_extra=RESOURCE_BODY,
)
def validate_instance(
    request: Request, resource_type: str, res_id: str, caller: CallerDep, body: Body
) -> Response:
    return _validate(request, caller, resource_type, res_id, body)
