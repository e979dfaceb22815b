from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.archive_db import DATABASE
from index.embedding import Embedder, WrappedEmbedder
from index.engine import NewsIndex
from service.app import create_app
from service.settings import Settings
from tests.conftest import ClientFactory, wait_ready


@pytest.fixture
def index_dir(seed_index_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(seed_index_dir, copy)
    return copy


@pytest.fixture
def client(make_client: ClientFactory, index_dir: Path) -> TestClient:
    return make_client(index_dir)


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    return message


def test_health_and_ready(client: TestClient, seed_index: NewsIndex) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {
        "status": "ready",
        "documents": 5,
        "passages": seed_index.passage_count,
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "backend": "embedded",
    }


class GatedEmbedder(WrappedEmbedder):
    """The real embedder, whose loading waits for a gate (to observe the loading state)."""

    def __init__(self, inner: Embedder, gate: threading.Event) -> None:
        super().__init__(inner)
        self.gate = gate

    @property
    def max_tokens(self) -> int:
        self.gate.wait(30)
        return self.inner.max_tokens


def test_ready_is_503_until_the_index_is_loaded(embedder: Embedder, index_dir: Path) -> None:
    gate = threading.Event()
    app = create_app(Settings(index_dir=index_dir), embedder=GatedEmbedder(embedder, gate))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        _error(client.get("/ready"), 503, "not_ready")
        _error(client.get("/search", params={"q": "Kursk"}), 503, "not_ready")
        gate.set()
        wait_ready(client)
        assert client.get("/search", params={"q": "Kursk"}).status_code == 200


def test_search_get_and_post_agree_and_attribute_exactly(client: TestClient) -> None:
    got = client.get("/search", params={"q": "what did Zakharova say", "k": 5}).json()
    posted = client.post("/search", json={"query": "what did Zakharova say", "k": 5}).json()
    assert [r["passage_id"] for r in got["results"]] == [r["passage_id"] for r in posted["results"]]
    assert got["query"] == "what did Zakharova say"
    assert got["took_ms"] > 0
    results = got["results"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert any("Zakharova" in r["text"] for r in results[:3])
    for result in results:
        source = result["source"]
        assert set(source) == {
            "doc_id",
            "title",
            "publisher",
            "url",
            "published",
            "char_start",
            "char_end",
        }
        article = client.get(f"/documents/{source['doc_id']}").json()["text"]
        assert article[source["char_start"] : source["char_end"]] == result["text"]


def test_search_default_k_is_5(client: TestClient) -> None:
    assert len(client.get("/search", params={"q": "Kursk"}).json()["results"]) == 5


@pytest.mark.parametrize(
    ("query_params", "fragment"),
    [
        ({"q": "", "k": 5}, "'q'"),
        ({"q": "   \t", "k": 5}, "not only white space"),
        ({"q": "Kursk", "k": 0}, "greater than or equal to 1"),
        ({"q": "Kursk", "k": 51}, "less than or equal to 50"),
        ({"q": "Kursk", "k": "five"}, "valid integer"),
        ({"k": 5}, "'q': is required"),
        ({"q": "x" * 1001}, "at most 1000"),
    ],
)
def test_bad_get_search_is_a_422_that_says_what_to_fix(
    client: TestClient, query_params: dict[str, Any], fragment: str
) -> None:
    assert fragment in _error(client.get("/search", params=query_params), 422, "invalid_request")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"query": " ", "k": 5}, "not only white space"),
        ({"query": "Kursk", "k": 100}, "less than or equal to 50"),
        ({"query": "Kursk", "limit": 3}, "'limit': Extra inputs are not permitted"),
        ({}, "'query': is required"),
    ],
)
def test_bad_post_search_is_a_422_that_says_what_to_fix(
    client: TestClient, body: dict[str, Any], fragment: str
) -> None:
    assert fragment in _error(client.post("/search", json=body), 422, "invalid_request")


