"""The national Questionnaire as an HTML form, generically, and the form back as an answer.

Nothing here knows the national form's items: a new Questionnaire version renders and
submits without code changes. Item types: group, display, boolean, string, text, url,
integer and decimal (minValue/maxValue), date, time, choice and open-choice
(answerValueSet expanded from the compiled ValueSets, or answerOption; ``repeats`` gives
checkboxes). Other types (attachment, reference, quantity, dateTime) are shown as not
answerable here. enableWhen is evaluated on submit with the validator's own rules
(answers to disabled items are dropped); a small script hides and disables those items in
the browser too. A question's display children are its help texts, linked to it with
aria-describedby.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import Issue
from gateway.validation.pipeline import is_blocking
from gateway.validation.questionnaire_response import (
    EXT_MAX_VALUE,
    EXT_MIN_VALUE,
    QuestionnaireIndex,
    _collect_answers,  # the validator's own reading of answers, so both agree on enableWhen
    is_enabled,
)
from gateway.web.inbox.catalog import Option, Terminology

QR_PROFILE = "https://kv-gateway.se/fhir/StructureDefinition/kv-questionnaireresponse"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
INTEGER = re.compile(r"^[+-]?\d{1,9}$")
DECIMAL = re.compile(r"^[+-]?\d{1,12}([.,]\d{1,6})?$")
URL = re.compile(r"^https?://\S+$")
MISSING_ITEM = re.compile(r"required item (\S+) is missing")
ANSWERABLE = frozenset(
    {
        "boolean",
        "string",
        "text",
        "url",
        "integer",
        "decimal",
        "date",
        "time",
        "choice",
        "open-choice",
    }
)


@dataclass
class FormItem:
    link_id: str
    type: str
    text: str
    required: bool
    repeats: bool
    options: list[Option]
    min_value: float | None
    max_value: float | None
    max_length: int | None
    enable_when: list[dict[str, Any]]
    enable_any: bool
    help: list[str] = field(default_factory=list)
    children: list[FormItem] = field(default_factory=list)
    condition_text: str = ""

    @property
    def field_name(self) -> str:
        return f"q:{self.link_id}"

    @property
    def dom_id(self) -> str:
        """A unique, valid HTML id: letters, digits and ``-`` kept, the rest escaped."""
        return "q-" + "".join(
            c if c.isascii() and (c.isalnum() or c == "-") else f"_{ord(c):x}_"
            for c in self.link_id
        )

    @property
    def answerable(self) -> bool:
        return self.type in ANSWERABLE

    @property
    def widget(self) -> str:
        if self.type == "boolean":
            return "radio"
        if self.type == "choice" or (self.type == "open-choice" and self.options):
            if self.repeats:
                return "checkbox"
            return "radio" if len(self.options) <= 8 else "select"
        return "textarea" if self.type == "text" else "input"

    @property
    def anchor(self) -> str:
        """The id of the item's first control (for links from the error summary)."""
        if self.type == "group" or not self.answerable:
            return self.dom_id
        return f"{self.dom_id}-0" if self.widget in ("radio", "checkbox") else self.dom_id

    @property
    def input_type(self) -> str:
        return {"date": "date", "time": "time", "url": "url"}.get(self.type, "text")

    @property
    def input_mode(self) -> str | None:
        return {"integer": "numeric", "decimal": "decimal"}.get(self.type)

    @property
    def range_text(self) -> str:
        """The allowed range in words, for the hint under a number field."""
        low, high = self.min_value, self.max_value
        if low is not None and high is not None:
            return f"Ange ett värde från {low:g} till {high:g}."
        if low is not None:
            return f"Ange ett värde på minst {low:g}."
        if high is not None:
            return f"Ange ett värde på högst {high:g}."
        return ""

    @property
    def enable_when_json(self) -> str:
        """enableWhen for the browser script, with answers in form-value encoding."""
        conditions = []
        for condition in self.enable_when:
            expected_key = next((k for k in condition if k.startswith("answer")), "")
            expected = condition.get(expected_key)
            if isinstance(expected, Mapping):
                value = f"{expected.get('system') or ''}|{expected.get('code')}"
            elif isinstance(expected, bool):
                value = "true" if expected else "false"
            else:
                value = "" if expected is None else str(expected)
            conditions.append(
                {
                    "field": f"q:{condition.get('question')}",
                    "operator": condition.get("operator"),
                    "value": value,
                    "coding": isinstance(expected, Mapping),
                }
            )
        return json.dumps({"any": self.enable_any, "conditions": conditions})


