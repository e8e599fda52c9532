"""The caller seam: every route learns who is calling through :func:`current_caller`.

An :class:`Authenticator` turns a request into a :class:`Caller` (the party and its
scopes) or refuses it. The security work plugs SMART Backend Services in here; until then
the only identity is the demo one, which must be switched on explicitly
(``KVGW_AUTH_MODE=demo``, as ``make run`` does) and is announced loudly at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from fastapi import Request

from gateway.errors import FhirError
from gateway.security.scopes import permits
from gateway.settings import AuthMode


class PartyKind(StrEnum):
    KOMMUN = "kommun"
    VARDCENTRAL = "vardcentral"
    REGION = "region"
    TEST_HARNESS = "test-harness"
    OPERATOR = "operator"  # the gateway's own operations staff: the whole directory
    AUDITOR = "auditor"  # reads the audit trail, nothing else


@dataclass(frozen=True)
class Caller:
    client_id: str
    party: str  # reference to the party's Organization, e.g. "Organization/kommun-0180"
    party_kind: PartyKind
    scopes: frozenset[str]

    def has_scope(self, resource_type: str, permission: str) -> bool:
        """SMART v2 system scopes: ``system/Task.rus`` grants r, u and s on Task."""
        return permits(self.scopes, resource_type, permission)


class Authenticator(Protocol):
    def authenticate(self, request: Request) -> Caller: ...


class RefuseAll:
    """No authentication configured: every call is refused with 401."""

    def authenticate(self, request: Request) -> Caller:
        raise FhirError.single(
            401,
            "login",
            "Du är inte inloggad. Anslutningen saknar giltig behörighet.",
            diagnostics="no authentication mode is configured on this gateway",
            headers={"WWW-Authenticate": 'Bearer realm="kv-gateway"'},
        )


DEMO_CALLER = Caller(
    client_id="demo",
    party="Organization/demo-operator",
    party_kind=PartyKind.OPERATOR,
    scopes=frozenset({"system/*.cruds"}),
)


class DemoAuthenticator:
    """A fixed identity with every scope, for the local demo only."""

    def authenticate(self, request: Request) -> Caller:
        return DEMO_CALLER


def authenticator_for(mode: AuthMode) -> Authenticator:
    if mode is AuthMode.DEMO:
        return DemoAuthenticator()
    return RefuseAll()


def current_caller(request: Request) -> Caller:
    """FastAPI dependency: the one place a route learns who is calling."""
    authenticator: Authenticator = request.app.state.authenticator
    caller = authenticator.authenticate(request)
    request.state.caller = caller
    return caller


def require_scope(caller: Caller, resource_type: str, permission: str) -> None:
    if not caller.has_scope(resource_type, permission):
        raise FhirError.single(
            403,
            "forbidden",
            "Din anslutning har inte behörighet till den här åtgärden.",
            diagnostics=f"scope system/{resource_type}.{permission} is required",
        )