def test_malformed_json_is_a_422(client: TestClient) -> None:
    response = client.post(
        "/search", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in _error(response, 422, "invalid_request")


def test_documents_list_pages_and_counts(client: TestClient, seed_index: NewsIndex) -> None:
    everything = client.get("/documents").json()
    assert everything["count"] == 5
    assert len(everything["data"]) == 5
    assert sum(d["passages"] for d in everything["data"]) == seed_index.passage_count
    page = client.get("/documents", params={"limit": 2, "offset": 4}).json()
    assert page["count"] == 5
    assert [d["doc_id"] for d in page["data"]] == [everything["data"][4]["doc_id"]]
    assert set(page["data"][0]) == {"doc_id", "title", "publisher", "url", "published", "passages"}
    _error(client.get("/documents", params={"limit": 0}), 422, "invalid_request")


def test_document_detail_and_unknown_id(client: TestClient) -> None:
    detail = client.get("/documents/004_1436fe9128c89578").json()
    assert detail["publisher"] == "MONews"
    assert detail["text"].startswith("Ad image")
    message = _error(client.get("/documents/no-such-doc"), 404, "document_not_found")
    assert "no-such-doc" in message
    assert "GET /documents" in message


def test_add_replace_and_delete_persist_before_answering(
    client: TestClient, make_client: ClientFactory, index_dir: Path
) -> None:
    one = {
        "id": "sumy-1",
        "text": "A drone struck a power line near Sumy on Monday, officials said.",
        "title": "Drone hits Sumy power line",
        "publisher": "Wire",
    }
    created = client.post("/documents", json=one)
    assert created.status_code == 201
    assert created.json()["data"] == [{"doc_id": "sumy-1", "passages": 1, "status": "added"}]
    hits = client.get("/search", params={"q": "drone power line Sumy", "k": 1}).json()["results"]
    assert hits[0]["source"]["doc_id"] == "sumy-1"
    assert hits[0]["source"]["publisher"] == "Wire"

    listed = client.post(
        "/documents",
        json=[
            {**one, "text": "A drone struck a substation near Sumy."},
            {"text": "An untitled wire report about Kharkiv shelling."},
        ],
    )
    assert [d["status"] for d in listed.json()["data"]] == ["replaced", "added"]

    # A second app on the same directory sees every acknowledged write.
    other = make_client(index_dir)
    assert other.get("/ready").json()["documents"] == 7
    assert other.get("/documents/sumy-1").json()["text"] == "A drone struck a substation near Sumy."

    assert client.delete("/documents/sumy-1").status_code == 204
    _error(client.delete("/documents/sumy-1"), 404, "document_not_found")
    assert make_client(index_dir).get("/ready").json()["documents"] == 6


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"text": "   "}, "'text': must contain text"),
        ({"title": "no text"}, "'text': is required"),
        ([{"text": "ok"}, {"text": ""}], "'1.text'"),
        ([], "at least one document"),
        ({"id": "../etc/passwd", "text": "x"}, "'id'"),
        ({"text": "x", "colour": "red"}, "'colour': Extra inputs"),
        ([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], "more than once"),
    ],
)
def test_bad_documents_are_a_422_and_change_nothing(
    client: TestClient, body: Any, fragment: str
) -> None:
    assert fragment in _error(client.post("/documents", json=body), 422, "invalid_request")
    assert client.get("/ready").json()["documents"] == 5


def test_unknown_route_uses_the_error_shape(client: TestClient) -> None:
    _error(client.get("/nowhere"), 404, "not_found")


def test_openapi_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/search", "/documents", "/documents/{doc_id}", "/health", "/ready"} <= set(
        schema["paths"]
    )
    assert client.get("/docs").status_code == 200


def test_index_built_with_another_model_stops_start_up(index_dir: Path) -> None:
    from index.errors import IndexMismatchError

    app = create_app(Settings(index_dir=index_dir, model="/models/some-other-model"))
    with pytest.raises(IndexMismatchError, match="BYLINE_MODEL"), TestClient(app):
        pass


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_search_modes(client: TestClient, mode: str) -> None:
    got = client.get("/search", params={"q": "Vladivostok Eastern Economic Forum", "mode": mode})
    assert got.status_code == 200, got.text
    results = got.json()["results"]
    assert results
    assert "Vladivostok" in results[0]["text"]
    assert all(isinstance(r["also_in"], list) for r in results)
    posted = client.post("/search", json={"query": "Vladivostok", "k": 2, "mode": mode})
    assert posted.status_code == 200


def test_unknown_mode_is_a_422(client: TestClient) -> None:
    message = _error(
        client.get("/search", params={"q": "x", "mode": "magic"}), 422, "invalid_request"
    )
    assert "'mode'" in message
    assert "dense" in message


def test_folded_duplicates_are_listed_with_their_sources(client: TestClient) -> None:
    article = client.get("/documents/000_4669eddcbb62d802").json()["text"]
    paragraph = article[article.index("Meanwhile, Russian authorities said five persons") :]
    client.post("/documents", json={"id": "wire-copy", "text": paragraph, "title": "Wire"})
    results = client.get("/search", params={"q": "Belgorod attack deaths", "k": 5}).json()[
        "results"
    ]
    sources = [r["source"]["doc_id"] for r in results] + [
        a["doc_id"] for r in results for a in r["also_in"]
    ]
    assert "wire-copy" in sources
    assert "000_4669eddcbb62d802" in sources
    folded = next(r for r in results if r["also_in"])
    other = folded["also_in"][0]
    assert set(other) == {"doc_id", "title", "char_start", "char_end"}
    text = client.get(f"/documents/{other['doc_id']}").json()["text"]
    assert text[other["char_start"] : other["char_end"]].strip()


