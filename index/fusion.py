"""Combine ranked lists from dense and keyword search into one ranking."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args


class Mode(StrEnum):
    DENSE = "dense"
    BM25 = "bm25"
    HYBRID = "hybrid"


FusionMethod = Literal["convex", "zscore", "dbsf", "rank", "rrf", "zscore_rrf", "peaked"]
FUSION_METHODS: tuple[FusionMethod, ...] = get_args(FusionMethod)


@dataclass(frozen=True, slots=True)
class Fusion:
    """How hybrid mode combines the dense and keyword rankings."""

    method: FusionMethod = "zscore"
    """How each list's scores are made comparable before the weighted sum: "convex" (min-max),
    "zscore", "dbsf" (mean +- 3 std), "rank" (position in the list); or "rrf" (reciprocal rank
    fusion, unweighted); "zscore_rrf" (z-score plus an RRF term) and "peaked" (z-score, each
    query's weight set by how far each list's top stands out) were tried and not chosen. The
    default and its weight were chosen together on SciFact train, SQuAD dev and the seed
    questions (`make eval-fusion`, README "Retrieval quality")."""
    dense_weight: float = 0.6
    """Share of the dense list in the weighted methods; RRF ignores it."""
    rrf_k: int = 60
    rrf_share: float = 2.0
    """"zscore_rrf": each list adds rrf_share * rrf_k / (rrf_k + rank) to the weighted z-scores."""
    peak_exponent: float = -0.5
    """"peaked": each list's weight is scaled by its top z-score to this power (0: zscore)."""


Normalizer = Callable[[Mapping[int, float]], tuple[dict[int, float], float]]
"""A list's scores -> (normalized scores, the score a key missing from the list gets)."""


def fuse(
    dense: Mapping[int, float], lexical: Mapping[int, float], fusion: Fusion
) -> dict[int, float]:
    """The one entry point: both rankings' scores by passage key, fused by `fusion`."""
    if fusion.method == "rrf":
        return reciprocal_rank_fusion(_rankings(dense, lexical), fusion.rrf_k)
    if fusion.method == "zscore_rrf":
        return z_score_with_rrf(dense, lexical, fusion.dense_weight, fusion.rrf_share, fusion.rrf_k)
    if fusion.method == "peaked":
        return peaked_fusion(dense, lexical, fusion.dense_weight, fusion.peak_exponent)
    return weighted_fusion(dense, lexical, fusion.dense_weight, NORMALIZERS[fusion.method])


def _rankings(dense: Mapping[int, float], lexical: Mapping[int, float]) -> list[list[int]]:
    return [[key for key, _ in ranked(dense)], [key for key, _ in ranked(lexical)]]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """Cormack et al. (2009): each list adds 1 / (k + rank)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


def weighted_fusion(
    dense: Mapping[int, float],
    lexical: Mapping[int, float],
    dense_weight: float,
    normalize: Normalizer,
) -> dict[int, float]:
    """Weighted sum of each list's normalized scores; a key missing from a list gets that
    list's missing score (the normalizer says which)."""
    dense_n, dense_missing = normalize(dense)
    lexical_n, lexical_missing = normalize(lexical)
    return {
        key: dense_weight * dense_n.get(key, dense_missing)
        + (1 - dense_weight) * lexical_n.get(key, lexical_missing)
        for key in dense_n.keys() | lexical_n.keys()
    }


def convex_fusion(
    dense: Mapping[int, float], lexical: Mapping[int, float], dense_weight: float
) -> dict[int, float]:
    """Weighted sum of min-max normalized scores (Bruch et al. 2023); a key missing from one
    list scores 0 there, the bottom of that list's range."""
    return weighted_fusion(dense, lexical, dense_weight, min_max)


def min_max(scores: Mapping[int, float]) -> tuple[dict[int, float], float]:
    """Scores mapped onto [0, 1] by the list's own minimum and maximum; missing: 0."""
    if not scores:
        return {}, 0.0
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {key: (s - low) / span if span > 0 else 1.0 for key, s in scores.items()}, 0.0


def _mean_std(scores: Mapping[int, float]) -> tuple[float, float]:
    values = list(scores.values())
    mean = math.fsum(values) / len(values)
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))


def z_score(scores: Mapping[int, float]) -> tuple[dict[int, float], float]:
    """Standard scores within the list; missing: the list's lowest z.

    A key the retriever did not return scored at most its last candidate, so the lowest z is
    the most it can have; a fixed floor instead would reward or punish short lists.
    """
    if not scores:
        return {}, 0.0
    mean, std = _mean_std(scores)
    if std == 0:
        return dict.fromkeys(scores, 0.0), 0.0
    normalized = {key: (s - mean) / std for key, s in scores.items()}
    return normalized, min(normalized.values())


def distribution_based(scores: Mapping[int, float]) -> tuple[dict[int, float], float]:
    """Distribution-based score fusion (as in Qdrant's DBSF): mean - 3 std maps to 0,
    mean + 3 std to 1, clipped; missing: 0. Unlike min-max, one outlying top score does not
    squeeze the rest of the list towards 0."""
    if not scores:
        return {}, 0.0
    mean, std = _mean_std(scores)
    if std == 0:
        return dict.fromkeys(scores, 1.0), 0.0
    low = mean - 3 * std
    return {key: min(1.0, max(0.0, (s - low) / (6 * std))) for key, s in scores.items()}, 0.0


def rank_scores(scores: Mapping[int, float]) -> tuple[dict[int, float], float]:
    """1 for the list's first, falling linearly to 1/n for its last; missing: 0. Ignores the
    scores' spread entirely, as RRF does, but keeps a weight."""
    n = len(scores)
    return {key: (n - i) / n for i, (key, _) in enumerate(ranked(scores))}, 0.0


def z_score_with_rrf(
    dense: Mapping[int, float],
    lexical: Mapping[int, float],
    dense_weight: float,
    share: float,
    k: int = 60,
) -> dict[int, float]:
    """Weighted z-scores plus share * k * RRF: score evidence with a rank term that rewards
    agreement between the lists (each list adds at most `share`)."""
    fused = weighted_fusion(dense, lexical, dense_weight, z_score)
    rrf = reciprocal_rank_fusion(_rankings(dense, lexical), k)
    return {key: s + share * k * rrf[key] for key, s in fused.items()}


def top_z(scores: Mapping[int, float]) -> float:
    """How far the list's best score stands above its mean, in standard deviations."""
    if len(scores) < 2:
        return 0.0
    mean, std = _mean_std(scores)
    return (max(scores.values()) - mean) / std if std > 0 else 0.0


def peaked_fusion(
    dense: Mapping[int, float],
    lexical: Mapping[int, float],
    dense_weight: float,
    exponent: float,
) -> dict[int, float]:
    """Weighted z-scores with each query's dense weight scaled by the lists' top z-scores:
    w * t_d^e against (1 - w) * t_b^e. A positive exponent trusts the list whose top stands
    out; a negative one, the flatter list."""
    if dense and lexical:
        d = dense_weight * max(top_z(dense), 1e-6) ** exponent
        b = (1 - dense_weight) * max(top_z(lexical), 1e-6) ** exponent
        dense_weight = d / (d + b) if d + b > 0 else dense_weight
    return weighted_fusion(dense, lexical, dense_weight, z_score)


NORMALIZERS: dict[FusionMethod, Normalizer] = {
    "convex": min_max,
    "zscore": z_score,
    "dbsf": distribution_based,
    "rank": rank_scores,
}


def ranked(scores: Mapping[int, float]) -> list[tuple[int, float]]:
    """(key, score) pairs, best first; ties broken by key so runs are repeatable."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
