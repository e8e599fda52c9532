"""Registering a client system: where its keys may come from, which party it may act for,
its certificate's HSA-id; and ``kv-gateway clients add|token`` failing in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from joserfc.jwk import ECKey

from gateway.routing.directory import load_reference
from gateway.security.caller import PartyKind
from gateway.security.clients import ClientRegistrationError, ClientSpec, register
from gateway.store.resources import ResourceStore
from gateway.validation.pipeline import ValidationPipeline
from tests.integration.test_cli import run_cli
from tests.support.auth import new_identity

SCOPES = ("system/Patient.rs",)


def spec(client_id: str, **changes: Any) -> ClientSpec:
    fields: dict[str, Any] = {
        "client_id": client_id,
        "name": client_id,
        "party": "Organization/operator",
        "party_kind": PartyKind.OPERATOR,
        "scopes": SCOPES,
    }
    fields.update(changes)
    return ClientSpec(**fields)


def try_register(app: FastAPI, client_spec: ClientSpec, **options: Any) -> str | None:
    """None when registered, else the registration error's message."""
    with app.state.session_factory() as session, session.begin():
        try:
            register(session, client_spec, **options)
        except ClientRegistrationError as error:
            return str(error)
    return None


REFUSED_JWKS_URIS = (
    "http://127.0.0.1.nip.io/jwks",  # a public name that merely starts like loopback
    "http://localhost.evil.example/jwks",
    "http://127.0.0.1@evil.example/jwks",  # user information: the host is evil.example
    "https://127.0.0.1@evil.example/jwks",
    "https://user:secret@idp.example/jwks",
    "http://idp.example/jwks",
    "http://10.0.0.5/jwks",
    "ftp://idp.example/jwks",
    "https:///jwks",
    "https:idp.example/jwks",
    "https://idp.example:99999/jwks",
    "https://idp.example/jwks\n",
    "https://idp.example/" + "j" * 600,
)
ACCEPTED_JWKS_URIS = (
    "https://idp.example/jwks",
    "https://10.0.0.5:8443/jwks",  # a client's keys may be published on an internal network
    "http://127.0.0.1:8080/jwks",
    "http://127.1.2.3/jwks",
    "http://localhost/jwks",
    "http://[::1]:8080/jwks",
)


def test_a_jwks_uri_is_https_or_http_to_this_host(app: FastAPI) -> None:
    for index, uri in enumerate(REFUSED_JWKS_URIS):
        refused = try_register(app, spec(f"refused-{index}", jwks_uri=uri), loopback_http=True)
        assert "jwks_uri" in (refused or ""), uri
    for index, uri in enumerate(ACCEPTED_JWKS_URIS):
        assert try_register(app, spec(f"ok-{index}", jwks_uri=uri), loopback_http=True) is None


def test_plain_http_to_this_host_only_in_development(app: FastAPI) -> None:
    refused = try_register(
        app, spec("prod-loopback", jwks_uri="http://127.0.0.1/jwks"), loopback_http=False
    )
    assert "https" in (refused or "")
    assert try_register(app, spec("prod", jwks_uri="https://idp.example/jwks")) is None


def test_the_certificate_hsa_id_must_be_an_hsa_id(app: FastAPI) -> None:
    for index, value in enumerate(
        ("SE2120000142-SYS1\n", " SE2120000142-SYS1", "se2120000142-SYS1", "SE21-SYS1", "")
    ):
        refused = try_register(app, spec(f"cert-{index}", cert_hsa_id=value))
        assert "HSA-id" in (refused or ""), repr(value)
    assert try_register(app, spec("cert-ok", cert_hsa_id="SE2120000142-SYS1")) is None


def test_a_certificate_hsa_id_that_is_already_registered_is_refused(app: FastAPI) -> None:
    assert try_register(app, spec("first", cert_hsa_id="SE2120000142-SYS1")) is None
    refused = try_register(app, spec("second", cert_hsa_id="SE2120000142-SYS1"))
    assert "'first'" in (refused or "")
    assert "SE2120000142-SYS1" in (refused or "")


