"""``kv-gateway inbox``: local accounts made from the command line, on both backends."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.database import open_database
from gateway.settings import Settings
from gateway.store.db import make_engine
from gateway.web.inbox.accounts import LocalAccounts, add_account
from tests.integration.test_cli import run_cli


def _sign_in(database_url: str, username: str, password: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            result = LocalAccounts().sign_in(session, username, password)
    finally:
        engine.dispose()
    return result.user.party if result.user else None


def test_the_demo_user_gets_a_fresh_password_that_signs_in(database_url: str) -> None:
    env = {"KVGW_DATABASE_URL": database_url, "KVGW_PUBLIC_BASE_URL": "http://127.0.0.1:8080"}
    assert run_cli("seed", "demo", env=env).returncode == 0
    first = run_cli("inbox", "demo-user", env=env)
    assert first.returncode == 0, first.stderr
    assert "sign in at  http://127.0.0.1:8080/inbox/logga-in" in first.stdout
    password = re.search(r"password\s+(\S+)", first.stdout)
    assert password is not None
    assert _sign_in(database_url, "rehab.halmstad", password.group(1)) == (
        "Organization/vc-halmstad-norr"
    )
    second = run_cli("inbox", "demo-user", env=env)
    new_password = re.search(r"password\s+(\S+)", second.stdout)
    assert new_password is not None
    assert new_password.group(1) != password.group(1)
    assert _sign_in(database_url, "rehab.halmstad", password.group(1)) is None, "old one void"
    listed = run_cli("inbox", "list", env=env)
    assert listed.returncode == 0
    assert listed.stdout.split() == ["rehab.halmstad", "Organization/vc-halmstad-norr", "enabled"]


def _add_user(env: dict[str, str], party: str, password: str = "ett långt lösenord") -> Any:
    return run_cli(
        "inbox", "add-user", "anna.rehab", "--party", party, "--password", password, env=env
    )


def _refused_as_no_care_unit(database_url: str, party: str) -> None:
    database = open_database(Settings(database_url=database_url, _env_file=None))
    try:
        with (
            database.sessions() as session,
            session.begin(),
            pytest.raises(ValueError, match=f"^{party} is not a care unit in the directory"),
        ):
            add_account(session, "anna.rehab", "ett långt lösenord", party, "Anna")
    finally:
        database.dispose()


def test_add_user_checks_its_input_in_one_line(database_url: str) -> None:
    env = {"KVGW_DATABASE_URL": database_url}
    unit = "Organization/vc-jonkoping-centrum"
    not_yet = _add_user(env, unit)
    assert not_yet.returncode == 1, "the directory does not hold the unit yet"
    assert not_yet.stderr.strip() == (
        f"kv-gateway: {unit} is not a care unit in the directory (an Organization with an "
        "HSA-id); load the directory first"
    )
    assert run_cli("seed", "demo", env=env).returncode == 0
    kommun = _add_user(env, "Organization/kommun-2180")
    assert kommun.returncode == 1
    assert "Organization/kommun-2180 is not a care unit" in kommun.stderr
    for not_a_unit in ("Organization/region-06", "Organization/vc-x"):
        _refused_as_no_care_unit(database_url, not_a_unit)
    short = _add_user(env, unit, password="kort")
    assert short.returncode == 1
    assert short.stderr.strip() == "kv-gateway: the password must have at least 12 characters"
    bad_party = run_cli("inbox", "add-user", "anna.rehab", "--party", "vc-x", env=env)
    assert bad_party.returncode == 1
    assert "Organization/<id>" in bad_party.stderr
    made = run_cli(
        "inbox",
        "add-user",
        "Anna.Rehab",
        "--party",
        unit,
        "--name",
        "Anna R",
        "--password",
        "ett långt lösenord",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    assert "password" not in made.stdout, "a password she chose is not printed"
    assert _sign_in(database_url, "anna.rehab", "ett långt lösenord") == unit
    assert run_cli("inbox", "list", env=env).stdout.split() == ["anna.rehab", unit, "enabled"]


def test_make_run_s_demo_request_is_in_the_demo_user_s_inbox(database_url: str) -> None:
    """What README's *Inbox* section promises after ``make run``."""
    env = {"KVGW_DATABASE_URL": database_url}
    assert run_cli("seed", "demo", env=env).returncode == 0
    sent = run_cli("inbox", "demo-request", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "demo request DEMO-INKORG-1 sent: Task/" in sent.stdout
    again = run_cli("inbox", "demo-request", env=env)
    assert "already sent" in again.stdout
    made = run_cli("inbox", "demo-user", env=env)
    password = re.search(r"password\s+(\S+)", made.stdout)
    assert password is not None

    settings = Settings(
        database_url=database_url,
        public_base_url="http://testserver",
        delivery_worker_in_process=False,
        _env_file=None,
    )
    app = create_app(settings)
    try:
        assert app.state.worker.drain() == 1, "delivered into the inbox"
        browser = TestClient(app, follow_redirects=True)
        token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/inbox/logga-in").text)
        assert token is not None
        listing = browser.post(
            "/inbox/logga-in",
            data={
                "csrf": token.group(1),
                "username": "rehab.halmstad",
                "password": password.group(1),
            },
        )
        assert listing.status_code == 200
        task = re.search(r'href="(/inbox/arenden/[^"]+)">Cecilia Demodotter<', listing.text)
        assert task is not None, listing.text
        page = browser.get(task.group(1)).text
        for shown in (
            "Socialtjänsten, Halmstad kommun",
            "Sara Handläggare",
            "Praktik i kommunens second hand-butik, förmiddagar.",
            "RH2",
            "Skriftligt samtycke",
        ):
            assert shown in page
    finally:
        app.state.engine.dispose()
