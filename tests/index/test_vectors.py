"""The in-memory vector table: snapshots that writes never change, filters before the top k,
IVF with a tail searched exactly, merging and compaction."""

from __future__ import annotations

import numpy as np
import pytest

from index.vectors import NO_DATE, NewRows, RowFilter, StorePolicy, VectorSnapshot

DIMENSION = 32


def _rows(first_key: int, count: int, seed: int = 0) -> NewRows:
    """Unit vectors; every other row dated, publishers 0-2 round robin, 10 rows a document."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ordinals = np.arange(count)
    return NewRows(
        keys=np.arange(first_key, first_key + count, dtype=np.int64),
        vectors=vectors,
        fingerprints=ordinals.astype(np.int64),
        published=np.where(ordinals % 2 == 0, 1_000 + ordinals, NO_DATE).astype(np.int64),
        publishers=(ordinals % 3).astype(np.int32),
        docs=(ordinals // 10).astype(np.int32),
    )


def _exact(
    snapshot: VectorSnapshot, query: np.ndarray, k: int, where: RowFilter | None
) -> list[int]:
    mask = snapshot.mask(where)
    scores = snapshot.columns.vectors[: snapshot.n] @ query
    scores[~mask] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(snapshot.columns.keys[i]) for i in order if mask[i]]


NONE = np.zeros(0, np.int64)


def test_a_search_sees_its_snapshot_whatever_is_written_after() -> None:
    rows = _rows(1, 500)
    before = VectorSnapshot.empty(DIMENSION).appended(rows, NONE)
    query = rows.vectors[7]
    _, keys_before = before.search(query, 5)
    after = before.appended(_rows(1_000, 50, seed=1), np.array([8], np.int64))
    assert before.search(query, 5)[1].tolist() == keys_before.tolist()
    assert keys_before[0] == 8
    assert 8 not in after.search(query, 5)[1].tolist()
    assert after.n == 550
    assert after.live_count == 549
    assert before.live_count == 500


def test_growing_past_capacity_copies_and_leaves_old_snapshots_intact() -> None:
    first = VectorSnapshot.empty(DIMENSION).appended(_rows(1, 1000), NONE)
    grown = first.appended(_rows(2000, 2000, seed=2), NONE)
    assert grown.columns is not first.columns
    assert grown.n == 3000
    query = first.columns.vectors[3]
    assert first.search(query, 1)[1].tolist() == [4]


@pytest.mark.parametrize(
    "where",
    [
        RowFilter(published_after=1_100),
        RowFilter(published_before=1_050),
        RowFilter(publishers=np.array([1], np.int32)),
        RowFilter(docs=np.array([3, 7], np.int32)),
        RowFilter(published_after=1_000, publishers=np.array([2], np.int32)),
    ],
)
def test_filters_apply_before_the_top_k(where: RowFilter) -> None:
    snapshot = VectorSnapshot.empty(DIMENSION).appended(_rows(1, 400), NONE)
    query = snapshot.columns.vectors[5]
    _, keys = snapshot.search(query, 10, where)
    assert keys.tolist() == _exact(snapshot, query, 10, where)
    allowed = int(snapshot.mask(where).sum())
    assert len(keys) == min(10, allowed)


def test_a_date_bound_leaves_undated_rows_out() -> None:
    snapshot = VectorSnapshot.empty(DIMENSION).appended(_rows(1, 100), NONE)
    _, keys = snapshot.search(snapshot.columns.vectors[1], 100, RowFilter(published_after=0))
    published = snapshot.columns.published[snapshot.rows_of(keys)]
    assert len(keys) == 50
    assert bool(np.all(published != NO_DATE))


def test_ivf_with_its_tail_finds_what_exact_search_finds() -> None:
    policy = StorePolicy(kind="ivf", nprobe=64)
    base = VectorSnapshot.empty(DIMENSION).appended(_rows(1, 4000), NONE)
    trained = base.with_ivf(policy)
    assert trained.ivf is not None
    assert trained.ivf_rows == 4000
    later = trained.appended(_rows(10_000, 300, seed=3), np.array([5, 6], np.int64))
    assert later.tail_rows == 300
    queries = later.columns.vectors[[0, 10, 4100, 4200]]
    for query in queries:
        _, keys = later.search(query, 10)
        assert len(set(keys.tolist()) & set(_exact(later, query, 10, None))) >= 9
        assert 5 not in keys
        assert 6 not in keys
    merged = later.merged()
    assert merged.tail_rows == 0
    assert merged.ivf is not later.ivf
    for query in queries:
        assert set(merged.search(query, 10)[1].tolist()) >= set(
            later.search(query, 10)[1][:5].tolist()
        )


def test_a_selective_filter_on_ivf_still_returns_k_when_k_match() -> None:
    policy = StorePolicy(kind="ivf", nprobe=1)
    snapshot = VectorSnapshot.empty(DIMENSION).appended(_rows(1, 30_000), NONE).with_ivf(policy)
    where = RowFilter(docs=np.array([17], np.int32))  # 10 rows in all, in a few lists
    _, keys = snapshot.search(snapshot.columns.vectors[0], 10, where)
    assert sorted(keys.tolist()) == list(range(171, 181))
    broad = RowFilter(publishers=np.array([0], np.int32))
    _, keys = snapshot.search(snapshot.columns.vectors[0], 50, broad)
    assert len(keys) == 50
    assert bool(np.all(snapshot.columns.publishers[snapshot.rows_of(keys)] == 0))


def test_compaction_drops_deleted_rows_and_rebasing_keeps_later_writes() -> None:
    base = VectorSnapshot.empty(DIMENSION).appended(_rows(1, 1000), np.zeros(0, np.int64))
    base = base.appended(_rows(2000, 10, seed=4), np.arange(1, 301, dtype=np.int64))
    compacted = base.compacted()
    assert compacted.n == 710 == compacted.live_count
    # Meanwhile a writer went on: one row more, one row fewer.
    latest = base.appended(_rows(5000, 1, seed=5), np.array([400], np.int64))
    rebased = compacted.rebased(base, latest)
    assert rebased.live_count == latest.live_count == 710
    keys = set(rebased.columns.keys[: rebased.n][rebased.live].tolist())
    assert 5000 in keys
    assert 400 not in keys
    assert 1 not in keys


def test_compaction_keeps_the_ivf_lists_and_their_answers() -> None:
    policy = StorePolicy(kind="ivf", nprobe=16)
    snapshot = VectorSnapshot.empty(DIMENSION).appended(_rows(1, 5000), NONE).with_ivf(policy)
    snapshot = snapshot.appended(
        NewRows(*(getattr(_rows(9000, 0), f) for f in NewRows.__dataclass_fields__)),
        np.arange(1, 1001, dtype=np.int64),
    )
    query = snapshot.columns.vectors[2000]
    before = snapshot.search(query, 10)[1].tolist()
    compacted = snapshot.compacted()
    assert compacted.n == 4000
    assert compacted.ivf is not None
    assert compacted.ivf.ntotal == 4000
    assert compacted.search(query, 10)[1].tolist() == before
