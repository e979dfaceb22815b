"""The Milvus archive: documents, passages, vectors and BM25 in a Milvus deployment.

Byline's process keeps the model and the HTTP service; everything that grows with the archive
lives in four collections (index/milvus_schema.py).

A write inserts the new versions' rows under new version ids, then flips the heads in one
upsert, then (a few seconds later, see `_RETIRE_AFTER`) deletes the replaced versions' rows.
Every read is at consistency level Strong, and a search keeps only passages of their
document's head version: so a search during a write sees each document before the write or
after it, never a mix of two versions. It is not a snapshot of the whole archive, as the
embedded view is: a search that runs while a batch of several documents is applied can see
the heads flipped and the deletions of the batch not yet applied (two requests). Listings
read the heads when they are called.

A crash (of Byline or of Milvus) during a write leaves a journal row naming the write's new
and old versions; the next write, compaction or start-up finishes it if the heads were
flipped, and removes its rows otherwise. Milvus makes a write durable when it returns
(Milvus Lite: its write-ahead log; a cluster: its message queue).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pymilvus  # noqa: F401 -- absent where Milvus is not installed: config.py says so

from index.archive import (
    ArchiveInfo,
    ArchiveView,
    CompactionReport,
    NewVersion,
    Passage,
    check_compatible,
)
from index.config import MilvusConfig
from index.documents import Document
from index.errors import DocumentNotFoundError, StoreUnavailableError
from index.keywords import Analyzer, Bm25Params
from index.milvus_connection import (
    ReloadingClient,
    connect,
    engine_errors,
    ints,
    query_all,
    quote,
    strings,
)
from index.milvus_rows import (
    PASSAGE_FIELDS,
    document_of,
    head_row,
    passage_of,
    passage_rows,
    text_rows,
)
from index.milvus_schema import (
    PAD_DIMENSION,
    VARCHAR_BYTES,
    CollectionNames,
    ensure_collections,
    manifest,
    read_manifest,
)

log = logging.getLogger(__name__)

_RETIRE_AFTER = 2.0
"""Seconds a replaced version's rows stay after the flip, so a search that found them just
before it can still read them; the version is excluded from searches meanwhile."""
_STALE_JOURNAL = 120.0
"""A journal row this old belongs to a write that died (writes take seconds)."""
_INSERT_BATCH = 500
_FLUSH_ROWS = 5_000
_STEP = 100
"""Documents per atomic step of a write: the journal row (a VARCHAR) must hold their heads."""


class _Versions:
    """Version ids: microseconds since 1970 and 10 random bits, so that several Byline
    processes writing to one collection never collide; increasing within a process."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            value = max((time.time_ns() // 1000) << 10 | secrets.randbits(10), self._last + 1)
            self._last = value
            return value


def drop_milvus_archive(config: MilvusConfig) -> None:
    """Drop the archive's collections (what `byline index --rebuild` starts from)."""
    client = connect(config)
    try:
        with engine_errors(config):
            for name in CollectionNames.of(config.collection).all():
                if client.has_collection(name):
                    client.drop_collection(name)
    finally:
        client.close()


