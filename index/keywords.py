"""Keyword search: BM25 over passages with tantivy, updated in place, filters inside the query.

tantivy (the Rust engine behind Quickwit) keeps immutable segments with a deletes bitmap and
merges them in the background: a write is one small commit, never a rebuild, and a searcher
holds the segments it opened. Analysis is Byline's own, done in Python before tantivy sees
the text (bm25s's tokenizer, English stop words and the Snowball stemmer from PyStemmer), so
BM25 scores match the bm25s index Byline used before (Lucene's BM25, k1 1.2, b 0.75); tantivy
indexes the analysed tokens with its whitespace tokenizer.

The sequence number of the last write applied is kept in a marker document replaced in the
same commit, so after a crash the caller knows which writes to replay.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
import tantivy
from numpy.typing import NDArray

from index.archive import SearchFilter
from index.errors import IndexCorruptError
from index.files import directory_bytes

_MARKER = -1
"""The key of the document that records the last sequence applied."""
_WRITER_HEAP = 32_000_000
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class Bm25Params:
    """BM25 parameters and analysis; recorded in the archive so it is never mixed across them.

    tantivy's BM25 is Lucene's with k1 1.2 and b 0.75; other values are refused."""

    k1: float = 1.2
    b: float = 0.75
    stem: bool = True
    stopwords: str = "en"


@dataclass(frozen=True, slots=True)
class KeywordPassage:
    key: int
    doc_id: str
    text: str
    published: int | None
    publisher: str | None
    """Casefolded, as filters give it."""


_WORD = re.compile(r"(?u)\b\w\w+\b")
"""bm25s's (and scikit-learn's) token pattern: words of two or more word characters."""


class Analyzer:
    """Text to BM25 terms: lower case, words of two or more characters, no stop words,
    stemmed; the same for passages and queries.

    The terms are exactly `bm25s.tokenize`'s (tests/index/test_keywords.py compares them),
    made here because bm25s builds its stop-word set per text and three progress bars per
    call: a quarter of a hybrid search's own time besides the model, for one query.
    """

    def __init__(self, params: Bm25Params) -> None:
        self.params = params
        self._stemmer = Stemmer.Stemmer("english") if params.stem else None
        self._stopwords = frozenset(bm25s.tokenization._infer_stopwords(params.stopwords))

    def terms(self, texts: Sequence[str]) -> list[list[str]]:
        words = [
            [w for w in _WORD.findall(text.lower()) if w not in self._stopwords] for text in texts
        ]
        if self._stemmer is None:
            return words
        unique = list(dict.fromkeys(w for text in words for w in text))
        stems = dict(zip(unique, self._stemmer.stemWords(unique), strict=True))
        return [[stems[w] for w in text] for text in words]


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("key", stored=True, indexed=True, fast=True)
    builder.add_text_field("doc_id", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("publisher", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("published", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name="whitespace", index_option="freq")
    builder.add_integer_field("seq", stored=True)
    return builder.build()


class KeywordSearcher:
    """The keyword index as of one commit; later commits never change what it sees."""

    def __init__(
        self, searcher: tantivy.Searcher, schema: tantivy.Schema, analyzer: Analyzer
    ) -> None:
        self._searcher = searcher
        self._schema = schema
        self._analyzer = analyzer
        self._count = max(0, searcher.num_docs - 1)  # the marker document

    def __len__(self) -> int:
        return self._count

    def search(
        self, query: str, k: int, search_filter: SearchFilter | None = None
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """The best `k` (BM25 score, key), best first; only passages sharing a term."""
        terms = sorted(set(self._analyzer.terms([query])[0]))
        if not terms or not self._count:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        # Term queries, never tantivy's query parser: user text is never syntax.
        words = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "text", term, "freq"))
                for term in terms
            ]
        )
        clauses = [(tantivy.Occur.Must, words), *self._filters(search_filter)]
        found = self._searcher.search(
            tantivy.Query.boolean_query(clauses), limit=k, count=False
        ).hits
        if not found:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        keys = self._searcher.fast_field_values("key", [address for _, address in found])
        scores = np.array([score for score, _ in found], np.float32)
        return scores, np.array(keys, np.int64)

    def _filters(
        self, search_filter: SearchFilter | None
    ) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        if search_filter is None:
            return []
        found = []
        after, before = search_filter.published_after, search_filter.published_before
        if after is not None or before is not None:
            found.append(
                tantivy.Query.range_query(
                    self._schema,
                    "published",
                    tantivy.FieldType.Integer,
                    _I64_MIN if after is None else after,
                    _I64_MAX if before is None else before,
                    include_lower=True,
                    include_upper=before is None,
                )
            )
        if search_filter.publishers:
            found.append(
                tantivy.Query.term_set_query(
                    self._schema, "publisher", sorted(search_filter.publishers)
                )
            )
        if search_filter.doc_ids:
            found.append(
                tantivy.Query.term_set_query(self._schema, "doc_id", sorted(search_filter.doc_ids))
            )
        return [(tantivy.Occur.Must, q) for q in found]

    def knows(self, word: str) -> bool:
        """Does the word (analysed) occur in some passage? A stop word, or a word with no
        term, gives no evidence either way and counts as known."""
        terms = self._analyzer.terms([word])[0]
        if not terms:
            return True
        return any(self._searcher.doc_freq("text", term) > 0 for term in terms)


class KeywordIndex:
    """The tantivy index in `directory` (in memory when None); one writer, many searchers."""

    def __init__(self, directory: Path | None, params: Bm25Params) -> None:
        if (params.k1, params.b) != (1.2, 0.75):
            raise ValueError(
                f"BM25 k1={params.k1}, b={params.b}: tantivy scores with k1 1.2 and b 0.75 only; "
                "these are the values Byline indexes with"
            )
        self.params = params
        self.directory = directory
        self._schema = _schema()
        self._analyzer = Analyzer(params)
        try:
            if directory is None:
                self._index = tantivy.Index(self._schema)
            else:
                directory.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(self._schema, path=str(directory), reuse=True)
        except ValueError as exc:
            raise IndexCorruptError(
                f"{directory}: the keyword index cannot be opened ({exc}); delete the folder "
                "and it is rebuilt from the archive"
            ) from exc
        self._lock = threading.Lock()
        self._writer: tantivy.IndexWriter | None = None  # opened on the first write only
        self._index.reload()
        self._searcher = KeywordSearcher(self._index.searcher(), self._schema, self._analyzer)
        self._applied = self._read_seq()

    @property
    def applied_seq(self) -> int:
        return self._applied

    def _read_seq(self) -> int:
        searcher = self._index.searcher()
        marker = tantivy.Query.term_query(self._schema, "key", _MARKER)
        hits = searcher.search(marker, limit=1, count=False).hits
        if not hits:
            return 0
        return int(searcher.doc(hits[0][1])["seq"][0])

    def _writer_now(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
        return self._writer

    def apply(self, seq: int, removed: Sequence[int], added: Sequence[KeywordPassage]) -> None:
        """One commit: these keys deleted, these passages added, `seq` recorded."""
        with self._lock:
            writer = self._writer_now()
            for key in removed:
                writer.delete_documents_by_term("key", int(key))
            writer.delete_documents_by_term("key", _MARKER)
            terms = self._analyzer.terms([p.text for p in added]) if added else []
            for passage, tokens in zip(added, terms, strict=True):
                fields: dict[str, object] = {
                    "key": passage.key,
                    "doc_id": passage.doc_id,
                    "text": " ".join(tokens),
                }
                if passage.published is not None:
                    fields["published"] = passage.published
                if passage.publisher is not None:
                    fields["publisher"] = passage.publisher
                writer.add_document(tantivy.Document(**fields))
            writer.add_document(tantivy.Document(key=_MARKER, seq=seq))
            writer.commit()
            self._index.reload()
            self._searcher = KeywordSearcher(self._index.searcher(), self._schema, self._analyzer)
            self._applied = seq

    def searcher(self) -> KeywordSearcher:
        return self._searcher

    def clear(self) -> None:
        with self._lock:
            writer = self._writer_now()
            writer.delete_all_documents()
            writer.commit()
            self._index.reload()
            self._searcher = KeywordSearcher(self._index.searcher(), self._schema, self._analyzer)
            self._applied = 0

    def disk_bytes(self) -> int:
        if self.directory is None:
            return 0
        return directory_bytes(self.directory)

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.wait_merging_threads()
                self._writer = None
