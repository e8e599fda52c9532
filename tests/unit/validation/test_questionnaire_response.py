"""A QuestionnaireResponse against its Questionnaire, rule by rule (hand-made form)."""

from __future__ import annotations

from typing import Any

from gateway.errors import Issue
from gateway.validation.questionnaire_response import QuestionnaireResponseValidator
from tests.unit.validation import fixtures as fx

VALIDATE = QuestionnaireResponseValidator(fx.conformance())


def answer(link_id: str, **value: Any) -> dict[str, Any]:
    return {"linkId": link_id, "answer": [value]}


def response(
    *group_items: dict[str, Any], status: str = "completed", **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{fx.QUESTIONNAIRE}|1.0.0",
        "status": status,
        "item": [{"linkId": "g", "item": list(group_items)}],
        **extra,
    }


def at(issues: list[Issue], expression: str) -> list[Issue]:
    return [i for i in issues if expression in i.expression]


def test_a_complete_answer_is_valid() -> None:
    assert VALIDATE(response(answer("g.yes", valueBoolean=False))) == []
    assert (
        VALIDATE(response(answer("g.yes", valueBoolean=True), answer("g.text", valueString="Ja.")))
        == []
    )


def test_unknown_questionnaire_is_not_checked() -> None:
    qr = response(answer("nope", valueString="x"))
    qr["questionnaire"] = "https://elsewhere.example/Questionnaire/x"
    assert VALIDATE(qr) == []


def test_unknown_link_id() -> None:
    issues = VALIDATE(
        response(answer("g.yes", valueBoolean=False), answer("g.sick-leave", valueBoolean=True))
    )
    found = at(issues, "QuestionnaireResponse.item[0].item[1].linkId")
    assert found
    assert "finns inte" in found[0].text_sv
    # What the sender wrote is not repeated: the path says where it stands.
    assert "sick-leave" not in found[0].text_sv + str(found[0].diagnostics)


def test_link_id_in_the_wrong_place() -> None:
    qr = response(answer("g.yes", valueBoolean=False))
    qr["item"].append(answer("g.hours", valueInteger=3))
    found = at(VALIDATE(qr), "QuestionnaireResponse.item[1].linkId")
    assert found
    assert "hör inte hemma" in found[0].text_sv


def test_answer_type_must_match_the_item_type() -> None:
    issues = VALIDATE(response(answer("g.yes", valueString="ja")))
    assert [i.code for i in at(issues, "QuestionnaireResponse.item[0].item[0].answer[0]")] == [
        "value"
    ]


def test_required_item_when_enabled() -> None:
    issues = VALIDATE(response(answer("g.yes", valueBoolean=True)))
    found = at(issues, "QuestionnaireResponse.item[0]")
    assert [i.code for i in found] == ["required"]
    assert "g.text" in found[0].text_sv


def test_required_item_without_an_answer() -> None:
    issues = VALIDATE(response(answer("g.yes", valueBoolean=True), {"linkId": "g.text"}))
    assert [i.code for i in at(issues, "QuestionnaireResponse.item[0].item[1]")] == ["required"]


def test_required_group_missing() -> None:
    qr = response()
    qr["item"] = [answer("other", valueString="x")]
    assert [i.code for i in at(VALIDATE(qr), "QuestionnaireResponse")] == ["required"]


def test_in_progress_answers_need_not_be_complete() -> None:
    assert VALIDATE(response(answer("g.yes", valueBoolean=True), status="in-progress")) == []


def test_answer_to_a_disabled_item() -> None:
    issues = VALIDATE(
        response(answer("g.yes", valueBoolean=False), answer("g.text", valueString="x"))
    )
    found = at(issues, "QuestionnaireResponse.item[0].item[1]")
    assert [i.code for i in found] == ["business-rule"]
    assert "x" not in found[0].text_sv.replace("g.text", "")


