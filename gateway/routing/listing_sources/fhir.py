"""Listing over FHIR, for regions whose listing service is a FHIR server.

For each configured region server the source runs the configured search (default
``Patient?identifier={system}|{value}``) and reads ``Patient.generalPractitioner``. The
search goes as FHIR's POST search, ``POST [base]/Patient/_search`` with the parameters
form-encoded in the body: a query string would put the person number in the access log of
the server and of every proxy on the way. A
reference to an Organization (or a PractitionerRole's organization) is turned into the
unit's HSA-id: from a logical reference's identifier, or by reading the Organization on
the same server. The person's ``meta.security`` labels ``sekretessmarkering`` and
``skyddadFolkbokforing`` mark protected identity. generalPractitioner carries no dates,
so a listing found this way counts as current.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from gateway.capped_http import ResponseTooLargeError, send_capped
from gateway.routing.listing_sources import (
    PROTECTED_IDENTITY_CODES,
    Listing,
    SourceAnswer,
    SourceUnavailable,
)
from gateway.routing.person import PersonId
from gateway.validation.identifiers import SYSTEM_HSA_ID, SYSTEM_HSA_ID_RIVTA

NAME = "fhir"
HSA_SYSTEMS = (SYSTEM_HSA_ID, SYSTEM_HSA_ID_RIVTA)
MAX_PATIENTS = 10
MAX_REFERENCES = 10
FORM = "application/x-www-form-urlencoded"
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")


class _UnavailableError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _hsa_of(identifiers: Any) -> str | None:
    items = identifiers if isinstance(identifiers, list) else [identifiers]
    for identifier in items:
        if isinstance(identifier, dict) and identifier.get("system") in HSA_SYSTEMS:
            value = identifier.get("value")
            if isinstance(value, str) and value:
                return value
    return None


class SearchForm:
    """The configured search, ``[type]?[parameters]``, as a POST search: the path
    ``[type]/_search`` and the form-encoded body for one person."""

    def __init__(self, template: str) -> None:
        resource_type, _, query = template.partition("?")
        self.path = f"{resource_type}/_search"
        self._parameters = parse_qsl(query, keep_blank_values=True)
        try:
            self._encoded(system="", value="")
            usable = bool(_RESOURCE_TYPE.fullmatch(resource_type) and self._parameters)
        except (KeyError, IndexError, ValueError):
            usable = False
        if not usable:
            raise ValueError(
                "KVGW_LISTING_FHIR_SEARCH must be [type]?[parameters] with {system} and "
                "{value} as the only placeholders, e.g. Patient?identifier={system}|{value}"
            )

    def body(self, person: PersonId) -> bytes:
        return self._encoded(system=person.system, value=person.value)

    def _encoded(self, *, system: str, value: str) -> bytes:
        filled = [
            (name, template.format(system=system, value=value))
            for name, template in self._parameters
        ]
        return urlencode(filled).encode("ascii")


class FhirListingSource:
    name = NAME

    def __init__(
        self,
        servers: dict[str, str],
        *,
        search: str,
        timeout: float,
        max_response_bytes: int,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.servers = dict(sorted(servers.items()))
        self.search = SearchForm(search)
        self.max_response_bytes = max_response_bytes
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            headers=headers,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def _get(self, url: str) -> dict[str, Any]:
        return self._send("GET", url)

    def _send(self, method: str, url: str, **request: Any) -> dict[str, Any]:
        try:
            response = send_capped(
                self._client, method, url, max_bytes=self.max_response_bytes, **request
            )
        except ResponseTooLargeError:
            raise _UnavailableError("too-large", "the answer exceeds the size limit") from None
        except httpx.TimeoutException:
            raise _UnavailableError("timeout", "no answer within the timeout") from None
        except httpx.HTTPError as error:
            raise _UnavailableError("transport", type(error).__name__) from None
        if response.status_code in (404, 410):
            return {}
        if response.status_code != 200:
            raise _UnavailableError("http-status", f"HTTP {response.status_code}")
        try:
            parsed = json.loads(response.content)
        except ValueError:
            raise _UnavailableError("malformed-response", "the answer is not JSON") from None
        if not isinstance(parsed, dict):
            raise _UnavailableError("malformed-response", "the answer is not a FHIR resource")
        return parsed

    def _search(self, base: str, person: PersonId) -> dict[str, Any]:
        """The search's Bundle: the person number goes in the body, never in the URL."""
        return self._send(
            "POST",
            f"{base.rstrip('/')}/{self.search.path}",
            content=self.search.body(person),
            headers={"Content-Type": FORM},
        )

    def _unit_hsa(self, base: str, reference: dict[str, Any]) -> str | None:
        direct = _hsa_of(reference.get("identifier"))
        if direct:
            return direct
        literal = reference.get("reference")
        if not isinstance(literal, str) or "/" not in literal:
            return None
        ref_type, _, ref_id = literal.rstrip("/").rpartition("/")
        ref_type = ref_type.rsplit("/", 1)[-1]
        if (
            ref_type not in ("Organization", "PractitionerRole")
            or not ref_id.replace("-", "").replace(".", "").isalnum()
        ):
            return None
        target = self._get(f"{base.rstrip('/')}/{ref_type}/{ref_id}")
        if ref_type == "Organization":
            return _hsa_of(target.get("identifier"))
        organization = target.get("organization")
        return self._unit_hsa(base, organization) if isinstance(organization, dict) else None

    def _server(self, lanskod: str, base: str, person: PersonId) -> tuple[list[Listing], bool]:
        bundle = self._search(base, person)
        if bundle and bundle.get("resourceType") != "Bundle":
            raise _UnavailableError("malformed-response", "the search did not return a Bundle")
        listings: list[Listing] = []
        protected = False
        patients = [
            entry.get("resource")
            for entry in bundle.get("entry") or []
            if isinstance(entry, dict)
            and isinstance(entry.get("resource"), dict)
            and entry["resource"].get("resourceType") == "Patient"
        ][:MAX_PATIENTS]
        for patient in patients:
            assert isinstance(patient, dict)
            labels = (patient.get("meta") or {}).get("security") or []
            if any(
                isinstance(x, dict) and x.get("code") in PROTECTED_IDENTITY_CODES for x in labels
            ):
                protected = True
            for reference in (patient.get("generalPractitioner") or [])[:MAX_REFERENCES]:
                if not isinstance(reference, dict):
                    continue
                hsa_id = self._unit_hsa(base, reference)
                if hsa_id:
                    listings.append(Listing(hsa_id, "PV", None, None, NAME, lanskod))
        return listings, protected

    def lookup(self, person: PersonId, home_lanskod: str) -> SourceAnswer:
        listings: list[Listing] = []
        protected = False
        failures: list[_UnavailableError] = []
        for lanskod, base in self.servers.items():
            try:
                found, flagged = self._server(lanskod, base, person)
            except _UnavailableError as error:
                failures.append(error)
                continue
            listings.extend(found)
            protected = protected or flagged
        if failures and not listings:
            first = failures[0]
            raise SourceUnavailable(NAME, first.reason, first.detail)
        notes = ("fhir-partial",) if failures else ()
        return SourceAnswer(NAME, tuple(listings), protected, notes)
