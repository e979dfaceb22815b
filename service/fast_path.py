"""GET /search served before FastAPI's routing, the service's one hot request.

FastAPI's routing, dependency solving and parameter parsing took a third of the interpreter's
time under load, more than the search; the parameters were then validated a second time as
the typed request. Here the request goes straight from the query string to the same typed
request, the same core call and the same response, under all the middleware (CORS, request id
and metrics, rate limit, API key, body limit) and the same error bodies.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from index.errors import BylineError
from service.errors import ServiceError, failure_response
from service.responses import ModelResponse
from service.routes.search import search_query
from service.state import ServiceState


class SearchFastPath:
    """ASGI middleware, innermost: answers GET /search as `route` (the FastAPI route it
    stands for, named in metrics) would; every other request goes on to FastAPI."""

    PATH = "/search"

    def __init__(self, app: ASGIApp, *, route: BaseRoute) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or _route_path(scope) != self.PATH:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        state: ServiceState = scope["app"].state.byline
        try:
            # One hand-off to a worker thread, as for a plain `def` route: parsing, the search
            # and the JSON all run there, and the event loop only moves bytes.
            response: Response = await anyio.to_thread.run_sync(
                _serve, state, scope["query_string"]
            )
        except (ServiceError, BylineError) as exc:
            response = failure_response(scope["path"], exc)
        await response(scope, receive, send)


def _serve(state: ServiceState, query_string: bytes) -> ModelResponse:
    return search_query(state.index, query_string)


def _route_path(scope: Scope) -> str:
    """The path Starlette's router matches: without the root path a proxy mounts the app
    under (its `get_route_path`, which is private)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path
