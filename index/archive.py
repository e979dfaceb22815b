"""Where the archive lives: the interface every storage backend implements.

The engine (`index/engine.py`) cleans, chunks and embeds; an `Archive` keeps documents,
passages, vectors and the keyword index, and answers searches. Two backends implement it:
the embedded one (`index/embedded.py`: SQLite rows, vectors in memory, tantivy for BM25)
and Milvus (`index/milvus_archive.py` + `milvus_view.py`).

The contract, whatever the backend:
- `write` commits one batch of document versions and deletions durably, then makes it
  visible; a crash before it returns loses the batch whole, never part of it.
- `view()` returns a consistent state: a search that holds a view sees the archive before or
  after each write, never between, and never waits for a write, a save or a compaction.
- Attribution is exact: `document.text[passage.start:passage.end]` is the passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from index.documents import Document
from index.errors import IndexMismatchError
from index.fusion import Fusion, Mode

Keys = NDArray[np.int64]
Vectors = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Passage:
    """A span of one document's original text: `document.text[start:end]` is the passage.

    `key` is the passage's id in the archive: unique for this version of the document, never
    reused after the passage is deleted or replaced.
    """

    doc_id: str
    ordinal: int
    start: int
    end: int
    key: int

    @property
    def passage_id(self) -> str:
        return f"{self.doc_id}#{self.ordinal}"


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    """One version of a document and its passages."""

    document: Document
    passages: tuple[Passage, ...]

    def passage_text(self, passage: Passage) -> str:
        return self.document.text[passage.start : passage.end]


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Which passages a search may return; applied before the top k is cut.

    Times are Unix seconds (UTC): `published_after` inclusive, `published_before` exclusive.
    A date bound excludes documents without a date.
    """

    published_after: int | None = None
    published_before: int | None = None
    publishers: frozenset[str] = frozenset()
    doc_ids: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return (
            self.published_after is None
            and self.published_before is None
            and not self.publishers
            and not self.doc_ids
        )

    @property
    def dated(self) -> bool:
        return self.published_after is not None or self.published_before is not None


