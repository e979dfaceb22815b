"""The HTTP API on both storage backends: the embedded archive, and Milvus through the network
client against a real `milvus-lite server` on 127.0.0.1."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.embedding import Embedder
from index.engine import NewsIndex
from index.fusion import Mode
from service.app import create_app
from service.settings import Settings
from tests.conftest import ClientFactory
from tests.milvus import MilvusServer, collection_name

BACKENDS = ["embedded", "milvus"]
HOSTILE = ['x" or 1==1 or "', 'back\\slash \\" quote', "it's 'single'", "new\nline\ttab"]


def _settings(backend: str, server: MilvusServer, collection: str) -> dict[str, Any]:
    if backend == "embedded":
        return {}
    return {"store": "milvus", "milvus_uri": server.uri, "milvus_collection": collection}


@pytest.fixture(params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest,
    make_client: ClientFactory,
    seed_index_dir: Path,
    tmp_path: Path,
    milvus_server: MilvusServer,
) -> TestClient:
    """The seed corpus, read-only, on each backend."""
    backend: str = request.param
    if backend == "embedded":
        shutil.copytree(seed_index_dir, tmp_path / "index")
        return make_client(tmp_path / "index")
    collection: str = request.getfixturevalue("milvus_seed_collection")
    return make_client(tmp_path / "unused", **_settings(backend, milvus_server, collection))


@pytest.fixture(params=BACKENDS)
def empty(
    request: pytest.FixtureRequest,
    make_client: ClientFactory,
    tmp_path: Path,
    milvus_server: MilvusServer,
) -> TestClient:
    """An empty archive on each backend (a collection of its own on Milvus)."""
    return make_client(
        tmp_path / "index", **_settings(request.param, milvus_server, collection_name())
    )


def _quoted_exactly(client: TestClient, result: dict[str, Any]) -> bool:
    source = result["source"]
    text = client.get(f"/documents/{source['doc_id']}").json()["text"]
    return bool(text[source["char_start"] : source["char_end"]] == result["text"])


def test_every_mode_and_ask_attribute_exactly(seeded: TestClient, seed_index: NewsIndex) -> None:
    ready = seeded.get("/ready").json()
    assert (ready["documents"], ready["passages"]) == (5, seed_index.passage_count)
    assert ready["backend"] in BACKENDS
    for mode in ("dense", "bm25", "hybrid"):
        response = seeded.get("/search", params={"q": "children evacuated Kursk", "mode": mode})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert results, mode
        assert all(_quoted_exactly(seeded, r) for r in results), mode
    body = seeded.post("/ask", json={"question": "were kids evacuated?"}).json()
    assert body["answerable"] is True
    assert "children" in body["answer"]
    for citation in body["citations"]:
        text = seeded.get(f"/documents/{citation['doc_id']}").json()["text"]
        assert text[citation["char_start"] : citation["char_end"]] == citation["quote"]


def test_both_backends_give_the_same_dense_answers(
    seed_index: NewsIndex, milvus_server: MilvusServer, milvus_seed_collection: str
) -> None:
    settings = Settings(**_settings("milvus", milvus_server, milvus_seed_collection))
    milvus = NewsIndex.open(settings.index_config(), seed_index.embedder)
    try:
        for query in ("gas station attack", "what did Putin say about Donbas", "drones"):
            embedded = [h.passage.passage_id for h in seed_index.search(query, 10, Mode.DENSE)]
            remote = [h.passage.passage_id for h in milvus.search(query, 10, Mode.DENSE)]
            assert remote == embedded, query
    finally:
        milvus.close()


def test_filters_replacements_deletes_and_duplicates(empty: TestClient) -> None:
    client = empty
    # Drones in every text, said differently (alike texts would be folded into one result).
    texts = [
        "Air defences shot down drones over Kursk; a school roof caught fire.",
        "Farmers near Belgorod found drone debris in a wheat field after the night raid.",
        "A drone hit an oil depot in Bryansk and the fire burned until noon.",
        "The ministry said drones attacked a power plant in Voronezh without casualties.",
        "Railway traffic in Oryol stopped for hours after drones were sighted at the station.",
    ]
    documents = [
        {"id": f"doc-{i}", "text": text, "publisher": publisher, "published": f"2024-08-1{i}"}
        for i, (text, publisher) in enumerate(zip(texts, [*HOSTILE, "Plain Wire"], strict=True))
    ]
    documents.append({"id": "undated", "text": "Sirens sounded in Lipetsk as drones approached."})
    created = client.post("/documents", json=documents)
    assert created.status_code == 201, created.text

    def ids(**params: Any) -> list[str]:
        response = client.get("/search", params={"q": "drones", "k": 20, **params})
        assert response.status_code == 200, response.text
        return sorted(r["source"]["doc_id"] for r in response.json()["results"])

    assert ids() == sorted(d["id"] for d in documents)
    for i, publisher in enumerate(HOSTILE):
        assert ids(publisher=publisher) == [f"doc-{i}"], publisher
        assert ids(publisher=publisher.upper()) == [f"doc-{i}"], "any case"
    assert ids(publisher='x" or 1==1') == []
    assert ids(publisher=["Plain Wire", HOSTILE[0]]) == ["doc-0", "doc-4"]
    assert ids(published_after="2024-08-12") == ["doc-2", "doc-3", "doc-4"]
    assert ids(published_before="2024-08-11") == ["doc-0"]
    assert ids(doc_id=["doc-1", "undated"]) == ["doc-1", "undated"]
    listing = client.get("/documents", params={"publisher": HOSTILE[1]}).json()
    assert [d["doc_id"] for d in listing["data"]] == ["doc-1"]

    # A replacement is seen whole; a deletion at once.
    replaced = client.post(
        "/documents", json={"id": "doc-0", "text": "Firefighters saved a granary in Sumy."}
    )
    assert replaced.json()["data"][0]["status"] == "replaced"
    results = client.get("/search", params={"q": "drones", "k": 20}).json()["results"]
    assert [r["text"] for r in results if r["source"]["doc_id"] == "doc-0"] == [
        "Firefighters saved a granary in Sumy."
    ]
    hits = client.get("/search", params={"q": "granary Sumy", "k": 1}).json()["results"]
    assert hits[0]["source"]["doc_id"] == "doc-0"
    assert _quoted_exactly(client, hits[0])
    assert client.delete("/documents/doc-0").status_code == 204
    assert client.get("/documents/doc-0").status_code == 404
    assert client.get("/ready").json()["documents"] == len(documents) - 1

    # The same paragraph under another id is folded into one result, listed in also_in.
    client.post("/documents", json={"id": "wire-copy", "text": documents[1]["text"]})
    results = client.get("/search", params={"q": "drone debris in a wheat field"}).json()
    folded = [r for r in results["results"] if r["also_in"]]
    assert folded
    assert {folded[0]["source"]["doc_id"], folded[0]["also_in"][0]["doc_id"]} == {
        "doc-1",
        "wire-copy",
    }


def test_an_unreachable_milvus_stops_start_up_naming_the_setting(
    embedder: Embedder, tmp_path: Path
) -> None:
    from eval.localserver import free_port

    settings = Settings(
        store="milvus",
        milvus_uri=f"http://127.0.0.1:{free_port()}",
        milvus_timeout_seconds=1,
        index_dir=tmp_path,
    )
    with TestClient(create_app(settings, embedder=embedder)) as client:
        deadline = time.monotonic() + 60
        response = client.get("/ready")
        while response.json()["error"]["code"] == "not_ready" and time.monotonic() < deadline:
            time.sleep(0.1)
            response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "store_unavailable"
        assert "BYLINE_MILVUS_URI" in response.json()["error"]["message"]


def test_who_said_what_on_either_backend(seeded: TestClient) -> None:
    body = seeded.get("/statements", params={"speaker": "Zakharova", "q": "peace talks"}).json()
    assert body["speaker"]["name"] == "Maria Zakharova"
    assert body["results"]
    for result in body["results"]:
        text = seeded.get(f"/documents/{result['doc_id']}").json()["text"]
        assert text[result["char_start"] : result["char_end"]] == result["quote"]
    asked = seeded.post("/ask", json={"question": "Who is Yuri Ushakov?"}).json()
    assert asked["answer"] == "Yuri Ushakov: Kremlin adviser [1]"