def test_enable_behavior_any_and_all() -> None:
    # g.any: hours > 10 OR yes = false; g.all: both
    enabled_any = response(
        answer("g.yes", valueBoolean=True),
        answer("g.text", valueString="t"),
        answer("g.hours", valueInteger=20),
        answer("g.any", valueString="ok"),
    )
    assert VALIDATE(enabled_any) == []
    disabled_all = response(
        answer("g.yes", valueBoolean=True),
        answer("g.text", valueString="t"),
        answer("g.hours", valueInteger=20),
        answer("g.all", valueString="no"),
    )
    assert [i.code for i in VALIDATE(disabled_all)] == ["business-rule"]
    enabled_all = response(
        answer("g.yes", valueBoolean=False),
        answer("g.hours", valueInteger=20),
        answer("g.all", valueString="ok"),
    )
    assert VALIDATE(enabled_all) == []
    disabled_any = response(
        answer("g.yes", valueBoolean=True),
        answer("g.text", valueString="t"),
        answer("g.hours", valueInteger=5),
        answer("g.any", valueString="no"),
    )
    assert [i.code for i in VALIDATE(disabled_any)] == ["business-rule"]


def test_enable_when_exists() -> None:
    size = answer("g.size", valueCoding={"system": "urn:size", "code": "s"})
    ok = response(answer("g.yes", valueBoolean=False), size, answer("g.exists", valueString="x"))
    assert VALIDATE(ok) == []
    bad = response(answer("g.yes", valueBoolean=False), answer("g.exists", valueString="x"))
    assert [i.code for i in VALIDATE(bad)] == ["business-rule"]


def test_choice_inside_the_answer_value_set() -> None:
    good = response(
        answer("g.yes", valueBoolean=False),
        answer("g.colour", valueCoding={"system": fx.CS, "code": "blue"}),
    )
    assert VALIDATE(good) == []
    bad = response(
        answer("g.yes", valueBoolean=False),
        answer("g.colour", valueCoding={"system": fx.CS, "code": "green"}),
    )
    found = at(
        VALIDATE(bad), "QuestionnaireResponse.item[0].item[1].answer[0].value.ofType(Coding)"
    )
    assert [i.code for i in found] == ["code-invalid"]


def test_choice_among_answer_options() -> None:
    bad = response(
        answer("g.yes", valueBoolean=False),
        answer("g.size", valueCoding={"system": "urn:size", "code": "xl"}),
    )
    assert [i.code for i in VALIDATE(bad)] == ["code-invalid"]


def test_whitespace_only_text() -> None:
    issues = VALIDATE(
        response(answer("g.yes", valueBoolean=True), answer("g.text", valueString=" \t\n"))
    )
    found = at(issues, "QuestionnaireResponse.item[0].item[1].answer[0].value.ofType(string)")
    assert [i.code for i in found] == ["value"]


def test_integer_bounds() -> None:
    for hours, expected in ((1, []), (40, []), (0, ["value"]), (41, ["value"])):
        qr = response(answer("g.yes", valueBoolean=False), answer("g.hours", valueInteger=hours))
        assert [i.code for i in VALIDATE(qr)] == expected, hours


def test_repeats() -> None:
    colours = {
        "linkId": "g.colour",
        "answer": [
            {"valueCoding": {"system": fx.CS, "code": "red"}},
            {"valueCoding": {"system": fx.CS, "code": "blue"}},
        ],
    }
    assert VALIDATE(response(answer("g.yes", valueBoolean=False), colours)) == []
    twice = {"linkId": "g.hours", "answer": [{"valueInteger": 2}, {"valueInteger": 3}]}
    found = VALIDATE(response(answer("g.yes", valueBoolean=False), twice))
    assert [i.expression for i in found] == [("QuestionnaireResponse.item[0].item[1].answer[1]",)]
    double = VALIDATE(
        response(answer("g.yes", valueBoolean=False), answer("g.yes", valueBoolean=False))
    )
    assert [i.code for i in double] == ["structure"]


def test_display_and_group_items_carry_no_answers() -> None:
    issues = VALIDATE(
        response(answer("g.yes", valueBoolean=False), answer("g.info", valueString="x"))
    )
    assert [i.code for i in issues] == ["structure"]


def test_other_resource_types_are_ignored() -> None:
    assert VALIDATE({"resourceType": "Patient"}) == []
