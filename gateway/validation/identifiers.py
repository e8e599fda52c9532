"""Checks for Swedish identifiers used on FHIR ``Identifier.system``/``value`` pairs.

Every ``check_*`` function returns ``None`` when the value is valid, or an
:class:`IdentifierProblem` with a stable machine ``code`` and a Swedish explanation
(``text_sv``) written for a socialsekreterare or rehabkoordinator.

**The explanation never contains the checked value, or any part of it.** Identifiers are
patient data; problems end up in logs, OperationOutcomes and UI messages.

Accepted forms (decided for the FHIR systems, where values travel unformatted):

* personnummer / samordningsnummer: exactly 12 digits ``ÅÅÅÅMMDDNNNK``. The 10-digit
  form (``ÅÅMMDDNNNK``), the hyphen/plus forms (``ÅÅÅÅMMDD-NNNK``, ``ÅÅMMDD-NNNK``,
  ``ÅÅMMDD+NNNK``) and surrounding whitespace are rejected with a text that says the
  expected form. The gateway does not guess the century of a 10-digit number.
  The date must be a real calendar date, not in the future and not before 1840;
  the check digit is Luhn over the 10-digit form. Day 61–91 means samordningsnummer
  (day + 60); such a number on the personnummer system is rejected, and vice versa.
* organisationsnummer: exactly 10 digits, Luhn. ``NNNNNN-NNNN`` and the 12-digit form
  (``16`` + number) are rejected with a text saying the expected form. Digits 3–4 are
  not required to be >= 20, because an enskild näringsidkare (e.g. a privately run
  mottagning) uses the owner's personnummer as organisationsnummer.
* HSA-id: ``SE`` + the issuer's organisationsnummer (10 digits, or 12 digits in the
  ``16``-prefixed form) + ``-`` + at least one letter ``A–Z``/``a–z`` or digit, at most 31
  characters in total (Inera's HSA rules: å, ä, ö, ``@`` and spaces are not allowed).
  Format only, no Luhn on the embedded number. Test-environment ids such as
  ``TSTNMT2321000156-…`` are rejected.
* kommunkod / länskod: 4 / 2 digits that exist in the SCB reference data
  (:mod:`gateway.routing.reference_data`, packaged CSV read once and cached; the only
  non-pure part of this module).
* nationellt reservnummer: formats differ between regions, so only a non-empty value
  without surrounding whitespace is required.

Systems not listed here are not checked (:func:`check_identifier` returns ``None``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from gateway.routing import reference_data

__all__ = [
    "KNOWN_SYSTEMS",
    "MIN_BIRTH_YEAR",
    "SYSTEM_HSA_ID",
    "SYSTEM_HSA_ID_RIVTA",
    "SYSTEM_KOMMUNKOD",
    "SYSTEM_LANSKOD",
    "SYSTEM_ORGANISATIONSNUMMER",
    "SYSTEM_ORGANISATIONSNUMMER_RIVTA",
    "SYSTEM_PERSONNUMMER",
    "SYSTEM_PERSONNUMMER_OID",
    "SYSTEM_RESERVNUMMER",
    "SYSTEM_SAMORDNINGSNUMMER",
    "SYSTEM_SAMORDNINGSNUMMER_OID",
    "IdentifierProblem",
    "birth_date_from_personnummer",
    "check_hsa_id",
    "check_identifier",
    "check_kommunkod",
    "check_lanskod",
    "check_organisationsnummer",
    "check_personnummer",
    "check_reservnummer",
    "check_samordningsnummer",
    "is_samordningsnummer",
    "luhn_check_digit",
    "luhn_valid",
    "synthetic_personnummer",
    "synthetic_samordningsnummer",
]

SYSTEM_PERSONNUMMER = "http://electronichealth.se/identifier/personnummer"
SYSTEM_PERSONNUMMER_OID = "urn:oid:1.2.752.129.2.1.3.1"
SYSTEM_SAMORDNINGSNUMMER = "http://electronichealth.se/identifier/samordningsnummer"
SYSTEM_SAMORDNINGSNUMMER_OID = "urn:oid:1.2.752.129.2.1.3.3"
SYSTEM_RESERVNUMMER = "http://electronichealth.se/identifier/nationelltReservnummer"
SYSTEM_HSA_ID = "urn:oid:1.2.752.29.4.19"
SYSTEM_HSA_ID_RIVTA = "urn:oid:1.2.752.129.2.1.4.1"
SYSTEM_ORGANISATIONSNUMMER = "urn:oid:2.5.4.97"
SYSTEM_ORGANISATIONSNUMMER_RIVTA = "urn:oid:1.2.752.29.4.3"
SYSTEM_KOMMUNKOD = "urn:oid:1.2.752.129.2.2.1.17"
SYSTEM_LANSKOD = "urn:oid:1.2.752.129.2.2.1.18"

MIN_BIRTH_YEAR = 1840
"""Earliest birth year accepted in a personnummer (catches typos such as year 0990)."""

SAMORDNING_DAY_OFFSET = 60
HSA_ID_MAX_LENGTH = 31

_DIGITS_RE = re.compile(r"[0-9]+")
_HSA_ID_RE = re.compile(r"SE(?:[0-9]{10}|[0-9]{12})-[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class IdentifierProblem:
    """Why an identifier value is not acceptable.

    ``text_sv`` never contains the identifier value (or any part of it).
    """

    code: str
    """Stable machine code, e.g. ``"personnummer-checksum"``."""
    text_sv: str
    """Explanation in Swedish for the person who entered or sent the value."""


# ---------------------------------------------------------------------------
# Luhn


def luhn_check_digit(digits: str) -> int:
    """The Luhn (mod 10) check digit to append to ``digits``.

    For a personnummer pass the 9 digits ``ÅÅMMDDNNN``; for an organisationsnummer its
    first 9 digits. Raises :class:`ValueError` unless ``digits`` is a non-empty ASCII digit
    string.
    """
    if not _DIGITS_RE.fullmatch(digits):
        raise ValueError("luhn_check_digit needs a non-empty string of digits 0-9")
    total = 0
    # Double every other digit starting with the rightmost digit of the payload.
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def luhn_valid(digits: str) -> bool:
    """Whether the last digit of ``digits`` is the Luhn check digit of the others.

    Returns ``False`` (never raises) for anything that is not at least two ASCII digits.
    """
    if len(digits) < 2 or not _DIGITS_RE.fullmatch(digits):
        return False
    return luhn_check_digit(digits[:-1]) == int(digits[-1])


# ---------------------------------------------------------------------------
# personnummer / samordningsnummer


@dataclass(frozen=True, slots=True)
class _Kind:
    code: str  # prefix of problem codes
    label: str  # "personnumret" / "samordningsnumret" (definite form)
    label_cap: str
    example: str  # expected form


_PNR = _Kind("personnummer", "personnumret", "Personnumret", "ÅÅÅÅMMDDNNNK")
_SNR = _Kind("samordningsnummer", "samordningsnumret", "Samordningsnumret", "ÅÅÅÅMMDDNNNK")


def _problem(kind: _Kind, suffix: str, text: str) -> IdentifierProblem:
    return IdentifierProblem(code=f"{kind.code}-{suffix}", text_sv=text)


def _check_person_form(kind: _Kind, value: str) -> IdentifierProblem | None:
    """Shape checks shared by personnummer and samordningsnummer (no date, no Luhn)."""
    expected = f"12 siffror utan bindestreck ({kind.example})"
    if not value.strip():
        return _problem(kind, "empty", f"{kind.label_cap} saknas. Ange det med {expected}.")
    if value != value.strip():
        return _problem(
            kind,
            "whitespace",
            f"{kind.label_cap} har mellanslag före eller efter. Ange det med {expected}.",
        )
    if _DIGITS_RE.fullmatch(value) and len(value) == 10:
        return _problem(
            kind,
            "ten-digits",
            f"{kind.label_cap} har bara 10 siffror. Ange det med {expected}, "
            "alltså med århundradet först (till exempel 19 eller 20).",
        )
    if (
        len(value) in (11, 13)
        and value[-5] in "-+"
        and _DIGITS_RE.fullmatch(value.replace(value[-5], "", 1))
    ):
        return _problem(
            kind,
            "hyphen",
            f"{kind.label_cap} ska anges med {expected}. Ta bort bindestrecket "
            "(eller plustecknet) och ange hela födelseåret.",
        )
    if not _DIGITS_RE.fullmatch(value):
        return _problem(
            kind,
            "non-digit",
            f"{kind.label_cap} får bara innehålla siffror. Ange det med {expected}.",
        )
    if len(value) != 12:
        return _problem(
            kind, "length", f"{kind.label_cap} har fel antal siffror. Ange det med {expected}."
        )
    return None


def _real_date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _check_person_number(
    kind: _Kind, value: str, today: datetime.date | None
) -> IdentifierProblem | None:
    problem = _check_person_form(kind, value)
    if problem is not None:
        return problem
    year, month, day = int(value[0:4]), int(value[4:6]), int(value[6:8])
    samordning = SAMORDNING_DAY_OFFSET < day <= SAMORDNING_DAY_OFFSET + 31
    if kind is _PNR and samordning:
        return _problem(
            kind,
            "is-samordningsnummer",
            "Numret är ett samordningsnummer (dagen i födelsedatumet är ökad med 60), "
            "inte ett personnummer. Ange det som samordningsnummer.",
        )
    if kind is _SNR:
        if 1 <= day <= 31:
            return _problem(
                kind,
                "is-personnummer",
                "Numret är ett personnummer, inte ett samordningsnummer. I ett "
                "samordningsnummer är dagen i födelsedatumet ökad med 60 (61–91). "
                "Ange det som personnummer.",
            )
        if not samordning:
            return _problem(
                kind,
                "date",
                "Samordningsnumret innehåller ingen giltig dag. I ett samordningsnummer "
                "är dagen i födelsedatumet ökad med 60 och ska vara 61–91.",
            )
        day -= SAMORDNING_DAY_OFFSET
    birth = _real_date(year, month, day)
    if birth is None or year < MIN_BIRTH_YEAR:
        return _problem(
            kind,
            "date",
            f"{kind.label_cap} innehåller inget giltigt födelsedatum "
            "(året, månaden eller dagen finns inte). Kontrollera siffrorna.",
        )
    if birth > (today or datetime.date.today()):
        return _problem(
            kind,
            "future-date",
            f"Födelsedatumet i {kind.label} ligger i framtiden. Kontrollera siffrorna.",
        )
    if not luhn_valid(value[2:]):
        return _problem(
            kind,
            "checksum",
            f"Kontrollsiffran (sista siffran) i {kind.label} stämmer inte. "
            "Troligen är någon siffra felskriven. Kontrollera numret.",
        )
    return None


def check_personnummer(
    value: str, *, today: datetime.date | None = None
) -> IdentifierProblem | None:
    """Check a personnummer in the 12-digit form ``ÅÅÅÅMMDDNNNK``.

    ``today`` (default: the current date) is the reference for "not in the future".
    """
    return _check_person_number(_PNR, value, today)


def check_samordningsnummer(
    value: str, *, today: datetime.date | None = None
) -> IdentifierProblem | None:
    """Check a samordningsnummer: like a personnummer, with day of month + 60 (61–91)."""
    return _check_person_number(_SNR, value, today)


def is_samordningsnummer(value: str) -> bool:
    """Whether ``value`` has the shape of a 12-digit samordningsnummer (day 61–91).

    Only the shape is looked at; use :func:`check_samordningsnummer` for full validation.
    """
    if len(value) != 12 or not _DIGITS_RE.fullmatch(value):
        return False
    return SAMORDNING_DAY_OFFSET < int(value[6:8]) <= SAMORDNING_DAY_OFFSET + 31


def birth_date_from_personnummer(value: str) -> datetime.date:
    """The birth date in a 12-digit personnummer or samordningsnummer.

    For a samordningsnummer 60 is subtracted from the day. The check digit is not
    verified here. Raises :class:`ValueError` (without the value in the message) unless
    the value is 12 digits holding a real date.
    """
    if len(value) != 12 or not _DIGITS_RE.fullmatch(value):
        raise ValueError("personnummer must be 12 digits ÅÅÅÅMMDDNNNK")
    day = int(value[6:8])
    if is_samordningsnummer(value):
        day -= SAMORDNING_DAY_OFFSET
    birth = _real_date(int(value[0:4]), int(value[4:6]), day)
    if birth is None:
        raise ValueError("personnummer does not contain a real calendar date")
    return birth


def _synthetic(birth: datetime.date, serial: int, day_offset: int) -> str:
    if not 0 <= serial <= 999:
        raise ValueError("serial must be 0..999")
    if birth.year < 1000:
        raise ValueError("birth year must have four digits")
    base = f"{birth.year:04d}{birth.month:02d}{birth.day + day_offset:02d}{serial:03d}"
    return base + str(luhn_check_digit(base[2:]))


def synthetic_personnummer(birth: datetime.date, serial: int) -> str:
    """A valid 12-digit personnummer for ``birth`` with birth number ``serial`` (0–999).

    Only for seeding demo data and for tests. The numbers are *computed*, so they may
    belong to real people; Skatteverket publishes official test personnummer
    ("testpersonnummer", open data) that are guaranteed never to be assigned, and
    shared test environments should use those. Production data never uses this function.
    The second-to-last digit (last digit of ``serial``) is odd for men, even for women.
    """
    return _synthetic(birth, serial, 0)


def synthetic_samordningsnummer(birth: datetime.date, serial: int) -> str:
    """Like :func:`synthetic_personnummer` but a samordningsnummer (day + 60)."""
    return _synthetic(birth, serial, SAMORDNING_DAY_OFFSET)


# ---------------------------------------------------------------------------
# other identifiers


def check_reservnummer(value: str) -> IdentifierProblem | None:
    """Check a nationellt reservnummer: only non-empty, no surrounding whitespace.

    Reservnummer formats differ between regions, so nothing more is checked.
    """
    if not value.strip():
        return IdentifierProblem("reservnummer-empty", "Reservnumret saknas.")
    if value != value.strip():
        return IdentifierProblem(
            "reservnummer-whitespace",
            "Reservnumret har mellanslag före eller efter. Ta bort dem.",
        )
    return None


def check_hsa_id(value: str) -> IdentifierProblem | None:
    """Check the format of an HSA-id, e.g. ``SE2321000131-P000000123457``.

    ``SE`` + 10 (or 12) digits + ``-`` + letters A–Z/a–z or digits, at most 31 characters.
    """
    expected = (
        "SE, katalogägarens organisationsnummer (10 siffror), ett bindestreck och en "
        "kod av bokstäver A–Z och siffror"
    )
    if not value.strip():
        return IdentifierProblem("hsa-id-empty", f"HSA-id saknas. Ett HSA-id består av {expected}.")
    if value != value.strip():
        return IdentifierProblem(
            "hsa-id-whitespace", "HSA-id:t har mellanslag före eller efter. Ta bort dem."
        )
    if not value.startswith("SE"):
        return IdentifierProblem(
            "hsa-id-prefix",
            f"HSA-id:t ska börja med SE (versaler). Ett HSA-id består av {expected}.",
        )
    if len(value) > HSA_ID_MAX_LENGTH:
        return IdentifierProblem(
            "hsa-id-length",
            f"HSA-id:t är för långt. Ett HSA-id får vara högst {HSA_ID_MAX_LENGTH} tecken.",
        )
    if not _HSA_ID_RE.fullmatch(value):
        return IdentifierProblem(
            "hsa-id-format",
            f"HSA-id:t har fel form. Ett HSA-id består av {expected}. "
            "Å, Ä, Ö, @ och mellanslag är inte tillåtna.",
        )
    return None


def check_organisationsnummer(value: str) -> IdentifierProblem | None:
    """Check an organisationsnummer: exactly 10 digits without hyphen, Luhn check digit."""
    expected = "10 siffror utan bindestreck (NNNNNNNNNN)"
    if not value.strip():
        return IdentifierProblem(
            "organisationsnummer-empty", f"Organisationsnumret saknas. Ange det med {expected}."
        )
    if value != value.strip():
        return IdentifierProblem(
            "organisationsnummer-whitespace",
            f"Organisationsnumret har mellanslag före eller efter. Ange det med {expected}.",
        )
    if len(value) == 11 and value[6] == "-" and _DIGITS_RE.fullmatch(value.replace("-", "", 1)):
        return IdentifierProblem(
            "organisationsnummer-hyphen",
            f"Organisationsnumret ska anges med {expected}. Ta bort bindestrecket.",
        )
    if not _DIGITS_RE.fullmatch(value):
        return IdentifierProblem(
            "organisationsnummer-non-digit",
            f"Organisationsnumret får bara innehålla siffror. Ange det med {expected}.",
        )
    if len(value) != 10:
        return IdentifierProblem(
            "organisationsnummer-length",
            f"Organisationsnumret har fel antal siffror. Ange det med {expected}.",
        )
    if not luhn_valid(value):
        return IdentifierProblem(
            "organisationsnummer-checksum",
            "Kontrollsiffran (sista siffran) i organisationsnumret stämmer inte. "
            "Troligen är någon siffra felskriven. Kontrollera numret.",
        )
    return None


def check_kommunkod(value: str) -> IdentifierProblem | None:
    """Check a kommunkod: 4 digits (SCB) of an existing kommun."""
    if len(value) != 4 or not _DIGITS_RE.fullmatch(value):
        return IdentifierProblem(
            "kommunkod-format",
            "Kommunkoden ska bestå av 4 siffror enligt SCB, där de två första är länskoden.",
        )
    if reference_data.kommun(value) is None:
        return IdentifierProblem(
            "kommunkod-unknown",
            "Kommunkoden finns inte i SCB:s förteckning över Sveriges kommuner.",
        )
    return None


def check_lanskod(value: str) -> IdentifierProblem | None:
    """Check a länskod: 2 digits (SCB) of an existing län/region."""
    if len(value) != 2 or not _DIGITS_RE.fullmatch(value):
        return IdentifierProblem(
            "lanskod-format",
            "Länskoden ska bestå av 2 siffror enligt SCB.",
        )
    if reference_data.region(value) is None:
        return IdentifierProblem(
            "lanskod-unknown",
            "Länskoden finns inte i SCB:s förteckning över Sveriges län.",
        )
    return None


# ---------------------------------------------------------------------------
# dispatch


def _dated(
    check: Callable[..., IdentifierProblem | None],
) -> Callable[[str, datetime.date | None], IdentifierProblem | None]:
    return lambda value, today: check(value, today=today)


def _undated(
    check: Callable[[str], IdentifierProblem | None],
) -> Callable[[str, datetime.date | None], IdentifierProblem | None]:
    return lambda value, _today: check(value)


_CHECKS: dict[str, Callable[[str, datetime.date | None], IdentifierProblem | None]] = {
    SYSTEM_PERSONNUMMER: _dated(check_personnummer),
    SYSTEM_PERSONNUMMER_OID: _dated(check_personnummer),
    SYSTEM_SAMORDNINGSNUMMER: _dated(check_samordningsnummer),
    SYSTEM_SAMORDNINGSNUMMER_OID: _dated(check_samordningsnummer),
    SYSTEM_RESERVNUMMER: _undated(check_reservnummer),
    SYSTEM_HSA_ID: _undated(check_hsa_id),
    SYSTEM_HSA_ID_RIVTA: _undated(check_hsa_id),
    SYSTEM_ORGANISATIONSNUMMER: _undated(check_organisationsnummer),
    SYSTEM_ORGANISATIONSNUMMER_RIVTA: _undated(check_organisationsnummer),
    SYSTEM_KOMMUNKOD: _undated(check_kommunkod),
    SYSTEM_LANSKOD: _undated(check_lanskod),
}


def check_identifier(
    system: str, value: str, *, today: datetime.date | None = None
) -> IdentifierProblem | None:
    """Check ``value`` by its FHIR ``Identifier.system``; unknown systems give ``None``.

    Personnummer and samordningsnummer are accepted both on their electronichealth.se
    systems and on their OIDs (``urn:oid:1.2.752.129.2.1.3.1`` / ``…3.3``).
    """
    check = _CHECKS.get(system)
    if check is None:
        return None
    return check(value, today)


KNOWN_SYSTEMS: frozenset[str] = frozenset(_CHECKS)
"""The identifier systems :func:`check_identifier` validates."""
