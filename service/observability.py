"""Prometheus metrics, request ids, and one structured log line per request."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.state import ServiceState

request_id: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("byline.access")


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the id of the request being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RequestContext:
    """ASGI middleware: takes X-Request-ID (or makes one), echoes it, and logs the request's
    method, path, status and duration. Bodies are never logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        rid = given[:64] if given.isprintable() and given else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
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
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
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


def instrument(app: FastAPI) -> None:
    """Request counts and latency histograms per endpoint, plus index gauges, at /metrics."""
    registry = CollectorRegistry()  # one per app: tests build many apps in one process
    registry.register(IndexCollector(lambda: getattr(app.state, "byline", None)))
    Instrumentator(
        registry=registry, excluded_handlers=["/metrics"], should_group_status_codes=False
    ).instrument(app, metric_namespace="byline").expose(app, include_in_schema=False)
