"""The kommun's requests by the IG's own ServiceRequest parameters."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.canonical import EXT_DESIRED_ANSWER_DATE
from tests.integration.workflow.conftest import ANNA, GAVLE, World
from tests.support.submissions import REQUEST, submission

EXAMPLE_REQUEST = (
    Path(__file__).parents[3] / "profiles/compiled/ServiceRequest-example-servicerequest.json"
)


def test_a_kommun_finds_its_requests_by_activity_need_group_and_answer_date(
    world: World,
) -> None:
    """The IG's ServiceRequest parameters are searchable (and only the kommun's own)."""
    example = json.loads(EXAMPLE_REQUEST.read_text())
    extensions = [e for e in example["extension"] if "kv-desired-answer-date" not in e["url"]]
    sent = submission(ANNA.personnummer, GAVLE, case_id="sok-1")
    index = [e["fullUrl"] for e in sent["entry"]].index(REQUEST)
    sent["entry"][index]["resource"]["extension"] = [
        *extensions,
        {"url": EXT_DESIRED_ANSWER_DATE, "valueDate": "2027-02-14"},
    ]
    assert world.submit(sent).status_code == 201
    assert world.submit(submission(ANNA.personnummer, GAVLE, case_id="sok-2")).status_code == 201
    activities = [
        e["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
        for e in extensions
        if e["url"].endswith("kv-planned-activity")
    ]
    assert len(activities) == 2  # the example plans two activities

    def found(**params: str) -> int:
        bundle = world.as_kommun("GET", "/fhir/ServiceRequest", **params).json()
        assert bundle["resourceType"] == "Bundle", bundle
        return int(bundle["total"])

    for activity in activities:  # each of them, not only the first
        assert found(**{"planned-activity-type": activity}) == 1
    assert found(**{"planned-activity-type": "finns-inte"}) == 0
    need_group = next(e for e in extensions if "kv-mix-need-group" in e["url"])
    assert found(**{"mix-need-group": need_group["valueCodeableConcept"]["coding"][0]["code"]}) == 1
    assert found(**{"desired-answer-date": "2027-02-14"}) == 1
    assert found(**{"desired-answer-date": "lt2027-02-14"}) == 0
    assert found() == 2
