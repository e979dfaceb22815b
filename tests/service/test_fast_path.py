"""GET /search served by `SearchFastPath` answers exactly as the FastAPI route it stands for:
the same status, headers and body for good and bad queries, the same metrics."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from index.embedding import Embedder
from service.app import create_app
from service.fast_path import SearchFastPath
from service.settings import Settings
from tests.conftest import wait_ready

QUERIES = [
    "q=Kursk",
    "q=Kursk&k=3",
    "q=Kursk&k=3&k=2",
    "q=a&q=shelling",
    "",
    "q=",
    "q=%20%20",
    "q=a%00b",
    "q=%FF%FE",
    "q=" + "x" * 1001,
    "q=Kursk&k=-1",
    "q=Kursk&k=1e9",
    "q=Kursk&k=",
    "q=Kursk&k=51",
    "q=Kursk&k=5.0",
    "q=Kursk&mode=%00",
    "q=Kursk&mode=bm25",
    "q=Kursk&mode=dense",
    "q=Kursk&mode=",
    "q=Kursk&published_after=2024-01-01",
    "q=Kursk&published_after=2024-13-01",
    "q=Kursk&published_after=",
    "q=Kursk&published_after=2025-01-01&published_before=2024-01-01",
    "q=Kursk&published_before=2024-08-10T00:00:00Z",
    "q=Kursk&publisher=Reuters&publisher=kyiv%20post",
    "q=Kursk&publisher=",
    "q=Kursk&doc_id=..%2Fx",
    "q=Kursk&doc_id=abc",
    "q=Kursk&sort=date",
    "q=Kursk&sort=bad",
    "q=Kursk&recency_half_life_days=0",
    "q=Kursk&recency_half_life_days=30",
    "k=0&mode=x&sort=y",
    "q=Kursk&unknown=1",
    "q=%E2%80%9Cquoted%E2%80%9D%20Zelensky",
]


def _client(app: FastAPI) -> TestClient:
    client = TestClient(app)
    client.__enter__()
    wait_ready(client)
    return client


@pytest.fixture(scope="module")
def clients(
    seed_index_dir: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, TestClient]]:
    """The app as served, and the same app without the fast path (FastAPI's route answers)."""
    apps = []
    for name in ("fast", "routed"):
        index_dir = tmp_path_factory.mktemp(name) / "index"
        shutil.copytree(seed_index_dir, index_dir)
        apps.append(create_app(Settings(index_dir=index_dir), embedder=embedder))
    routed = apps[1]
    fast_path: object = SearchFastPath
    routed.user_middleware = [m for m in routed.user_middleware if m.cls is not fast_path]
    fast, reference = _client(apps[0]), _client(routed)
    yield fast, reference
    for client in (fast, reference):
        client.__exit__(None, None, None)


def _answer(client: TestClient, path: str) -> tuple[int, dict[str, str], str]:
    response = client.get(path, headers={"x-request-id": "same"}, follow_redirects=False)
    body = re.sub(r'"took_ms":[0-9.e-]+', '"took_ms":0', response.text)
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "content-length")}
    return response.status_code, headers, body


@pytest.mark.parametrize("query", QUERIES)
def test_get_search_answers_as_the_route_it_stands_for(
    clients: tuple[TestClient, TestClient], query: str
) -> None:
    fast, routed = clients
    assert _answer(fast, f"/search?{query}") == _answer(routed, f"/search?{query}")


def test_other_methods_and_paths_still_reach_fastapi(
    clients: tuple[TestClient, TestClient],
) -> None:
    fast, routed = clients
    for method, path in [("HEAD", "/search?q=x"), ("GET", "/search/?q=x"), ("POST", "/search")]:
        assert fast.request(method, path, follow_redirects=False).status_code == (
            routed.request(method, path, follow_redirects=False).status_code
        )


def test_every_invalid_filter_is_named_at_once(clients: tuple[TestClient, TestClient]) -> None:
    """The parameters are validated once, as the typed request, so an empty query and too
    many publishers are both reported (FastAPI's route named only the first)."""
    fast, _ = clients
    response = fast.get("/search?q=" + "&publisher=p" * 101)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "query parameter 'q'" in message
    assert "query parameter 'publisher'" in message


def test_metrics_name_the_route(clients: tuple[TestClient, TestClient]) -> None:
    fast, _ = clients
    fast.get("/search?q=Kursk")
    metrics = fast.get("/metrics").text
    assert 'byline_http_requests_total{handler="/search",method="GET",status="200"}' in metrics
