from __future__ import annotations

import numpy as np

from eval import scale
from index.store import FaissIvfStore
from tests.index.test_store import clustered


def test_generated_vectors_are_unit_length_and_lie_among_the_real_ones() -> None:
    _, real = clustered(500)
    made = scale.synthetic(real, 2000)
    np.testing.assert_allclose(np.linalg.norm(made, axis=1), 1.0, atol=1e-5)
    uniform = np.random.default_rng(2).normal(size=made.shape).astype(np.float32)
    uniform /= np.linalg.norm(uniform, axis=1, keepdims=True)
    # Near some real vector, where vectors spread over the sphere are near none.
    assert np.median((made @ real.T).max(axis=1)) > 0.6
    assert np.median((uniform @ real.T).max(axis=1)) < 0.3


def test_a_small_scale_run_measures_recall_and_deletes() -> None:
    _, real = clustered(3000)
    queries = real[:100] + np.float32(0.02)
    result = scale.measure_size(real, queries, 6000, nprobes=(1, 64))
    assert result.passages == 6000
    assert result.ivf_lists == FaissIvfStore.lists_for(6000)
    low, high = result.ivf
    assert 0.0 < low.recall_at_10 <= high.recall_at_10 <= 1.0
    assert high.recall_at_10 >= 0.95
    assert result.deleted_found_after == 0
    assert result.flat_bytes_per_passage > 384 * 4


def test_bm25_at_scale_is_built_and_searched() -> None:
    sentences = [f"Troops advanced near village number {i} in the Kursk region." for i in range(50)]
    result = scale.measure_bm25(sentences, ["Which village did troops reach?"], 2000)
    assert result.passages == 2000
    assert result.median_ms > 0
    assert result.bytes_per_passage > 8  # at least the key of each passage
