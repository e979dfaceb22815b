"""What a search reads on the Milvus archive: the collections at consistency level Strong.

Not a snapshot, as the embedded view is (see `index/milvus_archive.py`): a search keeps only
passages of their document's current version, and searches again when a replacement lands
between its search and that check. Rows read for one search are kept for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

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
from index.config import MilvusConfig
from index.documents import Document
from index.errors import IndexCorruptError
from index.fusion import Fusion, Mode, fuse
from index.milvus_archive import MilvusArchive
from index.milvus_connection import casefold, ints, query_all, quote, strings
from index.milvus_rows import PASSAGE_FIELDS, passage_of
from index.milvus_schema import search_params

_SEARCH_ATTEMPTS = 3
"""Searches of one query when replacements keep landing between search and check."""


class MilvusView:
    """What a search reads: the Milvus collections, at consistency level Strong. Not a
    snapshot (see the module docstring); rows read for one search are kept for it."""

    def __init__(self, archive: MilvusArchive) -> None:
        self.archive = archive
        self.names = archive.names
        self._rows: dict[int, dict[str, Any]] = {}

    @property
    def document_count(self) -> int:
        with self.archive.engine():
            return self.archive.count(self.names.documents)

    @property
    def passage_count(self) -> int:
        with self.archive.engine():
            retiring = self.archive.retiring()
            expr = f"version not in {ints(retiring)}" if retiring else ""
            return self.archive.count(self.names.passages, expr)

    def _filter(self, search_filter: SearchFilter | None) -> str:
        """Passages in scope, without the versions being retired."""
        retiring = self.archive.retiring()
        clauses = [f"version not in {ints(retiring)}"] if retiring else []
        return _where([*clauses, *_scope(search_filter)])

    def search(
        self,
        query: str,
        vector: Vectors | None,
        mode: Mode,
        depth: int,
        search_filter: SearchFilter | None,
        fusion: Fusion,
    ) -> list[Candidate]:
        from pymilvus import AnnSearchRequest

        archive = self.archive
        fields = ["doc_id", "version"]
        dense = vector is not None and mode != Mode.BM25
        analyzed = archive.terms([query])[0] if mode != Mode.DENSE else ""
        keywords = bool(analyzed)
        if not dense and not keywords:
            return []
        current: list[Candidate] = []
        for _ in range(_SEARCH_ATTEMPTS):
            expr = self._filter(search_filter)  # versions retired meanwhile are left out
            dense_request = None
            if dense and vector is not None:
                dense_request = AnnSearchRequest(
                    data=[np.asarray(vector, np.float32).reshape(-1).tolist()],
                    anns_field="vector",
                    param=search_params(archive.config, depth),
                    limit=depth,
                    expr=expr,
                )
            keyword_request = AnnSearchRequest(
                data=[analyzed],
                anns_field="sparse",
                param={"metric_type": "BM25"},
                limit=depth,
                expr=expr,
            )
            with archive.engine():
                scored = self._routes(
                    mode, fusion, depth, expr, fields, dense_request, keyword_request, keywords
                )
                heads = archive._heads(sorted({str(h["entity"]["doc_id"]) for h, _ in scored}))
            # Only the current version of each document: never two versions in one answer.
            current = []
            found: set[str] = set()
            for hit, score in scored:
                doc_id = str(hit["entity"]["doc_id"])
                if heads.get(doc_id) == int(hit["entity"]["version"]):
                    current.append(Candidate(int(hit["key"]), score))
                    found.add(doc_id)
            # Rows of a document's older version only: a replacement landed between the
            # search and the look-up, and the document would be missing; search again.
            replaced = any(
                int(hit["entity"]["version"]) < heads.get(str(hit["entity"]["doc_id"]), 0)
                and str(hit["entity"]["doc_id"]) not in found
                for hit, _ in scored
            )
            if not replaced:
                break
        return sorted(current, key=lambda c: (-c.score, c.key))

    def _routes(
        self,
        mode: Mode,
        fusion: Fusion,
        depth: int,
        expr: str,
        fields: list[str],
        dense_request: Any,
        keyword_request: Any,
        keywords: bool,
    ) -> list[tuple[dict[str, Any], float]]:
        """The hits and scores of one search, fused in hybrid mode."""
        from pymilvus import RRFRanker, WeightedRanker

        archive = self.archive
        both = dense_request is not None and keywords and mode == Mode.HYBRID
        if both and (fusion.method == "rrf" or archive.config.server_weighted):
            ranker = (
                RRFRanker(fusion.rrf_k)
                if fusion.method == "rrf"
                else WeightedRanker(fusion.dense_weight, 1 - fusion.dense_weight)
            )
            found = archive.client.hybrid_search(
                self.names.passages,
                [dense_request, keyword_request],
                ranker,
                limit=depth,
                output_fields=fields,
            )
            scored = [(hit, float(hit["distance"])) for hit in found[0]]
        elif both and dense_request is not None:
            # Convex fusion as the embedded archive does it (min-max normalized scores):
            # Milvus's WeightedRanker normalizes with arctan, which ranks otherwise.
            dense_hits = self._search(dense_request, expr, depth, fields)
            keyword_hits = self._search(keyword_request, expr, depth, fields)
            hits = {int(h["key"]): h for h, _ in [*dense_hits, *keyword_hits]}
            fused = fuse(
                {int(h["key"]): s for h, s in dense_hits},
                {int(h["key"]): s for h, s in keyword_hits},
                fusion,
            )
            scored = [(hits[key], score) for key, score in fused.items()]
        else:
            request = dense_request if dense_request is not None else keyword_request
            scored = self._search(request, expr, depth, fields)
        return scored

    def _search(
        self, request: Any, expr: str, depth: int, fields: list[str]
    ) -> list[tuple[dict[str, Any], float]]:
        """One route's hits and scores, higher better."""
        found = self.archive.client.search(
            self.names.passages,
            data=request.data,
            anns_field=request.anns_field,
            search_params=request.param,
            limit=depth,
            filter=expr,
            output_fields=fields,
        )
        # BM25 scores are positive; Milvus Lite reports them negated, as distances.
        keyword = request.anns_field == "sparse"
        return [
            (hit, abs(float(hit["distance"])) if keyword else float(hit["distance"]))
            for hit in found[0]
        ]

    def _columns(self, keys: Keys) -> list[dict[str, Any]]:
        wanted = [int(k) for k in keys if int(k) not in self._rows]
        if wanted:
            with self.archive.engine():
                rows = query_all(
                    self.archive.client,
                    self.names.passages,
                    f"key in {ints(wanted)}",
                    [*PASSAGE_FIELDS, "vector", "fingerprint", "published", "dated"],
                    limit=len(wanted),
                )
            self._rows.update({int(r["key"]): r for r in rows})
        missing = [int(k) for k in keys if int(k) not in self._rows]
        if missing:
            raise IndexCorruptError(f"passages {missing[:5]} are missing from Milvus")
        return [self._rows[int(k)] for k in keys]

    def vectors(self, keys: Keys) -> Vectors:
        rows = self._columns(keys)
        return np.array([r["vector"] for r in rows], np.float32).reshape(-1, self.archive.dimension)

    def fingerprints(self, keys: Keys) -> Keys:
        return np.array([int(r["fingerprint"]) for r in self._columns(keys)], np.int64)

    def published(self, keys: Keys) -> Keys:
        return np.array(
            [int(r["published"]) if r["dated"] else -1 for r in self._columns(keys)], np.int64
        )

    def passages(self, keys: Sequence[int]) -> list[tuple[Passage, Document]]:
        """One query for the rows (none when folding already read them), one for the texts
        of versions not in the archive's cache."""
        if not keys:
            return []
        rows = self._columns(np.asarray(keys, np.int64))
        with self.archive.engine():
            documents = self.archive.documents_of(sorted({int(r["version"]) for r in rows}))
        missing = [int(r["key"]) for r in rows if int(r["version"]) not in documents]
        if missing:
            raise IndexCorruptError(f"passages {missing[:5]} have no document text in Milvus")
        return [(passage_of(r), documents[int(r["version"])]) for r in rows]

    def document(self, doc_id: str) -> IndexedDocument | None:
        archive = self.archive
        with archive.engine():
            version = archive._heads([doc_id]).get(doc_id)
            if version is None:
                return None
            document = archive.documents_of([version]).get(version)
            passages = archive.passages_of([version])[version]
        if document is None:
            return None  # replaced and removed between the two reads
        return IndexedDocument(document, passages)

    def _heads_where(self, search_filter: SearchFilter | None) -> str:
        return _where(_scope(search_filter))

    def documents(
        self,
        search_filter: SearchFilter | None = None,
        order: DocumentOrder = DocumentOrder.ID,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[IndexedDocument], int]:
        """Sorted here, not in Milvus (a query has no ORDER BY): one pass over the matching
        heads' ids and dates per page."""
        archive = self.archive
        with archive.engine():
            heads = query_all(
                archive.client,
                self.names.documents,
                self._heads_where(search_filter),
                ["doc_id", "version", "published", "dated"],
            )
        if order == DocumentOrder.ID:
            heads.sort(key=lambda h: str(h["doc_id"]))
        else:
            sign = -1 if order == DocumentOrder.NEWEST else 1
            heads.sort(key=lambda h: (not h["dated"], sign * int(h["published"]), str(h["doc_id"])))
        page = heads[offset : None if limit is None else offset + limit]
        versions = [int(h["version"]) for h in page]
        with archive.engine():
            documents = archive.documents_of(versions) if versions else {}
            passages = archive.passages_of(versions) if versions else {}
        listed = [IndexedDocument(documents[v], passages[v]) for v in versions if v in documents]
        return listed, len(heads)

    def undated_documents(self) -> int:
        with self.archive.engine():
            return self.archive.count(self.names.documents, "dated == false")

    def checksums(self) -> dict[str, str]:
        with self.archive.engine():
            heads = query_all(self.archive.client, self.names.documents, "", ["doc_id", "checksum"])
        return {str(h["doc_id"]): str(h["checksum"]) for h in heads}

    def with_checksum(self, checksum: str) -> str | None:
        with self.archive.engine():
            rows = query_all(
                self.archive.client,
                self.names.documents,
                f"checksum == {quote(checksum)}",
                ["doc_id"],
            )
        return min((str(r["doc_id"]) for r in rows), default=None)

    def publishers(self) -> list[PublisherStats]:
        with self.archive.engine():
            heads = query_all(
                self.archive.client,
                self.names.documents,
                'publisher != ""',
                ["publisher", "publisher_name", "published", "dated"],
            )
        groups: dict[str, list[dict[str, Any]]] = {}
        for head in heads:
            groups.setdefault(str(head["publisher"]), []).append(head)
        stats = []
        for rows in groups.values():
            names = Counter(str(r["publisher_name"]) for r in rows)
            name = min(names, key=lambda n: (-names[n], n))
            dates = [int(r["published"]) for r in rows if r["dated"]]
            stats.append(
                PublisherStats(name, len(rows), min(dates, default=None), max(dates, default=None))
            )
        return sorted(stats, key=lambda s: (-s.documents, s.name))

    def knows(self, word: str) -> bool:
        """Does a passage contain the word? A stop word, or no word at all, counts as known."""
        archive = self.archive
        terms = archive.terms([word])[0]
        if not terms:
            return True
        with archive.engine():
            found = archive.client.search(
                self.names.passages,
                data=[terms],
                anns_field="sparse",
                search_params={"metric_type": "BM25"},
                limit=1,
                output_fields=["key"],
            )
        return bool(found and found[0])


def _scope(search_filter: SearchFilter | None) -> list[str]:
    """A search filter as Milvus filter clauses; every user value is escaped (`quote`)."""
    if search_filter is None:
        return []
    clauses = []
    if search_filter.dated:
        clauses.append("dated == true")
    if search_filter.published_after is not None:
        clauses.append(f"published >= {int(search_filter.published_after)}")
    if search_filter.published_before is not None:
        clauses.append(f"published < {int(search_filter.published_before)}")
    if search_filter.publishers:
        names = {casefold(p) for p in search_filter.publishers}
        clauses.append(f"publisher in {strings(names)}")
    if search_filter.doc_ids:
        clauses.append(f"doc_id in {strings(search_filter.doc_ids)}")
    return clauses


def _where(clauses: list[str]) -> str:
    return " and ".join(f"({c})" for c in clauses)


def open_milvus_archive(config: MilvusConfig, dimension: int) -> MilvusArchive:
    """The Milvus archive described by `config` (collections created if there are none)."""
    return MilvusArchive(config, dimension, MilvusView)
