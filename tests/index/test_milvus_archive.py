"""The Milvus archive against a real `milvus-lite server`: what a search sees during writes,
writes interrupted before and after their flip, and the manifest check."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from index.config import IndexConfig, MilvusConfig
from index.documents import Document
from index.embedding import Embedder
from index.engine import NewsIndex
from index.errors import IndexMismatchError, StoreUnavailableError
from index.milvus_archive import MilvusArchive, drop_milvus_archive
from tests.milvus import MilvusServer, collection_name

VERSION_A = "Alpha version. " + " ".join(
    f"Alpha fact {i} about the Sudzha gas station." for i in range(12)
)
VERSION_B = "Bravo version. " + " ".join(
    f"Bravo fact {i} about the Sudzha gas station." for i in range(12)
)


@pytest.fixture
def milvus_config(index_config: IndexConfig, milvus_server: MilvusServer) -> Iterator[IndexConfig]:
    milvus = MilvusConfig(uri=milvus_server.uri, collection=collection_name())
    yield replace(index_config, backend="milvus", milvus=milvus)
    drop_milvus_archive(milvus)


def _archive(index: NewsIndex) -> MilvusArchive:
    assert isinstance(index.archive, MilvusArchive)
    return index.archive


def test_searches_during_replacements_never_see_two_versions(
    milvus_config: IndexConfig, embedder: Embedder
) -> None:
    index = NewsIndex.open(milvus_config, embedder)
    try:
        index.upsert([Document("flip", VERSION_A)])
        stop = threading.Event()
        problems: list[str] = []
        searches = [0]

        def read() -> None:
            while not stop.is_set():
                texts = [
                    h.text
                    for h in index.search("facts about the Sudzha gas station", 10)
                    if h.document.doc_id == "flip"
                ]
                searches[0] += 1
                if not texts:
                    problems.append("the document vanished during a replacement")
                elif not (all(t in VERSION_A for t in texts) or all(t in VERSION_B for t in texts)):
                    problems.append(f"one answer mixed two versions: {texts}")

        reader = threading.Thread(target=read)
        reader.start()
        for i in range(12):
            index.upsert([Document("flip", VERSION_B if i % 2 == 0 else VERSION_A)])
        stop.set()
        reader.join(timeout=60)
        assert searches[0] > 5
        assert problems == []
        assert index.get("flip").document.text == VERSION_A
    finally:
        index.close()


def test_a_write_interrupted_before_its_flip_is_undone(
    milvus_config: IndexConfig, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = NewsIndex.open(milvus_config, embedder)
    index.upsert([Document("kept", VERSION_A)])
    passages = index.passage_count

    def crash(name: str, journal: dict[str, Any]) -> None:
        raise ConnectionError("the process died here")

    monkeypatch.setattr(_archive(index), "_apply", crash)
    with pytest.raises(StoreUnavailableError):
        index.upsert([Document("kept", VERSION_B)])
    # The new version's rows are in Milvus, but no head points to them.
    assert index.get("kept").document.text == VERSION_A
    assert {h.document.text for h in index.search("Sudzha gas station", 10)} == {VERSION_A}

    other = NewsIndex.open(milvus_config, embedder)  # another process, after the crash
    try:
        other.archive.compact()
        assert other.passage_count == passages
        assert other.get("kept").document.text == VERSION_A
    finally:
        other.close()
        index.close()


def test_a_write_interrupted_after_its_flip_is_finished(
    milvus_config: IndexConfig, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = NewsIndex.open(milvus_config, embedder)
    index.upsert([Document("moved", VERSION_A), Document("gone", VERSION_B)])
    archive = _archive(index)

    def crash(name: str, journal: dict[str, Any]) -> None:
        archive.client.upsert(archive.names.documents, journal["heads"])
        raise ConnectionError("the process died after the flip")

    monkeypatch.setattr(archive, "_apply", crash)
    with pytest.raises(StoreUnavailableError):
        index.upsert([Document("moved", VERSION_B + " Updated.")])
    assert index.get("moved").document.text == VERSION_B + " Updated."

    other = NewsIndex.open(milvus_config, embedder)
    try:
        other.archive.compact()
        texts = {d.document.doc_id: d.document.text for d in other.documents()}
        assert texts == {"moved": VERSION_B + " Updated.", "gone": VERSION_B}
        expected = len(other.get("moved").passages) + len(other.get("gone").passages)
        assert other.passage_count == expected, "the replaced version's rows are gone"
    finally:
        other.close()
        index.close()


def test_a_collection_built_with_another_chunking_is_refused(
    milvus_config: IndexConfig, embedder: Embedder
) -> None:
    index = NewsIndex.open(milvus_config, embedder)
    index.upsert([Document("one", VERSION_A)])
    index.close()
    with pytest.raises(IndexMismatchError, match="chunking"):
        NewsIndex.open(replace(milvus_config, target_tokens=64), embedder)
