"""Bad input of every kind gets a 4xx in the one error shape, with a message saying what to fix."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.embedding import Embedder
from service.app import create_app
from service.settings import Settings
from tests.conftest import wait_ready

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(
    seed_index_dir: Path,
    embedder: Embedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    index_dir = tmp_path_factory.mktemp("bad-input") / "index"
    shutil.copytree(seed_index_dir, index_dir)
    settings = Settings(
        index_dir=index_dir,
        max_body_bytes=64 * 1024,
        max_documents_per_request=3,
        max_document_chars=5000,
    )
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        wait_ready(test_client)
        yield test_client


# (method, path, keyword arguments for the client, expected status, fragment of the message)
CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("GET", "/search?q=a%00b", {}, 422, "control character"),
    ("GET", "/search?q=%FF%FE", {}, 422, "invalid byte"),
    ("GET", "/search?q=ok%1Bx", {}, 422, "control character"),
    ("GET", "/search?q=" + "x" * 1001, {}, 422, "at most 1000"),
    ("GET", "/search?q=Kursk&k=-1", {}, 422, "greater than or equal to 1"),
    ("GET", "/search?q=Kursk&k=1e9", {}, 422, "valid integer"),
    ("GET", "/search?q=Kursk&mode=%00", {}, 422, "'mode'"),
    ("POST", "/search", {"content": b'{"query": "\xff\xfe"}', "headers": JSON}, 400, "UTF-8"),
    ("POST", "/search", {"content": b'{"query": ', "headers": JSON}, 422, "not valid JSON"),
    (
        "POST",
        "/search",
        {"content": b"hello", "headers": {"content-type": "text/plain"}},
        422,
        "request body",
    ),
    ("POST", "/search", {"json": [1, 2]}, 422, "request body"),
    ("POST", "/search", {"json": {"query": 42}}, 422, "valid string"),
    ("POST", "/search", {"json": {"query": {"$ne": 1}}}, 422, "valid string"),
    ("POST", "/search", {"json": {"query": "x\u0007"}}, 422, "control character"),
    ("POST", "/ask", {"json": {"question": "\u0000"}}, 422, "control character"),
    ("POST", "/documents", {"json": {"text": "nul\u0000inside"}}, 422, "NUL"),
    ("POST", "/documents", {"json": {"text": "x" * 5001}}, 422, "BYLINE_MAX_DOCUMENT_CHARS"),
    ("POST", "/documents", {"json": [{"text": f"doc {i}"} for i in range(4)]}, 422, "at most 3"),
    ("POST", "/documents", {"json": {"id": "../../etc/passwd", "text": "x"}}, 422, "'id'"),
    ("POST", "/documents", {"json": {"id": "a" * 500, "text": "x"}}, 422, "'id'"),
    (
        "POST",
        "/documents",
        {"json": {"id": "ok", "text": "x", "published": 2024}},
        422,
        "'published'",
    ),
    (
        "POST",
        "/documents",
        {"content": b"[" + b'{"text": "pad"},' * 5000 + b"]", "headers": JSON},
        413,
        "BYLINE_MAX_BODY_BYTES",
    ),
    ("GET", "/documents/..%2F..%2Fetc%2Fpasswd", {}, 404, ""),
    ("GET", "/documents/" + "z" * 5000, {}, 404, "no document"),
    ("DELETE", "/documents/%00", {}, 404, "no document"),
    ("GET", "/documents?limit=99999999999999999999", {}, 422, "less than or equal to 500"),
    ("GET", "/documents?offset=-5", {}, 422, "greater than or equal to 0"),
    ("PUT", "/documents", {}, 405, ""),
    (
        "POST",
        "/v1/chat/completions",
        {"json": {"model": "byline", "messages": "hi"}},
        400,
        "valid list",
    ),
    (
        "POST",
        "/v1/chat/completions",
        {"json": {"model": "byline", "messages": [{"role": "robot", "content": "x"}]}},
        400,
        "'messages.0.role'",
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "fragment"), CASES)
def test_bad_input_is_a_clear_4xx(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int, fragment: str
) -> None:
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert {"code", "message"} <= set(error)
    assert error["message"]
    assert fragment in error["message"]


def test_streamed_oversized_body_is_a_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(10_000):
            yield b'{"text": "padding padding"},'
        yield b'{"text": "end"}]'

    response = client.post("/documents", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert client.get("/ready").json()["documents"] == 5  # nothing was indexed


def test_nothing_changed_after_the_bad_writes(client: TestClient) -> None:
    assert client.get("/ready").json()["documents"] == 5
