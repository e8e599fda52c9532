"""A small carelisting v2 producer (GetListingCounty, GetListing) for the tests.

It runs under real uvicorn on loopback and answers by scenario, chosen per person number
(``people``): realistic answers with resultCode OK/INFO/ERROR, SOAP faults, slow answers,
malformed XML, an XXE attempt, a billion-laughs attempt and an oversized answer. It records
every request it receives so the tests can check what the gateway sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from defusedxml.ElementTree import fromstring
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_COUNTY = "urn:riv:supportprocess:logistics:carelisting:GetListingCountyResponder:2"
NS_LISTING = "urn:riv:supportprocess:logistics:carelisting:GetListingResponder:2"
REGISTRY = "urn:riv:itintegration:registry:1"


@dataclass
class Received:
    operation: str
    logical_address: str | None
    soap_action: str | None
    person_root: str | None
    person_extension: str | None
    actor_id: str | None


@dataclass
class Scenario:
    """What the peer answers for one person."""

    counties: list[str] = field(default_factory=list)  # länskoder
    county_result: str = "OK"
    # länskod -> list of (hsa_id, type, from, to, in_queue)
    listings: dict[str, list[tuple[str, str, str | None, str | None, bool]]] = field(
        default_factory=dict
    )
    listing_result: str = "OK"
    special: str | None = None  # fault, slow, malformed, xxe, laughs, huge, http-503


def _envelope(inner: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}"><soapenv:Header/>'
        f"<soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"
    )


def _fault(text: str) -> str:
    return _envelope(
        "<soapenv:Fault><faultcode>soapenv:Server</faultcode>"
        f"<faultstring>{text}</faultstring></soapenv:Fault>"
    )


XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP}"><soapenv:Body>'
    f'<GetListingCountyResponse xmlns="{NS_COUNTY}"><resultCode>&x;</resultCode>'
    "</GetListingCountyResponse></soapenv:Body></soapenv:Envelope>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP}"><soapenv:Body>'
    f'<GetListingCountyResponse xmlns="{NS_COUNTY}"><resultCode>&lol3;</resultCode>'
    "</GetListingCountyResponse></soapenv:Body></soapenv:Envelope>"
)


class CarelistingPeer:
    def __init__(self) -> None:
        self.people: dict[str, Scenario] = {}
        self.received: list[Received] = []
        self.slow_seconds = 3.0
        self.app = Starlette(
            routes=[
                Route("/GetListingCounty", self._county, methods=["POST"]),
                Route("/GetListing", self._listing, methods=["POST"]),
            ]
        )

    async def _parse(self, request: Request, operation: str, ns: str) -> Scenario:
        root = fromstring(await request.body(), forbid_dtd=True)
        header = root.find(f"{{{SOAP}}}Header")
        address = header.find(f"{{{REGISTRY}}}LogicalAddress") if header is not None else None
        body = root.find(f"{{{SOAP}}}Body")
        assert body is not None
        req = body[0]
        self.received.append(
            Received(
                operation,
                address.text if address is not None else None,
                request.headers.get("soapaction"),
                req.findtext(f"{{{ns}}}personId/{{{ns}}}root"),
                req.findtext(f"{{{ns}}}personId/{{{ns}}}extension"),
                req.findtext(f"{{{ns}}}actor/{{{ns}}}actorId/{{{ns}}}extension"),
            )
        )
        return self.people.get(self.received[-1].person_extension or "", Scenario())

    def _special(self, scenario: Scenario) -> Response | None:
        kind = scenario.special
        if kind == "fault":
            return Response(_fault("VP007 Authorization missing"), 500, media_type="text/xml")
        if kind == "malformed":
            return Response("<soapenv:Envelope><unclosed>", media_type="text/xml")
        if kind == "xxe":
            return Response(XXE, media_type="text/xml")
        if kind == "laughs":
            return Response(LAUGHS, media_type="text/xml")
        if kind == "huge":
            return Response(_envelope("<x>" + "a" * 3_000_000 + "</x>"), media_type="text/xml")
        if kind == "http-503":
            return Response("busy", 503)
        return None

    async def _county(self, request: Request) -> Response:
        scenario = await self._parse(request, "GetListingCounty", NS_COUNTY)
        if scenario.special == "slow":
            await asyncio.sleep(self.slow_seconds)
        special = self._special(scenario)
        if special is not None:
            return special
        counties = "".join(
            "<listingCounties><root>1.2.752.129.2.2.1.18</root>"
            f"<extension>{code}</extension></listingCounties>"
            for code in scenario.counties
        )
        inner = (
            f'<GetListingCountyResponse xmlns="{NS_COUNTY}">{counties}'
            f"<resultCode>{scenario.county_result}</resultCode></GetListingCountyResponse>"
        )
        return Response(_envelope(inner), media_type="text/xml; charset=utf-8")

    async def _listing(self, request: Request) -> Response:
        scenario = await self._parse(request, "GetListing", NS_LISTING)
        address = self.received[-1].logical_address or ""
        items = []
        for hsa_id, kind, valid_from, valid_to, queued in scenario.listings.get(address, []):
            dates = ""
            if valid_from:
                dates += f"<validFromDate>{valid_from}T00:00:00</validFromDate>"
            if valid_to:
                dates += f"<validToDate>{valid_to}T23:59:59</validToDate>"
            items.append(
                f"<listings>{dates}<listingType><code>{kind}</code>"
                "<codeSystem>1.2.752.129.2.2.4.1</codeSystem><displayName>Primärvård</displayName>"
                f"</listingType><healthcareFacility><id>{hsa_id}</id><name>Vårdcentral</name>"
                "<hasQueue>false</hasQueue><supportsHealthcarePersonnel>false"
                "</supportsHealthcarePersonnel></healthcareFacility>"
                f"<isInQueue>{'true' if queued else 'false'}</isInQueue></listings>"
            )
        inner = (
            f'<GetListingResponse xmlns="{NS_LISTING}">{"".join(items)}'
            f"<resultCode>{scenario.listing_result}</resultCode>"
            + (
                "<resultText>Personen saknas</resultText>"
                if scenario.listing_result != "OK"
                else ""
            )
            + "</GetListingResponse>"
        )
        return Response(_envelope(inner), media_type="text/xml; charset=utf-8")
