from __future__ import annotations

import pytest

from index.fusion import (
    FUSION_METHODS,
    Fusion,
    FusionMethod,
    convex_fusion,
    distribution_based,
    fuse,
    peaked_fusion,
    rank_scores,
    ranked,
    reciprocal_rank_fusion,
    top_z,
    weighted_fusion,
    z_score,
    z_score_with_rrf,
)


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


def test_z_score_gives_a_missing_key_the_lists_lowest_z() -> None:
    normalized, missing = z_score({1: 3.0, 2: 1.0, 3: 2.0})
    assert normalized[1] == pytest.approx(1.2247, abs=1e-4)
    assert normalized[3] == pytest.approx(0.0)
    assert missing == normalized[2] == pytest.approx(-1.2247, abs=1e-4)
    assert z_score({7: 5.0}) == ({7: 0.0}, 0.0)  # no spread: no evidence either way
    assert z_score({}) == ({}, 0.0)


def test_distribution_based_maps_three_deviations_onto_zero_to_one() -> None:
    scores = {k: float(k) for k in range(10)}
    normalized, missing = distribution_based(scores)
    assert missing == 0.0
    # 0 to 9 all lie within 3 std of the mean: none reaches the ends.
    assert normalized[0] > 0.0
    assert normalized[9] < 1.0
    assert normalized[4] + normalized[5] == pytest.approx(1.0)  # the mean maps to 0.5
    outlier, _ = distribution_based({**dict.fromkeys(range(20), 0.0), 99: 100.0})
    assert outlier[99] == 1.0  # clipped
    assert outlier[0] > 0.0  # min-max would squeeze these to 0
    assert distribution_based({3: 2.0}) == ({3: 1.0}, 0.0)


def test_rank_scores_ignore_the_spread() -> None:
    assert rank_scores({1: 100.0, 2: 0.2, 3: 0.1, 4: 0.0}) == (
        {1: 1.0, 2: 0.75, 3: 0.5, 4: 0.25},
        0.0,
    )


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_every_method_fuses_through_one_entry_point(method: FusionMethod) -> None:
    dense = {1: 0.9, 2: 0.5, 3: 0.1}
    lexical = {3: 20.0, 4: 10.0, 5: 1.0}
    fused = fuse(dense, lexical, Fusion(method, dense_weight=0.5))
    assert set(fused) == {1, 2, 3, 4, 5}
    assert ranked(fused)[-1][0] in {2, 5}  # last in one list, absent from the other
    assert fuse({}, {}, Fusion(method)) == {}
    only_dense = fuse(dense, {}, Fusion(method, dense_weight=0.5))
    assert [k for k, _ in ranked(only_dense)] == [1, 2, 3]  # one list alone keeps its order


def test_z_score_with_rrf_adds_each_lists_rank_term() -> None:
    dense = {1: 1.0, 2: 0.0}
    lexical = {1: 1.0, 3: 0.0}
    # z: 1 is +1 in both; 2 and 3 are -1 in one list and missing (lowest z, -1) in the other.
    # RRF at k=1: 1 is first twice (1/2 + 1/2); 2 and 3 are second once (1/3).
    fused = z_score_with_rrf(dense, lexical, 0.5, share=1.0, k=1)
    assert fused == pytest.approx({1: 1.0 + 1.0, 2: -1.0 + 1 / 3, 3: -1.0 + 1 / 3})
    assert z_score_with_rrf(dense, lexical, 0.5, share=0.0) == weighted_fusion(
        dense, lexical, 0.5, z_score
    )


def test_top_z_is_the_best_scores_distance_from_the_mean() -> None:
    assert top_z({1: 2.0, 2: 0.0, 3: 0.0, 4: 0.0}) == pytest.approx(3**0.5)
    assert top_z({1: 1.0, 2: 0.0}) == pytest.approx(1.0)
    assert top_z({1: 5.0}) == 0.0
    assert top_z({1: 5.0, 2: 5.0}) == 0.0


def test_peaked_fusion_scales_each_weight_by_its_lists_top_z() -> None:
    dense = {1: 2.0, 2: 0.0, 3: 0.0, 4: 0.0}  # top z sqrt(3)
    lexical = {1: 1.0, 5: 0.0}  # top z 1
    # Exponent -1: 0.5 / sqrt(3) against 0.5 / 1, so the dense weight is 1 / (1 + sqrt(3)).
    assert peaked_fusion(dense, lexical, 0.5, -1.0) == pytest.approx(
        weighted_fusion(dense, lexical, 1 / (1 + 3**0.5), z_score)
    )
    assert peaked_fusion(dense, lexical, 0.5, 1.0) == pytest.approx(
        weighted_fusion(dense, lexical, 3**0.5 / (1 + 3**0.5), z_score)
    )
    assert peaked_fusion(dense, lexical, 0.6, 0.0) == weighted_fusion(dense, lexical, 0.6, z_score)


# zscore_rrf is left out: its RRF term has no weight, so both lists count at any weight.
@pytest.mark.parametrize("method", [m for m in FUSION_METHODS if m not in ("rrf", "zscore_rrf")])
def test_weight_one_or_zero_is_one_list_alone(method: FusionMethod) -> None:
    dense = {1: 0.9, 2: 0.5, 3: 0.1}
    lexical = {3: 20.0, 2: 10.0, 1: 1.0}
    assert [k for k, _ in ranked(fuse(dense, lexical, Fusion(method, 1.0)))] == [1, 2, 3]
    assert [k for k, _ in ranked(fuse(dense, lexical, Fusion(method, 0.0)))] == [3, 2, 1]
