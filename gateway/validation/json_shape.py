"""The rules of FHIR's JSON format that the R4 models let pass.

fhir.resources reads leniently: ``"active": "true"`` becomes true, ``"name": []`` and
``"name": null`` vanish, ``"name": [{}]`` is kept. The gateway stores what it is sent, so
a value must already have its JSON type (a boolean is ``true``/``false``, an integer or a
decimal a number, every other primitive a string), and nothing may be null or empty
(FHIR JSON §2.6.2: an element is absent or has a value; nulls only pair up the items of
a primitive list with its ``_``-list of extensions). A string may not hold control
characters other than tab, carriage return and line feed (the FHIR string type), C0 or
C1, nor the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
U+2066–U+2069): they make a text read differently from what it holds (Trojan Source,
CVE-2021-42574) wherever a person reads it, in the inbox or a case or journal system,
and names, addresses, notes and the answer's free text reach people as a message does.
The marks U+200E, U+200F and U+061C stay allowed: they open no embedding that reorders
the text after them, and right-to-left names and addresses may need them.
Nor the noncharacters U+FFFE and U+FFFF, which XML cannot hold: what the gateway stores
goes on to journal and case systems as XML too (RIVTA), and one such character would make
every message about the case undeliverable. (Lone surrogates the models refuse already.)

The element types come from the R4 model classes and are worked out once per class.
"""

from __future__ import annotations

import datetime
import decimal
import re
import types
import typing
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from gateway.errors import Issue


class Kind(Enum):
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"
    STRING = "string"
    COMPLEX = "complex"
    RESOURCE = "resource"  # a resource inside a resource: contained, Bundle.entry.resource


@dataclass(frozen=True)
class Field:
    kind: Kind
    listed: bool
    model: type | None = None  # the model class of a complex element


# One scan for every string; which of the two it found decides only the text of the issue.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x80-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]"
)
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")

_TEXT_TYPE = {
    Kind.BOOLEAN: "Elementet ska vara true eller false (utan citattecken).",
    Kind.INTEGER: "Elementet ska vara ett heltal (utan citattecken).",
    Kind.DECIMAL: "Elementet ska vara ett tal (utan citattecken).",
    Kind.STRING: "Elementet ska vara en text inom citattecken.",
    Kind.COMPLEX: "Elementet ska vara ett objekt.",
    Kind.RESOURCE: "Elementet ska vara en resurs.",
}
_TEXT_EMPTY = "Elementet är tomt. Ett element anges med ett värde eller utelämnas."
_TEXT_CONTROL = "Texten innehåller otillåtna styrtecken."
_CONTROL_FOUND = "control characters other than tab, CR and LF"
_TEXT_BIDI = (
    "Texten innehåller osynliga tecken som ändrar skrivriktningen, så att den kan visas "
    "annorlunda än den är skriven. Ta bort dem och skicka igen."
)
_BIDI_FOUND = "bidirectional embedding, override or isolate characters (U+202A-E, U+2066-9)"


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The one type behind Optional, List and Annotated, and whether it is a list."""
    listed = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            lists = [a for a in args if typing.get_origin(a) is list]
            annotation = lists[0] if lists else args[0]
        elif origin is list:
            listed = True
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation, listed


def _field(annotation: Any) -> Field | None:
    target, listed = _unwrap(annotation)
    if target is bool:
        return Field(Kind.BOOLEAN, listed)
    if target is int:
        return Field(Kind.INTEGER, listed)
    if target is decimal.Decimal or target is float:
        return Field(Kind.DECIMAL, listed)
    if target in (str, bytes, datetime.date, datetime.datetime, datetime.time):
        return Field(Kind.STRING, listed)
    model_klass = getattr(target, "get_model_klass", None)
    if model_klass is None:
        return None
    model = model_klass()
    if model.__name__ == "Resource":
        return Field(Kind.RESOURCE, listed)
    return Field(Kind.COMPLEX, listed, model)


@cache
def _fields(model: type) -> dict[str, Field]:
    """The model's elements by their JSON name."""
    found: dict[str, Field] = {}
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        if name == "fhir_comments":
            continue
        field = _field(info.annotation)
        if field is not None:
            found[info.alias or name] = field
    return found


def _issue(expression: str, text_sv: str, diagnostics: str) -> Issue:
    return Issue("value", text_sv, expression=(expression,), diagnostics=diagnostics)


def _control_issue(expression: str, value: str) -> Issue:
    """The issue of a string that :data:`_CONTROL` found something in."""
    if _BIDI.search(value):
        return _issue(expression, _TEXT_BIDI, _BIDI_FOUND)
    return _issue(expression, _TEXT_CONTROL, _CONTROL_FOUND)


def text_issue(expression: str, value: str) -> Issue | None:
    """The issue of a text that breaks the string rule above (a text attachment's content,
    say), None when it keeps to it."""
    return _control_issue(expression, value) if _CONTROL.search(value) else None


def _of_kind(value: Any, kind: Kind) -> bool:
    if kind is Kind.BOOLEAN:
        return isinstance(value, bool)
    if kind is Kind.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is Kind.DECIMAL:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is Kind.STRING:
        return isinstance(value, str)
    return isinstance(value, dict)


def _value(value: Any, field: Field, expr: str, nullable: bool, issues: list[Issue]) -> None:
    if value is None:
        if not nullable:
            issues.append(_issue(expr, _TEXT_EMPTY, "null is not allowed here"))
    elif not _of_kind(value, field.kind):
        issues.append(
            _issue(expr, _TEXT_TYPE[field.kind], f"a JSON {field.kind.value} is required")
        )
    elif isinstance(value, str):
        if _CONTROL.search(value):
            issues.append(_control_issue(expr, value))
    elif field.kind is Kind.RESOURCE:
        _resource(value, expr, issues)
    elif field.model is not None:
        _object(value, field.model, expr, issues)


def _object(node: dict[str, Any], model: type, expr: str, issues: list[Issue]) -> None:
    if not node:
        issues.append(_issue(expr, _TEXT_EMPTY, "an empty object is not allowed"))
        return
    fields = _fields(model)
    for key, value in node.items():
        field = fields.get(key)
        if field is None:
            continue  # not an element: the model's own check refuses it
        if type(value) is str and field.kind is Kind.STRING:  # most of them: cheaply
            if _CONTROL.search(value):
                issues.append(_control_issue(f"{expr}.{key}", value))
        elif not field.listed:
            _value(value, field, f"{expr}.{key}", False, issues)
        elif value == [] or value is None:
            issues.append(_issue(f"{expr}.{key}", _TEXT_EMPTY, "an empty or null list"))
        elif isinstance(value, list):  # anything else: the model's own check refuses it
            # Nulls only hold a place between a primitive list and its _-list.
            partner = key[1:] if key.startswith("_") else f"_{key}"
            nullable = isinstance(node.get(partner), list)
            for i, item in enumerate(value):
                _value(item, field, f"{expr}.{key}[{i}]", nullable, issues)


def _resource(resource: dict[str, Any], expr: str, issues: list[Issue]) -> None:
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return  # the model's own check refuses it
    _object(resource, model, expr, issues)


def shape_issues(resource: dict[str, Any]) -> list[Issue]:
    """Every breach of the JSON rules above in ``resource``."""
    issues: list[Issue] = []
    _resource(resource, str(resource.get("resourceType")), issues)
    return issues
