"""The searchable news index: documents in, attributed passages out.

`NewsIndex` cleans, chunks and embeds articles, hands them to an `Archive` (index/archive.py:
where they are stored and searched), and turns what a search finds into hits: passages with
their documents, duplicates folded into `also_in`. It holds no lock while it embeds, and a
search reads one archive view from start to end.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Literal
from uuid import uuid4

import numpy as np

from index.archive import (
    Archive,
    ArchiveInfo,
    ArchiveView,
    Candidate,
    DocumentOrder,
    IndexedDocument,
    NewVersion,
    Passage,
    PublisherStats,
    SearchFilter,
    check_compatible,
)
from index.caching import CachedEmbedder
from index.chunking import ChunkingParams, chunk
from index.cleaning import CleanedText, clean, fingerprint
from index.config import IndexConfig
from index.documents import Document
from index.embedding import Embedder
from index.errors import DocumentNotFoundError
from index.fusion import Mode
from index.statement_store import StatementStore

log = logging.getLogger(__name__)

__all__ = [
    "Change",
    "Hit",
    "IndexedDocument",
    "IngestResult",
    "NewsIndex",
    "Passage",
    "temporary_index",
]

Sort = Literal["relevance", "date"]
_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a passage, its score and the document it comes from.

    `also_in` lists passages elsewhere that say the same thing and were folded into this one.
    `dense_score` is the cosine similarity to the query whatever the mode (None in BM25 mode).
    """

    rank: int
    score: float
    passage: Passage
    document: Document
    also_in: tuple[tuple[Passage, Document], ...] = ()
    dense_score: float | None = None

    @property
    def text(self) -> str:
        return self.document.text[self.passage.start : self.passage.end]


class Change(StrEnum):
    ADDED = "added"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    METADATA_UPDATED = "metadata_updated"


@dataclass(frozen=True, slots=True)
class IngestResult:
    doc_id: str
    passages: int
    change: Change


