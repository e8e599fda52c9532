"""The national carelisting contracts (supportprocess:logistics:carelisting v2) over NTjP.

1. ``GetListingCounty`` goes to the person's folkbokföring region (logical address = the
   länskod of the requesting kommun's region). It answers with the counties (regions)
   where the person is listed, as ``listingCounties`` (II: root + extension; root
   ``1.2.752.129.2.2.1.18`` means the extension is a länskod).
2. ``GetListing`` goes to each of those regions (logical address = the county's
   extension). Its ``listings`` carry validity dates, the listing type and the
   healthcare facility's HSA-id.

``resultCode`` OK and INFO are answers (INFO is reported as a note); ERROR, a SOAP fault,
a timeout, a malformed or unsafe answer all make the source unavailable. Listings where
the person is still in the queue (``isInQueue`` true) are not listings yet.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

from gateway.rivta.soap import SoapClient, SoapError, body_child, envelope
from gateway.routing.listing_sources import Listing, SourceAnswer, SourceUnavailable
from gateway.routing.person import PersonId

NAME = "rivta"
NS_COUNTY = "urn:riv:supportprocess:logistics:carelisting:GetListingCountyResponder:2"
NS_LISTING = "urn:riv:supportprocess:logistics:carelisting:GetListingResponder:2"
ACTION_COUNTY = f"{NS_COUNTY}:GetListingCounty"
ACTION_LISTING = f"{NS_LISTING}:GetListing"
LANSKOD_ROOT = "1.2.752.129.2.2.1.18"
HSA_ROOT = "1.2.752.129.2.1.4.1"
MAX_COUNTIES = 21


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: ET.Element | None, *path: str) -> str | None:
    current = element
    for name in path:
        if current is None:
            return None
        found = _children(current, name)
        current = found[0] if found else None
    if current is None or current.text is None:
        return None
    return current.text.strip()


def _date(text: str | None) -> datetime.date | None:
    if not text:
        return None
    # xs:dateTime or xs:date, possibly with a zone; the date part decides.
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise SoapError("malformed-response", "a listing has an invalid date") from None


def _request(ns: str, local: str, person: PersonId, actor_id: str, actor_type: str) -> ET.Element:
    request = ET.Element(f"{{{ns}}}{local}")
    actor = ET.SubElement(request, f"{{{ns}}}actor")
    actor_ii = ET.SubElement(actor, f"{{{ns}}}actorId")
    ET.SubElement(actor_ii, f"{{{ns}}}root").text = HSA_ROOT
    ET.SubElement(actor_ii, f"{{{ns}}}extension").text = actor_id
    ET.SubElement(actor, f"{{{ns}}}actorType").text = actor_type
    person_ii = ET.SubElement(request, f"{{{ns}}}personId")
    ET.SubElement(person_ii, f"{{{ns}}}root").text = person.rivta_root
    ET.SubElement(person_ii, f"{{{ns}}}extension").text = person.value
    return request


def _result_code(response: ET.Element) -> str:
    code = (_text(response, "resultCode") or "").upper()
    if code not in ("OK", "INFO", "ERROR"):
        raise SoapError("malformed-response", "the answer has no valid resultCode")
    return code


class RivtaCarelistingSource:
    name = NAME

    def __init__(
        self,
        client: SoapClient,
        *,
        county_url: str,
        listing_url: str,
        actor_id: str,
        actor_type: str = "healthcare_professional",
    ) -> None:
        self.client = client
        self.county_url = county_url
        self.listing_url = listing_url
        self.actor_id = actor_id
        self.actor_type = actor_type

    def _exchange(
        self, url: str, action: str, logical_address: str, request: ET.Element, expected: str
    ) -> ET.Element:
        status, data = self.client.call(url, action, envelope(logical_address, request))
        # A SOAP fault comes with 500; anything else that is not 200 is not an answer.
        if status not in (200, 500):
            raise SoapError("http-status", f"HTTP {status}")
        return body_child(data, expected)

    def counties(self, person: PersonId, home_lanskod: str) -> tuple[list[str], list[str]]:
        """The logical addresses of the regions where the person is listed, and notes."""
        response = self._exchange(
            self.county_url,
            ACTION_COUNTY,
            home_lanskod,
            _request(NS_COUNTY, "GetListingCountyRequest", person, self.actor_id, self.actor_type),
            f"{{{NS_COUNTY}}}GetListingCountyResponse",
        )
        code = _result_code(response)
        if code == "ERROR":
            raise SoapError("result-error", "GetListingCounty answered resultCode ERROR")
        addresses: list[str] = []
        for county in _children(response, "listingCounties")[:MAX_COUNTIES]:
            root = _text(county, "root")
            extension = _text(county, "extension")
            if root not in (LANSKOD_ROOT, HSA_ROOT) or not extension:
                raise SoapError("malformed-response", "a listingCounties entry is not usable")
            if extension not in addresses:
                addresses.append(extension)
        return addresses, (["rivta-county-info"] if code == "INFO" else [])

    def listings(self, person: PersonId, logical_address: str) -> tuple[list[Listing], list[str]]:
        response = self._exchange(
            self.listing_url,
            ACTION_LISTING,
            logical_address,
            _request(NS_LISTING, "GetListingRequest", person, self.actor_id, self.actor_type),
            f"{{{NS_LISTING}}}GetListingResponse",
        )
        code = _result_code(response)
        if code == "ERROR":
            raise SoapError("result-error", "GetListing answered resultCode ERROR")
        found: list[Listing] = []
        lanskod = logical_address if len(logical_address) == 2 else None
        for item in _children(response, "listings"):
            if (_text(item, "isInQueue") or "false").lower() == "true":
                continue
            hsa_id = _text(item, "healthcareFacility", "id")
            listing_type = _text(item, "listingType", "code")
            if not hsa_id or not listing_type:
                raise SoapError("malformed-response", "a listing lacks its facility or type")
            found.append(
                Listing(
                    hsa_id=hsa_id,
                    listing_type=listing_type,
                    valid_from=_date(_text(item, "validFromDate")),
                    valid_to=_date(_text(item, "validToDate")),
                    source=NAME,
                    lanskod=lanskod,
                )
            )
        return found, (["rivta-listing-info"] if code == "INFO" else [])

    def lookup(self, person: PersonId, home_lanskod: str) -> SourceAnswer:
        try:
            addresses, notes = self.counties(person, home_lanskod)
            listings: list[Listing] = []
            for address in addresses:
                found, more = self.listings(person, address)
                listings.extend(found)
                notes.extend(n for n in more if n not in notes)
        except SoapError as error:
            raise SourceUnavailable(NAME, error.reason, error.detail) from None
        return SourceAnswer(NAME, tuple(listings), False, tuple(notes))
