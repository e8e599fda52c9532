"""Write hooks that keep the directory usable for routing.

Routing finds a unit by its HSA-id (``directory.unit_by_hsa_id``) and refuses to choose
between two active Organizations that carry it. One party's entry with another's HSA-id,
made in error or not, would so stop every request to that unit, from every kommun.

Delivery picks a unit's adapter by its Endpoint's connection type and hands it the
Endpoint's address. An Endpoint whose type no adapter has, or whose address its adapter
cannot use, would take requests (``$submit`` answers 201) that never arrive: so it is
refused when written (:func:`endpoint_problem`, which a directory import can use too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.api.interactions import FhirInteractions, PassThroughHook
from gateway.errors import FhirError
from gateway.resources.urls import (
    UNSAFE_CHARACTERS,
    UrlRefusedError,
    http_url,
    is_plain_http_off_host,
)
from gateway.routing.directory import (
    CONNECTION_TYPE_SYSTEM,
    CONNECTION_TYPES,
    HSA_SYSTEMS,
    units_with_hsa_id,
)
from gateway.settings import Environment
from gateway.store.resources import StoredResource
from gateway.validation.identifiers import check_hsa_id


def routed_hsa_ids(body: dict[str, Any]) -> list[tuple[int, str]]:
    """(index in ``identifier``, value) of each HSA-id (either system) an Organization
    carries that routing finds it by; none when it is inactive: an inactive entry is never
    routed to, so it may share an HSA-id with the active one."""
    if body.get("active") is False:
        return []
    return [
        (index, identifier["value"])
        for index, identifier in enumerate(body.get("identifier") or [])
        if identifier.get("system") in HSA_SYSTEMS and isinstance(identifier.get("value"), str)
    ]


class UniqueHsaIdHook(PassThroughHook):
    """An active Organization's HSA-id is no other active Organization's (409)."""

    resource_type = "Organization"

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        for index, value in routed_hsa_ids(body):
            others = [
                unit
                for unit in units_with_hsa_id(fhir.store, value)
                if existing is None or unit.id != existing.id
            ]
            if others:
                raise FhirError.single(
                    409,
                    "duplicate",
                    "Det finns redan en aktiv enhet med samma HSA-id i katalogen. Ändra den "
                    "posten, eller gör den inaktiv, i stället för att lägga upp en till.",
                    expression=f"Organization.identifier[{index}].value",
                    diagnostics=f"the HSA-id is carried by {others[0].reference}",
                )
        return body


# ----- Endpoints ------------------------------------------------------------------------

# An absolute URI (RFC 3986): a scheme, a colon and something after it.
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")

_CONNECTION_TYPE_SV = (
    "Anslutningstypen finns inte i tjänsten. Ange en av anslutningstyperna "
    f"{', '.join(CONNECTION_TYPES)}."
)
_ADDRESS_SV = {
    "fhir-rest": "Adressen ska vara journalsystemets FHIR-adress: en fullständig http- eller "
    "https-adress, utan användarnamn, lösenord, frågedel eller fragment.",
    "rivta": "Adressen ska vara en fullständig http- eller https-adress (utan användarnamn "
    "eller lösenord) eller mottagarens logiska adress (HSA-id).",
    "inbox": "Adressen ska vara en fullständig adress (URL), till exempel en https-adress.",
}
_HTTPS_SV = (
    "Adressen ska vara en https-adress. I drift skickar tjänsten inga uppgifter okrypterat "
    "över nätet; vanlig http går bara till den egna servern (localhost)."
)


@dataclass(frozen=True)
class EndpointProblem:
    """Why an Endpoint cannot be delivered to: where (a FHIRPath expression), in Swedish
    for the person who wrote it, and in English for the diagnostics. Never the address."""

    expression: str
    text_sv: str
    diagnostics: str


def http_url_problem(address: str, *, base: bool = False) -> str | None:
    """Why ``address`` is not an absolute http(s) URL an adapter can call, or None.

    The scheme is read as the adapters read it (lower case), the host must be there, and
    the URL carries no user information (the directory is read by every party, and
    credentials live in the adapters' configuration). A ``base`` (a FHIR server's base
    URL, to which the adapter appends ``/Task`` …) has no query and no fragment."""
    try:
        parts = http_url(address)
    except UrlRefusedError as refused:
        return f"the address {refused}"
    if base and (parts.query or parts.fragment or address.endswith(("?", "#"))):
        return "a FHIR base URL has no query and no fragment"
    return None


def _plain_http_problem(address: str, code: str) -> EndpointProblem | None:
    """In production: an adapter's URL (already found usable) that would carry a request,
    personal data and all, unencrypted to another host."""
    if not address.startswith(("http:", "https:")) or not is_plain_http_off_host(http_url(address)):
        return None
    return EndpointProblem(
        "Endpoint.address",
        _HTTPS_SV,
        f"production needs https: plain http only to this host (connection type {code})",
    )


def _code(connection: Any) -> tuple[str | None, str | None]:
    if not isinstance(connection, dict):
        return None, None
    system, code = connection.get("system"), connection.get("code")
    return (
        system if isinstance(system, str) else None,
        code if isinstance(code, str) else None,
    )


def endpoint_problem(
    body: dict[str, Any], *, environment: Environment = Environment.DEVELOPMENT
) -> EndpointProblem | None:
    """Why the gateway could never deliver through this Endpoint, or None.

    A ``connectionType`` in the gateway's own CodeSystem must name a connection type the
    gateway has (an adapter). The address must be what that type's adapter reads it as:
    ``fhir-rest`` the journal system's FHIR base URL (http or https); ``rivta`` the URL
    called (a producer or the platform) or else the logical address, an HSA-id; ``inbox``
    (which does not use it) at least an absolute URL. The delivery side picks the adapter
    by the code alone, so the address of a gateway code is checked in any system. In
    production a ``fhir-rest`` or ``rivta`` URL is ``https``, or ``http`` to this host
    only (``localhost``, a loopback address): plain http would carry the request unencrypted."""
    system, code = _code(body.get("connectionType"))
    if system == CONNECTION_TYPE_SYSTEM and code not in CONNECTION_TYPES:
        return EndpointProblem(
            "Endpoint.connectionType.code",
            _CONNECTION_TYPE_SV,
            f"the gateway has no connection type {code!r} (it has {', '.join(CONNECTION_TYPES)})",
        )
    if code not in CONNECTION_TYPES:
        return None  # another code system's type: no adapter delivers through it
    raw = body.get("address")
    address = raw if isinstance(raw, str) else ""
    if code == "fhir-rest":
        why = http_url_problem(address, base=True)
    elif code == "rivta":
        if check_hsa_id(address) is None:
            why = None
        elif address.startswith(("http:", "https:")):
            why = http_url_problem(address)
        else:
            why = "the address is neither an http(s) URL nor a logical address (an HSA-id)"
    elif UNSAFE_CHARACTERS.search(address) or not _ABSOLUTE_URI.fullmatch(address):
        why = "the address is not an absolute URL"
    else:
        why = None
    if why is not None:
        return EndpointProblem(
            "Endpoint.address", _ADDRESS_SV[code], f"{why} (connection type {code})"
        )
    if environment is Environment.PRODUCTION and code in ("fhir-rest", "rivta"):
        return _plain_http_problem(address, code)
    return None


class EndpointChecksHook(PassThroughHook):
    """An Endpoint names a connection type the gateway has and an address its adapter can
    use (422 at the element): otherwise every request routed to it would wait in the
    outbox, or die there, after its submission was answered 201."""

    resource_type = "Endpoint"

    def before_write(
        self, fhir: FhirInteractions, body: dict[str, Any], existing: StoredResource | None
    ) -> dict[str, Any]:
        problem = endpoint_problem(body, environment=fhir.settings.environment)
        if problem is not None:
            raise FhirError.single(
                422,
                "business-rule",
                problem.text_sv,
                expression=problem.expression,
                diagnostics=problem.diagnostics,
            )
        return body
