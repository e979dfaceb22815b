"""The fusion selection rule, on made-up figures (pure; the real sweep is `make eval-fusion`)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from eval.cli import app
from eval.fusion_sweep import (
    PEAK_EXPONENTS,
    RRF_SHARES,
    SELECTION,
    WEIGHTS,
    choose,
    label,
    ratios,
    variants,
)
from index.fusion import FUSION_METHODS, Fusion


def _grid(figures: dict[str, tuple[float, float, float]]) -> dict[str, dict[str, dict[str, float]]]:
    """label -> one figure per selection dataset, in SELECTION's order."""
    return {
        dataset: {name: {metric: values[i]} for name, values in figures.items()}
        for i, (dataset, metric) in enumerate(SELECTION.items())
    }


def test_variants_cover_every_method_and_weight_once() -> None:
    found = variants()
    assert len({label(f) for f in found}) == len(found)
    assert {f.method for f in found} == set(FUSION_METHODS)
    single = len(FUSION_METHODS) - 3  # less rrf, zscore_rrf and peaked
    two = len(RRF_SHARES) + len(PEAK_EXPONENTS)
    assert len(found) == 1 + (single + two) * len(WEIGHTS)


def test_ratios_divide_by_each_datasets_best() -> None:
    grid = _grid({"a": (0.5, 0.8, 0.9), "b": (1.0, 0.4, 0.9)})
    assert ratios(grid, "a") == pytest.approx(dict(zip(SELECTION, (0.5, 1.0, 1.0), strict=True)))


def test_choice_is_the_best_mean_ratio_not_the_best_on_one_corpus() -> None:
    fusions = [Fusion("convex", 0.3), Fusion("convex", 0.7), Fusion("zscore", 0.5)]
    grid = _grid(
        {
            "convex 0.30": (1.00, 0.60, 0.60),  # best on one corpus, poor on the others
            "convex 0.70": (0.90, 0.90, 0.90),
            "zscore 0.50": (0.95, 0.95, 0.95),
        }
    )
    chosen = choose(grid, fusions)
    assert [c.label for c in chosen] == ["zscore 0.50", "convex 0.70"]
    assert chosen[0].worst_ratio == pytest.approx(0.95)
    assert chosen[1].selection_score == pytest.approx((0.9 / 1.0 + 2 * 0.9 / 0.95) / 3)


def test_fusion_table_refuses_without_both_public_sets() -> None:
    result = CliRunner().invoke(app, ["eval", "--fusion-table", "--squad", "x.json.gz"])
    assert result.exit_code == 2
    assert "--fusion-table needs --beir" in result.output
