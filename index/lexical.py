"""Keyword search: BM25 over passages with bm25s, English stemming and stop words."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from numpy.typing import NDArray

from index.errors import IndexCorruptError

log = logging.getLogger(__name__)

Ids = NDArray[np.int64]
Scores = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Bm25Params:
    """BM25 parameters; stored in the manifest so an index is never mixed across them."""

    k1: float = 1.2
    b: float = 0.75
    stem: bool = True
    stopwords: str = "en"


class Bm25Index:
    """A BM25 index over texts keyed by 64-bit ids. Rebuilt whole on every change: bm25s
    keeps eagerly computed scores in a sparse matrix that cannot be updated in place."""

    DIR = "bm25"
    _KEYS = "keys.npy"
    _PARAMS = "byline-params.json"

    def __init__(self, params: Bm25Params | None = None) -> None:
        self.params = params or Bm25Params()
        self._stemmer = Stemmer.Stemmer("english") if self.params.stem else None
        self._retriever: bm25s.BM25 | None = None
        self._keys: Ids = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._keys)

    def _tokenize(self, texts: Sequence[str], *, ids: bool) -> object:
        return bm25s.tokenize(
            list(texts),
            stopwords=self.params.stopwords,
            stemmer=self._stemmer,
            return_ids=ids,
            show_progress=False,
        )

    def build(self, keys: Sequence[int], texts: Sequence[str]) -> None:
        """Index `texts`, replacing whatever was indexed before."""
        if len(keys) != len(texts):
            raise ValueError(f"{len(keys)} keys for {len(texts)} texts")
        self._keys = np.asarray(keys, dtype=np.int64)
        if not texts:
            self._retriever = None
            return
        retriever = bm25s.BM25(k1=self.params.k1, b=self.params.b, method="lucene")
        retriever.index(self._tokenize(texts, ids=True), show_progress=False)
        self._retriever = retriever

    def search(self, query: str, k: int) -> tuple[Scores, Ids]:
        """Best `k` (scores, keys), best first; documents sharing no term are left out."""
        if self._retriever is None or not len(self._keys):
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        tokens = self._tokenize([query], ids=False)[0]  # type: ignore[index]
        ids = self._retriever.get_tokens_ids(tokens)
        if not ids:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores = self._retriever.get_scores_from_ids(ids)
        # Top k among the passages sharing a term: bm25s's own selection partitions every
        # passage's score, 32 ms a query at a million passages against 0.7 ms for the scores.
        matching = np.flatnonzero(scores > 0)
        if len(matching) > k:
            matching = matching[np.argpartition(-scores[matching], k - 1)[:k]]
        best = matching[np.argsort(-scores[matching], kind="stable")]
        return scores[best].astype(np.float32), self._keys[best]

    def nbytes(self) -> int:
        """Memory of the score matrix and keys (the vocabulary dictionary not counted)."""
        if self._retriever is None:
            return int(self._keys.nbytes)
        scores = self._retriever.scores
        arrays = (scores["data"], scores["indices"], scores["indptr"])
        return int(self._keys.nbytes + sum(a.nbytes for a in arrays))

    def knows(self, word: str) -> bool:
        """Does the word (stemmed) occur in some indexed text? A stop word or a word with no
        indexable token gives no evidence either way and counts as known."""
        tokens = self._tokenize([word], ids=False)[0]  # type: ignore[index]
        if not tokens:
            return True
        vocabulary = self._retriever.vocab_dict if self._retriever is not None else {}
        return any(token in vocabulary for token in tokens)

    def save(self, directory: Path) -> list[str]:
        """Write into `directory/bm25/`; returns the file names relative to `directory`."""
        target = directory / self.DIR
        target.mkdir()
        np.save(target / self._KEYS, self._keys)
        (target / self._PARAMS).write_text(json.dumps(asdict(self.params)))
        if self._retriever is not None:
            self._retriever.save(str(target), show_progress=False)
        return sorted(str(p.relative_to(directory)) for p in target.iterdir())

    @classmethod
    def load(cls, directory: Path, params: Bm25Params) -> Bm25Index:
        target = directory / cls.DIR
        index = cls(params)
        try:
            index._keys = np.load(target / cls._KEYS)
            if len(index._keys):
                index._retriever = bm25s.BM25.load(str(target), show_progress=False)
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"{target}: the BM25 index cannot be read ({exc})") from exc
        return index