def _number_extension(raw: Mapping[str, Any], url: str) -> float | None:
    for extension in raw.get("extension") or []:
        if extension.get("url") == url:
            for key in ("valueInteger", "valueDecimal"):
                if isinstance(extension.get(key), int | float):
                    return float(extension[key])
    return None


def _options(raw: Mapping[str, Any], codes: Terminology) -> list[Option]:
    options = codes.options(raw["answerValueSet"]) if raw.get("answerValueSet") else []
    for option in raw.get("answerOption") or []:
        if isinstance(option.get("valueCoding"), Mapping):
            coding = option["valueCoding"]
            display = coding.get("display") or codes.display(coding.get("system"), coding["code"])
            options.append(Option(coding.get("system"), coding["code"], display or coding["code"]))
        elif isinstance(option.get("valueString"), str):
            options.append(Option(None, option["valueString"], option["valueString"]))
    return options


def _items(raw_items: list[dict[str, Any]], codes: Terminology) -> list[FormItem]:
    items: list[FormItem] = []
    for raw in raw_items:
        children = _items(raw.get("item") or [], codes)
        max_length = raw.get("maxLength")
        item = FormItem(
            link_id=str(raw["linkId"]),
            type=str(raw.get("type")),
            text=str(raw.get("text") or ""),
            required=bool(raw.get("required")),
            repeats=bool(raw.get("repeats")),
            options=_options(raw, codes),
            min_value=_number_extension(raw, EXT_MIN_VALUE),
            max_value=_number_extension(raw, EXT_MAX_VALUE),
            max_length=max_length if isinstance(max_length, int) and max_length > 0 else None,
            enable_when=list(raw.get("enableWhen") or []),
            enable_any=raw.get("enableBehavior") == "any",
        )
        if item.type != "group":  # a question's display children are its help texts
            item.help = [c.text for c in children if c.type == "display"]
            children = [c for c in children if c.type != "display"]
        item.children = children
        items.append(item)
    return items


@dataclass
class Form:
    """A Questionnaire ready to render."""

    questionnaire: dict[str, Any]
    items: list[FormItem]
    by_link_id: dict[str, FormItem]

    @property
    def canonical(self) -> str:
        url = str(self.questionnaire.get("url"))
        version = self.questionnaire.get("version")
        return f"{url}|{version}" if version else url

    @classmethod
    def build(cls, questionnaire: dict[str, Any], codes: Terminology) -> Form:
        items = _items(list(questionnaire.get("item") or []), codes)
        by_link_id: dict[str, FormItem] = {}

        def visit(level: list[FormItem]) -> None:
            for item in level:
                by_link_id[item.link_id] = item
                visit(item.children)

        visit(items)
        form = cls(questionnaire, items, by_link_id)
        for item in by_link_id.values():
            item.condition_text = form._describe_condition(item)
        return form

    def _describe_condition(self, item: FormItem) -> str:
        """For readers without JavaScript: when the item is to be answered."""
        parts = []
        for condition in item.enable_when:
            question = self.by_link_id.get(str(condition.get("question")))
            expected_key = next((k for k in condition if k.startswith("answer")), "")
            expected = condition.get(expected_key)
            if isinstance(expected, bool):
                shown = "Ja" if expected else "Nej"
            elif isinstance(expected, Mapping):
                shown = str(expected.get("display") or expected.get("code"))
            else:
                shown = str(expected)
            label = question.text if question else str(condition.get("question"))
            operator = str(condition.get("operator"))
            if operator == "exists":
                answered = "är besvarad" if expected else "inte är besvarad"
                parts.append(f"”{label}” {answered}")
            else:
                words = {
                    "=": "är",
                    "!=": "inte är",
                    ">": "är större än",
                    "<": "är mindre än",
                    ">=": "är minst",
                    "<=": "är högst",
                }
                parts.append(f"svaret på ”{label}” {words.get(operator, operator)} {shown}")
        joiner = " eller " if item.enable_any else " och "
        return f"Besvaras om {joiner.join(parts)}." if parts else ""