class DocumentOrder(StrEnum):
    ID = "id"
    NEWEST = "newest"
    OLDEST = "oldest"


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A document to store, with its passages' spans and vectors.

    `vectors` is None when only the metadata changed: the text, and so the passages and their
    vectors, are those of the version stored now, which the archive copies.
    `fingerprints` identify each passage's normalized text, for folding duplicates.
    """

    document: Document
    spans: tuple[tuple[int, int], ...]
    vectors: Vectors | None
    fingerprints: Keys


class ArchiveInfo(BaseModel):
    """What the archive was built with; a mismatch with the configuration is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str
    dimension: int
    max_tokens: int
    precision: str
    target_tokens: int
    chunk_max_tokens: int
    overlap_tokens: int
    cleaning_version: int
    bm25_k1: float
    bm25_b: float
    bm25_stem: bool
    bm25_stopwords: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A passage a search found, with its fused score and its cosine to the query (if any)."""

    key: int
    score: float


@dataclass(frozen=True, slots=True)
class PublisherStats:
    name: str
    documents: int
    first_published: int | None
    last_published: int | None


@dataclass(slots=True)
class CompactionReport:
    passages_removed: int = 0
    documents_removed: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    seconds: float = 0.0
    vector_segments_rewritten: int = 0
    notes: list[str] = field(default_factory=list)


def _rebuild(where: str) -> str:
    return f"rebuild it with `byline index --rebuild --index-dir {where}`"


def check_model(stored: ArchiveInfo, model: str, where: str) -> None:
    """Refuse an archive built with another model; cheap enough to run before loading one."""
    if stored.model != model:
        raise IndexMismatchError(
            f"the index in {where} was built with model {stored.model!r}, but the configured "
            f"model is {model!r}. Set BYLINE_MODEL={stored.model} to use it, or {_rebuild(where)}"
        )


def check_compatible(stored: ArchiveInfo, configured: ArchiveInfo, where: str) -> None:
    """Refuse an archive built with another model, precision, chunking or BM25 setup; the
    message says what differs and how to resolve it."""
    family = {"precision": stored.precision.split("-")[0]}
    if stored.model_copy(update=family) == configured.model_copy(
        update={"precision": configured.precision.split("-")[0]}
    ):
        # int8 vectors of different CPUs differ too, but too little to matter; the family
        # ('int8r3' of 'int8r3-vnni') names the quantization recipe, which matters more.
        return
    rebuild = _rebuild(where)
    check_model(stored, configured.model, where)
    if stored.dimension != configured.dimension:
        raise IndexMismatchError(
            f"the index in {where} holds {stored.dimension}-dimensional vectors, but the "
            f"configured model makes {configured.dimension}; {rebuild}"
        )
    stored_family, configured_family = (
        info.precision.split("-")[0] for info in (stored, configured)
    )
    if stored_family != configured_family:
        if stored_family.startswith("int8") and configured_family.startswith("int8"):
            raise IndexMismatchError(
                f"the index in {where} holds {stored.precision} embeddings, from another int8 "
                f"quantization than the {configured.precision} this version makes; {rebuild}"
            )
        setting = "int8" if stored_family.startswith("int8") else stored_family
        raise IndexMismatchError(
            f"the index in {where} holds {stored.precision} embeddings, but the configured "
            f"embedder makes {configured.precision} ones. Set "
            f"BYLINE_EMBED_PRECISION={setting} to use it, or {rebuild}"
        )
    differing = {
        name: (getattr(stored, name), getattr(configured, name))
        for name in ArchiveInfo.model_fields
        if getattr(stored, name) != getattr(configured, name)
    }
    raise IndexMismatchError(
        f"the index in {where} was built with other chunking or BM25 settings "
        f"(stored, configured: {differing}); {rebuild}"
    )


class ArchiveView(Protocol):
    """One consistent state of the archive, for the length of a search or a listing."""

    @property
    def document_count(self) -> int: ...

    @property
    def passage_count(self) -> int: ...

    def search(
        self,
        query: str,
        vector: Vectors | None,
        mode: Mode,
        depth: int,
        search_filter: SearchFilter | None,
        fusion: Fusion,
    ) -> list[Candidate]:
        """Up to `depth` passages matching the filter, best first (fused in hybrid mode)."""
        ...

    def vectors(self, keys: Keys) -> Vectors:
        """The stored vectors of these passages, one row each."""
        ...

    def fingerprints(self, keys: Keys) -> Keys:
        """The normalized-text fingerprints of these passages."""
        ...

    def published(self, keys: Keys) -> Keys:
        """Each passage's document date in Unix seconds; -1 where it has none."""
        ...

    def passages(self, keys: Sequence[int]) -> list[tuple[Passage, Document]]:
        """These passages and the document version each belongs to, in the order given."""
        ...

    def document(self, doc_id: str) -> IndexedDocument | None: ...

    def documents(
        self,
        search_filter: SearchFilter | None = None,
        order: DocumentOrder = DocumentOrder.ID,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[IndexedDocument], int]:
        """A page of the current documents matching the filter, and how many match in all."""
        ...

    def undated_documents(self) -> int:
        """How many current documents have no publication date."""
        ...

    def checksums(self) -> dict[str, str]:
        """Every current document's id and text checksum (sha256), without their texts."""
        ...

    def with_checksum(self, checksum: str) -> str | None:
        """The id of a current document with exactly this text (sha256), if any: the same
        article reached by another URL."""
        ...

    def publishers(self) -> list[PublisherStats]: ...

    def knows(self, word: str) -> bool:
        """Does any passage contain this word (after the keyword index's stemming)?"""
        ...


class Archive(Protocol):
    """Durable storage of documents, passages, vectors and the keyword index."""

    @property
    def kind(self) -> str: ...

    def info(self) -> ArchiveInfo | None:
        """What the archive was built with, or None while it holds nothing."""
        ...

    def view(self) -> ArchiveView:
        """The latest committed state; cheap (a reference), safe to call per request."""
        ...

    def write(
        self, info: ArchiveInfo, versions: Sequence[NewVersion], deletions: Sequence[str] = ()
    ) -> None:
        """Store new document versions (replacing current ones) and delete documents, in one
        durable transaction; when it returns, the change is on disk and visible to views."""
        ...

    def compact(self) -> CompactionReport:
        """Reclaim what deleted and replaced passages hold, beside searches."""
        ...

    def disk_bytes(self) -> int: ...

    def close(self) -> None: ...
