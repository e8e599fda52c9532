"""One dropped vendor file → the fields a request needs, as the mapping describes them.

A file is one case: a JSON object, an XML document, or a CSV file with a header row and
exactly one data row. Files over the mapping's ``format.max_bytes`` are refused unread.
XML is first read by defusedxml with DTDs, entity declarations and external references
forbidden, and only then by lxml (for XPath) with a parser that resolves no entities,
loads no DTD and touches no network.

A :class:`RecordError` says in Swedish what is wrong and names the field and the place in
the file, never a value: a value may be a personnummer.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedElementTree
from lxml import etree

from adapters.case.file_drop.mapping import (
    DATE_FIELDS,
    REQUIRED_FIELDS,
    Conversion,
    Mapping,
)
from gateway.search.query import small_number
from gateway.xml_parsing import hardened_parser

MappedCase = dict[str, str]
_NOT_A_FILE = "Det som lämnades är ingen vanlig fil (utan en länk, en pipe eller en enhet)."


class RecordError(Exception):
    """A dropped file the adapter cannot turn into a request (final: it goes to refused/)."""

    def __init__(self, text_sv: str, where: str | None = None) -> None:
        super().__init__(text_sv)
        self.text_sv = text_sv
        self.where = where


def read_file(path: Path, mapping: Mapping) -> MappedCase:
    """Read at most ``format.max_bytes`` of the file and map it. Only a regular file is
    read: not a link (to a file elsewhere, say), a pipe or a device."""
    limit = mapping.format.max_bytes
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:  # a symbolic link
            raise RecordError(_NOT_A_FILE) from None
        raise
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise RecordError(_NOT_A_FILE)
        data = handle.read(limit + 1)
    return read_record(data, mapping)


def read_record(data: bytes, mapping: Mapping) -> MappedCase:
    limit = mapping.format.max_bytes
    if len(data) > limit:
        raise RecordError(f"Filen är större än de {limit} byte som tillåts för en fil.")
    kind = mapping.format.input
    if kind == "json":
        raw = _json_values(data, mapping)
    elif kind == "csv":
        raw = _csv_values(data, mapping)
    else:
        raw = _xml_values(data, mapping)
    return _converted(raw, mapping)


def _text(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise RecordError(f"Filen kan inte läsas som {encoding}.") from None


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


class _RepeatedKeyError(Exception):
    pass


def _object_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each given once: a repeated key is ambiguous (which
    person, which case?), not a value to take the last of."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _RepeatedKeyError
    return found


def _json_values(data: bytes, mapping: Mapping) -> dict[str, str | None]:
    try:
        document = json.loads(_text(data, mapping.format.encoding), object_pairs_hook=_object_once)
    except _RepeatedKeyError:
        raise RecordError("Filen har samma nyckel två gånger i ett och samma objekt.") from None
    except json.JSONDecodeError as error:
        raise RecordError(
            f"Filen är inte giltig JSON (rad {error.lineno}, kolumn {error.colno})."
        ) from None
    if not isinstance(document, dict):
        raise RecordError("Filen ska innehålla ett JSON-objekt med ett ärende.")
    values: dict[str, str | None] = {}
    for name, where in mapping.fields.items():
        node: Any = document
        for part in where.split("."):
            index = small_number(part)
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and index is not None and index < len(node):
                node = node[index]
            else:
                node = None
                break
        if isinstance(node, dict | list):
            raise RecordError(
                f"Fältet '{name}' ska vara ett enkelt värde, inte en lista eller ett objekt.",
                where,
            )
        values[name] = _scalar(node)
    return values


def _csv_values(data: bytes, mapping: Mapping) -> dict[str, str | None]:
    text = _text(data, mapping.format.encoding)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=mapping.format.csv_delimiter, strict=True
    )
    try:
        rows = list(reader)
    except csv.Error:
        raise RecordError(f"Filen är inte giltig CSV (rad {reader.line_num}).") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) != 2:
        raise RecordError(
            "En CSV-fil ska ha en rubrikrad och exakt en rad med ett ärende "
            f"(filen har {max(len(rows) - 1, 0)} ärenderader)."
        )
    header, row = [cell.strip() for cell in rows[0]], rows[1]
    if len(set(header)) != len(header):
        raise RecordError("Rubrikraden har samma kolumnnamn två gånger.")
    if len(row) != len(header):
        raise RecordError(f"Ärenderaden har {len(row)} kolumner men rubrikraden {len(header)}.")
    by_column = dict(zip(header, row, strict=True))
    return {name: by_column.get(column) for name, column in mapping.fields.items()}


def _xml_values(data: bytes, mapping: Mapping) -> dict[str, str | None]:
    try:
        DefusedElementTree.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise RecordError(
            "Filen innehåller en DTD eller entitetsdeklarationer, som inte tillåts."
        ) from None
    except DefusedElementTree.ParseError:
        raise RecordError("Filen är inte välformad XML.") from None
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError:
        raise RecordError("Filen är inte välformad XML.") from None
    namespaces = mapping.format.xml_namespaces or None
    values: dict[str, str | None] = {}
    for name, where in mapping.fields.items():
        try:
            found = root.xpath(where, namespaces=namespaces)
        except etree.XPathError:
            raise RecordError(f"Fältet '{name}' kunde inte hämtas ur filen.", where) from None
        values[name] = _xpath_value(name, where, found)
    return values


def _xpath_value(name: str, where: str, found: Any) -> str | None:
    if isinstance(found, list):
        if not found:
            return None
        if len(found) > 1:
            raise RecordError(f"Fältet '{name}' förekommer mer än en gång i filen.", where)
        found = found[0]
    if isinstance(found, etree._Element):
        return "".join(found.itertext())
    if isinstance(found, bool):
        return "true" if found else "false"
    if isinstance(found, float):
        return str(int(found)) if found.is_integer() else str(found)
    return str(found)


def _converted(raw: dict[str, str | None], mapping: Mapping) -> MappedCase:
    mapped: MappedCase = {}
    names = set(raw) | set(mapping.convert)
    for name in sorted(names):
        where = mapping.fields.get(name)
        value = raw.get(name)
        value = value.strip() if value is not None else None
        rule = mapping.convert.get(name)
        converted = _apply(name, value or None, rule, where)
        if converted:
            mapped[name] = converted
    for name in REQUIRED_FIELDS:
        if name not in mapped:
            raise RecordError(
                f"Fältet '{name}' saknas eller är tomt i filen.", mapping.fields.get(name)
            )
    return mapped


def _apply(name: str, value: str | None, rule: Conversion | None, where: str | None) -> str | None:
    if rule is None:
        if value is not None and name in DATE_FIELDS:
            _check_iso_date(name, value, where)
        return value
    if value is None:
        value = rule.default
        if value is None:
            return None
    else:
        for char in rule.remove:
            value = value.replace(char, "")
        if rule.map is not None:
            if value not in rule.map:
                raise RecordError(
                    f"Värdet i fältet '{name}' finns inte i mappningens kodlista.", where
                )
            value = rule.map[value]
        if rule.date_format is not None:
            try:
                parsed = datetime.strptime(value, rule.date_format)
                # strptime takes "2026113" for %Y%m%d as 2026-11-03: only a date written
                # exactly as the format writes it (numbers zero-padded) is one.
                if parsed.strftime(rule.date_format) != value:
                    raise ValueError(value)
            except ValueError:
                raise RecordError(
                    f"Datumet i fältet '{name}' har inte formatet {rule.date_format}.", where
                ) from None
            value = parsed.date().isoformat()
    if name in DATE_FIELDS:
        _check_iso_date(name, value, where)
    return value


def _check_iso_date(name: str, value: str, where: str | None) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(
            f"Datumet i fältet '{name}' är inte ett datum (ÅÅÅÅ-MM-DD).", where
        ) from None
