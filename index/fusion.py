"""Combine ranked lists from dense and keyword search into one ranking."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum


class Mode(StrEnum):
    DENSE = "dense"
    BM25 = "bm25"
    HYBRID = "hybrid"


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """Cormack et al. (2009): each list adds 1 / (k + rank)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


def _min_max(scores: Mapping[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {key: (s - low) / span if span > 0 else 1.0 for key, s in scores.items()}


def convex_fusion(
    dense: Mapping[int, float], lexical: Mapping[int, float], dense_weight: float
) -> dict[int, float]:
    """Weighted sum of min-max normalized scores (Bruch et al. 2023); a key missing from one
    list scores 0 there, the bottom of that list's range."""
    dense_n, lexical_n = _min_max(dense), _min_max(lexical)
    return {
        key: dense_weight * dense_n.get(key, 0.0) + (1 - dense_weight) * lexical_n.get(key, 0.0)
        for key in dense_n.keys() | lexical_n.keys()
    }


def ranked(scores: Mapping[int, float]) -> list[tuple[int, float]]:
    """(key, score) pairs, best first; ties broken by key so runs are repeatable."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
