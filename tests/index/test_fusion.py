from __future__ import annotations

import pytest

from index.fusion import convex_fusion, ranked, reciprocal_rank_fusion


def test_rrf_rewards_agreement_between_lists() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    assert ranked(fused)[0][0] == 1  # ranks 1 and 2 beat 3's ranks 3 and 1
    assert fused[4] == pytest.approx(1 / 63)


def test_convex_fusion_normalizes_each_list_and_weights_them() -> None:
    dense = {1: 0.9, 2: 0.5, 3: 0.1}
    lexical = {3: 20.0, 4: 10.0}
    fused = convex_fusion(dense, lexical, dense_weight=0.7)
    assert fused[1] == pytest.approx(0.7)  # best dense, absent from BM25
    assert fused[3] == pytest.approx(0.3)  # worst dense, best BM25
    assert fused[4] == pytest.approx(0.0)
    assert convex_fusion({}, {}, 0.5) == {}


def test_ranked_breaks_ties_by_key() -> None:
    assert ranked({5: 1.0, 2: 1.0, 9: 2.0}) == [(9, 2.0), (2, 1.0), (5, 1.0)]