def test_the_party_must_be_backed_by_the_directory(app: FastAPI) -> None:
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        load_reference(store, ValidationPipeline())
        region = store.read("Organization", "region-21").body
        assert region is not None
        body = {k: v for k, v in region.items() if k not in ("id", "meta")}
        store.update({**body, "active": False}, "region-21")
    refused = [
        ("Organization/region-21", PartyKind.REGION, "inactive"),
        ("Organization/does-not-exist", PartyKind.KOMMUN, "not in the directory"),
        ("Organization/vc-does-not-exist", PartyKind.VARDCENTRAL, "not in the directory"),
        ("Organization/kommun-0180", PartyKind.OPERATOR, "not operator"),
        ("Organization/kommun-0180", PartyKind.TEST_HARNESS, "not test-harness"),
        ("Organization/kommun-0180", PartyKind.VARDCENTRAL, "not vardcentral"),
        ("Organization/region-06", PartyKind.KOMMUN, "not kommun"),
    ]
    for index, (party, kind, why) in enumerate(refused):
        client = spec(
            f"refused-{index}", party=party, party_kind=kind, jwks=new_identity().public_jwks()
        )
        message = try_register(app, client, check_directory=True)
        assert why in (message or ""), (party, kind, message)
    accepted = [
        ("Organization/kommun-0180", PartyKind.KOMMUN),
        ("Organization/region-06", PartyKind.REGION),
        # The gateway's own parties, which are not in the directory (clients demo, tests).
        ("Organization/operator", PartyKind.OPERATOR),
        ("Organization/auditor", PartyKind.AUDITOR),
        ("Organization/test-harness", PartyKind.TEST_HARNESS),
    ]
    for index, (party, kind) in enumerate(accepted):
        client = spec(
            f"ok-{index}", party=party, party_kind=kind, jwks=new_identity().public_jwks()
        )
        assert try_register(app, client, check_directory=True) is None, (party, kind)


# ----- the command line -----------------------------------------------------------------


def one_line_failure(result: Any) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    stderr: str = result.stderr
    return stderr


def test_clients_add_refuses_in_one_line(database_url: str, tmp_path: Path) -> None:
    env = {"KVGW_DATABASE_URL": database_url}
    assert run_cli("directory", "seed-reference", env=env).returncode == 0

    def add(client_id: str, party: str, kind: str, *key: str) -> Any:
        return run_cli(
            "clients",
            "add",
            client_id,
            "--party",
            party,
            "--kind",
            kind,
            "--scope",
            "system/Patient.rs",
            *key,
            env=env,
        )

    kommun = ("Organization/kommun-0180", "kommun")
    for uri in (
        "http://127.0.0.1.nip.io/jwks",
        "http://localhost.evil.example/jwks",
        "http://127.0.0.1@evil.example/jwks",
    ):
        assert "jwks_uri" in one_line_failure(add("c-uri", *kommun, "--jwks-uri", uri))
    certificate = ("--cert-hsa-id", "SE2120000142-SYS1")
    missing = add("c-missing", "Organization/does-not-exist", "kommun", *certificate)
    assert "not in the directory" in one_line_failure(missing)
    operator = add("c-operator", "Organization/kommun-0180", "operator", *certificate)
    assert "not operator" in one_line_failure(operator)
    newline = add("c-newline", *kommun, "--cert-hsa-id", "SE2120000142-SYS1\nX")
    assert "HSA-id" in one_line_failure(newline)
    assert add("c-first", *kommun, *certificate).returncode == 0
    duplicate = add("c-second", *kommun, *certificate)
    assert "already registered" in one_line_failure(duplicate)
    listed = run_cli("clients", "list", env=env).stdout
    assert "c-first" in listed
    assert not {"c-uri", "c-missing", "c-operator", "c-newline", "c-second"} & set(listed.split())


def test_clients_token_with_a_bad_key_file_is_one_line(tmp_path: Path) -> None:
    env = {"KVGW_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    private = {**ECKey.generate_key("P-384").as_dict(private=True), "kid": "k1"}
    broken = {
        "no-crv": {k: v for k, v in private.items() if k != "crv"},
        "no-x": {k: v for k, v in private.items() if k != "x"},
        "no-kid": {k: v for k, v in private.items() if k != "kid"},
        "public": {k: v for k, v in private.items() if k != "d"},
        "not-an-object": [private],
    }
    for name, content in broken.items():
        key_file = tmp_path / f"{name}.jwk.json"
        key_file.write_text(json.dumps(content))
        result = run_cli(
            "clients", "token", "c", "--key", str(key_file), "--url", "http://127.0.0.1:9", env=env
        )
        assert str(key_file) in one_line_failure(result), name
