"""SMART Backend Services authentication of API calls (and optional mutual TLS identity)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import FhirError
from gateway.security.audit import AuditLog
from gateway.security.caller import Caller, PartyKind
from gateway.security.certificates import CertificateRejectedError, hsa_id_from_header
from gateway.security.clients import find_by_certificate, is_enabled
from gateway.security.models import AuthClient
from gateway.security.rate_limit import RateLimiter
from gateway.security.tokens import InvalidAccessTokenError, verify
from gateway.settings import Settings


def _unauthorised(error: str) -> FhirError:
    return FhirError.single(
        401,
        "login",
        "Anslutningen saknar giltig behörighet. Hämta en ny åtkomstnyckel och försök igen.",
        diagnostics=f"{error}: send a valid SMART Backend Services access token",
        headers={"WWW-Authenticate": f'Bearer realm="kv-gateway", error="{error}"'},
    )


class SmartAuthenticator:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        audit: AuditLog,
        limiter: RateLimiter,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self._reads: Engine = sessions.kw["bind"].execution_options(isolation_level="AUTOCOMMIT")
        self.audit = audit
        self.limiter = limiter

    def authenticate(self, request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        cert_header = self.settings.mtls_client_cert_header
        if header[:7].lower() == "bearer ":
            caller = self._from_token(header[7:].strip())
        elif cert_header and request.headers.get(cert_header):
            caller = self._from_certificate(request.headers[cert_header])
        else:
            raise self._refuse(None, "invalid_request")
        self.limiter.check(caller.client_id)
        return caller

    def _from_token(self, token: str) -> Caller:
        try:
            access = verify(self.settings, token)
        except InvalidAccessTokenError:
            raise self._refuse(None, "invalid_token") from None
        # One read on a pooled connection in autocommit: no session, no BEGIN and ROLLBACK.
        with self._reads.connect() as connection:
            usable = is_enabled(connection, access.client_id)
        if not usable:
            raise self._refuse(access.client_id, "invalid_token")
        return Caller(
            client_id=access.client_id,
            party=access.party,
            party_kind=PartyKind(access.party_kind),
            scopes=frozenset(access.scopes),
        )

    def _from_certificate(self, forwarded: str) -> Caller:
        try:
            hsa_id = hsa_id_from_header(forwarded)
        except CertificateRejectedError:
            raise self._refuse(None, "invalid_client") from None
        with self.sessions() as session:
            client: AuthClient | None = find_by_certificate(session, hsa_id)
            caller = (
                Caller(
                    client_id=client.client_id,
                    party=client.party,
                    party_kind=PartyKind(client.party_kind),
                    scopes=frozenset(client.scopes.split()),
                )
                if client is not None and client.enabled
                else None
            )
        if caller is None:
            raise self._refuse(None, "invalid_client")
        return caller

    def _refuse(self, client_id: str | None, error: str) -> FhirError:
        with self.sessions() as session, session.begin():
            self.audit.login(session, client_id=client_id, outcome_ok=False, reason=error)
        return _unauthorised(error)
