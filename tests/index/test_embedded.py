"""The embedded archive on real files: durable writes, views that writes never change, the
refusal of an archive built otherwise, keyword catch-up after a crash, compaction, and the
migration from format 2."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest

from index.archive import ArchiveInfo, NewVersion
from index.archive_db import DATABASE
from index.cleaning import CLEANING_VERSION
from index.config import IndexConfig
from index.documents import Document
from index.embedded import EmbeddedArchive
from index.embedded_upkeep import CENTROIDS
from index.embedding import Embedder
from index.engine import Hit, NewsIndex
from index.errors import IndexMismatchError
from index.keywords import Bm25Params
from index.migration import migrate_if_needed
from index.vectors import StorePolicy
from tests.conftest import ROOT, IndexFactory

ARTICLE = "Officials in Sumy said the shelling damaged a school on Monday. Nobody was hurt."


def _docs(count: int, prefix: str = "d") -> list[Document]:
    return [
        Document(
            doc_id=f"{prefix}{i}",
            text=f"Report {i} from Kharkiv. {ARTICLE} Repairs begin on day {i}.",
            publisher="Kyiv Post" if i % 2 else "Reuters",
            published=f"2024-08-{1 + i % 28:02d}",
        )
        for i in range(count)
    ]


def test_writes_are_visible_and_durable_when_they_return(
    make_index: IndexFactory, embedder: Embedder, index_config: IndexConfig, tmp_path: Path
) -> None:
    index = make_index(index_dir=tmp_path / "a")
    index.upsert(_docs(3))
    index.delete("d1")
    index.close()
    reopened = NewsIndex.open(replace(index_config, index_dir=tmp_path / "a"), embedder)
    try:
        assert [d.document.doc_id for d in reopened.documents()] == ["d0", "d2"]
        hits = reopened.search("school damaged by shelling", 5)
        assert {h.document.doc_id for h in hits} | {
            d.doc_id for h in hits for _, d in h.also_in
        } == {"d0", "d2"}
    finally:
        reopened.close()


def test_a_view_taken_before_a_write_still_reads_the_old_state(make_index: IndexFactory) -> None:
    index = make_index()
    index.upsert(_docs(2))
    before = index.view()
    index.upsert([Document(doc_id="d0", text="A new text about Pokrovsk entirely.")])
    index.delete("d1")
    old = before.document("d0")
    assert old is not None
    assert "Sumy" in old.document.text
    assert before.document("d1") is not None
    assert before.document_count == 2
    assert index.view().document_count == 1
    listed = before.documents()[0]
    assert [d.document.doc_id for d in listed] == ["d0", "d1"]
    keys = [p.key for p in listed[0].passages]
    assert [p for p, _ in before.passages(keys)] == list(listed[0].passages)


def test_searches_after_a_write_never_see_passages_cached_before_it(
    make_index: IndexFactory,
) -> None:
    """A view caches the passages its searches read; a write publishes a new view, so a
    retitled, replaced or deleted article is never answered from the old one's cache."""

    def titles(hits: list[Hit]) -> dict[str, str | None]:
        found = [d for h in hits for d in (h.document, *(d for _, d in h.also_in))]
        return {d.doc_id: d.title for d in found}

    index = make_index()
    index.upsert(_docs(2))
    before = index.view()
    first = index.search("school shelling in Sumy", 2)
    assert titles(first) == {"d0": None, "d1": None}
    index.upsert([replace(_docs(1)[0], title="Retitled")])
    assert titles(index.search("school shelling in Sumy", 2)) == {"d0": "Retitled", "d1": None}
    index.upsert([Document(doc_id="d0", text="A new text about Pokrovsk entirely.")])
    index.delete("d1")
    assert [h.document.text for h in index.search("school shelling in Sumy", 2)] == [
        "A new text about Pokrovsk entirely."
    ]
    # The view taken first still answers from its own state, read or cached.
    keys = [h.passage.key for h in first]
    for _ in range(2):
        assert [d.doc_id for _, d in before.passages(keys)] == [h.document.doc_id for h in first]


