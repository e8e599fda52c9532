"""Prometheus metrics: what the gateway does, counted without personal data.

Labels only ever hold route templates (``/fhir/{resource_type}/{res_id}``), methods,
status codes, outcome codes and message kinds: never a path, a query string, an
identifier or a name. The metrics live in one registry of their own, served at
``/metrics`` (``gateway.api.health``) together with gauges read at each scrape (the
outbox's depth, from the database).

Counts are per process, except under ``serve --workers N``: there the workers count into
files in ``PROMETHEUS_MULTIPROC_DIR`` (``serve`` makes one), and a scrape, whichever
worker answers it, sums them all (prometheus-client's multiprocess mode; the process_*
metrics are left out there, as they would describe only the worker that answered). In
containers, run one process each and let Prometheus scrape every pod.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: noise
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

HTTP_REQUESTS = Counter(
    "kvgw_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "kvgw_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
REQUESTS_ACTIVE = Gauge(
    "kvgw_requests_active",
    "Requests at work (admission control; probes and metrics not counted).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
REQUESTS_QUEUED = Gauge(
    "kvgw_requests_queued",
    "Requests waiting for a slot.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
REQUESTS_SHED = Counter(
    "kvgw_requests_shed",
    "Requests answered 503 by admission control, by reason (queue-full, queue-timeout).",
    ["reason"],
    registry=REGISTRY,
)
SUBMISSIONS = Counter(
    "kvgw_submissions",
    "ServiceRequest/$submit: created, duplicate (answered with the first Task) or refused, "
    "by HTTP status.",
    ["outcome", "status"],
    registry=REGISTRY,
)
CONSENT_DECISIONS = Counter(
    "kvgw_consent_decisions",
    "Consent decisions on a disclosure, by decision and reason code.",
    ["decision", "reason"],
    registry=REGISTRY,
)
ROUTING_EVENTS = Counter(
    "kvgw_routing_events",
    "Routing and directory events, by action and outcome.",
    ["action", "outcome"],
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "kvgw_outbox_deliveries",
    "Delivery attempts of outbox messages, by kind and result (delivered, retry, dead).",
    ["kind", "result"],
    registry=REGISTRY,
)
DIRECTORY_MEMO = Counter(
    "kvgw_directory_memo_lookups",
    "Lookups in the process's directory memo, by result (hit, miss).",
    ["result"],
    registry=REGISTRY,
)


class ScrapedGauge:
    """A gauge whose values are read when Prometheus scrapes (the outbox's depth, say)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str],
        read: Callable[[], Iterable[tuple[Sequence[str], float]]],
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = list(labels)
        self.read = read

    def collect(self) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, value in self.read():
            family.add_metric(list(values), value)
        return [family]


def exposition(*scraped: ScrapedGauge) -> bytes:
    """The text exposition of every metric, with ``scraped`` gauges read now."""
    scrape = CollectorRegistry()
    for gauge in scraped:
        scrape.register(gauge)
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if shared:  # several worker processes: what all of them counted
        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker, path=shared)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker) + generate_latest(scrape)
    return generate_latest(REGISTRY) + generate_latest(scrape)
