"""Passage vectors in memory, searched by snapshots that writes never change.

Rows are appended in key order into arrays with spare capacity; a snapshot sees rows
`[0, n)` and a `live` mask of its own. A write fills rows past every published snapshot's `n`
(or copies into larger arrays) and publishes a new snapshot, so a running search never sees
a row change under it and never waits: the Lucene discipline of immutable segments and a
deletes bitmap, swapped by reference.

Two segments: an optional IVF index over rows `[0, ivf_rows)` (approximate, for large
archives) and the rows after it, searched exactly. `merge_tail()` folds new rows into the IVF
index beside searches; `compacted()` drops deleted rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal

import faiss
import numpy as np
from faiss.contrib.ivf_tools import add_preassigned
from numpy.typing import NDArray

Keys = NDArray[np.int64]
Vectors = NDArray[np.float32]
Mask = NDArray[np.bool_]

# Searches are one query each, many at a time on few cores: FAISS's OpenMP threads would only
# wait on the model's threads (2 ms instead of 0.01 ms per search of the seed index, measured).
faiss.omp_set_num_threads(1)

StoreKind = Literal["auto", "flat", "ivf"]
DEFAULT_NPROBE = 32
NO_DATE = -1
NO_CODE = -1
_FEWEST_FOR_IVF = 1_000
_EXACT_WHEN_FEWER = 20_000
"""A filter that keeps at most this many rows is searched exactly, over those rows alone."""


@contextmanager
def all_cores() -> Iterator[None]:
    """Bulk FAISS work (training, assigning) on every core; searches stay on one."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


@dataclass(frozen=True, slots=True)
class StorePolicy:
    """Exact or approximate vector search, and when `auto` moves to approximate."""

    kind: StoreKind = "auto"
    ivf_threshold: int = 200_000
    """Passages at which `auto` trains an IVF index: exact search takes 7 ms a query at 100k
    and 75 ms at 1M on one core (docs/scaling.md)."""
    nprobe: int = DEFAULT_NPROBE
    """IVF lists searched per query: recall@10 against exact search of 0.99 at up to 1M
    passages in the scale study."""
    merge_rows: int = 20_000
    """New rows searched exactly before they are merged into the IVF index."""

    def wants_ivf(self, passages: int) -> bool:
        """`ivf` trains lists once there are enough passages to train them on (below that,
        exact search is both exact and faster); `auto` from `ivf_threshold`."""
        if self.kind == "ivf":
            return passages >= _FEWEST_FOR_IVF
        return self.kind == "auto" and passages >= self.ivf_threshold


