"""Prometheus metrics, request ids, and one structured log line per request."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Summary,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.state import ServiceState

request_id: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("byline.access")


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the id of the request being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


_Series = tuple[Counter, Summary, Summary, Histogram]


class HttpMetrics:
    """Request counts, sizes and latencies per endpoint, under the names and labels
    prometheus-fastapi-instrumentator gave them. Recorded by `RequestContext`, which times
    every request anyway: the instrumentator's own middleware matched each request against
    every route again and cost a fifth of the event loop's time under load (README, "Speed
    and memory")."""

    EXCLUDED = frozenset({"/metrics"})

    def __init__(self, registry: CollectorRegistry, namespace: str = "byline") -> None:
        self.registry = registry
        self.total = Counter(
            "http_requests_total",
            "Total number of requests by method, status and handler.",
            ("method", "status", "handler"),
            namespace=namespace,
            registry=registry,
        )
        self.request_size = Summary(
            "http_request_size_bytes",
            "Content length of incoming requests by handler (from the header).",
            ("handler",),
            namespace=namespace,
            registry=registry,
        )
        self.response_size = Summary(
            "http_response_size_bytes",
            "Content length of outgoing responses by handler (from the header).",
            ("handler",),
            namespace=namespace,
            registry=registry,
        )
        self.latency_highr = Histogram(
            "http_request_duration_highr_seconds",
            "Latency with many buckets but no API specific labels.",
            namespace=namespace,
            registry=registry,
            buckets=(
                0.01,
                0.025,
                0.05,
                0.075,
                0.1,
                0.25,
                0.5,
                0.75,
                1,
                1.5,
                2,
                2.5,
                3,
                3.5,
                4,
                4.5,
                5,
                7.5,
                10,
                30,
                60,
            ),
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Latency with only few buckets by handler.",
            ("handler", "method"),
            namespace=namespace,
            registry=registry,
            buckets=(0.1, 0.5, 1),
        )

        self._series: dict[tuple[str, int, str], _Series] = {}

    def observe(
        self, scope: Scope, status: int, seconds: float, request_bytes: int, response_bytes: int
    ) -> None:
        """One finished request; `scope["route"]` is the route that served it, if any."""
        route = scope.get("route")
        handler = getattr(route, "path", None) or "none"
        if handler in self.EXCLUDED:
            return
        method = scope["method"]
        series = self._series.get((method, status, handler))
        if series is None:
            # `labels()` locks and checks its arguments each time: half of recording a request.
            series = (
                self.total.labels(method, str(status), handler),
                self.request_size.labels(handler),
                self.response_size.labels(handler),
                self.latency.labels(handler, method),
            )
            self._series[(method, status, handler)] = series
        total, request_size, response_size, latency = series
        total.inc()
        request_size.observe(request_bytes)
        response_size.observe(response_bytes)
        self.latency_highr.observe(seconds)
        latency.observe(seconds)

    async def endpoint(self, request: Request) -> Response:
        """GET /metrics: every metric of the registry in Prometheus's text format."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _content_length(headers: dict[bytes, bytes] | list[tuple[bytes, bytes]]) -> int:
    value = (headers if isinstance(headers, dict) else dict(headers)).get(b"content-length", b"")
    return int(value) if value.isdigit() else 0


class RequestContext:
    """ASGI middleware: takes X-Request-ID (or makes one), echoes it, logs the request's
    method, path, status and duration, and records it in `metrics`. Bodies are never logged."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        # 32 random hex digits, as uuid4().hex gave, for a quarter of its cost.
        rid = given[:64] if given.isprintable() and given else os.urandom(16).hex()
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        response_bytes = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = message.get("headers", [])
                response_bytes = _content_length(response_headers)
                message["headers"] = [*response_headers, (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe(
                    scope, status, seconds, _content_length(headers), response_bytes
                )
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "request_id": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "client": (scope.get("client") or ("-", 0))[0],
                    },
                )
            request_id.reset(token)


class IndexCollector(Collector):
    """Index size and model load time, read from the service state at scrape time."""

    def __init__(self, get_state: Callable[[], ServiceState | None]) -> None:
        self.get_state = get_state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self.get_state()
        index = state.loaded_index if state else None
        documents = GaugeMetricFamily("byline_index_documents", "Documents in the index.")
        passages = GaugeMetricFamily("byline_index_passages", "Passages in the index.")
        loaded = GaugeMetricFamily("byline_model_load_seconds", "Seconds to load model and index.")
        documents.add_metric([], index.document_count if index else 0)
        passages.add_metric([], index.passage_count if index else 0)
        loaded.add_metric([], state.load_seconds or 0.0 if state else 0.0)
        yield from (documents, passages, loaded)


def instrument(app: FastAPI) -> HttpMetrics:
    """Request metrics (for `RequestContext` to record) plus index gauges, at GET /metrics."""
    registry = CollectorRegistry()  # one per app: tests build many apps in one process
    registry.register(IndexCollector(lambda: getattr(app.state, "byline", None)))
    metrics = HttpMetrics(registry)
    app.add_route("/metrics", metrics.endpoint, methods=["GET"], include_in_schema=False)
    return metrics
