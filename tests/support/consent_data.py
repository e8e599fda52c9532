"""A valid kv-consent for tests, and the pieces to break it."""

from __future__ import annotations

from typing import Any

from gateway.consent.builder import build_consent, consent_actor

KOMMUN = "Organization/kommun-0180"
UNIT = "Organization/vc-jonkoping-centrum"


def actor(role: str, reference: dict[str, Any]) -> dict[str, Any]:
    return consent_actor(role, reference)


def consent(
    patient: str = "Patient/p1",
    *,
    kommun: str = KOMMUN,
    unit: str | None = UNIT,
    method: str = "skriftligt",
    start: str = "2026-01-01",
    end: str = "2027-12-31",
    **extra: Any,
) -> dict[str, Any]:
    body = build_consent(
        patient,
        kommun,
        unit=unit,
        method=method,
        start=start,
        end=end,
        given="2026-01-01T10:00:00+01:00",
        recorded_by="PractitionerRole/soc1",
        form_title="Samtyckesblankett",
    )
    body["id"] = "c1"
    body.update(extra)
    return body
