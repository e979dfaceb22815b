"""The embedded archive's vectors on disk (format 4): a restart reads exactly the vectors
written, compaction rewrites segments full of dead rows, a metadata-only change keeps the
stored vectors, and a format-3 archive (vectors as BLOBs) is migrated in place. Real files;
random vectors, so no model is needed."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index import vector_files
from index.archive import NewVersion, Vectors
from index.archive_db import DATABASE, FORMAT_VERSION, stored_info
from index.config import IndexConfig
from index.documents import Document
from index.embedded import EmbeddedArchive
from index.embedding import Embedder
from index.migration import migrate_if_needed
from index.vector_files import FOLDER
from tests.index.test_embedded import _info

DIMENSION = 8


def _unit(count: int, seed: int) -> Vectors:
    vectors = np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)
    unit: Vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return unit


def _versions(start: int, count: int, seed: int, text: str = "Passage") -> list[NewVersion]:
    vectors = _unit(count, seed)
    return [
        NewVersion(
            Document(doc_id=f"v{start + i}", text=f"{text} {start + i}.", publisher="Reuters"),
            ((0, 5),),
            vectors[i : i + 1],
            np.array([start + i], np.int64),
        )
        for i in range(count)
    ]


def _stored(archive: EmbeddedArchive) -> dict[str, np.ndarray]:
    """Each live document's vector as a search snapshot holds it."""
    view = archive.view()
    documents, _ = view.documents()
    keys = np.array([d.passages[0].key for d in documents], np.int64)
    return {d.document.doc_id: v for d, v in zip(documents, view.vectors(keys), strict=True)}


def test_a_restart_reads_back_exactly_the_vectors_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_files, "SEGMENT_ROWS", 16)
    archive = EmbeddedArchive(tmp_path, DIMENSION, background=False)
    for batch in range(5):
        archive.write(_info(DIMENSION), _versions(batch * 10, 10, seed=batch))
    archive.write(_info(DIMENSION), [], deletions=["v3", "v17"])
    before = _stored(archive)
    archive.close()
    assert len(list((tmp_path / FOLDER).iterdir())) > 1  # several segments
    reopened = EmbeddedArchive(tmp_path, DIMENSION, background=False)
    try:
        after = _stored(reopened)
        assert after.keys() == before.keys()
        assert len(after) == 48
        for doc_id, vector in before.items():
            np.testing.assert_array_equal(after[doc_id], vector)
        expected = _unit(10, seed=2)[5]  # v25, written in the third batch
        assert reopened.view().snapshot.search(expected, 1)[1].tolist() == [
            reopened.view().document("v25").passages[0].key  # type: ignore[union-attr]
        ]
    finally:
        reopened.close()


def test_a_metadata_only_change_keeps_the_stored_vectors(tmp_path: Path) -> None:
    archive = EmbeddedArchive(tmp_path, DIMENSION, background=False)
    try:
        archive.write(_info(DIMENSION), _versions(0, 3, seed=1))
        before = _stored(archive)["v1"]
        changed = _versions(1, 1, seed=1)[0]
        moved = Document(doc_id="v1", text=changed.document.text, publisher="AP")
        same = NewVersion(moved, changed.spans, None, np.array([1], np.int64))
        archive.write(_info(DIMENSION), [same])
        np.testing.assert_array_equal(_stored(archive)["v1"], before)
        assert archive.view().document("v1").document.publisher == "AP"  # type: ignore[union-attr]
    finally:
        archive.close()


def test_compaction_rewrites_segments_of_dead_rows_and_frees_their_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_files, "SEGMENT_ROWS", 10)
    archive = EmbeddedArchive(tmp_path, DIMENSION, background=False)
    try:
        archive.write(_info(DIMENSION), _versions(0, 10, seed=0))  # segment 1, full
        archive.write(_info(DIMENSION), _versions(10, 10, seed=1))  # segment 2
        archive.write(_info(DIMENSION), _versions(0, 6, seed=2, text="Changed"))  # segment 3
        kept = _stored(archive)
        folder = tmp_path / FOLDER
        before = sum(p.stat().st_size for p in folder.iterdir())
        report = archive.compact()
        assert report.passages_removed == 6
        assert report.vector_segments_rewritten == 1  # segment 1: 6 of its 10 rows dead
        after = sum(p.stat().st_size for p in folder.iterdir())
        assert after == before - 6 * DIMENSION * 4
        assert not (folder / "000001.f32").exists()
        current = _stored(archive)
        for doc_id, vector in kept.items():
            np.testing.assert_array_equal(current[doc_id], vector)
    finally:
        archive.close()
    reopened = EmbeddedArchive(tmp_path, DIMENSION, background=False)
    try:
        for doc_id, vector in _stored(reopened).items():
            np.testing.assert_array_equal(vector, kept[doc_id])
    finally:
        reopened.close()


