"""Vector stores: nearest neighbours by inner product over unit vectors, keyed by 64-bit ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol

import faiss
import numpy as np
from numpy.typing import NDArray

from index.errors import IndexCorruptError

# Searches are one query each, many at a time on few cores: FAISS's OpenMP threads would only
# wait on the model's threads (2 ms instead of 0.01 ms per search of the seed index, measured).
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


class FaissFlatStore:
    """Exact search: `IndexIDMap2` over `IndexFlatIP`. Right for up to a few hundred
    thousand passages; the ids let one document's passages be removed alone."""

    kind: ClassVar[str] = "faiss-flat-ip"
    FILE = "vectors.faiss"

    def __init__(self, dimension: int, index: Any = None) -> None:
        self._index = (
            index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        )
        self._dimension = dimension

    @classmethod
    def load(cls, directory: Path, dimension: int) -> FaissFlatStore:
        path = directory / cls.FILE
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexCorruptError(f"{path}: FAISS cannot read it ({exc})") from exc
        if index.d != dimension:
            raise IndexCorruptError(
                f"{path}: holds {index.d}-dimensional vectors, expected {dimension}"
            )
        return cls(dimension, index)

    @property
    def dimension(self) -> int:
        return self._dimension

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
        # The SWIG wrapper takes an id array or an IDSelector; the stubs know only the latter.
        removed = self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))  # type: ignore[arg-type]
        return int(removed)

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
