"""The gateway's public FHIR API, as the file-drop adapter (a kommun client) uses it.

Tokens come from SMART Backend Services (:class:`SmartTokenSource`, shared with the
fhir-rest journal adapter, which signs assertions the same way towards a peer). Only
HTTP: nothing of the gateway's store or workflow is imported.

A failure that may pass (the gateway unreachable, 5xx, 408, 429, a token endpoint that is
down, a token that is refused mid-round) raises :class:`PassingError`; the caller tries
again next round. A ``$submit`` the gateway refuses (4xx with an OperationOutcome) is a
:class:`Refused`, final for that file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.journal.fhir_rest.smart import SmartTokenSource
from adapters.journal.fhir_rest.transport import PeerError
from gateway.capped_http import ResponseTooLargeError, json_object, send_capped

FHIR_JSON = "application/fhir+json"
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
PASSING_STATUSES = frozenset({401, 403, 408, 425, 429})
WITHHELD_STATUSES = frozenset({403, 404, 410})
PAGE_SIZE = 50


class PassingError(Exception):
    """Try again next round; ``detail`` holds no URL, payload or personal data."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Submitted:
    task: dict[str, Any]
    created: bool  # False: the gateway already had this case and answered its first Task


@dataclass(frozen=True)
class Refused:
    status: int
    outcome: dict[str, Any]


class GatewayClient:
    def __init__(self, fhir_base: str, tokens: SmartTokenSource, http: httpx.Client) -> None:
        self.fhir_base = fhir_base.rstrip("/")
        self.tokens = tokens
        self.http = http

    def _send(
        self, method: str, path: str, *, withheld_is_final: bool = False, **request: Any
    ) -> httpx.Response:
        try:
            token = self.tokens.token()
        except PeerError as error:
            raise PassingError(f"no access token: {error.detail}") from None
        headers = {"authorization": f"Bearer {token}", "accept": FHIR_JSON}
        headers.update(request.pop("headers", {}))
        try:
            response = send_capped(
                self.http,
                method,
                f"{self.fhir_base}/{path}",
                max_bytes=MAX_RESPONSE_BYTES,
                headers=headers,
                **request,
            )
        except ResponseTooLargeError:
            raise PassingError("the gateway's answer was larger than the adapter reads") from None
        except httpx.HTTPError as error:
            raise PassingError(f"gateway unreachable: {type(error).__name__}") from None
        if response.status_code == 401:
            self.tokens.forget()
        if withheld_is_final and response.status_code in WITHHELD_STATUSES:
            return response
        if response.status_code >= 500 or response.status_code in PASSING_STATUSES:
            raise PassingError(f"the gateway answered {response.status_code}")
        return response

    def submit(self, bundle: dict[str, Any], idempotency_key: str) -> Submitted | Refused:
        response = self._send(
            "POST",
            "ServiceRequest/$submit",
            content=json.dumps(bundle).encode("utf-8"),
            headers={"content-type": FHIR_JSON, "idempotency-key": idempotency_key},
        )
        body = json_object(response)
        if response.status_code in (200, 201) and body and body.get("resourceType") == "Task":
            return Submitted(body, created=response.status_code == 201)
        if response.status_code in (404, 405):  # no $submit there: gateway.base_url is wrong
            raise PassingError(f"the gateway answered {response.status_code} to $submit")
        if 400 <= response.status_code < 500:
            outcome = body if body and body.get("resourceType") == "OperationOutcome" else {}
            return Refused(response.status_code, outcome)
        raise PassingError(f"the gateway answered {response.status_code} without a Task")

    def read(self, reference: str) -> dict[str, Any] | None:
        """A resource by ``Type/id``, or None when the gateway withholds it (403, for one:
        the consent no longer permits the read) or has none (404, 410)."""
        type_name, _, ident = reference.partition("/")
        if not type_name.isalpha() or not ident or "/" in ident:
            return None
        response = self._send("GET", reference, withheld_is_final=True)
        if response.status_code in WITHHELD_STATUSES:
            return None
        body = json_object(response)
        if response.status_code != 200 or not body:
            raise PassingError(f"reading a {type_name} answered {response.status_code}")
        return body

    def tasks_changed_since(self, mark: str | None) -> Iterator[dict[str, Any]]:
        """The kommun's Tasks changed at or after ``mark``, oldest change first, one page.

        The caller skips the versions it has seen and asks again from its new mark.
        """
        params = {"_sort": "_lastUpdated", "_count": str(PAGE_SIZE)}
        if mark:
            params["_lastUpdated"] = f"ge{mark}"
        response = self._send("GET", "Task", params=params)
        body = json_object(response)
        if response.status_code != 200 or not body or body.get("resourceType") != "Bundle":
            raise PassingError(f"the Task search answered {response.status_code}")
        for entry in body.get("entry") or []:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") == "Task":
                yield resource
