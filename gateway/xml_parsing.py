"""The one lxml parser for XML from outside the gateway.

It resolves no entities, loads and validates no DTD, touches no network, refuses huge
trees and drops processing instructions. Callers first run the document past defusedxml
(which refuses DTDs, entity declarations and external references outright) and check its
size before any parser sees it: this parser is the second line, for XPath and XSD work.
"""

from __future__ import annotations

from lxml import etree


def hardened_parser() -> etree.XMLParser:
    """A new parser (an lxml parser is not to be shared between threads)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
    )
