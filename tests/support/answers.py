"""The published example answer to the national Questionnaire, as the inbox form posts it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLE_ANSWER = (
    Path(__file__).parents[2]
    / "profiles/compiled/QuestionnaireResponse-example-questionnaireresponse.json"
)


def example_answer() -> dict[str, Any]:
    """The published example answer (a complete, valid form), a fresh copy each time."""
    answer: dict[str, Any] = json.loads(EXAMPLE_ANSWER.read_text(encoding="utf-8"))
    return answer


def answer_to(request_ref: str) -> dict[str, Any]:
    """The example answer, tied to this request, by a rehabkoordinator (a logical
    reference: the tests' units hold no PractitionerRole)."""
    answer = example_answer()
    answer.pop("id", None)
    answer["basedOn"] = [{"reference": request_ref}]
    answer["author"] = {"type": "PractitionerRole", "display": "Rehabkoordinator"}
    return answer


def _form_value(value_key: str, value: Any) -> str:
    if value_key == "valueCoding":
        return f"{value.get('system') or ''}|{value['code']}"
    if value_key == "valueBoolean":
        return "true" if value else "false"
    return str(value)


def example_answer_fields() -> list[tuple[str, str]]:
    """Every answer of the example as an inbox form field ``q:<linkId>`` and its value."""
    answer = example_answer()
    fields: list[tuple[str, str]] = []

    def visit(items: list[dict[str, Any]]) -> None:
        for item in items:
            for given in item.get("answer") or []:
                for key, value in given.items():
                    if key.startswith("value"):
                        fields.append((f"q:{item['linkId']}", _form_value(key, value)))
                visit(given.get("item") or [])
            visit(item.get("item") or [])

    visit(answer["item"])
    return fields


def without(fields: list[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in fields if k not in names]


def replaced(fields: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k == name else v) for k, v in fields]
