"""A QuestionnaireResponse checked against its Questionnaire.

The Questionnaire is found by ``QuestionnaireResponse.questionnaire`` (with or without
``|version``) among the loaded conformance resources; each is indexed once. Checked:

* every linkId exists in the Questionnaire, at the place where it is answered;
* answers have the value type of their item (boolean → valueBoolean, choice →
  valueCoding …); groups and display items carry no answers; only repeating items have
  several answers or occurrences;
* enableWhen (operators exists, =, !=, >, <, >=, <=; enableBehavior all/any) decides
  whether an item is enabled. Required items must be answered when enabled (for a
  completed or amended response); answers to disabled items are refused;
* choice answers lie in their answerValueSet or among their answerOptions;
* text answers are not made only of whitespace;
* integer and decimal answers respect the minValue/maxValue extensions.

Issue texts name the linkId, never the submitted answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import Issue, Severity
from gateway.validation.conformance import Conformance
from gateway.validation.elements import CHOICE_SUFFIXES

EXT_MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
EXT_MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"

ANSWER_TYPES: dict[str, frozenset[str]] = {
    "boolean": frozenset({"valueBoolean"}),
    "decimal": frozenset({"valueDecimal"}),
    "integer": frozenset({"valueInteger"}),
    "date": frozenset({"valueDate"}),
    "dateTime": frozenset({"valueDateTime"}),
    "time": frozenset({"valueTime"}),
    "string": frozenset({"valueString"}),
    "text": frozenset({"valueString"}),
    "url": frozenset({"valueUri"}),
    "choice": frozenset({"valueCoding"}),
    "open-choice": frozenset({"valueCoding", "valueString"}),
    "attachment": frozenset({"valueAttachment"}),
    "reference": frozenset({"valueReference"}),
    "quantity": frozenset({"valueQuantity"}),
}
TYPE_NAMES_SV: dict[str, str] = {
    "boolean": "ja/nej",
    "decimal": "ett decimaltal",
    "integer": "ett heltal",
    "date": "ett datum",
    "dateTime": "en tidpunkt",
    "time": "ett klockslag",
    "string": "en text",
    "text": "en text",
    "url": "en webbadress",
    "choice": "ett av svarsalternativen",
    "open-choice": "ett svarsalternativ eller en text",
    "attachment": "en bilaga",
    "reference": "en referens",
    "quantity": "en mängd",
}
STATUSES_REQUIRING_ANSWERS = frozenset({"completed", "amended"})


@dataclass(eq=False)
class QItem:
    link_id: str
    type: str
    text: str
    required: bool
    repeats: bool
    enable_when: list[dict[str, Any]]
    enable_any: bool
    answer_value_set: str | None
    answer_options: list[dict[str, Any]]
    min_value: float | None
    max_value: float | None
    children: list[QItem] = field(default_factory=list)

    def label(self) -> str:
        short = self.text if len(self.text) <= 60 else self.text[:57] + "…"
        return f"{self.link_id} ({short})" if short else self.link_id


def _extension_number(item: Mapping[str, Any], url: str) -> float | None:
    for extension in item.get("extension") or []:
        if extension.get("url") == url:
            for key in ("valueInteger", "valueDecimal"):
                if isinstance(extension.get(key), int | float):
                    return float(extension[key])
    return None


def _index_items(raw_items: list[Mapping[str, Any]]) -> list[QItem]:
    return [
        QItem(
            link_id=str(raw.get("linkId")),
            type=str(raw.get("type")),
            text=str(raw.get("text") or ""),
            required=bool(raw.get("required")),
            repeats=bool(raw.get("repeats")),
            enable_when=list(raw.get("enableWhen") or []),
            enable_any=raw.get("enableBehavior") == "any",
            answer_value_set=raw.get("answerValueSet"),
            answer_options=list(raw.get("answerOption") or []),
            min_value=_extension_number(raw, EXT_MIN_VALUE),
            max_value=_extension_number(raw, EXT_MAX_VALUE),
            children=_index_items(raw.get("item") or []),
        )
        for raw in raw_items
    ]


@dataclass(eq=False)
class QuestionnaireIndex:
    items: list[QItem]
    by_link_id: dict[str, QItem]

    @classmethod
    def build(cls, questionnaire: Mapping[str, Any]) -> QuestionnaireIndex:
        items = _index_items(list(questionnaire.get("item") or []))
        by_link_id: dict[str, QItem] = {}

        def visit(level: list[QItem]) -> None:
            for item in level:
                by_link_id[item.link_id] = item
                visit(item.children)

        visit(items)
        return cls(items, by_link_id)


def _answer_value(answer: Mapping[str, Any]) -> tuple[str, Any] | None:
    for key, value in answer.items():
        if key.startswith("value") and key[5:6].isupper():
            return key, value
    return None


def _collect_answers(items: list[Any], into: dict[str, list[Any]]) -> None:
    for item in items:
        if not isinstance(item, Mapping):
            continue
        for answer in item.get("answer") or []:
            if isinstance(answer, Mapping):
                found = _answer_value(answer)
                if found is not None:
                    into.setdefault(str(item.get("linkId")), []).append(found[1])
                _collect_answers(answer.get("item") or [], into)
        _collect_answers(item.get("item") or [], into)


def _compare(actual: Any, operator: str, expected: Any) -> bool:
    if isinstance(expected, Mapping):  # Coding: system and code decide
        same = isinstance(actual, Mapping) and (
            actual.get("code") == expected.get("code")
            and (expected.get("system") is None or actual.get("system") == expected.get("system"))
        )
        return same if operator == "=" else (not same if operator == "!=" else False)
    if operator == "=":
        return bool(actual == expected)
    if operator == "!=":
        return bool(actual != expected)
    try:
        if operator == ">":
            return bool(actual > expected)
        if operator == "<":
            return bool(actual < expected)
        if operator == ">=":
            return bool(actual >= expected)
        if operator == "<=":
            return bool(actual <= expected)
    except TypeError:
        return False
    return False


def _condition_holds(condition: Mapping[str, Any], answers: dict[str, list[Any]]) -> bool:
    given = answers.get(str(condition.get("question")), [])
    operator = str(condition.get("operator"))
    expected_key = next((k for k in condition if k.startswith("answer")), None)
    expected = condition.get(expected_key) if expected_key else None
    if operator == "exists":
        return bool(given) == bool(expected)
    if operator == "!=" and not given:
        return True
    return any(_compare(value, operator, expected) for value in given)


def is_enabled(item: QItem, answers: dict[str, list[Any]]) -> bool:
    if not item.enable_when:
        return True
    results = (_condition_holds(c, answers) for c in item.enable_when)
    return any(results) if item.enable_any else all(results)


def _has_content(qr_item: Mapping[str, Any]) -> bool:
    if any(isinstance(a, Mapping) and _answer_value(a) for a in qr_item.get("answer") or []):
        return True
    return any(isinstance(c, Mapping) and _has_content(c) for c in qr_item.get("item") or [])


class QuestionnaireResponseValidator:
    """Pipeline step: a QuestionnaireResponse against its (known) Questionnaire."""

    def __init__(self, conformance: Conformance) -> None:
        self.conformance = conformance
        self._indexes: dict[int, QuestionnaireIndex] = {}
        for questionnaire in conformance.questionnaires.values():
            self._index(questionnaire)

    def _index(self, questionnaire: dict[str, Any]) -> QuestionnaireIndex:
        key = id(questionnaire)
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = QuestionnaireIndex.build(questionnaire)
        return index

    def __call__(self, resource: dict[str, Any]) -> list[Issue]:
        if resource.get("resourceType") != "QuestionnaireResponse":
            return []
        canonical = resource.get("questionnaire")
        if not isinstance(canonical, str):
            return []
        questionnaire = self.conformance.questionnaire(canonical)
        if questionnaire is None:
            return []  # not ours: kv-qr-1 in our profile says which one must be answered
        index = self._index(questionnaire)
        answers: dict[str, list[Any]] = {}
        _collect_answers(resource.get("item") or [], answers)
        check = _Check(
            self.conformance,
            index,
            answers,
            require=resource.get("status") in STATUSES_REQUIRING_ANSWERS,
        )
        check.level(resource.get("item") or [], index.items, "QuestionnaireResponse")
        return check.issues


@dataclass
class _Check:
    conformance: Conformance
    index: QuestionnaireIndex
    answers: dict[str, list[Any]]
    require: bool
    issues: list[Issue] = field(default_factory=list)

    def add(self, code: str, text_sv: str, expr: str, diagnostics: str) -> None:
        self.issues.append(Issue(code, text_sv, Severity.ERROR, (expr,), diagnostics))

    def level(self, qr_items: list[Any], q_items: list[QItem], expr: str) -> None:
        by_link = {q.link_id: q for q in q_items}
        seen: dict[str, int] = {}
        for i, qr_item in enumerate(qr_items):
            path = f"{expr}.item[{i}]"
            if not isinstance(qr_item, Mapping):
                continue
            link_id = str(qr_item.get("linkId"))
            q_item = by_link.get(link_id)
            if q_item is None:
                # The linkId came with the answer and is not repeated: the path names it.
                elsewhere = link_id in self.index.by_link_id
                self.add(
                    "structure",
                    "Frågan hör inte hemma här i frågeformuläret."
                    if elsewhere
                    else "Frågan finns inte i frågeformuläret.",
                    f"{path}.linkId",
                    f"the linkId is {'misplaced' if elsewhere else 'not in the Questionnaire'}",
                )
                continue
            seen[link_id] = seen.get(link_id, 0) + 1
            if seen[link_id] == 2 and not q_item.repeats:
                self.add(
                    "structure",
                    f"Frågan {q_item.label()} får bara besvaras en gång.",
                    path,
                    f"item {link_id} does not repeat but occurs more than once",
                )
            self.item(qr_item, q_item, path)
        if not self.require:
            return
        for q_item in q_items:
            if (
                q_item.required
                and q_item.type != "display"
                and link_absent(q_item.link_id, qr_items)
                and is_enabled(q_item, self.answers)
            ):
                self.add(
                    "required",
                    f"Frågan {q_item.label()} är obligatorisk men saknar svar.",
                    expr,
                    f"required item {q_item.link_id} is missing",
                )

    def item(self, qr_item: Mapping[str, Any], q_item: QItem, path: str) -> None:
        enabled = is_enabled(q_item, self.answers)
        if not enabled:
            if _has_content(qr_item):
                self.add(
                    "business-rule",
                    f"Frågan {q_item.label()} ska inte besvaras utifrån tidigare svar.",
                    path,
                    f"item {q_item.link_id} is disabled by enableWhen but has answers",
                )
            return
        answers = [a for a in qr_item.get("answer") or [] if isinstance(a, Mapping)]
        if q_item.type in ("group", "display") and answers:
            self.add(
                "structure",
                f"{q_item.label()} är en rubrik och kan inte ha svar.",
                f"{path}.answer[0]",
                f"{q_item.type} item {q_item.link_id} has an answer",
            )
            answers = []
        if len(answers) > 1 and not q_item.repeats:
            self.add(
                "structure",
                f"Frågan {q_item.label()} får bara ha ett svar.",
                f"{path}.answer[1]",
                f"item {q_item.link_id} does not repeat but has {len(answers)} answers",
            )
        for j, answer in enumerate(answers):
            self.answer(answer, q_item, f"{path}.answer[{j}]")
            nested = answer.get("item") or []
            if nested:
                self.level(nested, q_item.children, f"{path}.answer[{j}]")
        children = qr_item.get("item") or []
        if children or q_item.type == "group":
            self.level(children, q_item.children, path)
        if (
            self.require
            and q_item.required
            and q_item.type != "display"
            and not _has_content(qr_item)
        ):
            self.add(
                "required",
                f"Frågan {q_item.label()} är obligatorisk men saknar svar.",
                path,
                f"required item {q_item.link_id} has no answer",
            )

    def answer(self, answer: Mapping[str, Any], q_item: QItem, path: str) -> None:
        found = _answer_value(answer)
        if found is None:
            return
        key, value = found
        allowed = ANSWER_TYPES.get(q_item.type)
        if allowed is not None and key not in allowed:
            self.add(
                "value",
                f"Svaret på frågan {q_item.label()} ska vara "
                f"{TYPE_NAMES_SV.get(q_item.type, q_item.type)}.",
                path,
                f"item {q_item.link_id} of type {q_item.type} answered with {key}",
            )
            return
        value_path = f"{path}.value.ofType({CHOICE_SUFFIXES.get(key[5:], key[5:])})"
        if key == "valueString" and isinstance(value, str) and not value.strip():
            self.add(
                "value",
                f"Svaret på frågan {q_item.label()} består bara av blanksteg. Skriv ett svar.",
                value_path,
                f"item {q_item.link_id}: text answer is only whitespace",
            )
        if key in ("valueInteger", "valueDecimal") and isinstance(value, int | float):
            if q_item.min_value is not None and value < q_item.min_value:
                self.add(
                    "value",
                    f"Svaret på frågan {q_item.label()} är för litet (minst {q_item.min_value:g}).",
                    value_path,
                    f"item {q_item.link_id}: below minValue {q_item.min_value:g}",
                )
            if q_item.max_value is not None and value > q_item.max_value:
                self.add(
                    "value",
                    f"Svaret på frågan {q_item.label()} är för stort (högst {q_item.max_value:g}).",
                    value_path,
                    f"item {q_item.link_id}: above maxValue {q_item.max_value:g}",
                )
        if key == "valueCoding" and isinstance(value, Mapping):
            self.coding(value, q_item, value_path)

    def coding(self, coding: Mapping[str, Any], q_item: QItem, path: str) -> None:
        inside: bool | None = None
        if q_item.answer_value_set:
            inside = self.conformance.terminology.contains_coding(
                q_item.answer_value_set, coding.get("system"), coding.get("code")
            )
        elif q_item.answer_options:
            inside = any(
                isinstance(option.get("valueCoding"), Mapping)
                and option["valueCoding"].get("code") == coding.get("code")
                and option["valueCoding"].get("system") == coding.get("system")
                for option in q_item.answer_options
            )
        if inside is False:
            self.add(
                "code-invalid",
                f"Svaret på frågan {q_item.label()} är inte ett av de tillåtna svarsalternativen.",
                path,
                f"item {q_item.link_id}: coding not in the item's answer set",
            )


def link_absent(link_id: str, qr_items: list[Any]) -> bool:
    """No item with ``link_id`` at this level (an item without answers is reported itself)."""
    return not any(isinstance(i, Mapping) and i.get("linkId") == link_id for i in qr_items)
