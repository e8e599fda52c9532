"""Person identifiers for routing: checked, canonical, never shown."""

from __future__ import annotations

import datetime

import pytest

from gateway.rivta.soap import SoapError, body_child, parse
from gateway.routing.person import ListingHasher, PersonId, PersonIdError
from gateway.validation.identifiers import (
    SYSTEM_PERSONNUMMER,
    SYSTEM_PERSONNUMMER_OID,
    synthetic_personnummer,
)

PNR = synthetic_personnummer(datetime.date(1977, 7, 7), 777)


def test_the_number_never_shows_in_repr_or_str() -> None:
    person = PersonId.parse(SYSTEM_PERSONNUMMER, PNR)
    assert PNR not in repr(person)
    assert PNR not in str(person)
    assert PNR not in repr([person])


def test_oid_and_uri_systems_give_the_same_key() -> None:
    hasher = ListingHasher(b"0123456789abcdef0123")
    by_uri = hasher.key_for(PersonId.parse(SYSTEM_PERSONNUMMER, PNR))
    by_oid = hasher.key_for(PersonId.parse(SYSTEM_PERSONNUMMER_OID, PNR))
    assert by_uri == by_oid
    assert len(by_uri) == 32
    assert (
        ListingHasher(b"another-key-0123456").key_for(PersonId.parse(SYSTEM_PERSONNUMMER, PNR))
        != by_uri
    )


@pytest.mark.parametrize(
    ("system", "value", "code"),
    [
        ("urn:x", PNR, "person-system"),
        (SYSTEM_PERSONNUMMER, None, "person-value"),
        (SYSTEM_PERSONNUMMER, PNR[:-1] + str((int(PNR[-1]) + 1) % 10), "personnummer-checksum"),
    ],
)
def test_bad_identifiers_are_refused_without_the_value(
    system: str, value: str | None, code: str
) -> None:
    with pytest.raises(PersonIdError) as caught:
        PersonId.parse(system, value)
    assert caught.value.code == code
    assert PNR not in caught.value.text_sv
    assert PNR not in str(caught.value)


def test_short_hash_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        ListingHasher(b"short")


def test_soap_parser_refuses_entities_and_wrong_envelopes() -> None:
    with pytest.raises(SoapError) as xxe:
        parse(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    assert xxe.value.reason == "unsafe-xml"
    with pytest.raises(SoapError) as wrong:
        body_child(b"<notsoap/>", "{urn:x}Answer")
    assert wrong.value.reason == "malformed-response"