class NewsIndex:
    """Articles in an archive, searched by meaning and by keywords, with exact spans."""

    def __init__(self, archive: Archive, embedder: Embedder, config: IndexConfig) -> None:
        self.archive = archive
        self.embedder = embedder
        self.config = config
        self.options = config.search
        self.params: ChunkingParams = config.chunking(embedder.max_tokens)
        self._queries = CachedEmbedder(embedder, config.search.query_cache)
        stored = archive.info()
        if stored is not None:
            check_compatible(stored, self.info, str(self.where))
        self.statements = StatementStore(config.index_dir, _statements_file(config))
        """Who said what in each current document: derived from the archive, kept in step
        by every write and reconciled with it on opening."""
        self.statements.reconcile(archive.view())

    @classmethod
    def open(cls, config: IndexConfig, embedder: Embedder) -> NewsIndex:
        """The configured archive, created empty if there is none yet."""
        from index.migration import migrate_if_needed

        if config.backend == "embedded":
            migrate_if_needed(config, embedder)
        return cls(config.open_archive(embedder.dimension), embedder, config)

    @property
    def where(self) -> str:
        if self.config.backend == "milvus" and self.config.milvus is not None:
            return f"Milvus at {self.config.milvus.uri}"
        return str(self.config.index_dir)

    @property
    def info(self) -> ArchiveInfo:
        """What this configuration builds; an archive built otherwise is refused."""
        return self.config.archive_info(self.embedder)

    def close(self) -> None:
        self.archive.close()
        self.statements.close()

    # -- reading -------------------------------------------------------------------------

    def view(self) -> ArchiveView:
        return self.archive.view()

    @property
    def document_count(self) -> int:
        return self.archive.view().document_count

    @property
    def passage_count(self) -> int:
        return self.archive.view().passage_count

    def documents(self) -> list[IndexedDocument]:
        """Every current document, ordered by id."""
        return self.archive.view().documents()[0]

    def page(
        self,
        search_filter: SearchFilter | None = None,
        order: DocumentOrder = DocumentOrder.ID,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[IndexedDocument], int]:
        """A page of the documents matching the filter, and how many match."""
        return self.archive.view().documents(search_filter, order, limit, offset)

    def get(self, doc_id: str) -> IndexedDocument:
        found = self.archive.view().document(doc_id)
        if found is None:
            raise DocumentNotFoundError(doc_id)
        return found

    def publishers(self) -> list[PublisherStats]:
        return self.archive.view().publishers()

    def undated_documents(self) -> int:
        return self.archive.view().undated_documents()

    def knows(self, word: str) -> bool:
        """Does any indexed passage contain this word (after stemming)?"""
        return self.archive.view().knows(word)

    def search(
        self,
        query: str,
        k: int,
        mode: Mode | None = None,
        search_filter: SearchFilter | None = None,
        *,
        sort: Sort = "relevance",
        recency_half_life_days: float | None = None,
        now: float | None = None,
    ) -> list[Hit]:
        """The `k` best passages for the query, best first, one per fact.

        Passages that say the same thing (equal after normalization, or vectors at least
        `duplicate_cosine` similar) are folded into the best of them before `k` is applied.
        """
        return self.search_many(
            [query],
            k,
            mode,
            search_filter,
            sort=sort,
            recency_half_life_days=recency_half_life_days,
            now=now,
        )[0]

    def search_many(
        self,
        queries: Sequence[str],
        k: int,
        mode: Mode | None = None,
        search_filter: SearchFilter | None = None,
        *,
        sort: Sort = "relevance",
        recency_half_life_days: float | None = None,
        now: float | None = None,
    ) -> list[list[Hit]]:
        """`search` for several queries, their embeddings computed in one model call."""
        mode = mode or self.options.mode
        vectors = self.query_vectors(queries) if mode != Mode.BM25 else None
        view = self.archive.view()
        results = []
        for i, query in enumerate(queries):
            vector = None if vectors is None else vectors[i : i + 1]
            depth = max(self.options.candidates, k)
            found = view.search(query, vector, mode, depth, search_filter, self.options.fusion)
            if recency_half_life_days:
                found = _with_recency(view, found, recency_half_life_days, now or time.time())
            hits = self._fold(view, found, vector, k)
            if sort == "date":
                hits = _by_date(view, hits)
            results.append(hits)
        return results

    def query_vectors(self, queries: Sequence[str]) -> np.ndarray:
        """Query embeddings, from the LRU cache where the same query was seen lately."""
        return self._queries.embed(queries)

    def _fold(
        self, view: ArchiveView, found: list[Candidate], query: np.ndarray | None, k: int
    ) -> list[Hit]:
        """Walk the ranking, folding each passage into an earlier one that says the same.

        Candidates after the k-th fact are still walked, so that `also_in` is complete.
        """
        if not found:
            return []
        keys = np.array([c.key for c in found], dtype=np.int64)
        vectors = view.vectors(keys)
        prints: list[int] = view.fingerprints(keys).tolist()
        threshold = self.options.duplicate_cosine
        kept: list[tuple[int, float, list[int], float | None]] = []
        kept_prints: dict[int, int] = {}
        # Each candidate's highest cosine to a passage kept so far, and which (the first of
        # equals, as np.argmax picks): updated by one product per kept passage (k at most)
        # instead of three numpy calls per candidate, then read as Python lists.
        nearest = np.full(len(found), -np.inf, dtype=np.float32)
        nearest_kept = np.zeros(len(found), dtype=np.int64)
        nearest_cosines: list[float] = nearest.tolist()
        nearest_kept_rows: list[int] = nearest_kept.tolist()
        for row, candidate in enumerate(found):
            twin = kept_prints.get(prints[row])
            if twin is None and kept and nearest_cosines[row] >= threshold:
                twin = nearest_kept_rows[row]
            if twin is not None:
                kept[twin][2].append(candidate.key)
            elif len(kept) < k:
                kept_prints[prints[row]] = len(kept)
                cosine = float(vectors[row] @ query[0]) if query is not None else None
                kept.append((candidate.key, candidate.score, [], cosine))
                if threshold <= 1:
                    cosines = vectors @ vectors[row]
                    closer = cosines > nearest
                    nearest[closer] = cosines[closer]
                    nearest_kept[closer] = len(kept) - 1
                    nearest_cosines, nearest_kept_rows = nearest.tolist(), nearest_kept.tolist()
        wanted = [key for key, _, folded, _ in kept for key in (key, *folded)]
        resolved = dict(zip(wanted, view.passages(wanted), strict=True))
        hits = []
        for rank, (key, score, folded, cosine) in enumerate(kept, start=1):
            passage, document = resolved[key]
            also_in = tuple(resolved[f] for f in folded)
            hits.append(Hit(rank, score, passage, document, also_in, cosine))
        return hits

    # -- writing -------------------------------------------------------------------------

    def passages_for(
        self, document: Document, cleaned: CleanedText | None = None
    ) -> tuple[tuple[int, int], ...]:
        """Clean and chunk a document into passage spans (no embedding)."""
        if cleaned is None:
            cleaned = clean(document.text, publisher=document.publisher)
        spans = chunk(document.text, cleaned.blocks, self.embedder.count_tokens, self.params)
        return tuple((s.start, s.end) for s in spans)

    def upsert(
        self, documents: Sequence[Document], *, progress: bool = False
    ) -> list[IngestResult]:
        """Add new documents, replace changed ones; an unchanged text is not embedded again.
        Durable when it returns; the cost is that of these documents, not of the archive."""
        view = self.archive.view()
        results: list[IngestResult] = []
        versions: list[NewVersion] = []
        needs_vectors: list[bool] = []
        texts: list[str] = []
        for given in documents:
            cleaned = clean(given.text, publisher=given.publisher)
            document = _with_default_title(given, cleaned)
            existing = view.document(document.doc_id)
            if existing and existing.document.checksum == document.checksum:
                count = len(existing.passages)
                if existing.document == document:
                    results.append(IngestResult(document.doc_id, count, Change.UNCHANGED))
                    continue
                spans = tuple((p.start, p.end) for p in existing.passages)
                prints = np.array(
                    [fingerprint(existing.passage_text(p)) for p in existing.passages]
                )
                versions.append(NewVersion(document, spans, None, prints.astype(np.int64)))
                needs_vectors.append(False)
                results.append(IngestResult(document.doc_id, count, Change.METADATA_UPDATED))
                continue
            spans = self.passages_for(document, cleaned)
            passage_texts = [document.text[s:e] for s, e in spans]
            prints = np.array([fingerprint(t) for t in passage_texts], dtype=np.int64)
            versions.append(NewVersion(document, spans, None, prints))
            needs_vectors.append(True)
            texts += passage_texts
            change = Change.REPLACED if existing else Change.ADDED
            results.append(IngestResult(document.doc_id, len(spans), change))
        if not versions:
            return results
        vectors = self.embedder.embed(texts, progress=progress)
        offset = 0
        for i, (version, fresh) in enumerate(zip(versions, needs_vectors, strict=True)):
            if fresh:
                count = len(version.spans)
                versions[i] = replace(version, vectors=vectors[offset : offset + count])
                offset += count
        self.archive.write(self.info, versions)
        self.statements.replace([v.document for v in versions])
        return results

    def delete(self, doc_id: str) -> None:
        """Delete a document and its passages (durable when it returns)."""
        if self.archive.view().document(doc_id) is None:
            raise DocumentNotFoundError(doc_id)
        self.archive.write(self.info, (), [doc_id])
        self.statements.remove([doc_id])


