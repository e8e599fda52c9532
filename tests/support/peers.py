"""Peers the tests run on loopback: a journal system's FHIR endpoint and a webhook receiver."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response


@dataclass
class Recorded:
    body: Any
    headers: dict[str, str]


@dataclass
class JournalPeer:
    """A journal system's FHIR endpoint: records transaction Bundles; can be made to fail."""

    mode: str = "ok"  # ok | down | garbage | refuse
    received: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        peer = FastAPI()

        @peer.post("/fhir")
        async def transaction(request: Request) -> Response:
            if self.mode == "down":
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=503)
            if self.mode == "garbage":
                return Response(b"<html>not fhir", status_code=500, media_type="text/html")
            if self.mode == "refuse":
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=400)
            body = await request.json()
            with self.lock:
                self.received.append(Recorded(body, dict(request.headers)))
            return JSONResponse(
                {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
            )

        @peer.get("/fhir/metadata")
        def metadata() -> dict[str, Any]:
            return {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "kind": "instance",
                "fhirVersion": "4.0.1",
            }

        return peer


@dataclass
class WebhookReceiver:
    """A kommun's rest-hook endpoint for Subscription notifications. With ``delay_seconds``
    it answers that late, and ``in_flight`` records when each call came and was answered
    (monotonic seconds)."""

    status: int = 200
    received: list[Recorded] = field(default_factory=list)
    delay_seconds: float = 0.0
    in_flight: list[tuple[float, float]] = field(default_factory=list)

    def app(self) -> FastAPI:
        receiver = FastAPI()

        @receiver.post("/hook")
        async def hook(request: Request) -> Response:
            came = time.monotonic()
            self.received.append(Recorded(await request.json(), dict(request.headers)))
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            self.in_flight.append((came, time.monotonic()))
            return Response(status_code=self.status)

        return receiver
