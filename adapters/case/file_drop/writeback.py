"""What goes back to the case system: status changes and answers in the vendor's form.

:func:`status_record` and :func:`answer_record` collect our fields; :func:`render` writes
them as the mapping's ``output`` says (JSON object or XML document, the vendor's field
names, the vendor's status codes); :func:`write_atomically` puts the bytes in place with a
temporary file and a rename, mode 0600, so the case system never reads half a file.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.case.file_drop.mapping import Output

# What XML 1.0 cannot hold. The gateway refuses these in what it stores, but what it held
# before it did, or a peer's answer, must not stop the adapter: they become U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


Record = dict[str, Any]  # our field name → str, or (answers) linkId → list[str]


def _code(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            return str(coding["code"])
    text = concept.get("text")
    return str(text) if text else None


def status_record(task: dict[str, Any], case_id: str) -> Record:
    record: Record = {
        "kind": "status",
        "case_id": case_id,
        "task_id": str(task.get("id", "")),
        "status": str(task.get("status", "")),
        "updated": str((task.get("meta") or {}).get("lastUpdated", "")),
    }
    business = _code(task.get("businessStatus"))
    if business:
        record["business_status"] = business
    reason = task.get("statusReason")
    if isinstance(reason, dict) and (reason.get("text") or _code(reason)):
        record["reason"] = str(reason.get("text") or _code(reason))
    return record


def _answer_value(answer: dict[str, Any]) -> str | None:
    for key, value in answer.items():
        if not key.startswith("value"):
            continue
        if key == "valueBoolean":
            return "true" if value else "false"
        if key == "valueCoding" and isinstance(value, dict):
            return str(value.get("code", ""))
        if isinstance(value, str | int | float):
            return str(value)
    return None


def answers_of(response: dict[str, Any]) -> dict[str, list[str]]:
    """Every answered item of a QuestionnaireResponse, by linkId, in form order."""
    found: dict[str, list[str]] = {}

    def visit(items: list[Any]) -> None:
        for item in items:
            if not isinstance(item, dict):
                continue
            for answer in item.get("answer") or []:
                value = _answer_value(answer)
                if value is not None:
                    found.setdefault(str(item.get("linkId")), []).append(value)
                visit(answer.get("item") or [])
            visit(item.get("item") or [])

    visit(response.get("item") or [])
    return found


def answer_record(task: dict[str, Any], case_id: str, response: dict[str, Any]) -> Record:
    record = status_record(task, case_id)
    record["kind"] = "answer"
    record["answered"] = str(response.get("authored", ""))
    record["answers"] = answers_of(response)
    return record


def _vendor_fields(record: Record, output: Output) -> list[tuple[str, str | list[str]]]:
    """(vendor name, value) pairs in a stable order: fields, then answers."""
    pairs: list[tuple[str, str | list[str]]] = []
    for ours, theirs in output.fields.items():
        value = record.get(ours)
        if value is None:
            continue
        if ours == "status":
            value = output.status_codes.get(str(value), str(value))
        pairs.append((theirs, str(value)))
    return pairs


def render(record: Record, output: Output) -> bytes:
    fields = _vendor_fields(record, output)
    answers: dict[str, list[str]] = record.get("answers") or {}
    mapped = [
        (output.answers[link], values) for link, values in answers.items() if link in output.answers
    ]
    unmapped = [(link, values) for link, values in answers.items() if link not in output.answers]
    if output.kind == "json":
        body: dict[str, Any] = dict(fields)
        for name, values in mapped:
            body[name] = values[0] if len(values) == 1 else values
        if output.unmapped_answers and unmapped:
            body[output.unmapped_answers] = [
                {"linkId": link, "value": values[0] if len(values) == 1 else values}
                for link, values in unmapped
            ]
        return json.dumps({output.root: body}, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    root = etree.Element(output.root)
    for name, value in fields:
        etree.SubElement(root, name).text = _xml_text(str(value))
    for name, values in mapped:
        for value in values:
            etree.SubElement(root, name).text = _xml_text(value)
    if output.unmapped_answers:
        for link, values in unmapped:
            for value in values:
                element = etree.SubElement(root, output.unmapped_answers, linkId=_xml_text(link))
                element.text = _xml_text(value)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write ``folder/name`` through a hidden temporary file and a rename (mode 0600)."""
    target = folder / name
    temporary = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