@dataclass
class Submission:
    """A filled-in form: the raw values (kept for re-display), the answer, the errors."""

    values: dict[str, list[str]]
    response: dict[str, Any]
    errors: dict[str, list[str]]  # linkId -> messages ("" = not tied to one field)
    paths: dict[str, str]  # expression path in the response -> linkId

    def add_error(self, link_id: str, message: str) -> None:
        messages = self.errors.setdefault(link_id, [])
        if message not in messages:
            messages.append(message)


def _answer(item: FormItem, raw: str, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    """One posted value as a QuestionnaireResponse answer; None if empty or unreadable."""
    text = raw if item.type == "text" else raw.strip()
    if not text:
        return None
    message = "Välj ett av svarsalternativen."
    if item.type in ("text", "string"):
        return {"valueString": text}  # whitespace only: the validator says so
    if item.type == "boolean":
        if text in ("true", "false"):
            return {"valueBoolean": text == "true"}
    elif item.type == "integer":
        if INTEGER.match(text):
            return {"valueInteger": int(text)}
        message = "Ange ett heltal, till exempel 20."
    elif item.type == "decimal":
        if DECIMAL.match(text):
            return {"valueDecimal": float(text.replace(",", "."))}
        message = "Ange ett tal, till exempel 2,5."
    elif item.type == "date":
        if DATE.match(text):
            return {"valueDate": text}
        message = "Ange datumet som ÅÅÅÅ-MM-DD, till exempel 2026-03-01."
    elif item.type == "time":
        if TIME.match(text):
            return {"valueTime": text if text.count(":") == 2 else f"{text}:00"}
        message = "Ange klockslaget som TT:MM, till exempel 14:30."
    elif item.type == "url":
        if URL.match(text):
            return {"valueUri": text}
        message = "Ange en webbadress som börjar med https://."
    elif item.type in ("choice", "open-choice"):
        option = next((o for o in item.options if o.value == text), None)
        if option is not None:
            return {"valueCoding": option.coding()}
        if item.type == "open-choice":
            return {"valueString": text}
    else:
        message = "Frågan kan inte besvaras i inkorgen."
    errors.setdefault(item.link_id, []).append(message)
    return None


def _build(
    level: list[FormItem], values: dict[str, list[str]], errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """Every item of the form, with the answers given (none where nothing was given)."""
    out: list[dict[str, Any]] = []
    for item in level:
        if item.type == "display":
            continue
        entry: dict[str, Any] = {"linkId": item.link_id, "text": item.text}
        if item.type == "group":
            entry["item"] = _build(item.children, values, errors)
            out.append(entry)
            continue
        raws = values.get(item.link_id, [])
        answers = [a for a in (_answer(item, raw, errors) for raw in raws) if a]
        if not item.repeats:
            answers = answers[:1]
        if answers and item.children:  # a question's sub-items hang under its answer
            answers[0]["item"] = _build(item.children, values, errors)
        if answers:
            entry["answer"] = answers
        out.append(entry)
    return out


def _answers_of(items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    given: dict[str, list[Any]] = {}
    _collect_answers(items, given)
    return given


class _Pruner:
    """Drops disabled items and unanswered optional ones, recording each item's path."""

    def __init__(self, index: QuestionnaireIndex, given: dict[str, list[Any]]) -> None:
        self.index = index
        self.given = given
        self.paths: dict[str, str] = {}

    def level(self, level: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        for entry in level:
            q_item = self.index.by_link_id[entry["linkId"]]
            if not is_enabled(q_item, self.given):
                continue
            path = f"{prefix}.item[{len(kept)}]"
            if "item" in entry:
                children = self.level(entry["item"], path)
                if not children and not q_item.required:
                    continue
                if children:
                    entry["item"] = children
                else:
                    entry.pop("item")
            elif "answer" not in entry and not q_item.required:
                continue
            self.paths[path] = entry["linkId"]
            for j, answer in enumerate(entry.get("answer") or []):
                if answer.get("item"):
                    answer["item"] = self.level(answer["item"], f"{path}.answer[{j}]")
                    if not answer["item"]:
                        answer.pop("item")
            kept.append(entry)
        return kept


def read_form(
    form: Form, fields: list[tuple[str, str]], *, based_on: str, author: dict[str, Any]
) -> Submission:
    """Build the QuestionnaireResponse from the posted fields (enableWhen applied).

    A required item left empty is sent without answers, so the validator's message points
    at exactly that item. enableWhen is applied until it settles: an answer dropped
    because its item is disabled may disable others in turn.
    """
    values: dict[str, list[str]] = {}
    for name, value in fields:
        if name.startswith("q:") and name[2:] in form.by_link_id:
            values.setdefault(name[2:], []).append(value)
    errors: dict[str, list[str]] = {}
    full = _build(form.items, values, errors)
    index = QuestionnaireIndex.build(form.questionnaire)
    given = _answers_of(full)
    pruner = _Pruner(index, given)
    items: list[dict[str, Any]] = []
    for _ in range(len(index.by_link_id) + 1):
        pruner = _Pruner(index, given)
        items = pruner.level(copy.deepcopy(full), "QuestionnaireResponse")
        settled = _answers_of(items)
        if settled == given:
            break
        given = settled
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "meta": {"profile": [QR_PROFILE]},
        "questionnaire": form.canonical,
        "status": "completed",
        "basedOn": [{"reference": based_on}],
        "author": author,
        "item": items,
    }
    return Submission(values, response, errors, pruner.paths)


def _link_id_of(submission: Submission, issue: Issue) -> str | None:
    if issue.diagnostics:  # a required item that is not there at all: named, not located
        missing = MISSING_ITEM.search(issue.diagnostics)
        if missing:
            return missing.group(1)
    for expression in issue.expression:
        candidate = expression
        while candidate:
            if candidate in submission.paths:
                return submission.paths[candidate]
            cut = max(candidate.rfind("."), candidate.rfind("["))
            candidate = candidate[:cut] if cut > 0 else ""
    return None


def place_issues(form: Form, submission: Submission, issues: list[Issue]) -> None:
    """Put each validation issue beside its field: the item its expression path points
    at (or that it names as missing); issues of no one item go to the summary only.

    The validator names an item by linkId and text; beside the field, its text says it.
    """
    index = QuestionnaireIndex.build(form.questionnaire)
    already = {k for k, v in submission.errors.items() if k and v}  # one message is enough
    for issue in (i for i in issues if is_blocking(i)):
        link_id = _link_id_of(submission, issue)
        item = form.by_link_id.get(link_id or "")
        if item is not None and item.link_id in already:
            continue
        if item is None:
            submission.add_error("", issue.text_sv)
            continue
        if issue.code == "required":
            message = (
                f"Svara på frågan ”{item.text}”."
                if item.type != "group"
                else f"Fyll i avsnittet ”{item.text}”."
            )
        else:
            label = index.by_link_id[item.link_id].label()
            message = issue.text_sv.replace(label, f"”{item.text}”")
        submission.add_error(item.link_id, message)
    _drop_group_errors_explained_below(form, submission)


def _drop_group_errors_explained_below(form: Form, submission: Submission) -> None:
    """An empty required group is also reported for the required question inside it:
    the question's message says what to do, so the group's is left out."""

    def has_error_below(item: FormItem) -> bool:
        return any(c.link_id in submission.errors or has_error_below(c) for c in item.children)

    for link_id in list(submission.errors):
        item = form.by_link_id.get(link_id)
        if item is not None and item.type == "group" and has_error_below(item):
            del submission.errors[link_id]
