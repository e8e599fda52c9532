"""Structural validation with fhir.resources (R4B models, wire compatible with R4 4.0.1).

Unknown elements, wrong types and missing required elements are refused, and so is what
breaks FHIR's JSON rules though the models read it (``json_shape``); each problem
becomes an issue with the FHIRPath of the offending element. The submitted value is never
echoed back: it may be a personnummer.
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gateway.errors import Issue, Severity
from gateway.validation.json_shape import shape_issues

_TEXTS_SV: dict[str, str] = {
    "extra_forbidden": "Elementet finns inte i FHIR R4 för den här resurstypen och tas inte emot.",
    "missing": "Ett obligatoriskt element saknas.",
    "string_type": "Elementet ska vara en text.",
    "bool_type": "Elementet ska vara true eller false.",
    "bool_parsing": "Elementet ska vara true eller false.",
    "int_type": "Elementet ska vara ett heltal.",
    "int_parsing": "Elementet ska vara ett heltal.",
    "list_type": "Elementet ska vara en lista.",
    "dict_type": "Elementet ska vara ett objekt.",
    "model_type": "Elementet ska vara ett objekt.",
    "model_validation_format": "Elementet ska vara ett objekt.",
    # fhir.resources reads a text given for a complex element as JSON of its own
    "json_invalid": "Elementet ska vara ett objekt.",
    "value_error": "Värdet har fel format för sin datatyp.",
    "string_pattern_mismatch": "Värdet har fel format för sin datatyp.",
    "string_too_short": "Värdet får inte vara tomt.",
}
_DEFAULT_TEXT_SV = "Elementet följer inte FHIR R4:s struktur."


# What a FHIR JSON key looks like (an element, its _element, resourceType). Only such
# names are put in an error: any other key is the sender's text (it may hold control, bidi
# or personnummer-shaped characters), and nothing else that was sent is repeated back.
ELEMENT_NAME = re.compile(r"_?[a-z][A-Za-z0-9]{0,63}")


def expression_for(resource_type: str, location: tuple[int | str, ...]) -> str:
    """pydantic's error location as a FHIRPath, e.g. ``Patient.identifier[0].value``. A
    key that cannot be an element's name ends the path at the element that holds it."""
    path = resource_type
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith("function-") or part == "root":
            continue  # pydantic's and fhir.resources' own steps, not FHIR elements
        elif not ELEMENT_NAME.fullmatch(part):
            break
        else:
            path += f".{part}"
    return path


def _issue(resource_type: str, error: ErrorDetails) -> Issue:
    kind = error["type"]
    location = error["loc"]
    # Error texts from fhir.resources validators may quote the value; keep only the kind.
    diagnostics = f"{kind} at {expression_for(resource_type, location)}"
    return Issue(
        code="structure" if kind in ("extra_forbidden", "missing") else "value",
        text_sv=_TEXTS_SV.get(kind, _DEFAULT_TEXT_SV),
        severity=Severity.ERROR,
        expression=(expression_for(resource_type, location),),
        diagnostics=diagnostics,
    )


def structure_issues(resource: dict[str, Any]) -> list[Issue]:
    """Every structural problem of ``resource`` (empty when it parses as its R4 model)."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return [
            Issue(
                "structure",
                "Resursen saknar resourceType.",
                expression=("resourceType",),
                diagnostics="resourceType is missing or not a string",
            )
        ]
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return [
            Issue(
                "not-supported",
                "Resurstypen är okänd.",
                expression=("resourceType",),
                diagnostics="unknown resourceType",
            )
        ]
    try:
        model.model_validate(resource)
    except ValidationError as error:
        return [_issue(resource_type, e) for e in error.errors(include_input=False)]
    return shape_issues(resource)
