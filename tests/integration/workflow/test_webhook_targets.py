"""A kommun names its rest-hook URL, so it must not point the gateway at what only the
gateway can reach (gateway.delivery.webhook_targets): refused when the Subscription is
written, and again, resolved, at every delivery."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gateway.delivery.models import OutboxMessage
from gateway.delivery.outbox import DEAD
from gateway.store.resources import ResourceStore
from gateway.workflow.subscriptions import NOTIFICATION
from tests.integration.workflow.conftest import ANNA, BENGT, GAVLE, World
from tests.support.submissions import submission

METADATA = "https://169.254.169.254/latest/meta-data/iam/"


def _subscription(endpoint: str) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Svar på förfrågningar",
        "criteria": "Task?status=requested",
        "channel": {"type": "rest-hook", "endpoint": endpoint, "header": ["X-Secret: s"]},
    }


def _notifications(world: World) -> list[OutboxMessage]:
    with world.app.state.session_factory() as session:
        return list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.kind == NOTIFICATION))
        )


def test_an_endpoint_only_the_gateway_reaches_is_refused(world: World) -> None:
    refused = world.as_kommun("POST", "/fhir/Subscription", _subscription(METADATA))

    assert refused.status_code == 422, refused.text
    issue = refused.json()["issue"][0]
    assert issue["expression"] == ["Subscription.channel.endpoint"]
    assert "https-adress" in issue["details"]["text"]
    assert "169.254" not in refused.text
    assert world.as_kommun("GET", "/fhir/Subscription").json().get("total") == 0


def test_a_notification_goes_to_the_address_checked_under_the_name_given(world: World) -> None:
    endpoint = world.webhook_url.replace("127.0.0.1", "localhost")
    created = world.as_kommun("POST", "/fhir/Subscription", _subscription(endpoint))
    assert created.status_code == 201, created.text

    assert world.submit(submission(ANNA.personnummer, GAVLE)).status_code == 201
    world.deliver()

    (told,) = world.webhook.received
    assert told.headers["host"] == endpoint.split("/")[2]  # localhost:PORT
    assert told.headers["x-secret"] == "s"


def test_an_endpoint_stored_before_the_check_is_refused_at_delivery(world: World) -> None:
    with world.app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        subscription = store.create({**_subscription(METADATA), "status": "active"})
        store.grant("Subscription", subscription.id, {GAVLE})

    assert world.submit(submission(ANNA.personnummer, GAVLE)).status_code == 201
    world.deliver()

    (message,) = _notifications(world)
    assert message.status == DEAD, "refused, not retried"
    assert "not public" in (message.last_error or "")
    assert "169.254" not in (message.last_error or "")
    assert world.webhook.received == []


def test_channel_headers_are_one_line_each_and_not_the_gateways_own(world: World) -> None:
    refusals = {
        "Host: intern.example": "sätter tjänsten själv",
        "Transfer-Encoding: chunked": "sätter tjänsten själv",
        "idempotency-key: x": "sätter tjänsten själv",
        "X-Secret: a\r\nX-Injected: b": "på en rad",
        "X Secret: a": "på en rad",
        "X-Secret: " + "a" * 2000: "på en rad",
    }
    for header, text in refusals.items():
        subscription = _subscription(world.webhook_url)
        subscription["channel"]["header"] = ["X-Ok: 1", header]
        refused = world.as_kommun("POST", "/fhir/Subscription", subscription)
        assert refused.status_code == 422, (header, refused.text)
        issue = refused.json()["issue"][0]
        assert issue["expression"] == ["Subscription.channel.header[1]"], header
        assert text in issue["details"]["text"]
    many = _subscription(world.webhook_url)
    many["channel"]["header"] = [f"X-H{n}: v" for n in range(11)]
    assert world.as_kommun("POST", "/fhir/Subscription", many).status_code == 422
    assert world.as_kommun("GET", "/fhir/Subscription").json().get("total") == 0


def test_a_party_holds_a_bounded_number_of_subscriptions(world: World) -> None:
    """Each one is a POST at every change of a Task: the worker serves every party."""
    for _ in range(10):
        created = world.as_kommun("POST", "/fhir/Subscription", _subscription(world.webhook_url))
        assert created.status_code == 201, created.text
    refused = world.as_kommun("POST", "/fhir/Subscription", _subscription(world.webhook_url))
    assert refused.status_code == 409, refused.text
    assert "10 prenumerationer" in refused.json()["issue"][0]["details"]["text"]
    assert world.as_kommun("GET", "/fhir/Subscription").json().get("total") == 10


def test_a_slow_subscriber_holds_up_only_its_own_tasks_deliveries(world: World) -> None:
    """Messages about different Tasks go at the same time (the worker's lanes): two
    notifications to a subscriber that answers late are in flight together, so neither
    Task's deliveries wait for the other's. One after another, the second would start only
    when the first was answered."""
    world.webhook.delay_seconds = 1.5
    created = world.as_kommun("POST", "/fhir/Subscription", _subscription(world.webhook_url))
    assert created.status_code == 201, created.text
    for person, case_id in ((ANNA, "2026-0101"), (BENGT, "2026-0102")):
        submitted = world.submit(submission(person.personnummer, GAVLE, case_id=case_id))
        assert submitted.status_code == 201, submitted.text

    world.deliver()

    first, second = sorted(world.webhook.in_flight)
    assert second[0] < first[1], "the second notification waited for the first"
    assert {m.status for m in _notifications(world)} == {"delivered"}
