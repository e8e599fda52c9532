"""Tests for gateway.routing.reference_data and the packaged SCB CSV files."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from gateway.routing import reference_data as rd
from gateway.routing.reference_data import (
    Kommun,
    ReferenceDataError,
    Region,
    kommun,
    kommuner,
    kommuner_in_region,
    parse_kommuner,
    parse_regions,
    region,
    region_for_kommun,
    regions,
)

# SCB, Län och kommuner i kodnummerordning (division unchanged since 2007).
EXPECTED_COUNTS: dict[str, int] = {
    "01": 26,  # Stockholm
    "03": 8,  # Uppsala
    "04": 9,  # Södermanland
    "05": 13,  # Östergötland
    "06": 13,  # Jönköping
    "07": 8,  # Kronoberg
    "08": 12,  # Kalmar
    "09": 1,  # Gotland
    "10": 5,  # Blekinge
    "12": 33,  # Skåne
    "13": 6,  # Halland
    "14": 49,  # Västra Götaland
    "17": 16,  # Värmland
    "18": 12,  # Örebro
    "19": 10,  # Västmanland
    "20": 15,  # Dalarna
    "21": 10,  # Gävleborg
    "22": 7,  # Västernorrland
    "23": 8,  # Jämtland
    "24": 15,  # Västerbotten
    "25": 14,  # Norrbotten
}


def test_21_regions() -> None:
    all_regions = regions()
    assert len(all_regions) == 21
    assert set(all_regions) == set(EXPECTED_COUNTS)
    for code, reg in all_regions.items():
        assert reg.lanskod == code
        assert reg.lan.endswith(" län")


def test_290_kommuner_with_unique_codes_and_names() -> None:
    all_kommuner = kommuner()
    assert len(all_kommuner) == 290
    assert len({k.name for k in all_kommuner.values()}) == 290
    for code, k in all_kommuner.items():
        assert k.kommunkod == code
        assert len(code) == 4
        assert code.isdigit()
        assert code[:2] == k.lanskod
        assert k.lanskod in regions()


def test_per_lan_counts_match_scb() -> None:
    counts = Counter(k.lanskod for k in kommuner().values())
    assert dict(counts) == EXPECTED_COUNTS
    for lanskod, count in EXPECTED_COUNTS.items():
        assert len(kommuner_in_region(lanskod)) == count


@pytest.mark.parametrize(
    ("kod", "name", "lanskod"),
    [
        ("0114", "Upplands Väsby", "01"),
        ("0180", "Stockholm", "01"),
        ("0187", "Vaxholm", "01"),
        ("0139", "Upplands-Bro", "01"),
        ("0330", "Knivsta", "03"),
        ("0331", "Heby", "03"),
        ("0380", "Uppsala", "03"),
        ("0484", "Eskilstuna", "04"),
        ("0580", "Linköping", "05"),
        ("0680", "Jönköping", "06"),
        ("0780", "Växjö", "07"),
        ("0880", "Kalmar", "08"),
        ("0980", "Gotland", "09"),
        ("1080", "Karlskrona", "10"),
        ("1256", "Östra Göinge", "12"),
        ("1280", "Malmö", "12"),
        ("1380", "Halmstad", "13"),
        ("1438", "Dals-Ed", "14"),
        ("1462", "Lilla Edet", "14"),
        ("1480", "Göteborg", "14"),
        ("1780", "Karlstad", "17"),
        ("1880", "Örebro", "18"),
        ("1980", "Västerås", "19"),
        ("2023", "Malung-Sälen", "20"),
        ("2180", "Gävle", "21"),
        ("2281", "Sundsvall", "22"),
        ("2321", "Åre", "23"),
        ("2380", "Östersund", "23"),
        ("2480", "Umeå", "24"),
        ("2584", "Kiruna", "25"),
    ],
)
def test_kommun_spot_checks(kod: str, name: str, lanskod: str) -> None:
    assert kommun(kod) == Kommun(kommunkod=kod, name=name, lanskod=lanskod)


@pytest.mark.parametrize(
    ("lanskod", "lan", "name"),
    [
        ("01", "Stockholms län", "Region Stockholm"),
        ("04", "Södermanlands län", "Region Sörmland"),
        ("09", "Gotlands län", "Region Gotland"),
        ("14", "Västra Götalands län", "Västra Götalandsregionen"),
        ("23", "Jämtlands län", "Region Jämtland Härjedalen"),
        ("25", "Norrbottens län", "Region Norrbotten"),
    ],
)
def test_region_spot_checks(lanskod: str, lan: str, name: str) -> None:
    assert region(lanskod) == Region(lanskod=lanskod, lan=lan, name=name)


def test_region_for_kommun() -> None:
    assert region_for_kommun("1480") == region("14")
    assert region_for_kommun("0331") == region("03")  # Heby, moved from Västmanland 2007
    reg = region_for_kommun("0980")
    assert reg is not None
    assert reg.name == "Region Gotland"


@pytest.mark.parametrize("kod", ["", "0116", "1180", "180", "01800", "abcd"])
def test_unknown_codes(kod: str) -> None:
    assert kommun(kod) is None
    assert region_for_kommun(kod) is None


def test_unknown_region() -> None:
    assert region("02") is None
    assert kommuner_in_region("02") == []


def test_kommuner_in_region_sorted() -> None:
    codes = [k.kommunkod for k in kommuner_in_region("01")]
    assert codes == sorted(codes)
    assert codes[0] == "0114"
    assert codes[-1] == "0192"


def test_returned_dicts_are_copies_and_values_frozen() -> None:
    first = kommuner()
    first.clear()
    assert len(kommuner()) == 290
    regs = regions()
    regs.pop("01")
    assert "01" in regions()
    k = kommun("0180")
    assert k is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        k.name = "X"  # type: ignore[misc]


# --------------------------------------------------------------------------- loader checks

_REGIONS_OK = [
    "lanskod,lan,region",
    "01,Stockholms län,Region Stockholm",
    "03,Uppsala län,Region Uppsala",
]


def _regions_ok() -> dict[str, Region]:
    return parse_regions(_REGIONS_OK, "test")


def test_parse_ok() -> None:
    regs = _regions_ok()
    parsed = parse_kommuner(
        ["kommunkod,kommun,lanskod", "0180,Stockholm,01", "0380,Uppsala,03", ""], regs, "test"
    )
    assert set(parsed) == {"0180", "0380"}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "empty"),
        (["lanskod,lan"], "header"),
        (["lanskod,lan,region"], "no regions"),
        (["lanskod,lan,region", "1,Stockholms län,Region Stockholm"], "malformed länskod"),
        (["lanskod,lan,region", "00,Riket,Region Riket"], "malformed länskod"),
        (["lanskod,lan,region", "0A,Stockholms län,Region Stockholm"], "malformed länskod"),
        (["lanskod,lan,region", "01,Stockholms län,Region Stockholm", "01,X,Y"], "duplicate"),
        (["lanskod,lan,region", "01,Stockholms län"], "expected 3 fields"),
        (["lanskod,lan,region", "01,,Region Stockholm"], "empty field"),
        (["lanskod,lan,region", "01, Stockholms län,Region Stockholm"], "whitespace"),
    ],
)
def test_parse_regions_rejects(lines: list[str], message: str) -> None:
    with pytest.raises(ReferenceDataError, match=message):
        parse_regions(lines, "test")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["0180,Stockholm,01", "0380,Uppsala,03", "180,X,01"], "malformed kommunkod"),
        (["0180,Stockholm,01", "0380,Uppsala,03", "01801,X,01"], "malformed kommunkod"),
        (["0180,Stockholm,01", "0380,Uppsala,03", "0180,X,01"], "duplicate kommunkod"),
        (["0180,Stockholm,03", "0380,Uppsala,03"], "does not start with its länskod"),
        (["0180,Stockholm,01", "0380,Uppsala,03", "2584,Kiruna,25"], "unknown länskod"),
        (["0180,Stockholm,01"], "no kommuner for länskod 03"),
        (["0180,Stockholm"], "expected 3 fields"),
    ],
)
def test_parse_kommuner_rejects(rows: list[str], message: str) -> None:
    with pytest.raises(ReferenceDataError, match=message):
        parse_kommuner(["kommunkod,kommun,lanskod", *rows], _regions_ok(), "test")


def test_error_names_file_and_line() -> None:
    with pytest.raises(ReferenceDataError, match=r"kommuner\.csv:3: duplicate"):
        parse_kommuner(
            ["kommunkod,kommun,lanskod", "0180,Stockholm,01", "0180,Stockholm,01"],
            _regions_ok(),
            "kommuner.csv",
        )


def test_packaged_files_load_once() -> None:
    assert rd._kommuner() is rd._kommuner()
    assert rd._regions() is rd._regions()