class MilvusArchive:
    """The `Archive` in a Milvus deployment (see the module docstring)."""

    kind = "milvus"

    def __init__(
        self,
        config: MilvusConfig,
        dimension: int,
        make_view: Callable[[MilvusArchive], ArchiveView],
    ) -> None:
        """`make_view` is index/milvus_view.py's, which reads through this archive (the view
        module imports this one, never the reverse)."""
        self._make_view = make_view
        self.config = config
        self.dimension = dimension
        self.names = CollectionNames.of(config.collection)
        self.client = ReloadingClient(connect(config), self.names.all())
        self._write_lock = threading.Lock()
        self._versions = _Versions()
        self._documents: OrderedDict[int, Document] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Versions replaced by this process: (when, version); excluded from searches until
        # their rows are deleted.
        self._retiring: list[tuple[float, int]] = []
        self._unflushed = 0
        self._failed: set[str] = set()
        """Journal rows of this process's writes that failed half-way: finished first."""
        self._analyzer = Analyzer(Bm25Params())
        with self.engine():
            ensure_collections(self.client, self.names, config, dimension)
            self._info = read_manifest(self.client, self.names, config)
            self._recover(stale_only=True)

    # -- Archive ------------------------------------------------------------------------

    def info(self) -> ArchiveInfo | None:
        return self._info

    def view(self) -> ArchiveView:
        return self._make_view(self)

    def write(
        self, info: ArchiveInfo, versions: Sequence[NewVersion], deletions: Sequence[str] = ()
    ) -> None:
        """Applied in steps of at most `_STEP` documents, each atomic (its heads flip in one
        upsert); the HTTP API's batches are one step."""
        with self._write_lock, self.engine():
            self._store_info(info)
            self._recover(stale_only=True)
            self._retire(older_than=_RETIRE_AFTER)
            missing = set(deletions) - set(self._heads(sorted(set(deletions))))
            if missing:
                raise DocumentNotFoundError(sorted(missing)[0])
            for number, step in enumerate(_steps(versions)):
                self._write_step(step, deletions if number == 0 else ())

    def _write_step(self, versions: Sequence[NewVersion], deletions: Sequence[str]) -> None:
        ids = sorted({v.document.doc_id for v in versions} | set(deletions))
        heads = self._heads(ids)
        planned = [(self._versions.next(), v) for v in versions]
        name = f"write:{planned[0][0] if planned else self._versions.next()}"
        journal = {
            "started": time.time(),
            "new": [number for number, _ in planned],
            "old": sorted({heads[d] for d in ids if d in heads}),
            "heads": [head_row(number, v) for number, v in planned],
            "deletions": list(deletions),
        }
        self._put_meta(name, journal)
        self._failed.add(name)
        texts: list[dict[str, Any]] = []
        passages: list[dict[str, Any]] = []
        for number, version in planned:
            self._rows_of(number, version, heads.get(version.document.doc_id), texts, passages)
        for collection, rows in ((self.names.versions, texts), (self.names.passages, passages)):
            for first in range(0, len(rows), _INSERT_BATCH):
                self.client.insert(collection, rows[first : first + _INSERT_BATCH])
        self._apply(name, journal)
        self._failed.discard(name)
        self._unflushed += len(passages)
        if self._unflushed >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Seal what was written into indexed segments. A server seals segments by itself;
        Milvus Lite searches unsealed rows by brute force (BM25 in Python: seconds at 5,000
        rows), so the archive asks for it every `_FLUSH_ROWS` passages."""
        self.client.flush(self.names.passages)
        self._unflushed = 0

    def compact(self) -> CompactionReport:
        """Finish interrupted writes and delete replaced versions' rows now."""
        started = time.perf_counter()
        report = CompactionReport()
        with self._write_lock, self.engine():
            self._recover(stale_only=False)
            report.documents_removed = self._retire(older_than=0.0)
            self._flush()
            for name in self.names.all():
                self.client.compact(name)
        report.seconds = time.perf_counter() - started
        return report

    def disk_bytes(self) -> int:
        """Not known here: Milvus keeps the data (its own metrics report storage)."""
        return 0

    def close(self) -> None:
        try:
            with self._write_lock, self.engine():
                self._retire(older_than=0.0)
        except StoreUnavailableError as exc:
            log.warning("closing: replaced versions are left for the next start (%s)", exc)
        self.client.close()

    @contextmanager
    def engine(self) -> Iterator[None]:
        with engine_errors(self.config):
            yield

    # -- meta -----------------------------------------------------------------------------

    def _put_meta(self, name: str, value: dict[str, Any]) -> None:
        row = {"name": name, "value": json.dumps(value), "pad": [0.0] * PAD_DIMENSION}
        self.client.upsert(self.names.meta, [row])

    def _store_info(self, info: ArchiveInfo) -> None:
        if self._info is None:
            self._put_meta("info", manifest(info))
            self._info = info
        elif self._info != info:
            check_compatible(self._info, info, f"Milvus at {self.config.uri}")

    # -- writing --------------------------------------------------------------------------

    def _rows_of(
        self,
        number: int,
        version: NewVersion,
        current: int | None,
        texts: list[dict[str, Any]],
        passages: list[dict[str, Any]],
    ) -> None:
        """The new version's text and passage rows, under its own version id (invisible
        until its head flips)."""
        document = version.document
        vectors, fingerprints = version.vectors, version.fingerprints
        if vectors is None and current is not None:
            stored = query_all(
                self.client,
                self.names.passages,
                f"version == {current}",
                ["ordinal", "vector", "fingerprint"],
            )
            stored.sort(key=lambda r: int(r["ordinal"]))
            vectors = np.array([r["vector"] for r in stored], np.float32).reshape(
                -1, self.dimension
            )
            fingerprints = np.array([r["fingerprint"] for r in stored], np.int64)
        if vectors is None or len(vectors) != len(version.spans):
            raise ValueError(
                f"{document.doc_id}: vectors do not match its {len(version.spans)} passages"
            )
        texts.extend(text_rows(number, document))
        passages.extend(passage_rows(number, version, vectors, fingerprints, self.terms))

    def _apply(self, name: str, journal: dict[str, Any]) -> None:
        """Flip the heads (the commit), delete the batch's documents, retire old versions."""
        if journal["heads"]:
            self.client.upsert(self.names.documents, journal["heads"])
        if journal["deletions"]:
            self.client.delete(
                self.names.documents, filter=f"doc_id in {strings(journal['deletions'])}"
            )
        now = time.time()
        self._retiring += [(now, int(v)) for v in journal["old"]]
        # The old rows are deleted later (`_retire`); the journal row's job is done.
        self.client.delete(self.names.meta, filter=f"name == {quote(name)}")

    def _retire(self, older_than: float) -> int:
        """Delete the rows of versions replaced more than `older_than` seconds ago."""
        now = time.time()
        due = [v for when, v in self._retiring if now - when >= older_than]
        if not due:
            return 0
        self._delete_versions(due)
        done = set(due)
        self._retiring = [(w, v) for w, v in self._retiring if v not in done]
        return len(due)

    def _delete_versions(self, versions: Sequence[int]) -> None:
        for first in range(0, len(versions), 1000):
            batch = ints(versions[first : first + 1000])
            self.client.delete(self.names.passages, filter=f"version in {batch}")
            self.client.delete(self.names.versions, filter=f"version in {batch}")

    def _recover(self, *, stale_only: bool) -> None:
        """Finish or undo writes that died half-way: this process's failed ones, and any
        older than `_STALE_JOURNAL` (another process's, or one from before a crash)."""
        rows = query_all(self.client, self.names.meta, 'name like "write:%"', ["name", "value"])
        for row in rows:
            journal = json.loads(row["value"])
            age = time.time() - float(journal.get("started", 0))
            if stale_only and row["name"] not in self._failed and age < _STALE_JOURNAL:
                continue  # another process's write, still running
            new = [int(v) for v in journal["new"]]
            old = {int(v) for v in journal["old"]}
            docs = [h["doc_id"] for h in journal["heads"]] + journal["deletions"]
            heads = self._heads(docs)
            flipped = any(v in new for v in heads.values()) or not new
            if flipped:
                log.warning("finishing an interrupted write (%s)", row["name"])
                # Never over a later write of the same document.
                mine = set(new) | old
                journal["heads"] = [
                    h for h in journal["heads"] if heads.get(h["doc_id"], h["version"]) in mine
                ]
                journal["deletions"] = [d for d in journal["deletions"] if heads.get(d) in old]
                self._apply(row["name"], journal)
            else:
                log.warning("undoing an interrupted write (%s)", row["name"])
                self._delete_versions(new)
                self.client.delete(self.names.meta, filter=f"name == {quote(row['name'])}")
            self._failed.discard(row["name"])

    # -- reading --------------------------------------------------------------------------

    def _heads(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """The current version of each of these documents that exists."""
        if not doc_ids:
            return {}
        rows = query_all(
            self.client,
            self.names.documents,
            f"doc_id in {strings(doc_ids)}",
            ["doc_id", "version"],
            limit=len(doc_ids),
        )
        return {str(r["doc_id"]): int(r["version"]) for r in rows}

    def count(self, collection: str, expr: str = "") -> int:
        rows = self.client.query(collection, filter=expr, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def documents_of(self, versions: Sequence[int]) -> dict[int, Document]:
        """The document of each version (cached: a version never changes)."""
        found: dict[int, Document] = {}
        missing = []
        with self._cache_lock:
            for version in versions:
                cached = self._documents.get(version)
                if cached is None:
                    missing.append(version)
                else:
                    found[version] = cached
        if missing:
            rows = query_all(
                self.client,
                self.names.versions,
                f"version in {ints(missing)}",
                ["doc_id", "version", "part", "text", "meta"],
            )
            rows.sort(key=lambda r: (int(r["version"]), int(r["part"])))
            by_version: dict[int, list[dict[str, Any]]] = {}
            for row in rows:
                by_version.setdefault(int(row["version"]), []).append(row)
            with self._cache_lock:
                for version, parts in by_version.items():
                    document = document_of(parts)
                    found[version] = document
                    self._documents[version] = document
                    while len(self._documents) > 4096:
                        self._documents.popitem(last=False)
        return found

    def passages_of(self, versions: Sequence[int]) -> dict[int, tuple[Passage, ...]]:
        rows = query_all(
            self.client, self.names.passages, f"version in {ints(versions)}", PASSAGE_FIELDS
        )
        by_version: dict[int, list[Passage]] = {int(v): [] for v in versions}
        for row in rows:
            by_version[int(row["version"])].append(passage_of(row))
        return {v: tuple(sorted(ps, key=lambda p: p.ordinal)) for v, ps in by_version.items()}

    def retiring(self) -> list[int]:
        return [v for _, v in self._retiring]

    def terms(self, texts: Sequence[str]) -> list[str]:
        """Each text as the terms BM25 indexes, space-separated: Byline's own analysis (the
        embedded archive's), so that every deployment matches the same terms; Milvus's
        standard tokenizer then splits them on the spaces."""
        return [" ".join(words) for words in self._analyzer.terms(texts)]


def _steps(versions: Sequence[NewVersion]) -> list[list[NewVersion]]:
    """The write's versions in steps whose journal row fits a VARCHAR (at least one step)."""
    steps: list[list[NewVersion]] = [[]]
    size = 0
    for version in versions:
        document = version.document
        # A head row in JSON: its fixed part, and the publisher twice (escaped at worst).
        row = 400 + 2 * len(json.dumps(document.publisher or ""))
        if steps[-1] and (len(steps[-1]) >= _STEP or size + row > VARCHAR_BYTES // 2):
            steps.append([])
            size = 0
        steps[-1].append(version)
        size += row
    return steps
