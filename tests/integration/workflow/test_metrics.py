"""The request workflow in /metrics: submissions, routing, consent, the outbox, deliveries."""

from __future__ import annotations

from tests.integration.workflow.conftest import ANNA, FREDRIK, GAVLE, World
from tests.support.metrics import sample, scrape
from tests.support.submissions import submission


def test_the_workflow_is_counted_without_personal_data(world: World) -> None:
    before = scrape(world.http)

    assert world.submit(submission(ANNA.personnummer, GAVLE, case_id="m-1")).status_code == 201
    assert world.submit(submission(ANNA.personnummer, GAVLE, case_id="m-1")).status_code == 200
    no_consent = submission(ANNA.personnummer, GAVLE, consent_changes={"status": "inactive"})
    assert world.submit(no_consent).status_code == 422
    assert world.submit(submission(FREDRIK.personnummer, GAVLE)).status_code == 422
    queued = scrape(world.http)
    assert world.deliver() == 1
    after = scrape(world.http)
    text = world.http.get("/metrics").text

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("kvgw_submissions_total", outcome="created", status="201") == 1
    assert grew("kvgw_submissions_total", outcome="duplicate", status="200") == 1
    assert grew("kvgw_submissions_total", outcome="refused", status="422") == 2
    assert grew("kvgw_routing_events_total", action="routing.resolve", outcome="routed") == 2
    assert grew("kvgw_routing_events_total", action="routing.resolve", outcome="not-listed") == 1
    assert grew("kvgw_consent_decisions_total", decision="deny", reason="consent-not-active") == 1
    assert grew("kvgw_consent_decisions_total", decision="permit", reason="consent-permits") >= 2
    assert grew("kvgw_outbox_deliveries_total", kind="journal-request", result="delivered") == 1
    # The outbox's depth is read from the database at each scrape: queued, then delivered.
    pending = {"kind": "journal-request", "status": "pending"}
    assert sample(queued, "kvgw_outbox_messages", **pending) == 1
    assert sample(after, "kvgw_outbox_messages", **pending) == 0
    assert sample(after, "kvgw_outbox_messages", kind="journal-request", status="delivered") == 1
    for secret in (ANNA.personnummer, FREDRIK.personnummer, "m-1"):
        assert secret not in text