def test_an_archive_built_otherwise_is_refused_with_how_to_fix_it(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    index = make_index(index_dir=tmp_path / "x")
    index.upsert(_docs(1))
    index.close()
    with pytest.raises(IndexMismatchError, match="rebuild it with `byline index --rebuild"):
        make_index(index_dir=tmp_path / "x", target_tokens=64)
    with pytest.raises(IndexMismatchError, match="BM25"):
        make_index(index_dir=tmp_path / "x", bm25=Bm25Params(stem=False))


def test_searches_never_wait_for_a_write_held_in_the_database(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    """A writer holding SQLite's write lock (as a slow disk would) blocks other writers,
    never a search."""
    index = make_index(index_dir=tmp_path / "w")
    index.upsert(_docs(4))
    blocker = sqlite3.connect(tmp_path / "w" / DATABASE, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the database's write lock, held by the test
    finished = threading.Event()

    def write() -> None:
        try:
            index.upsert([Document(doc_id="late", text="Late news from Odesa port tonight.")])
        finally:
            finished.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    time.sleep(0.3)
    assert not finished.is_set()  # the write waits for the disk...
    started = time.perf_counter()
    for _ in range(20):
        assert index.search("school shelling Sumy", 3)  # ...searches do not
        assert index.get("d0").document.doc_id == "d0"
    assert time.perf_counter() - started < 5
    assert index.view().document("late") is None
    blocker.execute("ROLLBACK")
    blocker.close()
    assert finished.wait(60)
    assert index.get("late").document.text.startswith("Late news")


def test_compaction_reclaims_replaced_passages_beside_searches(make_index: IndexFactory) -> None:
    index = make_index()
    index.upsert(_docs(6))
    held = index.view()  # background compaction keeps the rows a view still reads
    for round_ in range(3):
        index.upsert([replace(d, text=d.text + f" Update {round_}.") for d in _docs(6)])
    archive = index.archive
    assert isinstance(archive, EmbeddedArchive)
    assert archive.wait_idle()
    del held
    view = index.view()
    report = archive.compact()
    assert report.passages_removed > 0
    assert archive.wait_idle()
    with sqlite3.connect(archive.directory / DATABASE) as db:
        dead = db.execute("SELECT COUNT(*) FROM passages WHERE deleted_seq IS NOT NULL")
        assert dead.fetchone()[0] == 0
    assert index.view().passage_count == view.passage_count
    assert index.search("Repairs begin Update 2", 3)
    assert all("Update 2" in h.text for h in index.search("Update 2 repairs", 3, None))


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from service.settings import Settings
    from index.engine import Hit, NewsIndex
    from index.documents import Document
    from dataclasses import replace
    config = replace(Settings().index_config(), index_dir=Path(sys.argv[1]))
    index = NewsIndex.open(config, Settings().load_embedder())
    i = 0
    while True:
        text = f"Dispatch {i} from Zaporizhzhia: the plant lost power for {i} minutes."
        index.upsert([Document(doc_id=f"w{i}", text=text)])
        print(f"w{i}", flush=True)  # acknowledged: durable from here on
        if i % 3 == 2:
            # Said before the delete: from here on w{i-1} may be gone, and a kill between the
            # delete's commit and a line printed after it would look like a lost write.
            print(f"-w{i - 1}", flush=True)
            index.delete(f"w{i - 1}")
        if i % 5 == 4:
            index.archive.compact()
        i += 1
    """
)


def test_kill_9_during_writes_and_compaction_loses_no_acknowledged_write(
    embedder: Embedder, index_config: IndexConfig, tmp_path: Path
) -> None:
    directory = tmp_path / "killed"
    acknowledged: set[str] = set()
    for round_ in range(4):
        process = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(directory)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "BYLINE_LOG_LEVEL": "error"},
        )
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        seen = 0
        while seen < 6 + round_ and time.monotonic() < deadline:
            line = process.stdout.readline().decode().strip()
            if line.startswith("-"):
                acknowledged.discard(line[1:])
            elif line:
                acknowledged.add(line)
                seen += 1
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        # What the writer printed before the kill was acknowledged too, deletions included.
        for rest in process.stdout.read().decode().split():
            if rest.startswith("-"):
                acknowledged.discard(rest[1:])
            else:
                acknowledged.add(rest)
        process.stdout.close()
        index = NewsIndex.open(replace(index_config, index_dir=directory), embedder)
        try:
            present = {d.document.doc_id for d in index.documents()}
            assert acknowledged <= present, acknowledged - present
            for doc_id in present:
                indexed = index.get(doc_id)
                for passage in indexed.passages:
                    assert indexed.passage_text(passage).startswith("Dispatch")
            hits = index.search("plant lost power", 50)
            assert {h.document.doc_id for h in hits} <= present
            assert index.view().passage_count == sum(len(index.get(d).passages) for d in present)
        finally:
            index.close()
        acknowledged = present  # a write in flight at the kill may or may not have landed


def _write_format_2(directory: Path, documents: list[Document], index: NewsIndex) -> None:
    """A format-2 index as Byline 0.1 wrote it: CURRENT, gen-000001/ with manifest.json,
    documents.jsonl and vectors.faiss keyed by a hash of doc_id#ordinal."""
    generation = directory / "gen-000001"
    generation.mkdir(parents=True)
    faiss_index = faiss.IndexIDMap2(faiss.IndexFlatIP(index.embedder.dimension))
    with (generation / "documents.jsonl").open("w") as f:
        for document in documents:
            spans = index.passages_for(document)
            vectors = index.embedder.embed([document.text[s:e] for s, e in spans])
            keys = [
                int.from_bytes(
                    hashlib.blake2b(f"{document.doc_id}#{i}".encode(), digest_size=8).digest(),
                    "big",
                )
                & 0x7FFF_FFFF_FFFF_FFFF
                for i in range(len(spans))
            ]
            faiss_index.add_with_ids(vectors, np.array(keys, np.int64))
            record = {"id": document.doc_id, "text": document.text, **document.metadata()}
            f.write(json.dumps({**record, "passages": [list(s) for s in spans]}) + "\n")
    faiss.write_index(faiss_index, str(generation / "vectors.faiss"))
    info = index.info
    manifest = {
        "format": "byline-index",
        "format_version": 2,
        "model": {
            "id": info.model,
            "dimension": info.dimension,
            "max_tokens": info.max_tokens,
            "precision": info.precision,
        },
        "chunking": {
            "target_tokens": info.target_tokens,
            "max_tokens": info.chunk_max_tokens,
            "overlap_tokens": info.overlap_tokens,
            "cleaning_version": info.cleaning_version,
        },
        "store": "faiss-flat-ip",
        "bm25": {
            "k1": info.bm25_k1,
            "b": info.bm25_b,
            "stem": info.bm25_stem,
            "stopwords": info.bm25_stopwords,
        },
        "counts": {"documents": len(documents), "passages": faiss_index.ntotal},
        "documents": {d.doc_id: d.checksum for d in documents},
    }
    (generation / "manifest.json").write_text(json.dumps(manifest))
    (directory / "CURRENT").write_text("gen-000001\n")


def test_a_format_2_index_is_migrated_without_re_embedding(
    make_index: IndexFactory, seed_documents: list[Document], embedder: Embedder, tmp_path: Path
) -> None:
    reference = make_index(index_dir=tmp_path / "reference")
    reference.upsert(seed_documents)
    old = tmp_path / "old"
    _write_format_2(old, seed_documents, reference)
    config = replace(reference.config, index_dir=old)
    assert migrate_if_needed(config, embedder)
    assert not (old / "CURRENT").exists()
    assert not list(old.glob("gen-*"))
    migrated = make_index(index_dir=old)
    assert [d.document for d in migrated.documents()] == [d.document for d in reference.documents()]
    for query in ("what did Zakharova say", "Belgorod state of emergency"):
        assert [h.passage.passage_id for h in migrated.search(query, 5)] == [
            h.passage.passage_id for h in reference.search(query, 5)
        ]


def _info(dimension: int) -> ArchiveInfo:
    return ArchiveInfo(
        model="test-model",
        dimension=dimension,
        max_tokens=256,
        precision="fp32",
        target_tokens=96,
        chunk_max_tokens=254,
        overlap_tokens=32,
        cleaning_version=CLEANING_VERSION,
        bm25_k1=1.2,
        bm25_b=0.75,
        bm25_stem=True,
        bm25_stopwords="en",
    )


def test_trained_ivf_lists_are_saved_and_reused_on_restart(tmp_path: Path) -> None:
    """Training IVF lists takes a minute at a million passages: a restart loads the saved
    centroids and each passage's list instead, and searches the same way at once."""
    rng = np.random.default_rng(0)
    dimension, count = 16, 2_000
    vectors = rng.normal(size=(count, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    documents = [Document(doc_id=f"v{i}", text=f"Passage number {i}.") for i in range(count)]
    info = _info(dimension)
    policy = StorePolicy(kind="ivf", nprobe=4)
    archive = EmbeddedArchive(tmp_path, dimension, policy=policy)
    archive.write(
        info,
        [
            NewVersion(d, ((0, len(d.text)),), vectors[i : i + 1], np.array([i], np.int64))
            for i, d in enumerate(documents)
        ],
    )
    assert archive.wait_idle()
    trained = archive.view().snapshot
    assert trained.ivf is not None
    assert (tmp_path / CENTROIDS).exists()
    queries = vectors[:20]
    before = [trained.search(q, 10)[1].tolist() for q in queries]
    archive.close()
    with sqlite3.connect(tmp_path / DATABASE) as db:
        assert db.execute("SELECT COUNT(*) FROM passages WHERE list_no IS NULL").fetchone() == (0,)

    reopened = EmbeddedArchive(tmp_path, dimension, policy=policy, background=False)
    try:
        snapshot = reopened.view().snapshot
        assert snapshot.ivf is not None  # no training: nothing ran in the background
        np.testing.assert_array_equal(snapshot.centroids(), trained.centroids())
        assert [snapshot.search(q, 10)[1].tolist() for q in queries] == before
    finally:
        reopened.close()
