"""What a search holds: the embedded archive at one sequence number.

A view is immutable: its vector snapshot, its keyword searcher and its sequence number
(which bounds the SQLite rows it reads) never change, so a search sees the archive before
or after each write, never between, and never waits for one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from index.archive import (
    Candidate,
    DocumentOrder,
    IndexedDocument,
    Keys,
    Passage,
    PublisherStats,
    SearchFilter,
    Vectors,
)
from index.archive_db import Reader
from index.documents import Document
from index.fusion import Fusion, Mode, fuse
from index.keywords import KeywordSearcher
from index.vectors import RowFilter, VectorSnapshot

PASSAGE_CACHE = 2048
"""Passages (with their documents) a view keeps after reading them: the same few passages
answer most searches, and reading them from SQLite was a fifth of a search's own Python time.
Bounded because each entry holds its document's text alive."""


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class EmbeddedView:
    """The archive at one sequence number; what a search holds from start to end."""

    reader: Reader
    rows: Callable[[SearchFilter | None], RowFilter | None]
    """The archive's translation of a filter into the vector table's codes."""
    seq: int
    snapshot: VectorSnapshot
    keywords: KeywordSearcher
    document_count: int
    _passages: dict[int, tuple[Passage, Document]] = field(
        default_factory=dict, init=False, repr=False
    )
    """Read passages by key. A key is never reused and its row never changes, and a write
    publishes a new view with an empty cache, so an entry is never stale."""

    @property
    def passage_count(self) -> int:
        return self.snapshot.live_count

    def search(
        self,
        query: str,
        vector: Vectors | None,
        mode: Mode,
        depth: int,
        search_filter: SearchFilter | None,
        fusion: Fusion,
    ) -> list[Candidate]:
        if search_filter is not None and search_filter.empty:
            search_filter = None
        dense: dict[int, float] = {}
        if vector is not None and mode != Mode.BM25:
            rows = self.rows(search_filter)
            scores, keys = self.snapshot.search(vector, depth, rows)
            dense = dict(zip(keys.tolist(), scores.tolist(), strict=True))
        lexical: dict[int, float] = {}
        if mode != Mode.DENSE:
            scores, keys = self.keywords.search(query, depth, search_filter)
            lexical = dict(zip(keys.tolist(), scores.tolist(), strict=True))
        fused = fuse(dense, lexical, fusion) if mode == Mode.HYBRID else dense or lexical
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
        return [Candidate(key, score) for key, score in ranked]

    def vectors(self, keys: Keys) -> Vectors:
        return self.snapshot.columns.vectors[self.snapshot.rows_of(keys)]

    def fingerprints(self, keys: Keys) -> Keys:
        return self.snapshot.columns.fingerprints[self.snapshot.rows_of(keys)]

    def published(self, keys: Keys) -> Keys:
        return self.snapshot.columns.published[self.snapshot.rows_of(keys)]

    def passages(self, keys: Sequence[int]) -> list[tuple[Passage, Document]]:
        cache = self._passages
        found = {}
        for key in keys:
            hit = cache.get(key)  # not `in` then `[]`: another search may clear it between
            if hit is not None:
                found[key] = hit
        missing = [key for key in keys if key not in found]
        if missing:
            read = dict(zip(missing, self.reader.read_passages(missing), strict=True))
            if len(cache) + len(read) > PASSAGE_CACHE:
                cache.clear()  # cheaper than an LRU's bookkeeping on every search, and rare
            cache.update(read)
            found.update(read)
        return [found[key] for key in keys]

    def document(self, doc_id: str) -> IndexedDocument | None:
        return self.reader.read_document(doc_id, self.seq)

    def documents(
        self,
        search_filter: SearchFilter | None = None,
        order: DocumentOrder = DocumentOrder.ID,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[IndexedDocument], int]:
        return self.reader.read_documents(self.seq, search_filter, order, limit, offset)

    def undated_documents(self) -> int:
        return self.reader.count_undated(self.seq)

    def checksums(self) -> dict[str, str]:
        return self.reader.read_checksums(self.seq)

    def with_checksum(self, checksum: str) -> str | None:
        return self.reader.find_checksum(self.seq, checksum)

    def publishers(self) -> list[PublisherStats]:
        return self.reader.read_publishers(self.seq)

    def knows(self, word: str) -> bool:
        return self.keywords.knows(word)
