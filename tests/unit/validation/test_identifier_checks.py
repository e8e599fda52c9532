"""The identifier step: Swedish identifiers wherever an Identifier sits."""

from __future__ import annotations

import datetime

from gateway.validation.identifier_checks import IdentifierValidator
from gateway.validation.identifiers import (
    SYSTEM_HSA_ID,
    SYSTEM_KOMMUNKOD,
    SYSTEM_LANSKOD,
    SYSTEM_ORGANISATIONSNUMMER,
    SYSTEM_PERSONNUMMER,
    SYSTEM_SAMORDNINGSNUMMER,
    synthetic_personnummer,
    synthetic_samordningsnummer,
)

CHECK = IdentifierValidator(today=lambda: datetime.date(2026, 1, 1))
PNR = synthetic_personnummer(datetime.date(1980, 5, 17), 123)
SNR = synthetic_samordningsnummer(datetime.date(1990, 2, 3), 42)
BAD_PNR = PNR[:-1] + str((int(PNR[-1]) + 1) % 10)


def test_valid_identifiers_pass() -> None:
    org = {
        "resourceType": "Organization",
        "identifier": [
            {"system": SYSTEM_KOMMUNKOD, "value": "0680"},
            {"system": SYSTEM_ORGANISATIONSNUMMER, "value": "2120000530"},
            {"system": SYSTEM_HSA_ID, "value": "SE2321000131-E000000000001"},
            {"system": SYSTEM_LANSKOD, "value": "06"},
        ],
    }
    assert CHECK(org) == []
    assert (
        CHECK(
            {
                "resourceType": "Patient",
                "identifier": [
                    {"system": SYSTEM_PERSONNUMMER, "value": PNR},
                    {"system": SYSTEM_SAMORDNINGSNUMMER, "value": SNR},
                ],
            }
        )
        == []
    )


def test_personnummer_with_a_wrong_check_digit() -> None:
    issues = CHECK(
        {
            "resourceType": "Patient",
            "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": BAD_PNR}],
        }
    )
    assert [i.expression for i in issues] == [("Patient.identifier[0].value",)]
    assert "Kontrollsiffran" in issues[0].text_sv
    assert BAD_PNR not in issues[0].text_sv + (issues[0].diagnostics or "")
    assert BAD_PNR[:8] not in issues[0].text_sv + (issues[0].diagnostics or "")


def test_each_kind_is_refused_with_swedish_text() -> None:
    cases = [
        (SYSTEM_KOMMUNKOD, "0699", "Kommunkoden"),
        (SYSTEM_LANSKOD, "99", "Länskoden"),
        (SYSTEM_ORGANISATIONSNUMMER, "2120000531", "organisationsnumret"),
        (SYSTEM_HSA_ID, "SE232-X", "HSA-id"),
        (SYSTEM_SAMORDNINGSNUMMER, PNR, "personnummer"),
    ]
    for system, value, word in cases:
        issues = CHECK(
            {"resourceType": "Organization", "identifier": [{"system": system, "value": value}]}
        )
        assert len(issues) == 1, system
        assert word.lower() in issues[0].text_sv.lower(), system


def test_identifiers_inside_references_and_backbone_elements() -> None:
    consent = {
        "resourceType": "Consent",
        "provision": {
            "actor": [{"reference": {"identifier": {"system": SYSTEM_HSA_ID, "value": "bad id"}}}]
        },
    }
    issues = CHECK(consent)
    assert [i.expression for i in issues] == [
        ("Consent.provision.actor[0].reference.identifier.value",)
    ]


def test_unknown_systems_and_non_identifiers_are_ignored() -> None:
    assert (
        CHECK(
            {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:x", "value": "?"}],
                "telecom": [{"system": "phone", "value": "x"}],
            }
        )
        == []
    )
    assert (
        CHECK(
            {
                "resourceType": "Patient",
                "extension": [
                    {"url": "u", "valueCoding": {"system": SYSTEM_KOMMUNKOD, "code": "9999"}}
                ],
            }
        )
        == []
    )


def test_bundle_entries_are_left_to_the_pipeline() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": BAD_PNR}],
                }
            }
        ],
    }
    assert CHECK(bundle) == []
