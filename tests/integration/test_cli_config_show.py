"""``kv-gateway config show``: no password of any URL-valued setting is printed."""

from __future__ import annotations

import json

from gateway.resources.urls import mask_url_password, mask_url_passwords
from tests.support.cli import invoke


def test_config_show_masks_the_password_in_every_url_valued_setting() -> None:
    result = invoke(
        "config",
        "show",
        env={
            # "@" in the query: the password must still go, the host stay readable
            "KVGW_DATABASE_URL": "postgresql+psycopg://kv:hemligt1@db:5432/kv?application_name=a@b",
            "KVGW_PUBLIC_BASE_URL": "https://gw:hemligt2@kv-gateway.example.se",
            "KVGW_RIVTA_GET_LISTING_URL": "https://ntjp:hemligt3@ntjp.example.se/vp/GetListing",
            "KVGW_METRICS_TOKEN": "hemligt5",
        },
    )
    assert result.exit_code == 0, result.output
    assert "hemligt" not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["database_url"] == (
        "postgresql+psycopg://kv:********@db:5432/kv?application_name=a@b"
    )
    assert shown["public_base_url"] == "https://gw:********@kv-gateway.example.se"
    assert shown["rivta_get_listing_url"] == "https://ntjp:********@ntjp.example.se/vp/GetListing"
    assert shown["metrics_token"] == "********"  # a secret stays masked whole
    assert shown["canonical_base"] == "https://kv-gateway.se/fhir"  # nothing to mask


def test_what_is_masked_in_a_url() -> None:
    for given, shown in {
        "postgresql://u:p%40ss/w?rd@db/kv": "postgresql://u:********@db/kv",
        "postgresql://u@db/kv?sslmode=require&password=x&y=1": (
            "postgresql://u@db/kv?sslmode=require&password=********&y=1"
        ),
        "postgresql://u:********@db/kv": "postgresql://u:********@db/kv",  # already masked
        "https://token@git.example/x": "https://token@git.example/x",  # no password
        "sqlite:///var/data@home/kv.db": "sqlite:///var/data@home/kv.db",
        "not a url: a:b@c": "not a url: a:b@c",
    }.items():
        assert mask_url_password(given) == shown, given


def test_urls_nested_in_a_setting_are_masked_too() -> None:
    nested = {"06": ["https://region:hemligt@fhir.example/fhir"], "07": 7}
    assert mask_url_passwords(nested) == {
        "06": ["https://region:********@fhir.example/fhir"],
        "07": 7,
    }
