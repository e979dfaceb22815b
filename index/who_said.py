"""Statements by speaker, resolved against the current documents: "what did X say about Y".

Rows come from the statement store (index/statement_store.py); each is served only while its
document's current version is the one it was extracted from, so `text[start:end]` is exact.
The same statement carried by several articles (equal after normalization, or with vectors
at least `duplicate_cosine` similar) is one statement with `also_in`, as for passages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.archive import IndexedDocument, Passage, SearchFilter
from index.caching import CachedEmbedder
from index.documents import Document
from index.engine import NewsIndex
from index.statement_store import SpeakerStats, StoredDescription, StoredStatement

CANDIDATES = 200
"""Statements of one speaker considered for a topic, newest first."""


@dataclass(frozen=True, slots=True)
class Said:
    """A statement with the document version it is in, and where else it was carried."""

    statement: StoredStatement
    indexed: IndexedDocument
    score: float
    also_in: tuple[tuple[StoredStatement, Document], ...] = ()

    @property
    def document(self) -> Document:
        return self.indexed.document

    @property
    def quote(self) -> str:
        return self.document.text[self.statement.start : self.statement.end]

    @property
    def in_context(self) -> tuple[int, int]:
        """The sentences that carry the statement with its attribution."""
        return self.statement.sentence_start, self.statement.sentence_end

    @property
    def passage(self) -> Passage:
        """The passage in which the statement starts (for a citation's passage id)."""
        return passage_at(self.indexed, self.statement.sentence_start)


def passage_at(indexed: IndexedDocument, offset: int) -> Passage:
    """The passage of the document that holds this character (the first if none does)."""
    return next((p for p in indexed.passages if p.start <= offset < p.end), indexed.passages[0])


class Statements:
    """Reads of the statement store for the front ends and the answerer."""

    def __init__(self, index: NewsIndex, embedder: CachedEmbedder, duplicate_cosine: float):
        self.index = index
        self.embedder = embedder
        self.duplicate_cosine = duplicate_cosine

    def speaker_keys(self, name: str) -> list[str]:
        return self.index.statements.keys_for(name)

    def speakers(
        self, query: str | None, limit: int, offset: int
    ) -> tuple[list[SpeakerStats], int]:
        return self.index.statements.speakers(query, limit, offset)

    def speaker(self, keys: Sequence[str]) -> SpeakerStats | None:
        """The speaker these keys stand for (the one with most statements)."""
        found = [self.index.statements.stats(key) for key in keys]
        return max(found, key=lambda s: s.statements) if found else None

    def by(
        self,
        keys: Sequence[str],
        topic: str | None,
        k: int,
        search_filter: SearchFilter | None = None,
    ) -> list[Said]:
        """The speakers' statements, best for the topic first (newest first without one),
        duplicates folded."""
        rows = self.index.statements.by_speaker(keys, search_filter, CANDIDATES)
        return self.rank(self._current(rows), topic, k)

    def in_documents(self, doc_ids: Sequence[str]) -> list[Said]:
        return self._current(self.index.statements.in_documents(doc_ids))

    def descriptions(self, keys: Sequence[str]) -> list[tuple[StoredDescription, IndexedDocument]]:
        """The roles the articles give these speakers, one per distinct wording."""
        rows = self.index.statements.descriptions(keys)
        current = self._documents([(r.doc_id, r.checksum) for r in rows])
        seen: set[str] = set()
        found = []
        for row in rows:
            indexed = current.get(row.doc_id)
            wording = row.description.casefold()
            if indexed is not None and wording not in seen:
                seen.add(wording)
                found.append((row, indexed))
        return found

    def rank(self, said: list[Said], topic: str | None, k: int) -> list[Said]:
        if not said:
            return []
        texts = [s.document.text[slice(*s.in_context)] for s in said]
        vectors = self.embedder.embed(texts)
        if topic:
            scores = vectors @ self.embedder.embed([topic])[0]
            order = np.argsort(-scores, kind="stable")
        else:
            # Newest articles first, one statement from each in turn: what X said across
            # the coverage, not only in the latest article.
            scores = np.ones(len(said), dtype=np.float32)
            turn: dict[str, int] = {}
            rounds = []
            for i, s in enumerate(said):
                turn[s.document.doc_id] = turn.get(s.document.doc_id, -1) + 1
                rounds.append((turn[s.document.doc_id], i))
            order = np.array([i for _, i in sorted(rounds)], dtype=np.int64)
        kept: list[int] = []
        folded: dict[int, list[int]] = {}
        for i in order.tolist():
            twin = next(
                (
                    j
                    for j in kept
                    if said[j].statement.fingerprint == said[i].statement.fingerprint
                    or float(vectors[j] @ vectors[i]) >= self.duplicate_cosine
                ),
                None,
            )
            if twin is not None:
                if not _nested(said[twin].statement, said[i].statement):
                    folded[twin].append(i)  # carried elsewhere: also_in
                # else the words a reported statement quotes: shown within it already
            elif len(kept) < k:
                kept.append(i)
                folded[i] = []
        return [
            Said(
                said[i].statement,
                said[i].indexed,
                float(scores[i]),
                tuple((said[j].statement, said[j].document) for j in folded[i]),
            )
            for i in kept
        ]

    def _current(self, rows: Sequence[StoredStatement]) -> list[Said]:
        current = self._documents([(r.doc_id, r.checksum) for r in rows])
        return [Said(r, current[r.doc_id], 0.0) for r in rows if r.doc_id in current]

    def _documents(self, wanted: Sequence[tuple[str, str]]) -> dict[str, IndexedDocument]:
        """The rows' documents, each read once from one view; a document replaced or deleted
        since its rows were extracted is left out (the rows wait to be reconciled)."""
        view = self.index.view()
        found = {}
        for doc_id, checksum in dict(wanted).items():
            indexed = view.document(doc_id)
            if indexed is not None and indexed.document.checksum == checksum:
                found[doc_id] = indexed
        return found


def _nested(outer: StoredStatement, inner: StoredStatement) -> bool:
    """One statement inside another of the same article ("detached" within the sentence)."""
    return outer.doc_id == inner.doc_id and (
        outer.start <= inner.start < outer.end or inner.start <= outer.start < inner.end
    )
