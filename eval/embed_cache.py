"""An on-disk cache of embeddings, keyed by model and text, so benchmark reruns are fast."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embedding import Embedder, Vectors, WrappedEmbedder


class CachedEmbedder(WrappedEmbedder):
    """Wraps an `Embedder`; vectors for texts seen before come from SQLite, not the model."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        super().__init__(inner)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB)")
        self.hits = 0
        self.misses = 0

    def _key(self, text: str) -> bytes:
        # fp32 vectors are the same from torch and ONNX; int8 ones are not.
        model = self.model_id if self.precision == "fp32" else f"{self.model_id}@{self.precision}"
        return hashlib.sha256(f"{model}\0{text}".encode()).digest()

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        keys = [self._key(t) for t in texts]
        found: dict[bytes, bytes] = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ",".join("?" * len(batch))
            found.update(
                self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch)
            )
        missing = [i for i, key in enumerate(keys) if key not in found]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.embed([texts[i] for i in missing], progress=progress)
            rows = [(keys[i], fresh[j].tobytes()) for j, i in enumerate(missing)]
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            found.update(rows)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = np.frombuffer(found[key], dtype=np.float32)
        return out

    def close(self) -> None:
        self._db.close()
