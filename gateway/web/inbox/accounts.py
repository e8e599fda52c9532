"""Who may sign in to the inbox: the :class:`InboxIdentityProvider` seam and the local store.

The local store (table ``inbox_account``) serves the demo and small pilots. Passwords are
hashed with scrypt (``hashlib.scrypt``, a memory-hard KDF from the standard library) and a
per-user random salt, and compared in constant time. Five failures in a row lock the
account for 15 minutes; an unknown username costs the same hashing work as a known one.
In production an OIDC or SITHS (HSA-id card) provider implements the same Protocol,
is set as ``app.state.inbox_identity``, and the pages do not change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.routing.directory import is_care_unit
from gateway.store.resources import ResourceStore, utc_now
from gateway.web.inbox.models import InboxAccount

# scrypt parameters: n=2**14, r=8, p=1 (about 16 MiB, tens of milliseconds).
SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_LENGTH = 2**14, 8, 1, 32
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,127}$")
PARTY = re.compile(r"^Organization/[A-Za-z0-9\-.]{1,64}$")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64), with a fresh 16-byte salt unless one is given."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    derived = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=KEY_LENGTH
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(derived).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(base64.b64decode(expected)),
        )
    except ValueError:
        return False
    return hmac.compare_digest(derived, base64.b64decode(expected))


# Verified against when the username is unknown, so timing does not reveal which exist.
_DUMMY_HASH = hash_password("not a real password", salt=b"\x00" * 16)


@dataclass(frozen=True)
class InboxUser:
    """A signed-in person: who she is and the one vårdcentral she works for."""

    username: str
    display_name: str
    party: str  # "Organization/<id>" of her vårdcentral


class SignInFailure(StrEnum):
    """Why a sign-in failed: for the audit only. The page says the same in every case,
    so it does not reveal which accounts exist or are locked."""

    UNKNOWN_USER = "unknown-user"
    BAD_PASSWORD = "bad-password"
    LOCKED = "locked"


@dataclass(frozen=True)
class SignInResult:
    user: InboxUser | None
    failure: SignInFailure | None = None


class InboxIdentityProvider(Protocol):
    """Authenticates inbox users. Local accounts for the demo; OIDC or SITHS in production."""

    def sign_in(self, session: Session, username: str, password: str) -> SignInResult: ...

    def current(self, session: Session, username: str, issued_at: datetime) -> InboxUser | None:
        """The user behind a session cookie issued at ``issued_at``, if still valid."""
        ...

    def sign_out(self, session: Session, username: str) -> None: ...


class LocalAccounts:
    """The local account store (table ``inbox_account``)."""

    def sign_in(self, session: Session, username: str, password: str) -> SignInResult:
        account = session.get(InboxAccount, username.strip().lower())
        now = utc_now()
        if account is None or not account.enabled:
            verify_password(password, _DUMMY_HASH)  # the same work as for a real account
            return SignInResult(None, SignInFailure.UNKNOWN_USER)
        password_ok = verify_password(password, account.password_hash)
        if account.locked_until is not None and account.locked_until > now:
            return SignInResult(None, SignInFailure.LOCKED)
        if not password_ok:
            account.failed_attempts += 1
            if account.failed_attempts >= MAX_FAILED_ATTEMPTS:
                account.locked_until = now + LOCKOUT
                account.failed_attempts = 0
            return SignInResult(None, SignInFailure.BAD_PASSWORD)
        account.failed_attempts = 0
        account.locked_until = None
        return SignInResult(_user(account))

    def current(self, session: Session, username: str, issued_at: datetime) -> InboxUser | None:
        account = session.get(InboxAccount, username)
        if account is None or not account.enabled or issued_at < account.sessions_valid_after:
            return None
        return _user(account)

    def sign_out(self, session: Session, username: str) -> None:
        account = session.get(InboxAccount, username)
        if account is not None:
            account.sessions_valid_after = utc_now()


def _user(account: InboxAccount) -> InboxUser:
    return InboxUser(account.username, account.display_name, account.party)


def add_account(
    session: Session, username: str, password: str, party: str, display_name: str
) -> InboxAccount:
    """Create or replace a local account (the password is stored hashed only)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise ValueError("username: 2-128 characters of a-z, 0-9 and . _ @ -")
    if not PARTY.match(party):
        raise ValueError("party must be Organization/<id>")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    _must_be_care_unit(session, party)
    now = utc_now()
    account = session.get(InboxAccount, username)
    if account is None:
        account = InboxAccount(username=username, created_at=now)
        session.add(account)
    account.display_name = display_name
    account.party = party
    account.password_hash = hash_password(password)
    account.enabled = True
    account.failed_attempts = 0
    account.locked_until = None
    account.sessions_valid_after = now - timedelta(seconds=1)
    return account


def _must_be_care_unit(session: Session, party: str) -> None:
    """An inbox user answers as a vårdcentral: the party must be a care unit in the
    directory, an Organization with an HSA-id (what routing sends requests to), never a
    kommun or a region."""
    unit = ResourceStore(session).current("Organization", party.split("/", 1)[1])
    if unit is None or unit.body is None or not is_care_unit(unit.body):
        raise ValueError(
            f"{party} is not a care unit in the directory (an Organization with an HSA-id); "
            "load the directory first"
        )


def list_accounts(session: Session) -> list[InboxAccount]:
    return list(session.scalars(select(InboxAccount).order_by(InboxAccount.username)))