@contextmanager
def temporary_index(config: IndexConfig, embedder: Embedder) -> Iterator[NewsIndex]:
    """An index in a temporary directory (or Milvus collections), closed and removed
    afterwards (evaluation, tests)."""
    with _temporary_config(config) as temporary:
        index = NewsIndex.open(temporary, embedder)
        try:
            yield index
        finally:
            index.close()


@contextmanager
def temporary_archive(config: IndexConfig, embedder: Embedder) -> Iterator[Archive]:
    """A bare archive of the configured backend, removed afterwards (benchmarks)."""
    with _temporary_config(config) as temporary:
        archive = temporary.open_archive(embedder.dimension, background=False)
        try:
            yield archive
        finally:
            archive.close()


@contextmanager
def _temporary_config(config: IndexConfig) -> Iterator[IndexConfig]:
    with tempfile.TemporaryDirectory(prefix="byline-index-") as directory:
        if config.backend != "milvus" or config.milvus is None:
            yield replace(config, index_dir=Path(directory))
            return
        from index.milvus_archive import drop_milvus_archive

        milvus = replace(
            config.milvus, collection=f"{config.milvus.collection}_tmp_{uuid4().hex[:8]}"
        )
        try:
            yield replace(config, index_dir=Path(directory), milvus=milvus)
        finally:
            drop_milvus_archive(milvus)


def _statements_file(config: IndexConfig) -> str:
    """The statement store's file: beside the embedded archive, or one per Milvus collection
    (a local, derived copy; each process reconciles it with the collection when it opens)."""
    if config.backend == "milvus" and config.milvus is not None:
        return f"statements-{config.milvus.collection}.sqlite"
    return "statements.sqlite"


def _with_recency(
    view: ArchiveView, found: list[Candidate], half_life_days: float, now: float
) -> list[Candidate]:
    """Scores scaled by 2^(-age / half-life); a passage without a date is not scaled."""
    if not found:
        return found
    published = view.published(np.array([c.key for c in found], dtype=np.int64))
    rescored = []
    for candidate, ts in zip(found, published.tolist(), strict=True):
        factor = 1.0 if ts < 0 else math.pow(0.5, max(0.0, now - ts) / _DAY / half_life_days)
        rescored.append(Candidate(candidate.key, candidate.score * factor))
    return sorted(rescored, key=lambda c: (-c.score, c.key))


def _by_date(view: ArchiveView, hits: list[Hit]) -> list[Hit]:
    """The same hits, newest first (undated last), ranks renumbered."""
    if not hits:
        return hits
    published = view.published(np.array([h.passage.key for h in hits], dtype=np.int64))
    order = sorted(range(len(hits)), key=lambda i: (-int(published[i]), hits[i].rank))
    return [replace(hits[i], rank=rank) for rank, i in enumerate(order, start=1)]


def _with_default_title(document: Document, cleaned: CleanedText) -> Document:
    """Use the article's own headline as its title when none was given."""
    if document.title or cleaned.title is None:
        return document
    return replace(document, title=document.text[cleaned.title[0] : cleaned.title[1]])
