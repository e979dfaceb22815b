"""The FastAPI application, built by `create_app(settings)`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from index.embedding import Embedder
from service import logs
from service.errors import install_error_handlers
from service.fast_path import SearchFastPath
from service.limits import BodySizeLimit
from service.mcp_server import build_mcp
from service.observability import RequestContext, instrument
from service.routes import ask, documents, health, openai_compat, page, search, statements
from service.security import LOOPBACK_HOSTS, ApiKeyAuth, RateLimit
from service.settings import Settings, load_settings
from service.state import ServiceState

log = logging.getLogger(__name__)


def _log_write_policy(settings: Settings) -> None:
    if settings.key():
        reads = "reads and writes" if settings.protect_reads else "writes"
        log.info("%s need 'Authorization: Bearer <BYLINE_API_KEY>'", reads)
    elif settings.host in LOOPBACK_HOSTS:
        log.warning(
            "no BYLINE_API_KEY: anyone on this machine may add or delete documents "
            "(the service listens on %s only)",
            settings.host,
        )
    else:
        log.warning(
            "no BYLINE_API_KEY and listening on %s: document writes are refused; set "
            "BYLINE_API_KEY to allow them",
            settings.host,
        )


def create_app(settings: Settings, *, embedder: Embedder | None = None) -> FastAPI:
    """Build the app. The model and index load in the background; /ready says when they have.

    `embedder` lets a caller that already holds a loaded model (tests, the CLI) share it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _log_write_policy(settings)
        # Sync routes run in anyio's thread pool (40 threads by default); each thread running
        # the model keeps its own scratch memory, so the pool is sized by a setting.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        state = ServiceState(settings, embedder)
        state.refuse_another_model()
        app.state.byline = state
        loading = asyncio.create_task(asyncio.to_thread(state.load))
        async with mcp.session_manager.run():
            yield
        if not loading.done():
            log.info("shutting down while the index is still loading")
        await asyncio.shield(loading)
        state.close()

    app = FastAPI(
        title="Byline",
        summary="Semantic search over news articles, with exact source attribution.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(statements.router)
    app.include_router(openai_compat.router)
    app.include_router(page.router)
    app.mount(page.ASSETS_PREFIX, page.assets(), name="assets")
    # Added innermost first: a request meets CORS, then its id, the rate limit, the key check
    # and the body limit, then GET /search is served and anything else routed by FastAPI.
    app.add_middleware(SearchFastPath, route=_route(search.router, "GET", SearchFastPath.PATH))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        ApiKeyAuth, api_key=settings.key(), protect_reads=settings.protect_reads, host=settings.host
    )
    if settings.rate_limit:
        app.add_middleware(RateLimit, limit=settings.rate_limit)
    app.add_middleware(RequestContext, metrics=instrument(app))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["mcp-session-id"],
        )
    # The MCP endpoint is the streamable-HTTP route itself, so it answers at /mcp exactly.
    mcp = build_mcp(lambda: app.state.byline)
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, host=settings.host
    )
    app.router.routes.extend(mcp_app.routes)
    return app


def _route(router: APIRouter, method: str, path: str) -> APIRoute:
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            return route
    raise LookupError(f"no route for {method} {path}")


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory service.app:app_from_env` (the Docker image uses it)."""
    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    return create_app(settings)
