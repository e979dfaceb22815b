from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index import persistence
from index.chunking import ChunkingParams
from index.documents import Document
from index.embedding import Embedder
from index.engine import NewsIndex
from index.errors import IndexCorruptError, IndexMismatchError
from index.lexical import Bm25Params
from index.store import FaissFlatStore


@pytest.fixture
def index_dir(seed_index_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the saved seed index, free to damage."""
    copy = tmp_path / "index"
    shutil.copytree(seed_index_dir, copy)
    return copy


def _manifest_path(index_dir: Path) -> Path:
    return persistence.live_generation(index_dir) / persistence.MANIFEST


def _edit_manifest(index_dir: Path, **changes: object) -> None:
    path = _manifest_path(index_dir)
    manifest = json.loads(path.read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = manifest
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    path.write_text(json.dumps(manifest))


def test_manifest_records_model_chunking_and_checksums(index_dir: Path) -> None:
    manifest = persistence.read_manifest(persistence.live_generation(index_dir))
    assert manifest.format_version == persistence.FORMAT_VERSION
    assert manifest.model.id == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest.model.dimension == 384
    assert manifest.chunking.target_tokens == 96
    assert len(manifest.documents) == 5
    assert {"vectors.faiss", "documents.jsonl", "bm25/keys.npy"} <= set(manifest.files)
    assert manifest.bm25.stem is True


def test_another_model_is_refused_with_how_to_rebuild(
    index_dir: Path, embedder: Embedder, params: ChunkingParams
) -> None:
    _edit_manifest(index_dir, model__id="some/other-model")
    with pytest.raises(IndexMismatchError, match=r"some/other-model.*byline index --rebuild"):
        NewsIndex.load(index_dir, embedder, params)


def test_another_dimension_is_refused(
    index_dir: Path, embedder: Embedder, params: ChunkingParams
) -> None:
    _edit_manifest(index_dir, model__dimension=768)
    with pytest.raises(IndexMismatchError, match="768 dimensions"):
        NewsIndex.load(index_dir, embedder, params)


def test_other_chunking_is_refused(index_dir: Path, embedder: Embedder) -> None:
    with pytest.raises(IndexMismatchError, match="chunking"):
        NewsIndex.load(index_dir, embedder, ChunkingParams(target_tokens=64, max_tokens=254))


def test_other_bm25_settings_are_refused(
    index_dir: Path, embedder: Embedder, params: ChunkingParams
) -> None:
    with pytest.raises(IndexMismatchError, match="BM25"):
        NewsIndex.load(index_dir, embedder, params, bm25=Bm25Params(stem=False))


def test_unknown_format_version_is_refused(
    index_dir: Path, embedder: Embedder, params: ChunkingParams
) -> None:
    _edit_manifest(index_dir, format_version=99)
    with pytest.raises(IndexCorruptError, match="format version 99"):
        NewsIndex.load(index_dir, embedder, params)


def test_truncated_vector_file_is_detected_and_named(
    index_dir: Path, embedder: Embedder, params: ChunkingParams
) -> None:
    vectors = persistence.live_generation(index_dir) / FaissFlatStore.FILE
    vectors.write_bytes(vectors.read_bytes()[:1000])
    with pytest.raises(IndexCorruptError, match=r"vectors\.faiss.*truncated"):
        NewsIndex.load(index_dir, embedder, params)


def test_crash_while_saving_leaves_the_previous_index_whole(
    index_dir: Path,
    embedder: Embedder,
    params: ChunkingParams,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = NewsIndex.load(index_dir, embedder, params)
    index.upsert(
        [Document(doc_id="late", text="A late report about the Kursk region arrived today.")]
    )

    def crash_midway(self: FaissFlatStore, directory: Path) -> list[str]:
        (directory / FaissFlatStore.FILE).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FaissFlatStore, "save", crash_midway)
    with pytest.raises(OSError, match="No space"):
        index.save(index_dir)
    monkeypatch.undo()

    reloaded = NewsIndex.load(index_dir, embedder, params)
    assert reloaded.document_count == 5
    assert [p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-")] == []


def test_generation_left_by_a_crash_before_the_pointer_moved_is_ignored_then_cleared(
    index_dir: Path, embedder: Embedder, params: ChunkingParams
) -> None:
    live = persistence.live_generation(index_dir)
    orphan = index_dir / "gen-999999"
    shutil.copytree(live, orphan)
    (orphan / FaissFlatStore.FILE).write_bytes(b"garbage")
    index = NewsIndex.load(index_dir, embedder, params)  # CURRENT still names the good one
    index.save(index_dir)
    assert not orphan.exists()
    assert NewsIndex.load(index_dir, embedder, params).document_count == 5


def test_dangling_pointer_is_reported(
    index_dir: Path, embedder: Embedder, params: ChunkingParams
) -> None:
    (index_dir / persistence.CURRENT).write_text("gen-000404\n")
    with pytest.raises(IndexCorruptError, match="gen-000404"):
        NewsIndex.load(index_dir, embedder, params)


def test_open_starts_empty_where_there_is_no_index(
    tmp_path: Path, embedder: Embedder, params: ChunkingParams
) -> None:
    index = NewsIndex.open(tmp_path / "nothing-here", embedder, params)
    assert index.document_count == 0
    assert index.search("anything", 5) == []
