"""One error body for every failure: `{"error": {"code": str, "message": str}}`."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from index.errors import (
    BylineError,
    DocumentNotFoundError,
    IndexConfigError,
    IndexCorruptError,
    IndexMismatchError,
    InvalidDocumentError,
    ModelLoadError,
    StoreUnavailableError,
)
from service.schemas import UNION_TAGS

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An error raised by the service layer itself, with its HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


_STATUS_BY_DOMAIN_ERROR: dict[type[BylineError], int] = {
    InvalidDocumentError: 422,
    DocumentNotFoundError: 404,
    IndexMismatchError: 503,
    IndexCorruptError: 503,
    ModelLoadError: 503,
    IndexConfigError: 503,
    StoreUnavailableError: 503,
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


OPENAI_PREFIX = "/v1/"


def error_content(path: str, status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    """The one error writer: (status, body) for a failure at `path`. Under /v1/ the body also
    carries OpenAI's `type` and `param`, and validation errors there are a 400, as OpenAI
    clients expect. Handlers and middleware alike answer through it."""
    if not path.startswith(OPENAI_PREFIX):
        return status, error_body(code, message)
    kind = "invalid_request_error" if status < 500 else "server_error"
    status = 400 if status == 422 else status
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


async def send_error(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """`error_content` as a raw ASGI response, for middleware that answers before routing."""
    status, content = error_content(scope.get("path", ""), status, code, message)
    body = json.dumps(content).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _response(path: str, status: int, code: str, message: str) -> JSONResponse:
    status, content = error_content(path, status, code, message)
    return JSONResponse(content, status_code=status)


def failure_response(path: str, exc: ServiceError | BylineError) -> JSONResponse:
    """The response to a service or domain error raised serving `path`: what the exception
    handlers below answer, for a front end that runs outside FastAPI's routing."""
    if isinstance(exc, ServiceError):
        status, code, message = exc.status, exc.code, exc.message
    else:
        status = next(
            (s for kind, s in _STATUS_BY_DOMAIN_ERROR.items() if isinstance(exc, kind)), 500
        )
        if status >= 500:
            log.error("%s: %s", exc.code, exc)
        code, message = exc.code, str(exc)
    return _response(path, status, code, message)


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """Turn pydantic's error list into one sentence per problem, naming where it is."""
    parts = []
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "malformed")
            at = error["loc"][-1] if error.get("loc") else "?"
            parts.append(f"request body is not valid JSON: {reason} (at character {at})")
            continue
        loc = [str(part) for part in error.get("loc", ()) if part not in UNION_TAGS]
        where = {"query": "query parameter", "body": "body field", "path": "path parameter"}.get(
            loc[0] if loc else "", ""
        )
        field = ".".join(loc[1:]) if where else ".".join(loc)
        if where == "body field" and not field:
            where, field = "request body", ""
        subject = f"{where} '{field}'".lstrip() if field else (where or "request")
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required"
        elif "input" in error and error.get("type") != "json_invalid":
            got = repr(error["input"])
            message = f"{message} (got {got[:80]}{'...' if len(got) > 80 else ''})"
        parts.append(f"{subject}: {message}")
    return "; ".join(parts) or "the request is invalid"


def install_error_handlers(app: FastAPI) -> None:
    """Map domain, validation and HTTP errors to the single error body."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message = describe_validation_errors(exc.errors())
        return _response(request.url.path, 422, "invalid_request", message)

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        return failure_response(request.url.path, exc)

    @app.exception_handler(BylineError)
    async def _domain(request: Request, exc: BylineError) -> JSONResponse:
        return failure_response(request.url.path, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint; see /docs for the API"
        if exc.status_code == 400 and message == "There was an error parsing the body":
            code, message = "invalid_body", "the request body could not be read: send UTF-8 JSON"
        return _response(request.url.path, exc.status_code, code, message)
