"""A small journal system with a FHIR R4 API, for the demo and for the adapter tests.

It is what a vårdcentral's journal system (Cosmic, Millennium …) looks like to the
gateway's fhir-rest adapter: a SMART Backend Services authorisation server
(:mod:`gateway.demo_peers.smart_server`) and a FHIR server that checks every bearer token
it gets against the tokens its own token endpoint issued. It accepts requests as a
transaction Bundle (``POST [base]``) or as a Task with its resources contained
(``POST [base]/Task``, conditional on the Task's identifier), keeps Tasks with versions
and ``meta.lastUpdated``, answers ``Task?_lastUpdated=gt…&_sort=_lastUpdated`` searches
with paging, and serves the answers (``QuestionnaireResponse/{id}``). As a region's listing
service it answers ``POST [base]/Patient/_search`` (``identifier=system|value``, form-encoded,
so the person number stays out of every URL) with the Patients :meth:`JournalSystem.list_person`
registered, each naming its vårdcentral in ``generalPractitioner``.

Its staff work through :meth:`JournalSystem.move` and :meth:`JournalSystem.answer`. In
the demo an :class:`AutoAnswer` does it after a few seconds: the request is accepted,
then answered on the national form. With a :class:`GatewayCallback` every change is also
sent to the gateway's FHIR API, as a unit's system that calls back would. ``GET /`` shows
what has arrived. Everything here is synthetic demo data.
"""

from __future__ import annotations

import copy
import html
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from fastapi import FastAPI, Request
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.responses import HTMLResponse, JSONResponse, Response

from gateway.canonical import BASE, CS_TASK_BUSINESS_STATUS
from gateway.demo_peers.auto_answer import AutoAnswer
from gateway.demo_peers.smart_server import AuthorisationServer, TokenRefused
from gateway.validation.conformance import DEFAULT_COMPILED_DIR
from gateway.validation.identifiers import SYSTEM_HSA_ID

TASK_IDENTIFIER_SYSTEM = f"{BASE}/identifier/task"  # how the gateway marks its Tasks
EXAMPLE_ANSWER = "QuestionnaireResponse-example-questionnaireresponse.json"
FHIR_JSON = "application/fhir+json"
FORM = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 4 * 1024 * 1024


def _outcome(status: int, code: str, text: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "details": {"text": text}}],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def example_answer() -> dict[str, Any]:
    """The national form, filled in (the published example answer)."""
    answer: dict[str, Any] = json.loads(
        (DEFAULT_COMPILED_DIR / EXAMPLE_ANSWER).read_text(encoding="utf-8")
    )
    for element in ("id", "basedOn", "subject"):
        answer.pop(element, None)
    answer["authored"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return answer


@dataclass(frozen=True)
class Arrival:
    """One delivery as it arrived (for the demo page and the tests)."""

    kind: str  # transaction | task | communication
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class GatewayCallback:
    """Send every change to the gateway's FHIR API as the unit's registered client."""

    fhir_base: str
    token_url: str
    client_id: str
    key: ECKey | RSAKey
    kid: str
    alg: str = "ES384"
    audience: str | None = None  # the gateway's public token URL, when it differs from token_url
    timeout: float = 10.0
    results: list[int] = field(default_factory=list)  # HTTP status of each call

    def _token(self, http: httpx.Client) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.audience or self.token_url,
            "iat": now,
            "exp": now + 240,
            "jti": uuid.uuid4().hex,
        }
        assertion = jwt.encode({"alg": self.alg, "kid": self.kid}, claims, self.key, [self.alg])
        response = http.post(
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
                "scope": "system/Task.rus system/QuestionnaireResponse.c",
            },
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def send(
        self, task_id: str, status: str, business: str | None, answer: dict[str, Any] | None
    ) -> None:
        with httpx.Client(timeout=self.timeout) as http:
            headers = {"authorization": f"Bearer {self._token(http)}", "content-type": FHIR_JSON}
            current = http.get(f"{self.fhir_base}/Task/{task_id}", headers=headers)
            self.results.append(current.status_code)
            if current.status_code != 200:
                return
            task = current.json()
            if answer is not None:
                body = {**answer, "basedOn": [task["focus"]]}
                self.results.append(
                    http.post(
                        f"{self.fhir_base}/QuestionnaireResponse", json=body, headers=headers
                    ).status_code
                )
                return
            task["status"] = status
            if business:
                task["businessStatus"] = {
                    "coding": [{"system": CS_TASK_BUSINESS_STATUS, "code": business}]
                }
            self.results.append(
                http.put(f"{self.fhir_base}/Task/{task_id}", json=task, headers=headers).status_code
            )


