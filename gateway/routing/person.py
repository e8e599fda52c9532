"""The person a listing is looked up for: a checked identifier and its keyed hash.

A :class:`PersonId` is a personnummer or samordningsnummer that passed its checks, with
the system in one canonical form (the electronichealth.se URI), so the same person gets
the same key whichever of the accepted systems the caller used. Its ``repr`` never shows
the number, so it cannot leak into a log line or a traceback by accident.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from gateway.validation.identifiers import (
    SYSTEM_PERSONNUMMER,
    SYSTEM_PERSONNUMMER_OID,
    SYSTEM_SAMORDNINGSNUMMER,
    SYSTEM_SAMORDNINGSNUMMER_OID,
    IdentifierProblem,
    check_personnummer,
    check_samordningsnummer,
)

# Accepted systems -> canonical system.
CANONICAL_SYSTEM = {
    SYSTEM_PERSONNUMMER: SYSTEM_PERSONNUMMER,
    SYSTEM_PERSONNUMMER_OID: SYSTEM_PERSONNUMMER,
    SYSTEM_SAMORDNINGSNUMMER: SYSTEM_SAMORDNINGSNUMMER,
    SYSTEM_SAMORDNINGSNUMMER_OID: SYSTEM_SAMORDNINGSNUMMER,
}
# Canonical system -> the OID RIVTA carries as personId.root.
RIVTA_ROOT = {
    SYSTEM_PERSONNUMMER: "1.2.752.129.2.1.3.1",
    SYSTEM_SAMORDNINGSNUMMER: "1.2.752.129.2.1.3.3",
}


class PersonIdError(ValueError):
    """The identifier is not an acceptable person identifier. Carries no value."""

    def __init__(self, code: str, text_sv: str) -> None:
        super().__init__(code)
        self.code = code
        self.text_sv = text_sv


@dataclass(frozen=True, slots=True)
class PersonId:
    system: str
    value: str

    def __repr__(self) -> str:
        return f"PersonId(system={self.system!r}, value=<redacted>)"

    __str__ = __repr__

    @property
    def systems(self) -> tuple[str, ...]:
        """Every accepted system that names this person (the URI and the OID form): a
        record under any of them is a record of the same person."""
        return tuple(
            system for system, canonical in CANONICAL_SYSTEM.items() if canonical == self.system
        )

    @property
    def rivta_root(self) -> str:
        return RIVTA_ROOT[self.system]

    @classmethod
    def parse(cls, system: str | None, value: str | None) -> PersonId:
        """Check and canonicalise; raises :class:`PersonIdError` (never with the value)."""
        canonical = CANONICAL_SYSTEM.get(system or "")
        if canonical is None:
            raise PersonIdError(
                "person-system",
                "Personen ska anges med personnummer eller samordningsnummer "
                "(Identifier.system för något av dem).",
            )
        if not value:
            raise PersonIdError("person-value", "Personens nummer saknas.")
        check = check_personnummer if canonical == SYSTEM_PERSONNUMMER else check_samordningsnummer
        problem: IdentifierProblem | None = check(value)
        if problem is not None:
            raise PersonIdError(problem.code, problem.text_sv)
        return cls(canonical, value)


class ListingHasher:
    """HMAC-SHA256(key, "system|value"): the only form a person takes in the register."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the listing hash key must be at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "ListingHasher(key=<secret>)"

    def key_for(self, person: PersonId) -> bytes:
        return self.raw(person.system, person.value)

    def raw(self, canonical_system: str, value: str) -> bytes:
        """For bulk import: the caller has already checked and canonicalised."""
        return hmac.digest(self._key, f"{canonical_system}|{value}".encode(), "sha256")
