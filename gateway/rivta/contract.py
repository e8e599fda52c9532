"""The project's RIVTA service contract, ``urn:riv:kvgateway:medicalstatement`` v1.

Two interactions (the XSDs and WSDLs are in :mod:`gateway.rivta.schemas`):

- **ProcessMedicalStatementRequest**: the gateway sends a request (or a notice about one)
  to the care unit's journal system; logical address = the care unit's HSA-id.
- **UpdateMedicalStatementRequest**: the journal system reports status changes and the
  answer back to the gateway; logical address = the gateway's HSA-id.

The content travels as FHIR R4 JSON, base64-encoded, inside the messages: the gateway's
request *is* a FHIR transaction Bundle (validated against the project's profiles) and
its answer *is* a QuestionnaireResponse to the national Questionnaire, so a second,
structured XML model of the same content would only be a second thing to keep in step.
The structured fields carry what a journal system needs without reading FHIR: the
message id, the Task id, the care unit, the person and the answer date.

Every message is built and read here only, and checked against its XSD both ways.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass
from typing import Any

from lxml import etree

from gateway.api.body import parse_json_object
from gateway.errors import FhirError
from gateway.rivta.safe_xml import build_envelope, read_envelope, schema
from gateway.rivta.soap import SoapError

DOMAIN = "urn:riv:kvgateway:medicalstatement"
NS_CORE = f"{DOMAIN}:1"
PROCESS = "ProcessMedicalStatementRequest"
UPDATE = "UpdateMedicalStatementRequest"
NS_PROCESS = f"{DOMAIN}:{PROCESS}Responder:1"
NS_UPDATE = f"{DOMAIN}:{UPDATE}Responder:1"
ACTION_PROCESS = f"{NS_PROCESS}:{PROCESS}"
ACTION_UPDATE = f"{NS_UPDATE}:{UPDATE}"
XSD_PROCESS = f"{PROCESS}Responder_1.0.xsd"
XSD_UPDATE = f"{UPDATE}Responder_1.0.xsd"
WSDL_PROCESS = f"{PROCESS}Interaction_1.0_RIVTABP21.wsdl"
WSDL_UPDATE = f"{UPDATE}Interaction_1.0_RIVTABP21.wsdl"

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024  # as the XSD's FhirJsonType says
MAX_PAYLOAD_DEPTH = 64  # as the FHIR API's default (KVGW_MAX_JSON_DEPTH)
# An envelope is the base64 payload (4/3 of it) plus a few kB of fields.
MAX_MESSAGE_BYTES = MAX_PAYLOAD_BYTES * 4 // 3 + 64 * 1024

REQUEST = "REQUEST"
NOTICE = "NOTICE"
OK, INFO, ERROR = "OK", "INFO", "ERROR"
VALIDATION_ERROR = "VALIDATION_ERROR"
TRANSFORMATION_ERROR = "TRANSFORMATION_ERROR"
APPLICATION_ERROR = "APPLICATION_ERROR"
TECHNICAL_ERROR = "TECHNICAL_ERROR"


@dataclass(frozen=True)
class Result:
    """A RIVTA ResultType. ``text`` is for people and carries no patient data."""

    code: str
    error_code: str | None = None
    text: str | None = None

    @classmethod
    def ok(cls, text: str | None = None) -> Result:
        return cls(OK, None, text)

    @classmethod
    def info(cls, text: str) -> Result:
        return cls(INFO, None, text)

    @classmethod
    def error(cls, error_code: str, text: str) -> Result:
        return cls(ERROR, error_code, text)


@dataclass(frozen=True)
class PersonRef:
    root: str  # OID of the kind of number
    extension: str

    def __repr__(self) -> str:  # never print the number
        return f"PersonRef(root={self.root!r}, extension=<hidden>)"


@dataclass(frozen=True)
class MedicalStatementRequest:
    """One ProcessMedicalStatementRequest."""

    message_id: str
    message_type: str  # REQUEST | NOTICE
    task_id: str
    care_unit: str
    sent_at: datetime.datetime
    bundle: dict[str, Any]
    patient: PersonRef | None = None
    answer_by: datetime.date | None = None

    def __repr__(self) -> str:
        return (
            f"MedicalStatementRequest(message_id={self.message_id!r}, "
            f"type={self.message_type}, task_id={self.task_id!r})"
        )


@dataclass(frozen=True)
class MedicalStatementUpdate:
    """One UpdateMedicalStatementRequest."""

    message_id: str
    task_id: str
    care_unit: str
    sent_at: datetime.datetime
    status: str | None = None
    business_status: str | None = None
    status_reason: str | None = None
    answer: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"MedicalStatementUpdate(message_id={self.message_id!r}, task_id={self.task_id!r}, "
            f"status={self.status!r}, answer={'yes' if self.answer else 'no'})"
        )


# ----- building -------------------------------------------------------------------------


def _sub(parent: etree._Element, ns: str, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        element.text = text
    return element


def _timestamp(moment: datetime.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps carry a time zone")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _payload(parent: etree._Element, ns: str, name: str, resource: dict[str, Any]) -> None:
    encoded = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise SoapError("too-large", "the FHIR payload exceeds the contract's 2 MiB")
    element = _sub(parent, ns, name, base64.b64encode(encoded).decode("ascii"))
    element.set("contentType", FHIR_JSON)
    element.set("fhirVersion", FHIR_VERSION)


def _result(parent: etree._Element, ns: str, result: Result) -> None:
    element = _sub(parent, ns, "result")
    _sub(element, NS_CORE, "resultCode", result.code)
    if result.error_code:
        _sub(element, NS_CORE, "errorCode", result.error_code)
    if result.text:
        _sub(element, NS_CORE, "resultText", result.text[:2000])


def request_envelope(logical_address: str, message: MedicalStatementRequest) -> bytes:
    root = etree.Element(f"{{{NS_PROCESS}}}{PROCESS}", nsmap={None: NS_PROCESS, "core": NS_CORE})
    _sub(root, NS_PROCESS, "messageId", message.message_id)
    _sub(root, NS_PROCESS, "messageType", message.message_type)
    _sub(root, NS_PROCESS, "taskId", message.task_id)
    _sub(root, NS_PROCESS, "careUnitHsaId", message.care_unit)
    if message.patient is not None:
        person = _sub(root, NS_PROCESS, "patientId")
        _sub(person, NS_CORE, "root", message.patient.root)
        _sub(person, NS_CORE, "extension", message.patient.extension)
    if message.answer_by is not None:
        _sub(root, NS_PROCESS, "answerBy", message.answer_by.isoformat())
    _sub(root, NS_PROCESS, "sentAt", _timestamp(message.sent_at))
    _payload(root, NS_PROCESS, "fhirPayload", message.bundle)
    schema(XSD_PROCESS).check(root)
    return build_envelope(logical_address, root)


def request_response_envelope(result: Result) -> bytes:
    root = etree.Element(
        f"{{{NS_PROCESS}}}{PROCESS}Response", nsmap={None: NS_PROCESS, "core": NS_CORE}
    )
    _result(root, NS_PROCESS, result)
    schema(XSD_PROCESS).check(root)
    return build_envelope(None, root)


def update_envelope(logical_address: str, message: MedicalStatementUpdate) -> bytes:
    root = etree.Element(f"{{{NS_UPDATE}}}{UPDATE}", nsmap={None: NS_UPDATE, "core": NS_CORE})
    _sub(root, NS_UPDATE, "messageId", message.message_id)
    _sub(root, NS_UPDATE, "taskId", message.task_id)
    _sub(root, NS_UPDATE, "careUnitHsaId", message.care_unit)
    for name, value in (
        ("status", message.status),
        ("businessStatus", message.business_status),
        ("statusReason", message.status_reason),
    ):
        if value is not None:
            _sub(root, NS_UPDATE, name, value)
    if message.answer is not None:
        _payload(root, NS_UPDATE, "answer", message.answer)
    _sub(root, NS_UPDATE, "sentAt", _timestamp(message.sent_at))
    schema(XSD_UPDATE).check(root)
    return build_envelope(logical_address, root)


def update_response_envelope(result: Result, task_status: str | None = None) -> bytes:
    root = etree.Element(
        f"{{{NS_UPDATE}}}{UPDATE}Response", nsmap={None: NS_UPDATE, "core": NS_CORE}
    )
    _result(root, NS_UPDATE, result)
    if task_status is not None:
        _sub(root, NS_UPDATE, "taskStatus", task_status)
    schema(XSD_UPDATE).check(root)
    return build_envelope(None, root)


# ----- reading --------------------------------------------------------------------------


def _expect(element: etree._Element, ns: str, name: str) -> None:
    if element.tag != f"{{{ns}}}{name}":
        raise SoapError("unexpected-element", f"the SOAP Body does not hold a {name}")


def _text(element: etree._Element, ns: str, name: str) -> str | None:
    found = element.find(f"{{{ns}}}{name}")
    return found.text.strip() if found is not None and found.text is not None else None


def _required(element: etree._Element, ns: str, name: str) -> str:
    value = _text(element, ns, name)
    if value is None:  # the schema has already said so; this keeps the types honest
        raise SoapError("schema", f"{name} is missing")
    return value


def _when(text: str, name: str) -> datetime.datetime:
    """An XSD dateTime. One that Python has no datetime for (hour 24, a year outside
    1-9999) is :class:`SoapError` ``value``, naming the element, never the value."""
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SoapError("value", f"{name} is not a date and time the gateway can read") from None


def _day(text: str, name: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise SoapError("value", f"{name} is not a date the gateway can read") from None


def _fhir(element: etree._Element | None, resource_type: str) -> dict[str, Any] | None:
    """The FHIR resource in a FhirPayloadType element; ``payload`` errors are
    TRANSFORMATION_ERROR territory (the XML was fine, the content is not FHIR JSON)."""
    if element is None:
        return None
    try:
        raw = base64.b64decode("".join((element.text or "").split()), validate=True)
        # As the FHIR API reads a body: no key twice in one object, and a bounded depth.
        resource = parse_json_object(raw, MAX_PAYLOAD_DEPTH)
    except binascii.Error:
        raise SoapError("payload", "the FHIR payload is not base64-encoded") from None
    except FhirError:
        raise SoapError(
            "payload",
            "the FHIR payload is not one JSON object in UTF-8, each key once, nested at most "
            f"{MAX_PAYLOAD_DEPTH} deep",
        ) from None
    if resource.get("resourceType") != resource_type:
        raise SoapError("payload", f"the FHIR payload is not a {resource_type}")
    return resource


def _read(data: bytes, ns: str, name: str, xsd: str) -> tuple[str | None, etree._Element]:
    envelope = read_envelope(data, MAX_MESSAGE_BYTES)
    _expect(envelope.body, ns, name)
    schema(xsd).check(envelope.body)
    return envelope.logical_address, envelope.body


def _read_result(root: etree._Element, ns: str) -> Result:
    result = root.find(f"{{{ns}}}result")
    assert result is not None  # required by the schema, which has been checked
    return Result(
        _required(result, NS_CORE, "resultCode"),
        _text(result, NS_CORE, "errorCode"),
        _text(result, NS_CORE, "resultText"),
    )


def read_request(data: bytes) -> tuple[str | None, MedicalStatementRequest]:
    address, root = _read(data, NS_PROCESS, PROCESS, XSD_PROCESS)
    person = root.find(f"{{{NS_PROCESS}}}patientId")
    answer_by = _text(root, NS_PROCESS, "answerBy")
    bundle = _fhir(root.find(f"{{{NS_PROCESS}}}fhirPayload"), "Bundle")
    assert bundle is not None
    return address, MedicalStatementRequest(
        message_id=_required(root, NS_PROCESS, "messageId"),
        message_type=_required(root, NS_PROCESS, "messageType"),
        task_id=_required(root, NS_PROCESS, "taskId"),
        care_unit=_required(root, NS_PROCESS, "careUnitHsaId"),
        sent_at=_when(_required(root, NS_PROCESS, "sentAt"), "sentAt"),
        bundle=bundle,
        patient=(
            PersonRef(_required(person, NS_CORE, "root"), _required(person, NS_CORE, "extension"))
            if person is not None
            else None
        ),
        answer_by=_day(answer_by, "answerBy") if answer_by else None,
    )


def read_request_response(data: bytes) -> Result:
    _, root = _read(data, NS_PROCESS, f"{PROCESS}Response", XSD_PROCESS)
    return _read_result(root, NS_PROCESS)


@dataclass(frozen=True)
class ReceivedUpdate:
    """An UpdateMedicalStatementRequest that follows the XSD, read as far as needed to
    decide who may send it; :meth:`decode` reads the answer's FHIR payload."""

    logical_address: str | None
    message_id: str
    task_id: str
    care_unit: str
    sent_at: datetime.datetime
    element: etree._Element

    def __repr__(self) -> str:
        return f"ReceivedUpdate(message_id={self.message_id!r}, task_id={self.task_id!r})"

    def decode(self) -> MedicalStatementUpdate:
        """The whole message; :class:`SoapError` ``payload`` when the answer is not a
        QuestionnaireResponse in FHIR JSON."""
        root = self.element
        return MedicalStatementUpdate(
            message_id=self.message_id,
            task_id=self.task_id,
            care_unit=self.care_unit,
            sent_at=self.sent_at,
            status=_text(root, NS_UPDATE, "status"),
            business_status=_text(root, NS_UPDATE, "businessStatus"),
            status_reason=_text(root, NS_UPDATE, "statusReason"),
            answer=_fhir(root.find(f"{{{NS_UPDATE}}}answer"), "QuestionnaireResponse"),
        )


def receive_update(data: bytes) -> ReceivedUpdate:
    address, root = _read(data, NS_UPDATE, UPDATE, XSD_UPDATE)
    return ReceivedUpdate(
        logical_address=address,
        message_id=_required(root, NS_UPDATE, "messageId"),
        task_id=_required(root, NS_UPDATE, "taskId"),
        care_unit=_required(root, NS_UPDATE, "careUnitHsaId"),
        sent_at=_when(_required(root, NS_UPDATE, "sentAt"), "sentAt"),
        element=root,
    )


def read_update(data: bytes) -> tuple[str | None, MedicalStatementUpdate]:
    received = receive_update(data)
    return received.logical_address, received.decode()


def read_update_response(data: bytes) -> tuple[Result, str | None]:
    _, root = _read(data, NS_UPDATE, f"{UPDATE}Response", XSD_UPDATE)
    return _read_result(root, NS_UPDATE), _text(root, NS_UPDATE, "taskStatus")
