"""Untrusted XML in, schema-valid XML out: the lxml side of the RIVTA contract.

Every document is first read by defusedxml with DTDs, entities and external references
forbidden (:func:`gateway.rivta.soap.parse`), and only then by lxml, with a parser that
resolves no entities, loads no DTD and touches no network, so XSD validation never sees
anything defusedxml did not pass. Size is checked before either parser runs.

Validation errors name the element where the message breaks the schema, never its value:
a value may be a personnummer.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from lxml import etree

from gateway.rivta.soap import LOGICAL_ADDRESS_NS, SOAP_ENV, SoapError, SoapFault
from gateway.rivta.soap import parse as defused_parse
from gateway.xml_parsing import hardened_parser

SCHEMA_PACKAGE = "gateway.rivta.schemas"


def parse(data: bytes, max_bytes: int) -> etree._Element:
    """The root of an untrusted document, or :class:`SoapError` (``too-large``,
    ``unsafe-xml``, ``malformed-response``)."""
    if len(data) > max_bytes:
        raise SoapError("too-large", "the message exceeds the size limit")
    defused_parse(data)  # refuses DTDs, entity declarations and external references
    try:
        return etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError:
        raise SoapError("malformed-response", "the message is not well-formed XML") from None


class Schema:
    """One XSD (with its imports), loaded from the package's schema folder.

    lxml validators are not shared between threads here: validation takes a lock.
    """

    def __init__(self, filename: str) -> None:
        self.filename = filename
        path = files(SCHEMA_PACKAGE).joinpath(filename)
        with path.open("rb") as handle:
            document = etree.parse(handle, hardened_parser(), base_url=str(path))
        self._schema = etree.XMLSchema(document)
        self._lock = threading.Lock()

    def check(self, element: etree._Element) -> None:
        """Raise :class:`SoapError` ``schema`` unless ``element`` (as a document of its
        own) is valid."""
        standalone = copy.deepcopy(element)
        with self._lock:
            valid = self._schema.validate(standalone)
            errors = list(self._schema.error_log)
        if not valid:
            where = _where(standalone, errors[0].path if errors else None)
            raise SoapError("schema", f"the message does not follow {self.filename} at {where}")


def _where(root: etree._Element, path: str | None) -> str:
    """The failing element as local names (``/UpdateMedicalStatementRequest/status``)."""
    if not path:
        return "?"
    prefixes = {
        prefix: uri
        for element in root.iter()
        if isinstance(element.tag, str)
        for prefix, uri in element.nsmap.items()
        if prefix
    }
    try:
        found = etree.ElementTree(root).xpath(path, namespaces=prefixes)
    except etree.XPathError:
        return "?"
    if not found or not isinstance(found[0], etree._Element):
        return "?"
    names = [etree.QName(node).localname for node in [found[0], *found[0].iterancestors()]]
    return "/" + "/".join(reversed(names))


@cache
def schema(filename: str) -> Schema:
    return Schema(filename)


REGISTRY_XSD = "itintegration_registry_1.0.xsd"


@dataclass(frozen=True)
class Envelope:
    logical_address: str | None
    body: etree._Element


def build_envelope(logical_address: str | None, body: etree._Element) -> bytes:
    """A SOAP 1.1 envelope; with a RIVTA BP 2.1 LogicalAddress header when one is given
    (requests carry one, responses do not)."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    header = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    if logical_address is not None:
        address = etree.SubElement(
            header, f"{{{LOGICAL_ADDRESS_NS}}}LogicalAddress", nsmap={"itr": LOGICAL_ADDRESS_NS}
        )
        address.text = logical_address
        schema(REGISTRY_XSD).check(address)
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(body)
    encoded: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return encoded


def read_envelope(data: bytes, max_bytes: int) -> Envelope:
    """Parse a SOAP 1.1 envelope: its LogicalAddress (checked against the registry XSD, if
    present) and the single element in its Body. A Body holding a Fault raises
    :class:`SoapFault`."""
    root = parse(data, max_bytes)
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapError("malformed-response", "the message is not a SOAP 1.1 envelope")
    header = root.find(f"{{{SOAP_ENV}}}Header")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None:
        raise SoapError("malformed-response", "the SOAP envelope has no Body")
    children = [child for child in body if isinstance(child.tag, str)]
    if len(children) != 1:
        raise SoapError("malformed-response", "the SOAP Body must hold exactly one element")
    content = children[0]
    if content.tag == f"{{{SOAP_ENV}}}Fault":
        raise SoapFault(
            (content.findtext("faultcode") or "").strip(),
            (content.findtext("faultstring") or "").strip(),
        )
    address: str | None = None
    if header is not None:
        found = header.findall(f"{{{LOGICAL_ADDRESS_NS}}}LogicalAddress")
        if len(found) > 1:
            raise SoapError("malformed-response", "more than one LogicalAddress header")
        if found:
            schema(REGISTRY_XSD).check(found[0])
            address = (found[0].text or "").strip()
    return Envelope(address, content)


def build_fault(who: str, faultstring: str) -> bytes:
    """A SOAP 1.1 Fault. ``who`` is ``Client`` (the message or the caller is at fault) or
    ``Server`` (a passing fault here). The string is fixed text, never an echo of input."""
    if who not in ("Client", "Server"):
        raise ValueError("faultcode is Client or Server")
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soapenv:{who}"
    etree.SubElement(fault, "faultstring").text = faultstring
    encoded: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return encoded
