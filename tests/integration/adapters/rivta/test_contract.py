"""The project's RIVTA service contract: the XSDs, the WSDLs, and the codec that builds and
reads every message only through them."""

from __future__ import annotations

import base64
import datetime
import json
from importlib.resources import files

import pytest
from lxml import etree

from gateway.rivta import contract
from gateway.rivta.contract import (
    MedicalStatementRequest,
    MedicalStatementUpdate,
    PersonRef,
    Result,
)
from gateway.rivta.safe_xml import build_fault, read_envelope
from gateway.rivta.soap import LOGICAL_ADDRESS_NS, SOAP_ENV, SoapError, SoapFault
from gateway.validation.conformance import DEFAULT_COMPILED_DIR
from gateway.validation.identifiers import synthetic_personnummer

PNR = synthetic_personnummer(datetime.date(1985, 3, 14), 238)
UNIT = "SE2321000198-VC2001"
GATEWAY = "SE2321000016-KVGW"
NOW = datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC)
BUNDLE = {"resourceType": "Bundle", "type": "transaction", "entry": []}
ANSWER = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": []}
XSD = "http://www.w3.org/2001/XMLSchema"


def _request(**changes: object) -> MedicalStatementRequest:
    fields: dict[str, object] = {
        "message_id": "deliver:Task/t1",
        "message_type": contract.REQUEST,
        "task_id": "t1",
        "care_unit": UNIT,
        "sent_at": NOW,
        "bundle": BUNDLE,
        "patient": PersonRef("1.2.752.129.2.1.3.1", PNR),
        "answer_by": datetime.date(2026, 3, 21),
    }
    fields.update(changes)
    return MedicalStatementRequest(**fields)  # type: ignore[arg-type]


def _update(**changes: object) -> MedicalStatementUpdate:
    fields: dict[str, object] = {
        "message_id": "vc-msg-1",
        "task_id": "t1",
        "care_unit": UNIT,
        "sent_at": NOW,
        "status": "completed",
        "answer": ANSWER,
    }
    fields.update(changes)
    return MedicalStatementUpdate(**fields)  # type: ignore[arg-type]


def test_a_request_survives_the_round_trip_with_its_logical_address() -> None:
    envelope = contract.request_envelope(UNIT, _request())
    address, read = contract.read_request(envelope)
    assert address == UNIT
    assert read == _request()
    assert PNR not in repr(read)
    root = etree.fromstring(envelope)
    header = root.find(f"{{{SOAP_ENV}}}Header/{{{LOGICAL_ADDRESS_NS}}}LogicalAddress")
    assert header is not None
    assert header.text == UNIT


def test_an_update_and_both_responses_survive_the_round_trip() -> None:
    address, read = contract.read_update(contract.update_envelope(GATEWAY, _update()))
    assert (address, read) == (GATEWAY, _update())
    refused = Result.error(contract.APPLICATION_ERROR, "Uppgiften hör inte till enheten.")
    assert contract.read_update_response(
        contract.update_response_envelope(refused, "received")
    ) == (refused, "received")
    noted = Result.info("Tagen; journalen uppdateras i natt.")
    assert contract.read_request_response(contract.request_response_envelope(noted)) == noted


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"task_id": "has spaces"}, "/ProcessMedicalStatementRequest/taskId"),
        ({"care_unit": "SE 1"}, "/ProcessMedicalStatementRequest/careUnitHsaId"),
        ({"message_type": "ANSWER"}, "/ProcessMedicalStatementRequest/messageType"),
        ({"message_id": "x" * 129}, "/ProcessMedicalStatementRequest/messageId"),
        (
            {"patient": PersonRef("not-an-oid", PNR)},
            "/ProcessMedicalStatementRequest/patientId/root",
        ),
    ],
)
def test_an_outgoing_message_that_breaks_the_xsd_is_never_built(
    change: dict[str, object], where: str
) -> None:
    with pytest.raises(SoapError) as caught:
        contract.request_envelope(UNIT, _request(**change))
    assert caught.value.reason == "schema"
    assert caught.value.detail.endswith(f"at {where}")


def test_an_incoming_message_that_breaks_the_xsd_names_the_place_not_the_value() -> None:
    envelope = contract.request_envelope(UNIT, _request())
    broken = envelope.replace(PNR.encode(), (PNR + "0" * 12).encode())
    with pytest.raises(SoapError) as caught:
        contract.read_request(broken)
    assert caught.value.reason == "schema"
    assert "patientId/extension" in caught.value.detail
    assert PNR not in caught.value.detail


