"""A per-client token bucket. In-process: with several replicas each enforces its share."""

from __future__ import annotations

import math
import threading
import time

from gateway.errors import FhirError


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, client_id: str) -> None:
        if self.capacity <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(client_id, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
            if tokens < 1.0:
                self._buckets[client_id] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.rate)
                raise FhirError.single(
                    429,
                    "throttled",
                    "För många anrop på kort tid. Vänta en stund och försök igen.",
                    diagnostics=f"rate limit of {int(self.capacity)} requests per minute exceeded",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[client_id] = (tokens - 1.0, now)