def lists_for(passages: int) -> int:
    """About 4 sqrt(n) IVF lists, each trained on at least 39 vectors (FAISS's minimum)."""
    return max(1, min(int(4 * np.sqrt(passages)), passages // 39))


@dataclass(frozen=True, slots=True)
class Columns:
    """Per-row data, in arrays with spare capacity; rows past a snapshot's `n` are not its."""

    keys: Keys
    vectors: Vectors
    fingerprints: Keys
    published: Keys
    publishers: NDArray[np.int32]
    docs: NDArray[np.int32]
    lists: Keys
    """The IVF list each row was assigned to, -1 until it is."""

    @classmethod
    def empty(cls, capacity: int, dimension: int) -> Columns:
        return cls(
            keys=np.zeros(capacity, np.int64),
            vectors=np.zeros((capacity, dimension), np.float32),
            fingerprints=np.zeros(capacity, np.int64),
            published=np.full(capacity, NO_DATE, np.int64),
            publishers=np.full(capacity, NO_CODE, np.int32),
            docs=np.full(capacity, NO_CODE, np.int32),
            lists=np.full(capacity, -1, np.int64),
        )

    @property
    def capacity(self) -> int:
        return len(self.keys)

    def grown(self, rows: int, needed: int) -> Columns:
        """Larger arrays holding the first `rows` rows (a copy: snapshots keep the old)."""
        capacity = max(needed, 2 * self.capacity, 1024)
        bigger = Columns.empty(capacity, self.vectors.shape[1])
        for name in Columns.__dataclass_fields__:
            getattr(bigger, name)[:rows] = getattr(self, name)[:rows]
        return bigger

    def taken(self, rows: Keys, capacity: int) -> Columns:
        """New arrays holding these rows, in order."""
        fresh = Columns.empty(max(capacity, len(rows), 1024), self.vectors.shape[1])
        for name in Columns.__dataclass_fields__:
            getattr(fresh, name)[: len(rows)] = getattr(self, name)[rows]
        return fresh


@dataclass(frozen=True, slots=True)
class NewRows:
    """Rows to append; keys must be larger than every key already stored."""

    keys: Keys
    vectors: Vectors
    fingerprints: Keys
    published: Keys
    publishers: NDArray[np.int32]
    docs: NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class RowFilter:
    """A filter in the table's terms: date bounds and sets of publisher and document codes."""

    published_after: int | None = None
    published_before: int | None = None
    publishers: NDArray[np.int32] | None = None
    docs: NDArray[np.int32] | None = None


@dataclass(frozen=True, slots=True)
class VectorSnapshot:
    """What one search sees: rows `[0, n)`, their live mask, and the IVF index if any."""

    columns: Columns
    n: int
    live: Mask
    live_count: int
    ivf: Any = None
    """A FAISS IVF index over rows `[0, ivf_rows)`, ids = row numbers; never changed."""
    ivf_rows: int = 0
    nprobe: int = DEFAULT_NPROBE

    @classmethod
    def empty(cls, dimension: int, nprobe: int = DEFAULT_NPROBE) -> VectorSnapshot:
        return cls(Columns.empty(0, dimension), 0, np.zeros(0, np.bool_), 0, nprobe=nprobe)

    # -- reading ------------------------------------------------------------------------

    def rows_of(self, keys: Keys) -> NDArray[np.intp]:
        """Row numbers of these keys; raises KeyError for a key this snapshot lacks."""
        rows = np.searchsorted(self.columns.keys[: self.n], keys)
        found = (rows < self.n) & (self.columns.keys[np.minimum(rows, self.n - 1)] == keys)
        if not bool(np.all(found)):
            raise KeyError(f"keys not in this snapshot: {keys[~found][:5].tolist()}")
        return rows

    def mask(self, where: RowFilter | None) -> Mask:
        """Live rows that pass the filter."""
        mask = self.live.copy()
        if where is None:
            return mask
        columns, n = self.columns, self.n
        if where.published_after is not None:
            mask &= columns.published[:n] >= where.published_after
        if where.published_before is not None:
            mask &= columns.published[:n] < where.published_before
        if where.published_after is not None or where.published_before is not None:
            mask &= columns.published[:n] != NO_DATE
        if where.publishers is not None:
            mask &= np.isin(columns.publishers[:n], where.publishers)
        if where.docs is not None:
            mask &= np.isin(columns.docs[:n], where.docs)
        return mask

    def search(
        self, query: Vectors, k: int, where: RowFilter | None = None
    ) -> tuple[Vectors, Keys]:
        """The best `k` (cosine, key) among live rows passing the filter, best first."""
        if self.n == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        mask = self.live if where is None else self.mask(where)
        query = np.ascontiguousarray(query.reshape(-1), dtype=np.float32)
        allowed = self.live_count if where is None else int(mask.sum())
        if allowed == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if self.ivf is None or allowed <= _EXACT_WHEN_FEWER:
            rows, scores = self._exact(query, k, mask, 0, allowed)
        else:
            rows, scores = self._approximate(query, k, mask)
            wanted = min(k, allowed)
            if len(rows) < wanted:  # IVF's probed lists held too few allowed rows
                rows, scores = self._exact(query, k, mask, 0, allowed)
        return scores.astype(np.float32), self.columns.keys[rows]

    def _exact(
        self, query: Vectors, k: int, mask: Mask, start: int, allowed: int
    ) -> tuple[NDArray[np.intp], Vectors]:
        """Brute force over rows `[start, n)` that the mask allows."""
        part = mask[start:]
        if allowed * 4 < len(part):  # few rows allowed: gather them rather than score all
            rows = np.flatnonzero(part) + start
            scores = self.columns.vectors[rows] @ query
        else:
            rows = np.arange(start, self.n)
            scores = self.columns.vectors[start : self.n] @ query
            keep = part
            rows, scores = rows[keep], scores[keep]
        if len(rows) > k:
            best = np.argpartition(-scores, k - 1)[:k]
            rows, scores = rows[best], scores[best]
        order = np.argsort(-scores, kind="stable")
        return rows[order], scores[order]

    def _approximate(self, query: Vectors, k: int, mask: Mask) -> tuple[NDArray[np.intp], Vectors]:
        """IVF over rows `[0, ivf_rows)`, exact over the rest, merged."""
        head = mask[: self.ivf_rows]
        params = faiss.SearchParametersIVF()
        params.nprobe = self.nprobe
        if not bool(head.all()):
            bitmap = np.packbits(head, bitorder="little")
            selector = faiss.IDSelectorBitmap(self.ivf_rows, faiss.swig_ptr(bitmap))
            params.sel = selector
        scores, rows = self.ivf.search(query.reshape(1, -1), k, params=params)
        found = rows[0] >= 0
        ivf_rows, ivf_scores = rows[0][found].astype(np.intp), scores[0][found]
        tail_allowed = int(mask[self.ivf_rows :].sum())
        if tail_allowed:
            tail_rows, tail_scores = self._exact(query, k, mask, self.ivf_rows, tail_allowed)
            ivf_rows = np.concatenate([ivf_rows, tail_rows])
            ivf_scores = np.concatenate([ivf_scores, tail_scores])
        order = np.argsort(-ivf_scores, kind="stable")[:k]
        return ivf_rows[order], ivf_scores[order]

    # -- writing (each returns a new snapshot; this one is unchanged) -------------------

    def appended(self, rows: NewRows, removed: Keys) -> VectorSnapshot:
        """This snapshot with `rows` added and the rows of `removed` keys marked deleted.

        Only for the newest snapshot (the writer's): it fills rows past `n` in place.
        """
        count = len(rows.keys)
        columns = self.columns
        if self.n + count > columns.capacity:
            columns = columns.grown(self.n, self.n + count)
        end = self.n + count
        columns.keys[self.n : end] = rows.keys
        columns.vectors[self.n : end] = rows.vectors
        columns.fingerprints[self.n : end] = rows.fingerprints
        columns.published[self.n : end] = rows.published
        columns.publishers[self.n : end] = rows.publishers
        columns.docs[self.n : end] = rows.docs
        columns.lists[self.n : end] = -1
        live = np.concatenate([self.live, np.ones(count, np.bool_)])
        dropped = 0
        if len(removed):
            # Keys of rows an older write removed may come again; count each row once.
            gone = self.rows_of(np.unique(removed))
            dropped = int(live[gone].sum())
            live[gone] = False
        return replace(
            self, columns=columns, n=end, live=live, live_count=self.live_count + count - dropped
        )

    def with_ivf(self, policy: StorePolicy) -> VectorSnapshot:
        """Train an IVF index over the live rows; returns the compacted snapshot using it
        (seconds at a million rows: runs beside searches, see `rebased`)."""
        compact = self.compacted()
        vectors = compact.columns.vectors[: compact.n]
        dimension = vectors.shape[1]
        nlist = lists_for(compact.n)
        index = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT
        )
        sample = vectors
        if len(vectors) > 64 * nlist:  # more makes k-means slower, not the lists better
            picked = np.random.default_rng(0).choice(len(vectors), 64 * nlist, replace=False)
            sample = vectors[np.sort(picked)]
        with all_cores():
            index.train(np.ascontiguousarray(sample))
        compact.columns.lists[: compact.n] = -1
        return compact._ivf_over(index, 0, policy.nprobe)

    def with_centroids(self, centroids: Vectors) -> VectorSnapshot:
        """An IVF index over every row from centroids trained before; rows keep the lists in
        `columns.lists` (-1: assigned now)."""
        dimension = centroids.shape[1]
        quantizer = faiss.IndexFlatIP(dimension)
        quantizer.add(centroids)
        index = faiss.IndexIVFFlat(quantizer, dimension, len(centroids), faiss.METRIC_INNER_PRODUCT)
        index.is_trained = True
        return self._ivf_over(index, 0, self.nprobe)

    def centroids(self) -> Vectors:
        """The IVF index's centroids (to save with the lists)."""
        if self.ivf is None:
            raise ValueError("no IVF index")
        quantizer = faiss.downcast_index(self.ivf.quantizer)
        return np.asarray(quantizer.reconstruct_n(0, self.ivf.nlist), dtype=np.float32)

    def merged(self) -> VectorSnapshot:
        """The IVF index extended over every row of this snapshot (beside searches)."""
        if self.ivf is None or self.ivf_rows == self.n:
            return self
        return self._ivf_over(faiss.clone_index(self.ivf), self.ivf_rows, self.nprobe)

    def _ivf_over(self, index: Any, start: int, nprobe: int) -> VectorSnapshot:
        """Add rows `[start, n)` to `index` (lists assigned once, then kept per row)."""
        vectors = np.ascontiguousarray(self.columns.vectors[start : self.n])
        assigned = self.columns.lists[start : self.n].copy()
        todo = assigned < 0
        if bool(todo.any()):
            with all_cores():
                _, lists = index.quantizer.search(vectors[todo], 1)
            assigned[todo] = lists[:, 0]
            # Only ever -1 -> a list, for rows every snapshot already has: harmless to share.
            self.columns.lists[start : self.n] = assigned
        ids = np.arange(start, self.n, dtype=np.int64)
        add_preassigned(index, vectors, assigned, ids=ids)  # type: ignore[no-untyped-call]
        index.nprobe = min(nprobe, index.nlist)
        return replace(self, ivf=index, ivf_rows=self.n, nprobe=nprobe)

    def compacted(self) -> VectorSnapshot:
        """The live rows alone, renumbered; the IVF index rebuilt from their saved lists."""
        rows = np.flatnonzero(self.live)
        columns = self.columns.taken(rows, len(rows) + len(rows) // 4)
        fresh = VectorSnapshot(
            columns, len(rows), np.ones(len(rows), np.bool_), len(rows), nprobe=self.nprobe
        )
        if self.ivf is None:
            return fresh
        quantizer = faiss.clone_index(faiss.downcast_index(self.ivf.quantizer))
        index = faiss.IndexIVFFlat(
            quantizer, self.ivf.d, self.ivf.nlist, faiss.METRIC_INNER_PRODUCT
        )
        index.is_trained = True
        return fresh._ivf_over(index, 0, self.nprobe)

    def rebased(self, base: VectorSnapshot, latest: VectorSnapshot) -> VectorSnapshot:
        """This snapshot, computed from `base` beside searches, brought up to `latest`: the
        rows written since `base` appended, the rows deleted since marked. Call it with
        writes held off; it copies nothing large."""
        removed = base.columns.keys[: base.n][base.live & ~latest.live[: base.n]]
        columns = latest.columns
        new = NewRows(
            keys=columns.keys[base.n : latest.n],
            vectors=columns.vectors[base.n : latest.n],
            fingerprints=columns.fingerprints[base.n : latest.n],
            published=columns.published[base.n : latest.n],
            publishers=columns.publishers[base.n : latest.n],
            docs=columns.docs[base.n : latest.n],
        )
        return self.appended(new, removed)

    @property
    def tail_rows(self) -> int:
        """Rows searched exactly because they are not in the IVF index yet."""
        return self.n - self.ivf_rows if self.ivf is not None else 0

    @property
    def dead_rows(self) -> int:
        return self.n - self.live_count

    def nbytes(self) -> int:
        columns = self.columns
        size = sum(getattr(columns, name).nbytes for name in Columns.__dataclass_fields__)
        if self.ivf is not None:
            size += self.ivf.ntotal * (self.ivf.d * 4 + 8)
        return int(size + self.live.nbytes)
