"""Who may do what: an API key for writes (and optionally reads), and per-client rate limits."""

from __future__ import annotations

import hmac
import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import send_error

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})
"""Probes and metrics stay open to orchestrators and scrapers."""
PAGE_PREFIXES = ("/articles/", "/static/")
"""The search page's HTML, scripts and styles hold no data: they load without a key, and the
page sends the key (kept in the tab's sessionStorage) with its API calls."""


def is_page(method: str, path: str) -> bool:
    return method in ("GET", "HEAD") and (path == "/" or path.startswith(PAGE_PREFIXES))


def is_write(method: str, path: str) -> bool:
    documents = path.rstrip("/") == "/documents" or path.startswith("/documents/")
    return documents and method in ("POST", "DELETE")


class ApiKeyAuth:
    """ASGI middleware. With a key, writes (and reads, if `protect_reads`) need
    `Authorization: Bearer <key>`: 401 without it, 403 with a wrong one. Without a key,
    writes are allowed only when the service listens on loopback."""

    def __init__(
        self, app: ASGIApp, *, api_key: str | None, protect_reads: bool, host: str
    ) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.protect_reads = protect_reads
        self.loopback = host in LOOPBACK_HOSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        write = is_write(method, path)
        if self.api_key is None:
            if write and not self.loopback:
                await send_error(
                    scope,
                    send,
                    403,
                    "writes_disabled",
                    "writes are disabled: this service is reachable beyond loopback and has no "
                    "BYLINE_API_KEY; set one and send it as 'Authorization: Bearer <key>'",
                )
                return
        elif write or (self.protect_reads and path not in OPEN_PATHS and not is_page(method, path)):
            header = dict(scope.get("headers", [])).get(b"authorization", b"")
            scheme, _, token = header.partition(b" ")
            if scheme.lower() != b"bearer" or not token:
                await send_error(
                    scope,
                    send,
                    401,
                    "unauthorized",
                    "this request needs 'Authorization: Bearer <BYLINE_API_KEY>'",
                    [(b"www-authenticate", b'Bearer realm="byline"')],
                )
                return
            if not hmac.compare_digest(token.strip(), self.api_key):
                await send_error(scope, send, 403, "forbidden", "the API key is not valid")
                return
        await self.app(scope, receive, send)


class RateLimit:
    """ASGI middleware: at most `limit` (e.g. "120/minute") requests per client address,
    over a moving window; beyond it a 429 with Retry-After. Probes and the page's files are not
    counted."""

    def __init__(self, app: ASGIApp, *, limit: str) -> None:
        self.app = app
        self.item = parse(limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in OPEN_PATHS
            # A page's files are cheap; counting them would break a page before its searches.
            or is_page(scope["method"], scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        if not self.limiter.hit(self.item, client):
            reset = self.limiter.get_window_stats(self.item, client).reset_time
            retry = max(1, math.ceil(reset - time.time()))
            await send_error(
                scope,
                send,
                429,
                "rate_limited",
                f"too many requests from {client} (limit {self.item}); retry in {retry} s",
                [(b"retry-after", str(retry).encode())],
            )
            return
        await self.app(scope, receive, send)
