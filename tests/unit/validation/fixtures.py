"""Hand-made conformance resources for the validator's unit tests (no profiles/ needed)."""

from __future__ import annotations

from typing import Any

from gateway.validation.conformance import Conformance, load_conformance

BASE = "https://test.example/fhir"
CS = f"{BASE}/CodeSystem/colour"
VS = f"{BASE}/ValueSet/colour"
EXT = f"{BASE}/StructureDefinition/ext-colour"
PROFILE = f"{BASE}/StructureDefinition/test-servicerequest"
PATIENT_PROFILE = f"{BASE}/StructureDefinition/test-patient"
PNR = "http://electronichealth.se/identifier/personnummer"
QUESTIONNAIRE = f"{BASE}/Questionnaire/q"


def element(element_id: str, **extra: Any) -> dict[str, Any]:
    path = ".".join(part.split(":", 1)[0] for part in element_id.split("."))
    return {"id": element_id, "path": path, **extra}


CODE_SYSTEM = {
    "resourceType": "CodeSystem",
    "url": CS,
    "content": "complete",
    "concept": [{"code": "red", "concept": [{"code": "dark-red"}]}, {"code": "blue"}],
}
VALUE_SET = {
    "resourceType": "ValueSet",
    "url": VS,
    "title": "Färger",
    "compose": {"include": [{"system": CS}]},
}
EXTENSION = {
    "resourceType": "StructureDefinition",
    "url": EXT,
    "type": "Extension",
    "kind": "complex-type",
    "snapshot": {
        "element": [
            element("Extension", min=0, max="*"),
            element("Extension.extension", min=0, max="0"),
            element("Extension.url", min=1, max="1", fixedUri=EXT),
            element(
                "Extension.value[x]",
                min=1,
                max="1",
                type=[{"code": "CodeableConcept"}],
                binding={"strength": "required", "valueSet": VS},
            ),
        ]
    },
}
SERVICE_REQUEST_PROFILE = {
    "resourceType": "StructureDefinition",
    "url": PROFILE,
    "type": "ServiceRequest",
    "kind": "resource",
    "snapshot": {
        "element": [
            element(
                "ServiceRequest",
                min=0,
                max="*",
                constraint=[
                    {
                        "key": "kv-test-1",
                        "severity": "error",
                        "human": "Förfrågan ska ha en anteckning när den är pausad.",
                        "expression": "status = 'on-hold' implies note.exists()",
                    }
                ],
            ),
            element(
                "ServiceRequest.extension",
                min=0,
                max="*",
                type=[{"code": "Extension"}],
                slicing={"discriminator": [{"type": "value", "path": "url"}], "rules": "open"},
            ),
            element(
                "ServiceRequest.extension:colour",
                sliceName="colour",
                min=1,
                max="1",
                type=[{"code": "Extension", "profile": [EXT]}],
            ),
            element(
                "ServiceRequest.identifier",
                min=1,
                max="*",
                type=[{"code": "Identifier"}],
                slicing={"discriminator": [{"type": "value", "path": "system"}], "rules": "closed"},
            ),
            element(
                "ServiceRequest.identifier:case",
                sliceName="case",
                min=1,
                max="1",
                type=[{"code": "Identifier"}],
            ),
            element("ServiceRequest.identifier:case.system", min=1, max="1", fixedUri="urn:case"),
            element(
                "ServiceRequest.identifier:case.value", min=1, max="1", type=[{"code": "string"}]
            ),
            element(
                "ServiceRequest.status",
                min=1,
                max="1",
                type=[{"code": "code"}],
                mustSupport=True,
                binding={
                    "strength": "required",
                    "valueSet": "http://hl7.org/fhir/ValueSet/request-status|4.0.1",
                },
            ),
            element(
                "ServiceRequest.intent",
                min=1,
                max="1",
                type=[{"code": "code"}],
                patternCode="order",
            ),
            element(
                "ServiceRequest.category",
                min=0,
                max="1",
                type=[{"code": "CodeableConcept"}],
                binding={"strength": "extensible", "valueSet": VS},
            ),
            element(
                "ServiceRequest.priority", min=0, max="1", type=[{"code": "code"}], mustSupport=True
            ),
            element(
                "ServiceRequest.quantity[x]",
                min=0,
                max="1",
                type=[{"code": "Quantity"}],
            ),
            element(
                "ServiceRequest.subject",
                min=1,
                max="1",
                type=[
                    {
                        "code": "Reference",
                        "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Patient"],
                    }
                ],
            ),
            element("ServiceRequest.note", min=0, max="*", type=[{"code": "Annotation"}]),
        ]
    },
}
PATIENT = {
    "resourceType": "StructureDefinition",
    "url": PATIENT_PROFILE,
    "type": "Patient",
    "kind": "resource",
    "snapshot": {
        "element": [
            element("Patient", min=0, max="*"),
            element(
                "Patient.identifier",
                min=1,
                max="*",
                type=[{"code": "Identifier"}],
                slicing={"discriminator": [{"type": "value", "path": "system"}], "rules": "open"},
            ),
            element(
                "Patient.identifier:pnr",
                sliceName="pnr",
                min=0,
                max="1",
                type=[{"code": "Identifier"}],
                constraint=[
                    {
                        "key": "kv-test-pnr",
                        "severity": "error",
                        "human": "Personnummer ska ha tolv siffror.",
                        "expression": "value.matches('^[0-9]{12}$')",
                    }
                ],
            ),
            element("Patient.identifier:pnr.system", min=1, max="1", fixedUri=PNR),
            element("Patient.birthDate", min=0, max="1", type=[{"code": "date"}]),
            element(
                "Patient.multipleBirth[x]",
                min=0,
                max="1",
                type=[{"code": "integer"}],
                minValueInteger=1,
                maxValueInteger=9,
            ),
        ]
    },
}


