"""Prometheus metrics: one registry per process, built in the lifespan, served at /metrics.

Labels never carry ids or personal data: routes are templates (`/reports/{report_id}`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.telemetry import route_template

Refresher = Callable[[], Awaitable[None]]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class KeptLabels:
    """A counter counted per event: its labelled children kept (`labels` per event costs more
    than the `inc`), the leading labels fixed (the process, the durable)."""

    def __init__(self, counter: Counter, *fixed: str) -> None:
        self._counter = counter
        self._fixed = fixed
        self._children: dict[tuple[str, ...], Counter] = {}

    def inc(self, *labels: str) -> None:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._counter.labels(*self._fixed, *labels)
        child.inc()


log = logging.getLogger("hulei.metrics")


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "hulei_http_requests_total",
            "HTTP requests",
            ["service", "method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "hulei_http_request_duration_seconds",
            "HTTP request latency",
            ["service", "method", "route"],
            registry=r,
        )
        self.events_published = Counter(
            "hulei_events_published_total", "events published", ["service", "type"], registry=r
        )
        self.events_consumed = Counter(
            "hulei_events_consumed_total",
            "events handled, by outcome (ok, failed, dead_lettered, duplicate)",
            ["service", "consumer", "type", "outcome"],
            registry=r,
        )
        self.redeliveries = Counter(
            "hulei_redeliveries_total",
            "deliveries after the first",
            ["service", "consumer"],
            registry=r,
        )
        self.consumer_pending = Gauge(
            "hulei_consumer_pending",
            "messages not yet delivered (lag)",
            ["service", "consumer"],
            registry=r,
        )
        self.dead_letters = Gauge(
            "hulei_dead_letters",
            "messages waiting in the dead-letter stream",
            ["service"],
            registry=r,
        )
        # Units of work over commits: how many requests and event batches a commit carries
        # (shared/commits.py); commits over reports: what a report costs the store.
        self.commits = Counter(
            "hulei_store_commits_total", "store transactions committed", ["service"], registry=r
        ).labels(service)
        self.units_committed = Counter(
            "hulei_units_of_work_committed_total",
            "units of work committed (several may share a commit)",
            ["service"],
            registry=r,
        ).labels(service)
        self.outbox_pending = Gauge(
            "hulei_outbox_pending", "committed events not yet relayed", ["service"], registry=r
        )
        self.timers_late = Gauge(
            "hulei_timers_late",
            "durable timers more than a minute past their due time, not fired",
            ["service"],
            registry=r,
        )
        self._refreshers: list[Refresher] = []

    def gauge(self, name: str, doc: str) -> Gauge:
        """A service's own gauge (e.g. overdue tasks), in this registry."""
        return Gauge(name, doc, registry=self.registry)

    def on_scrape(self, refresher: Refresher) -> None:
        """Gauges that are read from NATS or the store are refreshed when scraped."""
        self._refreshers.append(refresher)

    async def render(self) -> bytes:
        for refresh in self._refreshers:
            try:
                await refresh()
            except Exception:  # a metric that cannot be read now must not fail the scrape
                log.debug("metric refresh failed", exc_info=True)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request, labelled by route template (never the raw path,
    which carries ids). Pure ASGI: BaseHTTPMiddleware costs a task and a stream per request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # unless the app starts an answer: an exception that escaped

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The router wrote the matched route into this same scope on its way down.
            template = route_template(scope) or "unmatched"
            m, method = self.metrics, scope["method"]
            m.http_duration.labels(m.service, method, template).observe(time.perf_counter() - start)
            m.http_requests.labels(m.service, method, template, str(status)).inc()


async def metrics_response(metrics: Metrics) -> Response:
    return Response(await metrics.render(), media_type=CONTENT_TYPE)
