"""Vector stores: nearest neighbours by inner product over unit vectors, keyed by 64-bit ids."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import faiss
import numpy as np
from numpy.typing import NDArray

from index.errors import IndexCorruptError

# Searches are one query each, many at a time on few cores: FAISS's OpenMP threads would only
# wait on the model's threads (2 ms instead of 0.01 ms per search of the seed index, measured).
faiss.omp_set_num_threads(1)


@contextmanager
def all_cores() -> Iterator[None]:
    """Bulk FAISS work (training, many queries at once) on every core; searches stay on one."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


Ids = NDArray[np.int64]
Vectors = NDArray[np.float32]


class VectorStore(Protocol):
    """The few operations the index needs; another backend implements these and a `kind`."""

    kind: ClassVar[str]

    @property
    def dimension(self) -> int: ...

    def __len__(self) -> int: ...

    def add(self, ids: Ids, vectors: Vectors) -> None: ...

    def remove(self, ids: Ids) -> int:
        """Remove these ids; returns how many were present."""
        ...

    def search(self, queries: Vectors, k: int) -> tuple[Vectors, Ids]:
        """Best `k` (score, id) per query row, best first; id -1 pads missing results."""
        ...

    def reconstruct(self, ids: Ids) -> Vectors:
        """The stored vectors of these ids, one row each."""
        ...

    def save(self, directory: Path) -> list[str]:
        """Write the store's files into `directory`; returns their names."""
        ...


def _read(path: Path, dimension: int) -> Any:
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(f"{path}: FAISS cannot read it ({exc})") from exc
    if index.d != dimension:
        raise IndexCorruptError(
            f"{path}: holds {index.d}-dimensional vectors, expected {dimension}"
        )
    return index


class _FaissStore:
    """What a FAISS index with ids does for any `VectorStore`: the subclasses choose the
    index and how it is built and loaded."""

    kind: ClassVar[str]
    FILE = "vectors.faiss"
    _index: Any

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: Ids, vectors: Vectors) -> None:
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32),
                np.ascontiguousarray(ids, dtype=np.int64),
            )

    def remove(self, ids: Ids) -> int:
        if not len(ids):
            return 0
        # The SWIG wrapper takes an id array as well as an IDSelector.
        return int(self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def search(self, queries: Vectors, k: int) -> tuple[Vectors, Ids]:
        k = max(1, min(k, len(self)))
        scores, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids

    def reconstruct(self, ids: Ids) -> Vectors:
        vectors = self._index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))
        return np.asarray(vectors, dtype=np.float32)

    def save(self, directory: Path) -> list[str]:
        faiss.write_index(self._index, str(directory / self.FILE))
        return [self.FILE]


class FaissFlatStore(_FaissStore):
    """Exact search: `IndexIDMap2` over `IndexFlatIP`. Right for up to a few hundred
    thousand passages; the ids let one document's passages be removed alone."""

    kind: ClassVar[str] = "faiss-flat-ip"

    def __init__(self, dimension: int, index: Any = None) -> None:
        self._index = (
            index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        )

    @classmethod
    def load(cls, directory: Path, dimension: int) -> FaissFlatStore:
        return cls(dimension, _read(directory / cls.FILE, dimension))


StoreKind = Literal["auto", "flat", "ivf"]
DEFAULT_NPROBE = 32


@dataclass(frozen=True, slots=True)
class StorePolicy:
    """Which vector store an index uses, and when `auto` moves from exact to IVF."""

    kind: StoreKind = "auto"
    ivf_threshold: int = 200_000
    """Passages at which `auto` trains an IVF index: exact search takes 7 ms a query at 100k
    and 75 ms at 1M on one core (docs/scaling.md), about 15 ms here."""
    nprobe: int = DEFAULT_NPROBE
    """IVF lists searched per query: recall@10 against exact search of 0.95 or better in the
    scale study at up to 1M passages."""

    def wants_ivf(self, passages: int) -> bool:
        return self.kind == "ivf" or (self.kind == "auto" and passages >= self.ivf_threshold)


class FaissIvfStore(_FaissStore):
    """Approximate search: `IndexIVFFlat` (inner product) with a hash-table direct map, so
    vectors can be removed and read back by id. Lists are trained once, on the vectors the
    store is built from; `byline index --rebuild` trains them again."""

    kind: ClassVar[str] = "faiss-ivf-flat-ip"

    def __init__(self, index: Any, nprobe: int = DEFAULT_NPROBE) -> None:
        self._index = index
        self._index.nprobe = min(nprobe, index.nlist)

    @staticmethod
    def lists_for(passages: int) -> int:
        """About 4 sqrt(n) lists, each trained on at least 39 vectors (FAISS's minimum)."""
        return max(1, min(int(4 * np.sqrt(passages)), passages // 39))

    @classmethod
    def build(cls, ids: Ids, vectors: Vectors, nprobe: int = DEFAULT_NPROBE) -> FaissIvfStore:
        """Train the lists on (a sample of) `vectors` and add them all."""
        dimension = vectors.shape[1]
        nlist = cls.lists_for(len(vectors))
        index = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT
        )
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        sample = data
        if len(data) > 64 * nlist:  # more makes k-means slower, not the lists better
            rows = np.random.default_rng(0).choice(len(data), 64 * nlist, replace=False)
            sample = data[np.sort(rows)]
        with all_cores():
            index.train(sample)
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        index.add_with_ids(data, np.ascontiguousarray(ids, dtype=np.int64))
        return cls(index, nprobe)

    @classmethod
    def load(cls, directory: Path, dimension: int, nprobe: int = DEFAULT_NPROBE) -> FaissIvfStore:
        path = directory / cls.FILE
        index = _read(path, dimension)
        if not isinstance(index, faiss.IndexIVF):
            raise IndexCorruptError(f"{path}: expected an IVF index, found {type(index).__name__}")
        return cls(index, nprobe)

    @property
    def lists(self) -> int:
        return int(self._index.nlist)


def flat_contents(store: FaissFlatStore) -> tuple[Ids, Vectors]:
    """Every (id, vector) of an exact store, to train an IVF store on."""
    inner = faiss.downcast_index(store._index.index)
    vectors = inner.reconstruct_n(0, inner.ntotal)
    ids = faiss.vector_to_array(store._index.id_map).astype(np.int64)
    return ids, np.asarray(vectors, dtype=np.float32)


def load_store(kind: str, directory: Path, dimension: int, policy: StorePolicy) -> VectorStore:
    """The saved store of a generation, by the kind its manifest names."""
    if kind == FaissIvfStore.kind:
        return FaissIvfStore.load(directory, dimension, policy.nprobe)
    if kind == FaissFlatStore.kind:
        return FaissFlatStore.load(directory, dimension)
    raise IndexCorruptError(f"{directory}: unknown vector store kind {kind!r}")
