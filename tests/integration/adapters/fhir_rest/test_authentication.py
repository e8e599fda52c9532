"""Authentication in both directions: SMART Backend Services and mutual TLS towards the peer,
and a peer's calls into the gateway's API with a token that is not good."""

from __future__ import annotations

import time
from pathlib import Path

from gateway.delivery.models import OutboxMessage
from gateway.delivery.outbox import DEAD, RetryPolicy
from gateway.workflow.operations import rerun_delivery
from tests.integration.adapters.fhir_rest.conftest import (
    BENGT,
    GATEWAY_CLIENT,
    FhirWorld,
    MutualTls,
    new_gateway_key,
    public_jwks,
)
from tests.integration.adapters.fhir_rest.test_failures import _due_now
from tests.integration.adapters.fhir_rest.tls_front import tls_front
from tests.support.fhir_data import FHIR_JSON
from tests.support.pki import Authority, serve_tls


def test_the_peer_refusing_our_client_gives_up_at_once_with_what_to_fix(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    world.journal.auth.clients.clear()  # the peer does not know our client (any more)
    task = world.submit()
    world.deliver()
    (message,) = world.messages()
    assert message.status == DEAD, "waiting will not register our key"
    assert message.attempts == 1
    assert "refused our client (401 invalid_client)" in (message.last_error or "")
    assert "public key is registered" in (message.last_error or "")
    assert world.task(task["id"])["status"] == "failed"
    assert world.journal.arrivals == []

    world.journal.auth.register(GATEWAY_CLIENT, public_jwks(world.gateway_key))
    with world.app.state.session_factory() as session, session.begin():
        assert rerun_delivery(session, message.id)
    world.deliver()
    assert world.task(task["id"])["status"] == "received"


def test_a_key_the_peer_does_not_know_and_a_key_file_that_is_not_there(
    fhir_world: FhirWorld, tmp_path: Path
) -> None:
    world = fhir_world
    _, stranger_file = new_gateway_key(_folder(tmp_path, "stranger"))
    world.use(smart=world.smart(key_file=stranger_file))
    world.submit()
    world.deliver()
    (message,) = world.messages()
    assert message.status == DEAD
    assert "invalid_client" in (message.last_error or "")

    world.use(smart=world.smart(key_file=tmp_path / "missing.jwk.json"))
    world.submit(BENGT.personnummer, case_id="2026-0002")
    world.deliver()
    last = sorted(world.messages(), key=lambda m: m.created_at)[-1]
    assert last.status == DEAD
    assert "cannot read the SMART private key file" in (last.last_error or "")
    assert world.journal.auth.issued == 0


def test_rs384_keys_work_and_a_token_is_renewed_shortly_before_it_expires(
    fhir_world: FhirWorld, tmp_path: Path
) -> None:
    world = fhir_world
    rsa, rsa_file = new_gateway_key(_folder(tmp_path, "rsa"), "RS384")
    world.journal.auth.register(GATEWAY_CLIENT, public_jwks(rsa, "RS384"))
    world.journal.auth.token_seconds = 2  # renewed after 1 s: min(margin, lifetime / 2)
    world.use(smart=world.smart(key_file=rsa_file, alg="RS384"))
    world.submit()
    world.submit(BENGT.personnummer, case_id="2026-0002")
    assert world.deliver() == 2
    assert world.journal.auth.issued == 1, "the second delivery reused the token"
    time.sleep(1.2)
    endpoint = world.http.get("/fhir/Endpoint/ep-vc-jonkoping-centrum", headers=world.kommun)
    adapter = world.app.state.registry.for_endpoint(endpoint.json())
    assert adapter.health(endpoint.json()), "health asks the peer, with a token"
    assert world.journal.auth.issued == 2, "a token close to its expiry is not used"


def test_a_revoked_token_is_replaced_once_and_a_fresh_one_refused_gives_up(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    world.submit()
    world.deliver()
    assert world.journal.auth.issued == 1
    world.journal.auth.revoke_all()  # the peer forgot our token (a restart, say)
    world.submit(BENGT.personnummer, case_id="2026-0002")
    world.deliver()
    assert [m.status for m in world.messages()] == ["delivered", "delivered"]
    assert world.journal.auth.issued == 2
    assert world.journal.refused_tokens == 1

    world.journal.auth.token_seconds = 0  # every token it issues is already expired
    world.journal.auth.revoke_all()
    task = world.submit(case_id="2026-0003")
    world.deliver()
    message = next(m for m in world.messages() if m.task == f"Task/{task['id']}")
    assert message.status == DEAD
    assert "refused our access token (401, login) even when fresh" in (message.last_error or "")


def test_a_peer_that_needs_a_token_and_a_profile_without_one(fhir_world: FhirWorld) -> None:
    world = fhir_world
    world.use()  # no smart, no tls
    world.submit()
    world.deliver()
    (message,) = world.messages()
    assert message.status == DEAD
    assert "requires authentication (401, login)" in (message.last_error or "")
    assert "configure smart or tls" in (message.last_error or "")


def test_the_peer_calling_our_api_with_a_bad_token_gets_401_operation_outcome(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    task = world.submit()
    world.deliver()
    (peer_token,) = world.journal.auth.tokens  # good at the peer, means nothing to us
    for authorization in (
        f"Bearer {peer_token}",
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        None,
    ):
        headers = {**FHIR_JSON, **({"authorization": authorization} if authorization else {})}
        response = world.http.put(
            f"/fhir/Task/{task['id']}", json={**task, "status": "accepted"}, headers=headers
        )
        assert response.status_code == 401, response.text
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "login"
        assert outcome["issue"][0]["details"]["text"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert world.task(task["id"])["status"] == "received", "nothing changed"


def test_mutual_tls_delivers_and_refusals_of_either_certificate_are_final(
    fhir_world: FhirWorld, tmp_path: Path
) -> None:
    world = fhir_world
    trusted = Authority(_folder(tmp_path, "trusted"), "region-ca")
    rogue = Authority(_folder(tmp_path, "rogue"), "rogue-ca")
    server = trusted.server("journal.region.test")
    good = trusted.client("kv-gateway-client")
    bad = rogue.client("kv-gateway-client")
    world.journal.require_auth = False  # the certificate is the authentication here
    with tls_front(world.peer_base, server, trusted.bundle) as base:
        world.repoint(f"{base}/fhir")
        world.use(tls=MutualTls(cert_file=good.cert, key_file=good.key), ca_file=trusted.bundle)
        first = world.submit()
        world.deliver()
        assert world.task(first["id"])["status"] == "received"
        assert len(world.journal.arrivals) == 1

        world.use(tls=MutualTls(cert_file=bad.cert, key_file=bad.key), ca_file=trusted.bundle)
        second = world.submit(BENGT.personnummer, case_id="2026-0002")
        world.deliver()
        message = _message_of(world, second["id"])
        assert message.status == DEAD
        assert "refused our client certificate (TLS alert" in (message.last_error or "")
        assert world.task(second["id"])["status"] == "failed"

        world.use(tls=MutualTls(cert_file=good.cert, key_file=good.key), ca_file=rogue.bundle)
        third = world.submit(case_id="2026-0003")
        world.deliver()
        message = _message_of(world, third["id"])
        assert message.status == DEAD
        assert "server certificate did not verify" in (message.last_error or "")
        assert len(world.journal.arrivals) == 1, "nothing reached the peer without trust"


def test_a_peer_that_drops_a_refused_certificate_silently_is_retried_with_a_hint(
    fhir_world: FhirWorld, tmp_path: Path
) -> None:
    world = fhir_world
    world.app.state.worker.policy = RetryPolicy(max_attempts=2, base_seconds=60)
    trusted = Authority(_folder(tmp_path, "trusted"), "region-ca")
    rogue = Authority(_folder(tmp_path, "rogue"), "rogue-ca")
    server, bad = trusted.server("journal"), rogue.client("gw")
    world.journal.require_auth = False
    with serve_tls(world.faults, server, trusted.bundle) as base:  # uvicorn sends no alert
        world.repoint(f"{base}/fhir")
        world.use(tls=MutualTls(cert_file=bad.cert, key_file=bad.key), ca_file=trusted.bundle)
        task = world.submit()
        world.deliver()
        message = _message_of(world, task["id"])
        assert message.status == "pending", "it may be a passing failure"
        assert "may do so: check tls.cert_file" in (message.last_error or "")
        _due_now(world)
        world.deliver()
    message = _message_of(world, task["id"])
    assert message.status == DEAD
    assert world.task(task["id"])["status"] == "failed"


def test_smart_and_mutual_tls_together(fhir_world: FhirWorld, tmp_path: Path) -> None:
    world = fhir_world
    ca = Authority(_folder(tmp_path, "ca"), "region-ca")
    server, client = ca.server("journal"), ca.client("gw")
    with serve_tls(world.faults, server, ca.bundle) as base:
        world.repoint(f"{base}/fhir")
        world.use(
            smart=world.smart(token_url=f"{base}/auth/token"),
            tls=MutualTls(cert_file=client.cert, key_file=client.key),
            ca_file=ca.bundle,
            receive="poll",
        )
        task = world.submit()
        world.deliver()
        world.journal.move(world.remote(task["id"])["id"], "in-progress")
        assert world.poll().changed == 1
    assert world.task(task["id"])["status"] == "in-progress"
    assert world.journal.auth.issued == 1


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    return folder


def _message_of(world: FhirWorld, task_id: str) -> OutboxMessage:
    return next(m for m in world.messages() if m.task == f"Task/{task_id}")
