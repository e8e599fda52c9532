"""FHIR REST delivery to journal systems with an R4 API (Cosmic, Millennium …).

Delivery: the request goes to the unit's Endpoint.address either as a transaction Bundle
(POST [base], each resource PUT under our id) or as one Task with the resources it needs
contained (POST [base]/Task, conditional on our Task identifier), as the Endpoint's
profile says (:mod:`adapters.journal.fhir_rest.config`). Every call carries an
``Idempotency-Key``, so a retried delivery never creates a second request there.

Outcomes: 2xx with a FHIR JSON body is delivered. Timeouts, connection failures, 408,
425, 429, 5xx and a 2xx whose body is not FHIR are retried. 401 is retried once at once
with a fresh token, then given up, like 403 and every other answer: an operator fixes the
cause and reruns the message (``kv-gateway outbox retry``). Authentication problems that
waiting cannot cure (the token endpoint refuses our client, the peer refuses our client
certificate, its server certificate does not verify, a key file is unreadable) give up
at once with a detail that says what to fix.

Status and answers come back either by callback (the unit's system calls the gateway's
FHIR API) or by polling: :meth:`FhirRestAdapter.fetch_updates` searches
``[base]/Task?_lastUpdated=gt{mark}&_sort=_lastUpdated`` and maps each of our Tasks (known
by our identifier) onto ours (:mod:`adapters.journal.fhir_rest.status_map`).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.journal.fhir_rest.config import FhirRestSettings, PeerProfile, ProfileError
from adapters.journal.fhir_rest.payload import (
    TASK_IDENTIFIER_SYSTEM,
    bundle_form,
    is_request,
    notice_form,
    our_task_id,
    task_form,
)
from adapters.journal.fhir_rest.smart import SmartTokenSource
from adapters.journal.fhir_rest.status_map import (
    answer_reference,
    business_status,
    contained,
    our_status,
    rejection_reason,
    remote_version,
)
from adapters.journal.fhir_rest.transport import PeerError, classify, http_client
from gateway.capped_http import ResponseTooLargeError, send_capped
from gateway.delivery.protocols import (
    DeliveryResult,
    FetchResult,
    InboundUpdate,
    OutgoingRequest,
)

RETRYABLE = frozenset({408, 425, 429})
FHIR_JSON = "application/fhir+json"


@dataclass
class _Peer:
    name: str
    profile: PeerProfile
    http: httpx.Client
    tokens: SmartTokenSource | None


class FhirRestAdapter:
    connection_type = "fhir-rest"

    def __init__(self, settings: FhirRestSettings | None = None) -> None:
        self.settings = settings or FhirRestSettings()
        self._peers: dict[str, _Peer] = {}
        self._lock = threading.Lock()

    # ----- the Protocol -----------------------------------------------------------------

    def deliver(self, request: OutgoingRequest, endpoint: dict[str, Any]) -> DeliveryResult:
        address = _address(endpoint)
        if address is None:
            return DeliveryResult.give_up("the Endpoint has no http(s) address")
        headers = {"content-type": FHIR_JSON, "idempotency-key": request.idempotency_key}
        try:
            peer = self._peer(endpoint)
            if peer.profile.form == "task":
                if is_request(request.bundle):
                    url, body = f"{address}/Task", task_form(request.bundle, request.task_id)
                    headers["if-none-exist"] = (
                        f"identifier={TASK_IDENTIFIER_SYSTEM}|{request.task_id}"
                    )
                else:
                    notice = notice_form(request.bundle, request.task_id)
                    if notice is None:
                        return DeliveryResult.give_up("nothing to send in the Task form")
                    url, body = f"{address}/Communication", notice
            else:
                url, body = address, bundle_form(request.bundle, request.task_id)
            response = self._call(peer, "POST", url, json=body, headers=headers)
        except PeerError as failure:
            return _failed(failure)
        return self._judge(peer, response)

    def fetch_updates(self, endpoint: dict[str, Any], since: str | None) -> FetchResult:
        address = _address(endpoint)
        try:
            peer = self._peer(endpoint)
        except PeerError as failure:
            return FetchResult.failed(failure.detail)
        if peer.profile.receive != "poll":
            return FetchResult.nothing()
        if address is None:
            return FetchResult.failed("the Endpoint has no http(s) address")
        try:
            return self._poll(peer, address, since)
        except PeerError as failure:
            return FetchResult.failed(failure.detail)

    def health(self, endpoint: dict[str, Any]) -> bool:
        address = _address(endpoint)
        if address is None:
            return False
        try:
            response = self._call(self._peer(endpoint), "GET", f"{address}/metadata")
        except PeerError:
            return False
        return response.status_code == 200

    # ----- talking to the peer ----------------------------------------------------------

    def _peer(self, endpoint: dict[str, Any]) -> _Peer:
        try:
            name, profile = self.settings.profile_for(endpoint)
        except ProfileError as error:
            raise PeerError(str(error), final=True) from None
        with self._lock:
            peer = self._peers.get(name)
            if peer is None or peer.profile != profile:
                http = http_client(profile)
                tokens = (
                    SmartTokenSource(
                        profile.smart, http, client_certificate=profile.tls is not None
                    )
                    if profile.smart
                    else None
                )
                peer = self._peers[name] = _Peer(name, profile, http, tokens)
            return peer

    def _call(
        self,
        peer: _Peer,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request; with SMART, a 401 is tried once more with a fresh token."""
        for attempt in (1, 2):
            sent = dict(headers or {})
            if peer.tokens is not None:
                sent["authorization"] = f"Bearer {peer.tokens.token()}"
            try:
                response = send_capped(
                    peer.http,
                    method,
                    url,
                    max_bytes=peer.profile.max_response_bytes,
                    headers=sent,
                    **kwargs,
                )
            except ResponseTooLargeError as error:
                raise PeerError(f"the peer's {error}") from None
            except httpx.HTTPError as error:
                raise classify(error, client_certificate=peer.profile.tls is not None) from None
            if response.status_code == 401 and peer.tokens is not None and attempt == 1:
                peer.tokens.forget()
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _judge(self, peer: _Peer, response: httpx.Response) -> DeliveryResult:
        status = response.status_code
        if 200 <= status < 300:
            body = _fhir_json(response)
            if body is None:
                return DeliveryResult.retry(
                    f"peer answered {status} but not with FHIR JSON; it is sent again"
                )
            return DeliveryResult.delivered(f"peer answered {status} ({body['resourceType']})")
        issue = _issue_code(response)
        if status == 401:
            if peer.tokens is None:
                return DeliveryResult.give_up(
                    f"peer requires authentication (401{issue}) but profile {peer.name!r} has "
                    "none; configure smart or tls"
                )
            return DeliveryResult.give_up(
                f"peer refused our access token (401{issue}) even when fresh; check the scopes "
                "and the client's rights at the peer"
            )
        if status == 403:
            return DeliveryResult.give_up(
                f"peer forbids it (403{issue}): our client lacks the rights there"
            )
        if status in RETRYABLE or status >= 500:
            return DeliveryResult.retry(f"peer answered {status}{issue}")
        return DeliveryResult.give_up(f"peer refused with {status}{issue}")

    # ----- polling ----------------------------------------------------------------------

    def _poll(self, peer: _Peer, address: str, since: str | None) -> FetchResult:
        profile = peer.profile
        params: list[tuple[str, str]] | None = [
            ("_sort", "_lastUpdated"),
            ("_count", str(profile.poll_page_size)),
        ]
        if since:
            params = [*(params or []), ("_lastUpdated", f"gt{since}")]
        url = f"{address}/Task"
        updates: list[InboundUpdate] = []
        seen: list[tuple[datetime, str]] = []
        complete = False
        for _ in range(profile.poll_max_pages):
            response = self._call(peer, "GET", url, params=params)
            if response.status_code != 200:
                if response.status_code in (401, 403):
                    raise PeerError(f"the peer refused our Task search ({response.status_code})")
                raise PeerError(f"the peer's Task search answered {response.status_code}")
            bundle = _fhir_json(response)
            if bundle is None or bundle.get("resourceType") != "Bundle":
                raise PeerError("the peer's Task search answer is not a FHIR Bundle")
            for entry in bundle.get("entry") or []:
                remote = entry.get("resource") if isinstance(entry, dict) else None
                if not isinstance(remote, dict) or remote.get("resourceType") != "Task":
                    continue
                instant = _instant((remote.get("meta") or {}).get("lastUpdated"))
                if instant is not None:
                    seen.append(instant)
                ours = our_task_id(remote)
                if ours is None:
                    continue  # not a request of ours
                update = self._update(peer, address, remote, ours)
                if update is not None:
                    updates.append(update)
            url_next = _next_link(bundle, address)
            if url_next is None:
                complete = True
                break
            url, params = url_next, None
        in_order = all(a[0] <= b[0] for a, b in itertools.pairwise(seen))
        mark = max(seen)[1] if seen and (complete or in_order) else since
        return FetchResult(tuple(updates), mark)

    def _update(
        self, peer: _Peer, address: str, remote: dict[str, Any], task_id: str
    ) -> InboundUpdate | None:
        status = our_status(remote)
        business = business_status(remote)
        if status is None and business is None:
            return None
        answer = None
        if status == "completed":
            answer = self._answer(peer, address, remote)
        return InboundUpdate(
            task_id=task_id,
            unit_hsa_id="",  # the poller says who speaks: the unit of the polled Endpoint
            status=status,
            business_status=business,
            status_reason=rejection_reason(remote),
            answer=answer,
            remote_version=remote_version(remote),
        )

    def _answer(self, peer: _Peer, address: str, remote: dict[str, Any]) -> dict[str, Any] | None:
        reference = answer_reference(remote)
        if reference is None:
            return None
        if reference.startswith("#"):
            return contained(remote, reference[1:])
        response = self._call(peer, "GET", f"{address}/{reference}")
        body = _fhir_json(response) if response.status_code == 200 else None
        if body is None or body.get("resourceType") != "QuestionnaireResponse":
            raise PeerError(
                f"could not fetch the answer of a completed Task ({response.status_code}); "
                "polled again next round"
            )
        return body