def test_ask_answers_with_verbatim_citations(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "were kids evacuated?"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "question",
        "answer",
        "answerable",
        "shape",
        "confidence",
        "citations",
        "passages",
    }
    assert body["answerable"] is True
    assert body["shape"] == "other"
    assert "children" in body["answer"]
    assert 0 < body["confidence"] <= 1
    assert body["citations"]
    assert len(body["passages"]) == 5
    for citation in body["citations"]:
        article = client.get(f"/documents/{citation['doc_id']}").json()["text"]
        assert article[citation["char_start"] : citation["char_end"]] == citation["quote"]
        assert citation["quote"] in body["answer"]


def test_ask_says_so_when_the_corpus_does_not_answer(client: TestClient) -> None:
    body = client.post(
        "/ask", json={"question": "Who won the men's marathon at the 2024 Olympics?"}
    ).json()
    assert body["answerable"] is False
    assert body["answer"] is None
    assert body["citations"] == []
    assert body["passages"]  # the nearest passages are still returned


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"question": "  "}, "not only white space"),
        ({"question": "x", "k": 0}, "'k'"),
        ({}, "'question'"),
    ],
)
def test_bad_ask_is_a_422(client: TestClient, body: dict[str, Any], fragment: str) -> None:
    assert fragment in _error(client.post("/ask", json=body), 422, "invalid_request")


def test_openapi_operations_are_described_for_language_models(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operations = {
        ("/search", "get"): "search_news",
        ("/ask", "post"): "ask_news",
        ("/documents/{doc_id}", "get"): "get_document",
    }
    for (path, method), operation_id in operations.items():
        operation = paths[path][method]
        assert operation["operationId"] == operation_id
        assert len(operation["summary"]) > 15
        assert len(operation["description"]) > 60
    for parameter in paths["/search"]["get"]["parameters"]:
        assert parameter.get("description"), parameter["name"]


def test_cors_is_off_by_default_and_configurable(
    embedder: Embedder, index_dir: Path, client: TestClient
) -> None:
    preflight = {"Origin": "http://chat.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/ask", headers=preflight).headers
    app = create_app(
        Settings(index_dir=index_dir, cors_origins="http://chat.example"), embedder=embedder
    )
    with TestClient(app) as cors_client:
        response = cors_client.options("/ask", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "http://chat.example"


def test_a_truncated_index_is_reported_at_start_up_and_never_served(
    embedder: Embedder, index_dir: Path
) -> None:
    database = index_dir / DATABASE
    database.write_bytes(database.read_bytes()[:512])
    app = create_app(Settings(index_dir=index_dir), embedder=embedder)
    with TestClient(app) as broken:
        for _ in range(200):
            ready = broken.get("/ready")
            if ready.json()["error"]["code"] != "not_ready":
                break
            time.sleep(0.05)
        message = _error(ready, 503, "index_corrupt")
        assert DATABASE in message
        assert "byline index --rebuild" in message
        _error(broken.get("/search", params={"q": "Kursk"}), 503, "index_corrupt")
        assert broken.get("/health").status_code == 200


def test_batch_search_answers_each_query_as_search_would(client: TestClient) -> None:
    queries = ["what did Zakharova say", "Belgorod emergency"]
    batch = client.post("/search/batch", json={"queries": queries, "k": 3})
    assert batch.status_code == 200, batch.text
    responses = batch.json()["responses"]
    assert [r["query"] for r in responses] == queries
    for query, response in zip(queries, responses, strict=True):
        single = client.post("/search", json={"query": query, "k": 3}).json()
        assert [r["passage_id"] for r in response["results"]] == [
            r["passage_id"] for r in single["results"]
        ]
    assert "at least 1" in _error(
        client.post("/search/batch", json={"queries": []}), 422, "invalid_request"
    )
    too_many = {"queries": ["q"] * 65}
    assert "at most 64" in _error(
        client.post("/search/batch", json=too_many), 422, "invalid_request"
    )
    blank = {"queries": ["fine", "  "]}
    assert "'queries.1'" in _error(client.post("/search/batch", json=blank), 422, "invalid_request")


def test_an_empty_publisher_filter_is_a_422_naming_it(client: TestClient) -> None:
    for url in ("/search?q=Kursk&publisher=", "/documents?publisher="):
        message = _error(client.get(url), 422, "invalid_request")
        assert message.startswith("query parameter 'publisher.0'")


def test_filters_with_one_date_bound_and_far_offsets_are_answered(client: TestClient) -> None:
    for bound in ("published_after", "published_before"):
        for url in (f"/search?q=Kursk&{bound}=2024-08-01", f"/documents?{bound}=2024-08-01"):
            assert client.get(url).status_code == 200, url
    far = client.get("/documents", params={"offset": 2**64})
    assert "'offset'" in _error(far, 422, "invalid_request")