def test_the_update_codes_are_exactly_the_codesystems() -> None:
    core = etree.parse(
        str(files("gateway.rivta.schemas").joinpath("kvgateway_medicalstatement_1.0.xsd"))
    )

    def enumeration(name: str) -> set[str]:
        found = core.xpath(
            f"//xs:simpleType[@name='{name}']//xs:enumeration/@value", namespaces={"xs": XSD}
        )
        return {str(v) for v in found}

    def codes(codesystem: str) -> set[str]:
        data = json.loads((DEFAULT_COMPILED_DIR / f"CodeSystem-{codesystem}.json").read_text())
        return {c["code"] for c in data["concept"]}

    assert enumeration("BusinessStatusEnum") == codes("kv-task-business-status")
    assert enumeration("RejectionReasonEnum") == codes("kv-rejection-reason")
    with pytest.raises(SoapError):
        contract.update_envelope(GATEWAY, _update(business_status="på lunch"))


@pytest.mark.parametrize(
    ("wsdl", "operation", "action"),
    [
        (contract.WSDL_PROCESS, contract.PROCESS, contract.ACTION_PROCESS),
        (contract.WSDL_UPDATE, contract.UPDATE, contract.ACTION_UPDATE),
    ],
)
def test_the_wsdls_name_the_operation_action_header_and_existing_xsds(
    wsdl: str, operation: str, action: str
) -> None:
    folder = files("gateway.rivta.schemas")
    document = etree.parse(str(folder.joinpath(wsdl)))
    ns = {
        "wsdl": "http://schemas.xmlsoap.org/wsdl/",
        "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
        "xs": XSD,
    }
    assert document.xpath("//wsdl:portType/wsdl:operation/@name", namespaces=ns) == [operation]
    assert document.xpath("//soap:operation/@soapAction", namespaces=ns) == [action]
    assert document.xpath("//soap:header/@part", namespaces=ns) == ["LogicalAddress"]
    for location in document.xpath("//xs:import/@schemaLocation", namespaces=ns):
        assert folder.joinpath(str(location)).is_file(), location


HOSTILE = {
    "xxe": (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    ),
    "laughs": (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>'
    ),
    "external-dtd": b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_dtds_and_entities_are_refused_before_anything_reads_them(kind: str) -> None:
    with pytest.raises(SoapError) as caught:
        contract.read_update(HOSTILE[kind])
    assert caught.value.reason == "unsafe-xml"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<html>Service Unavailable", "malformed-response"),
        (b"not xml at all", "malformed-response"),
        (b"<Envelope/>", "malformed-response"),
        (b"<x>" + b"a" * (contract.MAX_MESSAGE_BYTES + 1) + b"</x>", "too-large"),
    ],
)
def test_garbage_is_a_clear_error(data: bytes, reason: str) -> None:
    with pytest.raises(SoapError) as caught:
        contract.read_request_response(data)
    assert caught.value.reason == reason


def test_a_response_of_the_other_contract_is_not_taken() -> None:
    other = contract.update_response_envelope(Result.ok())
    with pytest.raises(SoapError) as caught:
        contract.read_request_response(other)
    assert caught.value.reason == "unexpected-element"


def test_a_payload_that_is_not_fhir_json_is_a_payload_error() -> None:
    envelope = contract.update_envelope(GATEWAY, _update())
    encoded = base64.b64encode(json.dumps(ANSWER, separators=(",", ":")).encode())
    for replacement in (
        base64.b64encode(b"{not json"),
        base64.b64encode(b'{"resourceType":"Patient"}'),
        # Read as the FHIR API reads a body: each key once, and a bounded depth.
        base64.b64encode(
            b'{"resourceType":"QuestionnaireResponse","status":"completed","status":"amended"}'
        ),
        base64.b64encode(
            b'{"resourceType":"QuestionnaireResponse","item":' + b"[" * 80 + b"]" * 80 + b"}"
        ),
    ):
        with pytest.raises(SoapError) as caught:
            contract.read_update(envelope.replace(encoded, replacement))
        assert caught.value.reason == "payload"


def test_a_fault_is_read_as_a_fault_and_built_without_echo() -> None:
    fault = build_fault("Client", "KV107 not authorised")
    with pytest.raises(SoapFault) as caught:
        read_envelope(fault, 10_000)
    assert caught.value.faultcode == "soapenv:Client"
    assert "KV107" in caught.value.detail
    with pytest.raises(ValueError, match="Client or Server"):
        build_fault("Receiver", "x")