def item(link_id: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"linkId": link_id, "type": type_, "text": f"Fråga {link_id}", **extra}


QUESTIONNAIRE_RESOURCE = {
    "resourceType": "Questionnaire",
    "url": QUESTIONNAIRE,
    "version": "1.0.0",
    "status": "active",
    "item": [
        item(
            "g",
            "group",
            required=True,
            item=[
                item("g.yes", "boolean", required=True),
                item(
                    "g.text",
                    "text",
                    required=True,
                    enableWhen=[{"question": "g.yes", "operator": "=", "answerBoolean": True}],
                ),
                item(
                    "g.hours",
                    "integer",
                    extension=[
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/minValue",
                            "valueInteger": 1,
                        },
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/maxValue",
                            "valueInteger": 40,
                        },
                    ],
                ),
                item("g.colour", "choice", answerValueSet=VS, repeats=True),
                item(
                    "g.size",
                    "choice",
                    answerOption=[{"valueCoding": {"system": "urn:size", "code": "s"}}],
                ),
                item(
                    "g.any",
                    "string",
                    enableBehavior="any",
                    enableWhen=[
                        {"question": "g.hours", "operator": ">", "answerInteger": 10},
                        {"question": "g.yes", "operator": "=", "answerBoolean": False},
                    ],
                ),
                item(
                    "g.all",
                    "string",
                    enableWhen=[
                        {"question": "g.hours", "operator": ">", "answerInteger": 10},
                        {"question": "g.yes", "operator": "=", "answerBoolean": False},
                    ],
                ),
                item(
                    "g.exists",
                    "string",
                    enableWhen=[
                        {"question": "g.size", "operator": "exists", "answerBoolean": True}
                    ],
                ),
                item("g.info", "display"),
            ],
        ),
        item("other", "string"),
    ],
}


def conformance(*extra: dict[str, Any]) -> Conformance:
    return load_conformance(
        None,
        extra=[
            CODE_SYSTEM,
            VALUE_SET,
            EXTENSION,
            SERVICE_REQUEST_PROFILE,
            PATIENT,
            QUESTIONNAIRE_RESOURCE,
            *extra,
        ],
    )
