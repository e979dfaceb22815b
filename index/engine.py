"""The searchable news index: documents in, attributed passages out."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from index import persistence
from index.chunking import ChunkingParams, chunk
from index.cleaning import CLEANING_VERSION, CleanedText, clean, normalize_for_comparison
from index.documents import Document
from index.embedding import Embedder
from index.errors import DocumentNotFoundError, IndexCorruptError, IndexMismatchError
from index.fusion import Mode, convex_fusion, ranked, reciprocal_rank_fusion
from index.lexical import Bm25Index, Bm25Params
from index.persistence import Bm25Info, ChunkingInfo, Counts, Manifest, ModelInfo
from index.store import (
    FaissFlatStore,
    FaissIvfStore,
    StorePolicy,
    VectorStore,
    flat_contents,
    load_store,
)

log = logging.getLogger(__name__)

_DOCUMENTS_FILE = "documents.jsonl"


@dataclass(frozen=True, slots=True)
class Passage:
    """A span of one document's original text: `document.text[start:end]` is the passage."""

    doc_id: str
    ordinal: int
    start: int
    end: int

    @property
    def passage_id(self) -> str:
        return f"{self.doc_id}#{self.ordinal}"

    @property
    def key(self) -> int:
        """Stable 63-bit id of the passage in the vector store."""
        digest = hashlib.blake2b(self.passage_id.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    document: Document
    passages: tuple[Passage, ...]

    def passage_text(self, passage: Passage) -> str:
        return self.document.text[passage.start : passage.end]


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


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """How queries are answered; query-time only, so not part of the manifest."""

    mode: Mode = Mode.HYBRID
    fusion: str = "convex"
    """"convex" (weighted min-max normalized scores) or "rrf" (reciprocal rank fusion)."""
    dense_weight: float = 0.7
    """Tuned on the seed questions (news); SciFact train prefers 0.5 (see README)."""
    rrf_k: int = 60
    candidates: int = 100
    """Passages taken from each retriever before fusion and collapsing."""
    duplicate_cosine: float = 0.9
    """Passages whose vectors are at least this similar are one fact."""
    query_cache: int = 1024
    """Query embeddings kept for repeated queries (0: none)."""


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
    """Documents, their passages and their vectors, kept consistent with each other.

    Writes are serialized; a search never sees a write half-applied, because the expensive
    part of a write (cleaning, chunking, embedding) runs before it takes the state lock and
    the state change itself is a few dictionary and FAISS operations under that lock.
    """

    def __init__(
        self,
        embedder: Embedder,
        params: ChunkingParams,
        store: VectorStore | None = None,
        *,
        bm25: Bm25Params | None = None,
        options: SearchOptions | None = None,
        store_policy: StorePolicy | None = None,
    ) -> None:
        self.embedder = embedder
        self.params = params
        self.options = options or SearchOptions()
        self.store_policy = store_policy or StorePolicy()
        self._store: VectorStore = store or FaissFlatStore(embedder.dimension)
        self._lexical = Bm25Index(bm25)
        self._documents: dict[str, IndexedDocument] = {}
        self._by_key: dict[int, Passage] = {}
        self._comparable: dict[int, str] = {}
        self._write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    # -- reading -------------------------------------------------------------------------

    @property
    def document_count(self) -> int:
        return len(self._documents)

    @property
    def passage_count(self) -> int:
        return len(self._by_key)

    def documents(self) -> list[IndexedDocument]:
        """All documents, ordered by id."""
        with self._state_lock:
            return self._sorted_documents()

    def _sorted_documents(self) -> list[IndexedDocument]:
        return [self._documents[doc_id] for doc_id in sorted(self._documents)]

    def get(self, doc_id: str) -> IndexedDocument:
        try:
            return self._documents[doc_id]
        except KeyError:
            raise DocumentNotFoundError(doc_id) from None

    def search(self, query: str, k: int, mode: Mode | None = None) -> list[Hit]:
        """The `k` best passages for the query, best first, one per fact.

        Passages that say the same thing (equal after normalization, or vectors at least
        `duplicate_cosine` similar) are folded into the best of them before `k` is applied.
        """
        return self.search_many([query], k, mode)[0]

    def search_many(
        self, queries: Sequence[str], k: int, mode: Mode | None = None
    ) -> list[list[Hit]]:
        """`search` for several queries, their embeddings computed in one model call."""
        mode = mode or self.options.mode
        vectors = self.query_vectors(queries) if mode != Mode.BM25 else None
        with self._state_lock:
            return [
                self._search_one(query, None if vectors is None else vectors[i : i + 1], k, mode)
                for i, query in enumerate(queries)
            ]

    def query_vectors(self, queries: Sequence[str]) -> np.ndarray:
        """Query embeddings, from a small LRU cache where the same query was seen lately."""
        with self._cache_lock:
            cached = {q: self._query_cache[q] for q in queries if q in self._query_cache}
            for query in cached:
                self._query_cache.move_to_end(query)
        missing = list(dict.fromkeys(q for q in queries if q not in cached))
        if missing:
            fresh = self.embedder.embed(missing)
            with self._cache_lock:
                for query, vector in zip(missing, fresh, strict=True):
                    cached[query] = vector
                    if self.options.query_cache:
                        self._query_cache[query] = vector
                while len(self._query_cache) > self.options.query_cache:
                    self._query_cache.popitem(last=False)
        return np.vstack([cached[q] for q in queries])

    def _search_one(self, query: str, vector: np.ndarray | None, k: int, mode: Mode) -> list[Hit]:
        """One query's retrieval, fusion and folding; call with the state lock held."""
        if not self._by_key:
            return []
        depth = max(self.options.candidates, k)
        dense: dict[int, float] = {}
        if vector is not None:
            scores, keys = self._store.search(vector, depth)
            # FAISS pads with id -1 when it holds fewer than `depth` vectors.
            dense = {int(i): float(s) for s, i in zip(scores[0], keys[0], strict=True) if i >= 0}
        lexical: dict[int, float] = {}
        if mode != Mode.DENSE:
            scores, keys = self._lexical.search(query, depth)
            lexical = {int(i): float(s) for s, i in zip(scores, keys, strict=True)}
        fused = self._fuse(dense, lexical) if mode == Mode.HYBRID else dense or lexical
        return self._collapse(ranked(fused), vector, k)

    def _fuse(self, dense: dict[int, float], lexical: dict[int, float]) -> dict[int, float]:
        if self.options.fusion == "rrf":
            return reciprocal_rank_fusion(
                [[key for key, _ in ranked(dense)], [key for key, _ in ranked(lexical)]],
                self.options.rrf_k,
            )
        return convex_fusion(dense, lexical, self.options.dense_weight)

    def _collapse(
        self, candidates: list[tuple[int, float]], query: np.ndarray | None, k: int
    ) -> list[Hit]:
        """Walk the ranking, folding each passage into an earlier one that says the same.

        Candidates after the k-th fact are still walked, so that `also_in` is complete.
        """
        if not candidates:
            return []
        kept: list[tuple[int, float, list[int], float | None]] = []
        kept_rows: list[int] = []
        kept_texts: dict[str, int] = {}
        vectors = self._store.reconstruct(np.array([key for key, _ in candidates], dtype=np.int64))
        for row, (key, score) in enumerate(candidates):
            normalized = self._comparable_text(key)
            twin = kept_texts.get(normalized)
            if twin is None and kept_rows:
                similarity = vectors[kept_rows] @ vectors[row]
                best = int(np.argmax(similarity))
                if similarity[best] >= self.options.duplicate_cosine:
                    twin = best
            if twin is not None:
                kept[twin][2].append(key)
            elif len(kept) < k:
                kept_texts[normalized] = len(kept)
                cosine = float(vectors[row] @ query[0]) if query is not None else None
                kept.append((key, score, [], cosine))
                kept_rows.append(row)
        hits = []
        for rank, (key, score, folded, cosine) in enumerate(kept, start=1):
            passage = self._by_key[key]
            also_in = tuple((self._by_key[f], self._document_of(self._by_key[f])) for f in folded)
            hits.append(Hit(rank, score, passage, self._document_of(passage), also_in, cosine))
        return hits

    def _comparable_text(self, key: int) -> str:
        """The passage's text as duplicates are compared, computed once per passage."""
        normalized = self._comparable.get(key)
        if normalized is None:
            passage = self._by_key[key]
            normalized = normalize_for_comparison(
                self._documents[passage.doc_id].passage_text(passage)
            )
            self._comparable[key] = normalized
        return normalized

    def knows(self, word: str) -> bool:
        """Does any indexed passage contain this word (after stemming)?"""
        return self._lexical.knows(word)

    def _document_of(self, passage: Passage) -> Document:
        return self._documents[passage.doc_id].document

    # -- writing -------------------------------------------------------------------------

    def passages_for(
        self, document: Document, cleaned: CleanedText | None = None
    ) -> tuple[Passage, ...]:
        """Clean and chunk a document into passages (no embedding)."""
        if cleaned is None:
            cleaned = clean(document.text, publisher=document.publisher)
        spans = chunk(document.text, cleaned.blocks, self.embedder.count_tokens, self.params)
        return tuple(Passage(document.doc_id, i, s.start, s.end) for i, s in enumerate(spans))

    def upsert(
        self, documents: Sequence[Document], *, progress: bool = False
    ) -> list[IngestResult]:
        """Add new documents, replace changed ones; an unchanged text is not embedded again."""
        with self._write_lock:
            results: list[IngestResult] = []
            to_embed: list[IndexedDocument] = []
            metadata_only: list[IndexedDocument] = []
            for given in documents:
                cleaned = clean(given.text, publisher=given.publisher)
                document = _with_default_title(given, cleaned)
                existing = self._documents.get(document.doc_id)
                if existing and existing.document.checksum == document.checksum:
                    if existing.document == document:
                        results.append(
                            IngestResult(document.doc_id, len(existing.passages), Change.UNCHANGED)
                        )
                    else:
                        metadata_only.append(IndexedDocument(document, existing.passages))
                        results.append(
                            IngestResult(
                                document.doc_id, len(existing.passages), Change.METADATA_UPDATED
                            )
                        )
                    continue
                indexed = IndexedDocument(document, self.passages_for(document, cleaned))
                to_embed.append(indexed)
                change = Change.REPLACED if existing else Change.ADDED
                results.append(IngestResult(document.doc_id, len(indexed.passages), change))
            texts = [d.passage_text(p) for d in to_embed for p in d.passages]
            vectors = self.embedder.embed(texts, progress=progress)
            lexical = self._lexical
            if to_embed:
                replaced = {d.document.doc_id for d in to_embed}
                unchanged = [d for i, d in self._documents.items() if i not in replaced]
                lexical = self._build_lexical(unchanged + to_embed)
            with self._state_lock:
                for indexed in metadata_only:
                    self._documents[indexed.document.doc_id] = indexed
                offset = 0
                for indexed in to_embed:
                    count = len(indexed.passages)
                    self._replace(indexed, vectors[offset : offset + count])
                    offset += count
                self._lexical = lexical
                self._switch_store_if_due()
            return results

    def _switch_store_if_due(self) -> None:
        """Move from exact to IVF search when the policy says so; call under the state lock.

        Training takes seconds at a million passages, and happens once: later writes add to
        the trained lists.
        """
        store = self._store
        if isinstance(store, FaissFlatStore) and self.store_policy.wants_ivf(len(store)):
            ids, vectors = flat_contents(store)
            if len(ids):
                self._store = FaissIvfStore.build(ids, vectors, self.store_policy.nprobe)
                log.info(
                    "vector store: IVF with %d lists for %d passages (BYLINE_INDEX_KIND=%s)",
                    self._store.lists,
                    len(ids),
                    self.store_policy.kind,
                )

    def delete(self, doc_id: str) -> None:
        with self._write_lock:
            if doc_id not in self._documents:
                raise DocumentNotFoundError(doc_id)
            lexical = self._build_lexical([d for i, d in self._documents.items() if i != doc_id])
            with self._state_lock:
                self._drop_passages(self._documents.pop(doc_id))
                self._lexical = lexical

    def _build_lexical(self, documents: Sequence[IndexedDocument]) -> Bm25Index:
        """A BM25 index of these documents' passages, built outside the state lock."""
        lexical = Bm25Index(self._lexical.params)
        passages = [(d, p) for d in documents for p in d.passages]
        lexical.build([p.key for _, p in passages], [d.passage_text(p) for d, p in passages])
        return lexical

    def _replace(self, indexed: IndexedDocument, vectors: np.ndarray) -> None:
        existing = self._documents.get(indexed.document.doc_id)
        if existing is not None:
            self._drop_passages(existing)
        keys = np.array([p.key for p in indexed.passages], dtype=np.int64)
        for passage in indexed.passages:
            if passage.key in self._by_key:
                raise IndexCorruptError(f"passage id collision for {passage.passage_id}")
            self._by_key[passage.key] = passage
        self._store.add(keys, vectors)
        self._documents[indexed.document.doc_id] = indexed

    def _drop_passages(self, indexed: IndexedDocument) -> None:
        keys = np.array([p.key for p in indexed.passages], dtype=np.int64)
        self._store.remove(keys)
        for passage in indexed.passages:
            self._by_key.pop(passage.key, None)
            self._comparable.pop(passage.key, None)

    # -- persistence ---------------------------------------------------------------------

    def manifest(self) -> Manifest:
        """The manifest of the current state; call with the state lock held."""
        return Manifest(
            model=ModelInfo(
                id=self.embedder.model_id,
                dimension=self.embedder.dimension,
                max_tokens=self.embedder.max_tokens,
                precision=self.embedder.precision,
            ),
            chunking=ChunkingInfo(
                target_tokens=self.params.target_tokens,
                max_tokens=self.params.max_tokens,
                overlap_tokens=self.params.overlap_tokens,
                cleaning_version=CLEANING_VERSION,
            ),
            store=self._store.kind,
            bm25=Bm25Info(**asdict(self._lexical.params)),
            counts=Counts(documents=self.document_count, passages=self.passage_count),
            documents={d.document.doc_id: d.document.checksum for d in self._sorted_documents()},
        )

    def save(self, index_dir: Path) -> Path:
        """Persist atomically; returns the generation directory written."""
        with self._write_lock, self._state_lock:
            return persistence.write_generation(index_dir, self.manifest(), self._write_files)

    def _write_files(self, directory: Path) -> list[str]:
        names = self._store.save(directory) + self._lexical.save(directory)
        with (directory / _DOCUMENTS_FILE).open("w", encoding="utf-8") as f:
            for indexed in self._sorted_documents():
                record = {
                    "id": indexed.document.doc_id,
                    "text": indexed.document.text,
                    **indexed.document.metadata(),
                    "passages": [[p.start, p.end] for p in indexed.passages],
                }
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return [*names, _DOCUMENTS_FILE]

    @classmethod
    def load(
        cls,
        index_dir: Path,
        embedder: Embedder,
        params: ChunkingParams,
        *,
        bm25: Bm25Params | None = None,
        options: SearchOptions | None = None,
        store_policy: StorePolicy | None = None,
    ) -> NewsIndex:
        """Load a saved index, refusing one built with another model, chunking or BM25."""
        store_policy = store_policy or StorePolicy()
        bm25 = bm25 or Bm25Params()
        generation = persistence.live_generation(index_dir)
        manifest = persistence.read_manifest(generation)
        check_compatible(manifest, embedder, params, bm25, index_dir)
        persistence.verify_files(generation, manifest)
        store = load_store(manifest.store, generation, embedder.dimension, store_policy)
        index = cls(embedder, params, store, bm25=bm25, options=options, store_policy=store_policy)
        index._lexical = Bm25Index.load(generation, bm25)
        for line_number, record in enumerate(_read_jsonl(generation / _DOCUMENTS_FILE), start=1):
            document = Document(
                doc_id=record["id"],
                text=record["text"],
                **{k: record.get(k) for k in ("title", "publisher", "url", "published")},
            )
            passages = tuple(
                Passage(document.doc_id, i, start, end)
                for i, (start, end) in enumerate(record["passages"])
            )
            if manifest.documents.get(document.doc_id) != document.checksum:
                raise IndexCorruptError(
                    f"{generation / _DOCUMENTS_FILE}:{line_number}: document {document.doc_id!r} "
                    "does not match the manifest checksum"
                )
            index._documents[document.doc_id] = IndexedDocument(document, passages)
            index._by_key.update((p.key, p) for p in passages)
        if (
            len(index._documents) != manifest.counts.documents
            or len(index._store) != len(index._by_key)
            or len(index._lexical) != len(index._by_key)
        ):
            raise IndexCorruptError(
                f"{generation}: {len(index._documents)} documents and {len(index._store)} vectors "
                f"for {len(index._by_key)} passages do not match the manifest; rebuild the index"
            )
        index._switch_store_if_due()
        return index

    @classmethod
    def open(
        cls,
        index_dir: Path,
        embedder: Embedder,
        params: ChunkingParams,
        *,
        bm25: Bm25Params | None = None,
        options: SearchOptions | None = None,
        store_policy: StorePolicy | None = None,
    ) -> NewsIndex:
        """Load the index in `index_dir`, or start an empty one if there is none yet."""
        if persistence.index_exists(index_dir):
            return cls.load(
                index_dir, embedder, params, bm25=bm25, options=options, store_policy=store_policy
            )
        log.info("no index in %s yet; starting empty", index_dir)
        return cls(embedder, params, bm25=bm25, options=options, store_policy=store_policy)


def check_compatible(
    manifest: Manifest,
    embedder: Embedder,
    params: ChunkingParams,
    bm25: Bm25Params,
    index_dir: Path,
) -> None:
    """Refuse to mix an index with another model, dimension, chunking or BM25 setup."""
    rebuild = f"rebuild it with `byline index --rebuild --index-dir {index_dir}`"
    if manifest.model.id != embedder.model_id or manifest.model.dimension != embedder.dimension:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with model {manifest.model.id!r} "
            f"({manifest.model.dimension} dimensions), but the configured model is "
            f"{embedder.model_id!r} ({embedder.dimension} dimensions). Set "
            f"BYLINE_MODEL={manifest.model.id} to use it, or {rebuild}"
        )
    if manifest.model.precision.split("-")[0] != embedder.precision.split("-")[0]:
        # int8 vectors of different CPUs differ too, but too little to matter (see eval/).
        raise IndexMismatchError(
            f"the index in {index_dir} holds {manifest.model.precision} embeddings, but the "
            f"configured embedder makes {embedder.precision} ones. Set "
            f"BYLINE_EMBED_PRECISION={manifest.model.precision.split('-')[0]} to use it, "
            f"or {rebuild}"
        )
    expected = ChunkingInfo(
        target_tokens=params.target_tokens,
        max_tokens=params.max_tokens,
        overlap_tokens=params.overlap_tokens,
        cleaning_version=CLEANING_VERSION,
    )
    if manifest.chunking != expected:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with chunking {manifest.chunking.model_dump()}, "
            f"but this configuration uses {expected.model_dump()}; {rebuild}"
        )
    if manifest.bm25 != Bm25Info(**asdict(bm25)):
        raise IndexMismatchError(
            f"the index in {index_dir} was built with BM25 settings {manifest.bm25.model_dump()}, "
            f"but this configuration uses {asdict(bm25)}; {rebuild}"
        )


def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{path}: unreadable ({exc}); rebuild the index") from exc


def _with_default_title(document: Document, cleaned: CleanedText) -> Document:
    """Use the article's own headline as its title when none was given."""
    if document.title or cleaned.title is None:
        return document
    return replace(document, title=document.text[cleaned.title[0] : cleaned.title[1]])
