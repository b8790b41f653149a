"""Prometheus metrics: one registry per process, built in the lifespan, served at /metrics.

Labels never carry ids or personal data: routes are templates (`/reports/{report_id}`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

Refresher = Callable[[], Awaitable[None]]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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
        self.outbox_pending = Gauge(
            "hulei_outbox_pending", "committed events not yet relayed", ["service"], registry=r
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
                continue
        return generate_latest(self.registry)

    def middleware(
        self,
    ) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
        async def record(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            start = time.perf_counter()
            response = await call_next(request)
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.http_duration.labels(self.service, request.method, template).observe(
                time.perf_counter() - start
            )
            self.http_requests.labels(
                self.service, request.method, template, str(response.status_code)
            ).inc()
            return response

        return record


async def metrics_response(metrics: Metrics) -> Response:
    return Response(await metrics.render(), media_type=CONTENT_TYPE)
