"""Property-based fuzzing of the whole API from its OpenAPI description: never a 500.

Authenticated as the operator (every scope), with a fixed seed (derandomized) and a
bounded number of examples per operation, on SQLite, so it stays cheap enough for every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from gateway.app import create_app
from gateway.security.caller import PartyKind
from gateway.settings import AuthMode, Settings
from gateway.store.migrate import upgrade
from tests.support.auth import bearer, register_client

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def fuzzed_app(tmp_path: Path) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,  # type: ignore[arg-type]
        auth_mode=AuthMode.SMART,
        public_base_url="http://testserver",
        rate_limit_per_minute=0,
    )
    app = create_app(settings)
    operator = register_client(app, "Organization/operator", PartyKind.OPERATOR)
    with TestClient(app) as http:
        yield app, bearer(http, operator)
    app.state.engine.dispose()


def test_no_operation_answers_500(fuzzed_app: tuple[FastAPI, dict[str, str]]) -> None:
    app, auth = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case) -> None:
            response = case.call(headers=auth)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            if response.status_code >= 400 and case.path.startswith("/fhir"):
                content_type = response.headers.get("content-type") or [""]
                first = content_type[0] if isinstance(content_type, list) else content_type
                assert first.startswith(("application/fhir+json", "application/json")), first
                assert (
                    response.json()["resourceType"] == "OperationOutcome"
                    or "error" in response.json()
                )

        exercise()
    assert operations >= 10
    assert failures == []