def _failed(failure: PeerError) -> DeliveryResult:
    return (
        DeliveryResult.give_up(failure.detail)
        if failure.final
        else DeliveryResult.retry(failure.detail)
    )


def _address(endpoint: dict[str, Any]) -> str | None:
    address = str(endpoint.get("address", "")).rstrip("/")
    return address if address.startswith(("http://", "https://")) else None


def _fhir_json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        return None
    return body


def _issue_code(response: httpx.Response) -> str:
    """The first issue code of an OperationOutcome answer (a code: never free text)."""
    body = _fhir_json(response)
    if body is None or body.get("resourceType") != "OperationOutcome":
        return ""
    issues = body.get("issue") or []
    code = issues[0].get("code") if issues and isinstance(issues[0], dict) else None
    return f", {code}" if isinstance(code, str) and code.isascii() and len(code) < 40 else ""


def _instant(value: Any) -> tuple[datetime, str] | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed, value) if parsed.tzinfo is not None else None


def _next_link(bundle: dict[str, Any], address: str) -> str | None:
    """The next page, only on the peer's own origin: our token goes nowhere else."""
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = str(link.get("url") or "")
            here, there = urlsplit(address), urlsplit(url)
            if (here.scheme, here.netloc) != (there.scheme, there.netloc):
                raise PeerError("the peer's next page link points to another server")
            return url
    return None
