"""One cache for embeddings: the texts seen lately are not embedded again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from index.embedding import Embedder, Vectors, WrappedEmbedder


class CachedEmbedder(WrappedEmbedder):
    """An LRU of text -> vector in front of an embedder; the texts not cached are embedded
    together in one call. Query vectors (the same question asked again) and /ask's sentences
    (the passages that answer one question often answer the next) both go through it."""

    def __init__(self, inner: Embedder, size: int) -> None:
        super().__init__(inner)
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if not self.size:
            return self.inner.embed(texts, progress=progress)
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
            for text in known:
                self._cache.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = self.inner.embed(missing, progress=progress)
            known.update(zip(missing, fresh, strict=True))
            with self._lock:
                self._cache.update(zip(missing, fresh, strict=True))
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.vstack([known[t] for t in texts]).astype(np.float32, copy=False)

    def __len__(self) -> int:
        return len(self._cache)