_FORMAT_3_DOCUMENTS = """
CREATE TABLE documents (
    row INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, text TEXT NOT NULL,
    checksum TEXT NOT NULL, title TEXT, publisher TEXT, publisher_key TEXT, url TEXT,
    published TEXT, published_ts INTEGER, added_seq INTEGER NOT NULL, deleted_seq INTEGER
)"""
_DOCUMENT_COLUMNS = (
    "row, doc_id, text, checksum, title, publisher, publisher_key, url, published, "
    "published_ts, added_seq, deleted_seq"
)
_FORMAT_3_PASSAGES = """
CREATE TABLE passages (
    key INTEGER PRIMARY KEY AUTOINCREMENT, doc_row INTEGER NOT NULL, ordinal INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, vector BLOB NOT NULL,
    fingerprint INTEGER NOT NULL, added_seq INTEGER NOT NULL, deleted_seq INTEGER,
    list_no INTEGER
)"""


def _as_format_3(directory: Path) -> None:
    """Turn a format-4 archive into the format-3 layout Byline wrote before: vectors as
    BLOBs in `passages`, no vector files."""
    vectors = {}
    archive = EmbeddedArchive(directory, DIMENSION, background=False)
    with sqlite3.connect(directory / DATABASE) as db:
        for key, seg, pos in db.execute("SELECT key, seg, pos FROM passages"):
            vectors[key] = archive._vectors.read(seg, np.array([pos]))[0].tobytes()
    archive.close()
    db = sqlite3.connect(directory / DATABASE, isolation_level=None)
    rows = db.execute(
        "SELECT key, doc_row, ordinal, char_start, char_end, fingerprint, added_seq, "
        "deleted_seq, list_no FROM passages"
    ).fetchall()
    sequence = db.execute("SELECT seq FROM sqlite_sequence WHERE name='passages'").fetchone()
    db.execute("DROP TABLE passages")
    db.execute(_FORMAT_3_PASSAGES)
    db.executemany(
        "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(*r[:5], vectors[r[0]], *r[5:]) for r in rows],
    )
    db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name='passages'", sequence)
    documents = db.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents").fetchall()
    db.execute("DROP TABLE documents")
    db.execute(_FORMAT_3_DOCUMENTS)
    db.executemany(f"INSERT INTO documents VALUES ({','.join('?' * 12)})", documents)
    info = json.loads(db.execute("SELECT value FROM meta WHERE key='info'").fetchone()[0])
    info["format_version"] = 3
    db.execute("UPDATE meta SET value = ? WHERE key='info'", (json.dumps(info),))
    db.close()
    shutil.rmtree(directory / FOLDER)


def test_a_format_3_archive_is_migrated_in_place_without_re_embedding(
    tmp_path: Path,
    index_config: IndexConfig,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vector_files, "SEGMENT_ROWS", 8)
    archive = EmbeddedArchive(tmp_path, DIMENSION, background=False)
    archive.write(_info(DIMENSION), _versions(0, 20, seed=4))
    archive.write(_info(DIMENSION), [], deletions=["v2"])
    before = _stored(archive)
    archive.close()
    _as_format_3(tmp_path)
    assert stored_info(tmp_path) == _info(DIMENSION)  # still readable: it will be migrated

    config = replace(index_config, index_dir=tmp_path)
    assert migrate_if_needed(config, embedder)
    with sqlite3.connect(tmp_path / DATABASE) as db:
        info = json.loads(db.execute("SELECT value FROM meta WHERE key='info'").fetchone()[0])
        assert info["format_version"] == FORMAT_VERSION
        columns = [r[1] for r in db.execute("PRAGMA table_info(passages)")]
        assert "vector" not in columns
        assert {"seg", "pos"} <= set(columns)
        columns = [r[1] for r in db.execute("PRAGMA table_info(documents)")]
        assert columns[-1] == "text"
        assert db.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental from now on
    assert not migrate_if_needed(config, embedder)
    reopened = EmbeddedArchive(tmp_path, DIMENSION, background=False)
    try:
        after = _stored(reopened)
        assert after.keys() == before.keys()
        for doc_id, vector in before.items():
            np.testing.assert_array_equal(after[doc_id], vector)
        reopened.write(_info(DIMENSION), _versions(100, 1, seed=9))  # keys go on upwards
        keys = [d.passages[0].key for d in reopened.view().documents()[0]]
        assert len(set(keys)) == len(keys) == 20
    finally:
        reopened.close()
