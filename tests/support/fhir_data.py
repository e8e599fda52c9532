"""Small synthetic FHIR resources for tests. Person numbers are generated and valid."""

from __future__ import annotations

import datetime
from typing import Any

from gateway.validation.identifiers import SYSTEM_PERSONNUMMER, synthetic_personnummer

FHIR_JSON = {"content-type": "application/fhir+json"}
CASE_ID_SYSTEM = "https://kommun.example.se/arende"


def personnummer(serial: int = 1) -> str:
    return synthetic_personnummer(
        datetime.date(1980, 1, 1) + datetime.timedelta(days=serial), serial % 1000
    )


def patient(serial: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM_PERSONNUMMER, "value": personnummer(serial)}],
        "name": [{"family": "Testsson", "given": ["Test"]}],
        **extra,
    }


def organization(name: str = "Vårdcentralen Test", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Organization", "name": name, **extra}


def service_request(subject: str = "Patient/p1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": subject},
        **extra,
    }
