"""What the store needs from data protection: body encryption and blind indexes.

The implementation lives in gateway.security.protection; the session factory hands it to
every session (``session.info["protection"]``), so no code path can store a body without it.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session


class BodyProtection(Protocol):
    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, stored: str) -> str: ...

    def blind(self, value: str) -> str: ...

    def blind_candidates(self, value: str) -> list[str]: ...


def protection_of(session: Session) -> BodyProtection:
    protection = session.info.get("protection")
    if protection is None:
        raise RuntimeError(
            "this session has no data protection; create sessions with make_session_factory"
        )
    found: BodyProtection = protection
    return found
