from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.chunking import ChunkingParams
from index.documents import Document
from index.embedding import Embedder
from index.engine import NewsIndex
from index.store import FaissFlatStore, FaissIvfStore, StorePolicy, flat_contents


def clustered(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around 50 centres (embeddings cluster by topic; uniform ones do not)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, 384))
    vectors = centres[rng.integers(0, 50, n)] + rng.normal(size=(n, 384)) * 0.5
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.choice(2**62, size=n, replace=False).astype(np.int64)
    return ids, vectors.astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered(20_000)


def test_ivf_finds_what_exact_search_finds(data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vectors = data
    exact = FaissFlatStore(384)
    exact.add(ids, vectors)
    ivf = FaissIvfStore.build(ids, vectors)
    assert ivf.lists == FaissIvfStore.lists_for(20_000) == 512
    queries = vectors[:200] + np.float32(0.01)
    _, truth = exact.search(queries, 10)
    _, found = ivf.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.95


def test_ivf_removes_reads_back_and_survives_a_save(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    ids, vectors = data
    ivf = FaissIvfStore.build(ids[:5000], vectors[:5000], nprobe=8)
    assert ivf.remove(ids[:100]) == 100
    assert ivf.remove(ids[:100]) == 0
    assert len(ivf) == 4900
    _, found = ivf.search(vectors[:100], 10)
    assert not np.isin(ids[:100], found).any()
    np.testing.assert_array_equal(ivf.reconstruct(ids[100:110]), vectors[100:110])
    ivf.add(ids[5000:5100], vectors[5000:5100])
    ivf.save(tmp_path)
    loaded = FaissIvfStore.load(tmp_path, 384, nprobe=8)
    assert len(loaded) == 5000
    np.testing.assert_array_equal(loaded.reconstruct(ids[5000:5005]), vectors[5000:5005])
    assert loaded.remove(ids[5000:5010]) == 10


def test_flat_contents_are_every_id_and_vector(data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vectors = data
    flat = FaissFlatStore(384)
    flat.add(ids[:300], vectors[:300])
    flat.remove(ids[:10])
    got_ids, got_vectors = flat_contents(flat)
    np.testing.assert_array_equal(got_ids, ids[10:300])
    np.testing.assert_array_equal(got_vectors, vectors[10:300])


def test_the_index_moves_to_ivf_past_the_threshold_and_stays_there(
    tmp_path: Path,
    embedder: Embedder,
    params: ChunkingParams,
    seed_documents: list[Document],
    seed_index: NewsIndex,
) -> None:
    policy = StorePolicy(kind="auto", ivf_threshold=40)
    index = NewsIndex(embedder, params, store_policy=policy)
    index.upsert(seed_documents[:1])
    assert index.manifest().store == FaissFlatStore.kind
    index.upsert(seed_documents[1:])
    assert index.passage_count >= 40
    assert index.manifest().store == FaissIvfStore.kind
    # One list at this size, so the approximate search is exact: the same answers.
    for query in ["what did Zakharova say", "Kursk incursion", "peace talks"]:
        assert [h.passage for h in index.search(query, 5)] == [
            h.passage for h in seed_index.search(query, 5)
        ]
    index.delete(seed_documents[0].doc_id)
    assert all(h.document.doc_id != seed_documents[0].doc_id for h in index.search("Kursk", 20))
    index.save(tmp_path / "index")
    loaded = NewsIndex.load(tmp_path / "index", embedder, params, store_policy=policy)
    assert loaded.manifest().store == FaissIvfStore.kind
    assert loaded.passage_count == index.passage_count