class JournalSystem:
    """The journal system's state and its ASGI app (:meth:`app`)."""

    def __init__(
        self,
        *,
        require_auth: bool = True,
        token_seconds: int = 300,
        public_base: str | None = None,
        auto: AutoAnswer | None = None,
        callback: GatewayCallback | None = None,
        contain_answers: bool = False,
    ) -> None:
        self.require_auth = require_auth
        self.auth = AuthorisationServer(token_seconds=token_seconds)
        self.public_base = public_base
        self.auto = auto
        self.callback = callback
        self.contain_answers = contain_answers
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        self.arrivals: list[Arrival] = []
        self.refused_tokens = 0
        self._lock = threading.RLock()
        self._last = datetime.now(UTC)

    # ----- the staff's side ---------------------------------------------------------------

    def tasks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(r) for (t, _), r in self.resources.items() if t == "Task"]

    def task_for(self, gateway_task_id: str) -> dict[str, Any] | None:
        """Our copy of the gateway's Task, found by the identifier the gateway gave it."""
        for task in self.tasks():
            if gateway_id(task) == gateway_task_id:
                return task
        return None

    def move(
        self,
        task_id: str,
        status: str,
        business_status: str | None = None,
        reason_code: str | None = None,
        reason_system: str | None = None,
    ) -> dict[str, Any]:
        """The staff change a Task (by our local id)."""
        with self._lock:
            task = copy.deepcopy(self.resources[("Task", task_id)])
            task["status"] = status
            if business_status:
                task["businessStatus"] = {
                    "coding": [{"system": CS_TASK_BUSINESS_STATUS, "code": business_status}]
                }
            if reason_code:
                task["statusReason"] = {
                    "coding": [{"system": reason_system or "urn:local:reason", "code": reason_code}]
                }
            stored = self._store(task)
        self._call_back(stored, status, business_status, None)
        return stored

    def answer(self, task_id: str, answer: dict[str, Any] | None = None) -> dict[str, Any]:
        """The staff answer on the national form; the Task is completed with the answer."""
        answer = copy.deepcopy(answer or example_answer())
        with self._lock:
            task = copy.deepcopy(self.resources[("Task", task_id)])
            if self.contain_answers:
                answer["id"] = "svar"
                task["contained"] = [*(task.get("contained") or []), answer]
                reference = "#svar"
            else:
                answer = self._store(answer)
                reference = f"QuestionnaireResponse/{answer['id']}"
            task["status"] = "completed"
            task["businessStatus"] = {
                "coding": [{"system": CS_TASK_BUSINESS_STATUS, "code": "utlatande-skickat"}]
            }
            task["output"] = [
                {
                    "type": {"text": "Utlåtande"},
                    "valueReference": {"reference": reference},
                }
            ]
            stored = self._store(task)
        self._call_back(stored, "completed", None, answer)
        return stored

    def _call_back(
        self, task: dict[str, Any], status: str, business: str | None, answer: dict[str, Any] | None
    ) -> None:
        ours = gateway_id(task)
        if self.callback is not None and ours:
            clean = {k: v for k, v in (answer or {}).items() if k not in ("id", "meta")} or None
            self.callback.send(ours, status, business, clean)

    def list_person(self, system: str, value: str, hsa_id: str) -> dict[str, Any]:
        """The region's listing register: the person is listed at the unit ``hsa_id``."""
        return self._store(
            {
                "resourceType": "Patient",
                "identifier": [{"system": system, "value": value}],
                "generalPractitioner": [{"identifier": {"system": SYSTEM_HSA_ID, "value": hsa_id}}],
            }
        )

    # ----- storage ------------------------------------------------------------------------

    def _stamp(self) -> str:
        now = datetime.now(UTC)
        if now <= self._last:
            now = self._last + timedelta(microseconds=1)
        self._last = now
        return now.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def _store(self, resource: dict[str, Any], res_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            resource = copy.deepcopy(resource)
            resource["id"] = res_id or resource.get("id") or uuid.uuid4().hex
            key = (str(resource["resourceType"]), str(resource["id"]))
            previous = self.resources.get(key)
            version = int((previous or {}).get("meta", {}).get("versionId", "0")) + 1
            meta = dict(resource.get("meta") or {})
            meta.update({"versionId": str(version), "lastUpdated": self._stamp()})
            resource["meta"] = meta
            self.resources[key] = resource
            return copy.deepcopy(resource)

    def _arrived(self, kind: str, body: dict[str, Any], request: Request) -> None:
        headers = {k: v for k, v in request.headers.items() if k != "authorization"}
        with self._lock:
            self.arrivals.append(Arrival(kind, copy.deepcopy(body), headers))

    def _schedule(self, task: dict[str, Any]) -> None:
        if self.auto is None or task.get("status") not in ("requested", "received", None):
            return
        task_id = str(task["id"])

        def accept() -> None:
            if self._open(task_id):
                self.move(task_id, "accepted", "journalgranskning-pagar")

        def answer() -> None:
            if self._open(task_id):
                self.answer(task_id)

        for delay, action in ((self.auto.accept_after, accept), (self.auto.answer_after, answer)):
            timer = threading.Timer(delay, action)
            timer.daemon = True
            timer.start()

    def _open(self, task_id: str) -> bool:
        with self._lock:
            task = self.resources.get(("Task", task_id))
        return task is not None and task.get("status") not in ("completed", "rejected", "cancelled")

    # ----- FHIR interactions --------------------------------------------------------------

    def transaction(self, bundle: dict[str, Any], request: Request) -> Response:
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in (
            "transaction",
            "batch",
        ):
            return _outcome(400, "invalid", "Förväntade en transaction-Bundle.")
        entries = bundle.get("entry") or []
        if not all(isinstance(e, dict) and isinstance(e.get("resource"), dict) for e in entries):
            return _outcome(400, "invalid", "Varje post ska ha en resurs.")
        self._arrived("transaction", bundle, request)
        responses, new_tasks = [], []
        for entry in entries:
            resource = entry["resource"]
            method = str((entry.get("request") or {}).get("method", "POST")).upper()
            url = str((entry.get("request") or {}).get("url", ""))
            res_id = url.split("/", 1)[1] if method == "PUT" and "/" in url else uuid.uuid4().hex
            known = (str(resource.get("resourceType")), res_id) in self.resources
            if resource.get("resourceType") == "Task" and known:
                stored = self._store_keeping_progress(resource, res_id)
            else:
                stored = self._store(resource, res_id)
                if stored["resourceType"] == "Task":
                    new_tasks.append(stored)
            responses.append(
                {
                    "response": {
                        "status": "200 OK" if known else "201 Created",
                        "location": f"{stored['resourceType']}/{stored['id']}/_history/{stored['meta']['versionId']}",
                    }
                }
            )
        for task in new_tasks:
            self._schedule(task)
        body = {"resourceType": "Bundle", "type": "transaction-response", "entry": responses}
        return JSONResponse(body, media_type=FHIR_JSON)

    def _store_keeping_progress(self, resource: dict[str, Any], res_id: str) -> dict[str, Any]:
        """A request delivered again (a retry, a notice with its Task): our staff's progress stays."""
        with self._lock:
            current = self.resources[("Task", res_id)]
            return copy.deepcopy(current)

    def create_task(self, task: dict[str, Any], request: Request) -> Response:
        if task.get("resourceType") != "Task":
            return _outcome(400, "invalid", "Förväntade en Task.")
        condition = request.headers.get("if-none-exist", "")
        if condition.startswith("identifier="):
            system, _, value = condition.removeprefix("identifier=").partition("|")
            for existing in self.tasks():
                if any(
                    i.get("system") == system and i.get("value") == value
                    for i in existing.get("identifier") or []
                ):
                    return JSONResponse(existing, media_type=FHIR_JSON)
        self._arrived("task", task, request)
        stored = self._store({k: v for k, v in task.items() if k != "id"})
        self._schedule(stored)
        return JSONResponse(
            stored,
            status_code=201,
            media_type=FHIR_JSON,
            headers={"location": f"Task/{stored['id']}/_history/1"},
        )

    def create_communication(self, body: dict[str, Any], request: Request) -> Response:
        if body.get("resourceType") != "Communication":
            return _outcome(400, "invalid", "Förväntade en Communication.")
        self._arrived("communication", body, request)
        stored = self._store({k: v for k, v in body.items() if k != "id"})
        return JSONResponse(stored, status_code=201, media_type=FHIR_JSON)

    def search_tasks(self, request: Request, base: str) -> Response:
        params = request.query_params
        bounds: list[tuple[str, datetime]] = []
        for raw in params.getlist("_lastUpdated"):
            prefix, value = (
                (raw[:2], raw[2:]) if raw[:2] in ("gt", "ge", "lt", "le", "eq") else ("eq", raw)
            )
            try:
                bounds.append((prefix, _instant(value)))
            except ValueError:
                return _outcome(400, "invalid", "Ogiltigt värde för _lastUpdated.")
        try:
            count = max(1, min(int(params.get("_count", "50")), 500))
            offset = max(0, int(params.get("_offset", "0")))
        except ValueError:
            return _outcome(400, "invalid", "Ogiltigt _count eller _offset.")
        tasks = [t for t in self.tasks() if _within(_instant(t["meta"]["lastUpdated"]), bounds)]
        tasks.sort(key=lambda t: _instant(t["meta"]["lastUpdated"]))
        page = tasks[offset : offset + count]
        links = [
            {"relation": "self", "url": f"{base}/Task?{urlencode(list(params.multi_items()))}"}
        ]
        if offset + count < len(tasks):
            rest = [(k, v) for k, v in params.multi_items() if k != "_offset"]
            links.append(
                {
                    "relation": "next",
                    "url": f"{base}/Task?{urlencode([*rest, ('_offset', str(offset + count))])}",
                }
            )
        body = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(tasks),
            "link": links,
            "entry": [
                {"fullUrl": f"{base}/Task/{t['id']}", "resource": t, "search": {"mode": "match"}}
                for t in page
            ],
        }
        return JSONResponse(body, media_type=FHIR_JSON)

    def search_patients(self, form: list[tuple[str, str]], base: str) -> Response:
        """A POST search of Patients by ``identifier`` (``system|value`` or ``value``; a
        repeated parameter must match too, a comma separates alternatives)."""
        if {name for name, _ in form} - {"identifier", "_count"}:
            return _outcome(400, "not-supported", "Sökparametern stöds inte.")
        wanted = [value.split(",") for name, value in form if name == "identifier"]
        with self._lock:
            found = [
                copy.deepcopy(r)
                for (t, _), r in self.resources.items()
                if t == "Patient" and wanted and all(_holds_any(r, tokens) for tokens in wanted)
            ]
        body = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [
                {"fullUrl": f"{base}/Patient/{p['id']}", "resource": p, "search": {"mode": "match"}}
                for p in found
            ],
        }
        return JSONResponse(body, media_type=FHIR_JSON)

    # ----- the ASGI app -------------------------------------------------------------------

    def app(self) -> FastAPI:
        peer = FastAPI(title="Demo journal system (FHIR R4)", docs_url=None, redoc_url=None)

        def origin(request: Request) -> str:
            return (self.public_base or str(request.base_url)).rstrip("/")

        def refused(request: Request) -> Response | None:
            if not self.require_auth or self.auth.check(request.headers.get("authorization")):
                return None
            self.refused_tokens += 1
            return _outcome(
                401,
                "login",
                "Åtkomstbiljetten saknas eller gäller inte.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )

        async def body_of(request: Request) -> dict[str, Any] | Response:
            raw = await request.body()
            if len(raw) > MAX_BODY_BYTES:
                return _outcome(413, "too-costly", "Meddelandet är för stort.")
            try:
                body = json.loads(raw)
            except ValueError:
                return _outcome(400, "structure", "Meddelandet är inte JSON.")
            return (
                body
                if isinstance(body, dict)
                else _outcome(400, "structure", "Förväntade ett JSON-objekt.")
            )

        async def posted(
            request: Request, handle: Callable[[dict[str, Any], Request], Response]
        ) -> Response:
            """A POSTed JSON object to ``handle``, once the body is read and the token checked."""
            body = await body_of(request)
            if isinstance(body, Response):
                return body
            return refused(request) or handle(body, request)

        @peer.get("/", response_class=HTMLResponse)
        def home() -> str:
            rows = "".join(
                f"<tr><td>{html.escape(str(gateway_id(t) or t['id']))}</td>"
                f"<td>{html.escape(str(t.get('status')))}</td>"
                f"<td>{html.escape(str(_business(t) or ''))}</td>"
                f"<td>{html.escape(str(t['meta']['lastUpdated']))}</td></tr>"
                for t in sorted(self.tasks(), key=lambda t: str(t["meta"]["lastUpdated"]))
            )
            return (
                "<!doctype html><html lang='sv'><head><meta charset='utf-8'>"
                "<title>Demo-journalsystem</title></head><body><h1>Demo-journalsystem (FHIR R4)</h1>"
                f"<p>{len(self.arrivals)} leveranser har kommit in.</p><table><thead><tr>"
                "<th>Uppgift (gatewayens id)</th><th>Status</th><th>Arbetsstatus</th>"
                f"<th>Senast ändrad</th></tr></thead><tbody>{rows}</tbody></table></body></html>"
            )

        @peer.get("/fhir/.well-known/smart-configuration")
        def smart_configuration(request: Request) -> dict[str, Any]:
            return self.auth.smart_configuration(f"{origin(request)}/auth/token")

        @peer.post("/auth/token")
        async def token(request: Request) -> Response:
            raw = await request.body()
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            try:
                issued = self.auth.issue(form, f"{origin(request)}/auth/token")
            except TokenRefused as refusal:
                return JSONResponse(refusal.body(), status_code=refusal.status)
            return JSONResponse(issued, headers={"cache-control": "no-store"})

        @peer.get("/fhir/metadata")
        def metadata() -> Response:
            return JSONResponse(
                {
                    "resourceType": "CapabilityStatement",
                    "status": "active",
                    "kind": "instance",
                    "date": "2026-01-01",
                    "fhirVersion": "4.0.1",
                    "format": ["json"],
                    "rest": [{"mode": "server"}],
                },
                media_type=FHIR_JSON,
            )

        @peer.post("/fhir")
        async def transaction(request: Request) -> Response:
            return await posted(request, self.transaction)

        @peer.post("/fhir/Task")
        async def create_task(request: Request) -> Response:
            return await posted(request, self.create_task)

        @peer.post("/fhir/Communication")
        async def create_communication(request: Request) -> Response:
            return await posted(request, self.create_communication)

        @peer.get("/fhir/Task")
        def search(request: Request) -> Response:
            return refused(request) or self.search_tasks(request, f"{origin(request)}/fhir")

        @peer.post("/fhir/Patient/_search")
        async def search_patients(request: Request) -> Response:
            if request.headers.get("content-type", "").split(";")[0].strip() != FORM:
                return _outcome(415, "not-supported", "Sökningen ska vara formulärkodad.")
            raw = await request.body()
            if len(raw) > MAX_BODY_BYTES:
                return _outcome(413, "too-costly", "Meddelandet är för stort.")
            form = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
            return refused(request) or self.search_patients(form, f"{origin(request)}/fhir")

        @peer.get("/fhir/{resource_type}/{res_id}")
        def read(request: Request, resource_type: str, res_id: str) -> Response:
            denied = refused(request)
            if denied is not None:
                return denied
            with self._lock:
                found = self.resources.get((resource_type, res_id))
            if found is None:
                return _outcome(404, "not-found", "Resursen finns inte.")
            return JSONResponse(found, media_type=FHIR_JSON)

        return peer


def gateway_id(task: dict[str, Any]) -> str | None:
    for identifier in task.get("identifier") or []:
        if identifier.get("system") == TASK_IDENTIFIER_SYSTEM:
            return str(identifier.get("value"))
    return None


def _holds_any(resource: dict[str, Any], tokens: list[str]) -> bool:
    """Whether one of ``resource``'s identifiers matches one of the search tokens."""
    for identifier in resource.get("identifier") or []:
        for token in tokens:
            system, bar, value = token.rpartition("|")
            if identifier.get("value") == value and (not bar or identifier.get("system") == system):
                return True
    return False


def _business(task: dict[str, Any]) -> str | None:
    codings = (task.get("businessStatus") or {}).get("coding") or [{}]
    code = codings[0].get("code")
    return str(code) if code else None


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("an instant needs a time zone")
    return parsed


def _within(instant: datetime, bounds: list[tuple[str, datetime]]) -> bool:
    checks = {
        "gt": instant.__gt__,
        "ge": instant.__ge__,
        "lt": instant.__lt__,
        "le": instant.__le__,
        "eq": instant.__eq__,
    }
    return all(checks[prefix](value) for prefix, value in bounds)
