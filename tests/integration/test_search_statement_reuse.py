"""A search statement is built once per shape and reused: the values of one search must
never stay in the statement for the next, above all not the party that may see them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from gateway.search import sql
from gateway.search.query import parse_search
from gateway.store.resources import ResourceStore
from gateway.store.visibility import of_party


def _organization(name: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "name": name,
        "identifier": [{"system": "urn:test:org", "value": code}],
    }


def test_same_shape_other_values_other_results(app: FastAPI) -> None:
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        alfa = store.create(_organization("Alfa 100%", "A-1"))
        beta = store.create(_organization("Beta_1", "B-1"))
        store.create(_organization("Gamma", "G-1"))

    def found(*items: tuple[str, str]) -> set[str]:
        with app.state.session_factory() as session:
            query = parse_search("Organization", list(items), max_count=50)
            matches, _ = ResourceStore(session).search(query, with_total=False)
            return {m.id for m in matches}

    before = sql._page_statement.cache_info()
    assert found(("identifier", "urn:test:org|A-1")) == {alfa.id}
    assert found(("identifier", "urn:test:org|B-1")) == {beta.id}
    # LIKE patterns are values too, escaped: % and _ match themselves only.
    assert found(("name:contains", "0%")) == {alfa.id}
    assert found(("name:contains", "a_")) == {beta.id}
    assert found(("name:contains", "_")) == {beta.id}
    after = sql._page_statement.cache_info()
    assert after.hits - before.hits >= 2  # each pair shared one statement


def test_one_partys_search_statement_shows_another_party_only_its_own(app: FastAPI) -> None:
    with app.state.session_factory() as session, session.begin():
        store = ResourceStore(session)
        first = store.create(_organization("Första", "P-1"))
        second = store.create(_organization("Andra", "P-2"))
        store.grant("Organization", first.id, {"Organization/kommun-a"})
        store.grant("Organization", second.id, {"Organization/kommun-b"})

    def seen_by(party: str) -> set[str]:
        with app.state.session_factory() as session:
            query = parse_search("Organization", [("identifier", "urn:test:org|")], max_count=50)
            matches, total = ResourceStore(session).search(query, visibility=of_party(party))
            assert total == len(matches)
            return {m.id for m in matches}

    assert seen_by("Organization/kommun-a") == {first.id}
    assert seen_by("Organization/kommun-b") == {second.id}
    assert seen_by("Organization/kommun-c") == set()
