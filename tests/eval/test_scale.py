from __future__ import annotations

from pathlib import Path

import numpy as np

from eval import lexical, scale
from eval.datasets import Dataset
from index.vectors import lists_for


def _clustered(n: int, dimension: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 20 topics, as real passages are."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dimension))
    vectors = centres[rng.integers(0, 20, n)] + rng.normal(scale=0.3, size=(n, dimension))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def test_generated_vectors_are_unit_length_and_lie_among_the_real_ones() -> None:
    real = _clustered(500)
    made = scale.synthetic(real, 2000)
    np.testing.assert_allclose(np.linalg.norm(made, axis=1), 1.0, atol=1e-5)
    uniform = np.random.default_rng(2).normal(size=made.shape).astype(np.float32)
    uniform /= np.linalg.norm(uniform, axis=1, keepdims=True)
    # Near some real vector, where vectors spread over the sphere are near none.
    assert np.median((made @ real.T).max(axis=1)) > 0.6
    assert np.median((uniform @ real.T).max(axis=1)) < 0.3


def test_a_small_scale_run_measures_recall_filters_and_deletes() -> None:
    real = _clustered(3000)
    queries = real[:100] + np.float32(0.02)
    result = scale.measure_size(real, queries, 6000, nprobes=(1, 64))
    assert result.passages == 6000
    assert result.ivf_lists == lists_for(6000)
    low, high = result.ivf
    assert 0.0 < low.recall_at_10 <= high.recall_at_10 <= 1.0
    assert high.recall_at_10 >= 0.95
    # A filter keeping one publisher in 20 leaves 300 rows: searched exactly, so exact.
    assert result.filtered_recall_at_10 == 1.0
    assert result.deleted_found_after == 0
    assert result.bytes_per_passage > 64 * 4


def test_the_keyword_engines_agree_on_quality_and_are_measured(tmp_path: Path) -> None:
    documents = {
        "kursk": "Ukrainian troops crossed into the Kursk region in August.",
        "zakharova": "Zakharova called the incursion a terrorist attack.",
        "peskov": "Peskov said talks with Kyiv were out of the question.",
        "weather": "Rain is expected across the region tomorrow.",
    }
    queries = {"q1": "what did Zakharova call the incursion", "q2": "talks with Kyiv"}
    qrels = {"q1": {"zakharova": 1}, "q2": {"peskov": 1}}
    rows = lexical.quality(Dataset("tiny", documents, queries, qrels))
    assert [r.engine for r in rows] == ["tantivy", "SQLite FTS5", "bm25s"]
    assert all(r.ndcg_at_10 == 1.0 for r in rows)
    sentences = [f"Troops advanced near village number {i} in the Kursk region." for i in range(50)]
    speed = lexical.speed(sentences, ["Which village did troops reach?"], 500, tmp_path / "x")
    assert [r.passages for r in speed] == [500, 500, 500]
    assert all(r.median_ms > 0 and r.write_ms > 0 and r.bytes_per_passage > 1 for r in speed)
