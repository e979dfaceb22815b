"""The Milvus archive: documents, passages, vectors and BM25 in a Milvus deployment.

Byline's process keeps the model and the HTTP service; everything that grows with the archive
lives in four collections named after `BYLINE_MILVUS_COLLECTION` (prefix `P`):

    P_passages   one row per passage version: key (auto id), doc_id, version, ordinal,
                 char_start, char_end, the filter columns (publisher, published, dated, url),
                 fingerprint, the dense vector, and the passage's terms (analyzed by Byline
                 as for the embedded archive) with Milvus's BM25 function
    P_versions   the original text of each document version (in parts of at most 16,000
                 characters: a VARCHAR holds 65,535 bytes) and its metadata; never changed
    P_documents  one row per current document: its current version (the "head")
    P_meta       what the archive was built with (the manifest) and the write journal

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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
from index.documents import Document, published_timestamp
from index.errors import (
    DocumentNotFoundError,
    IndexCorruptError,
    IndexMismatchError,
    InvalidDocumentError,
    StoreUnavailableError,
)
from index.keywords import Analyzer, Bm25Params

log = logging.getLogger(__name__)

FORMAT = "byline-milvus"
FORMAT_VERSION = 1
_TEXT_PART = 16_000
"""Characters per stored text part: at most 4 UTF-8 bytes each, within a VARCHAR's 65,535."""
_VARCHAR = 65_535
_SHORT = 4_096
"""Bytes of a title, publisher or URL; a longer one is refused, not cut."""
_PAD = 2
"""Milvus wants a vector field in every collection; the bookkeeping ones carry a tiny one."""
_RETIRE_AFTER = 2.0
"""Seconds a replaced version's rows stay after the flip, so a search that found them just
before it can still read them; the version is excluded from searches meanwhile."""
_STALE_JOURNAL = 120.0
"""A journal row this old belongs to a write that died (writes take seconds)."""
_QUERY_BATCH = 4_000
_INSERT_BATCH = 500
_MAX = 16_384
_FLUSH_ROWS = 5_000
_STEP = 100
"""Documents per atomic step of a write: the journal row (a VARCHAR) must hold their heads."""
PASSAGE_FIELDS = ["key", "doc_id", "version", "ordinal", "char_start", "char_end"]


def quote(value: str) -> str:
    """A Milvus filter string literal; user text is never syntax (milvus-lite has no filter
    templates, so values are escaped rather than bound)."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def strings(values: Iterable[str]) -> str:
    return "[" + ",".join(quote(v) for v in sorted(values)) + "]"


def ints(values: Iterable[int]) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"


def casefold(name: str | None) -> str:
    return name.strip().casefold() if name and name.strip() else ""


def _fit(value: str | None, what: str, doc_id: str) -> str:
    text = value or ""
    if len(text.encode("utf-8")) > _SHORT:
        raise InvalidDocumentError(
            f"{doc_id}: the {what} is longer than {_SHORT} bytes, the most the Milvus archive keeps"
        )
    return text


def _keyword_text(text: str) -> str:
    """The passage text for BM25, cut to what a VARCHAR holds (attribution reads the document)."""
    data = text.encode("utf-8")
    return text if len(data) <= _VARCHAR else data[:_VARCHAR].decode("utf-8", "ignore")


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


@dataclass(frozen=True, slots=True)
class _Names:
    passages: str
    versions: str
    documents: str
    meta: str

    @classmethod
    def of(cls, prefix: str) -> _Names:
        return cls(
            f"{prefix}_passages", f"{prefix}_versions", f"{prefix}_documents", f"{prefix}_meta"
        )

    def all(self) -> list[str]:
        return [self.passages, self.versions, self.documents, self.meta]


def drop_milvus_archive(config: MilvusConfig) -> None:
    """Drop the archive's collections (what `byline index --rebuild` starts from)."""
    client = _connect(config)
    try:
        with _engine(config):
            for name in _Names.of(config.collection).all():
                if client.has_collection(name):
                    client.drop_collection(name)
    finally:
        client.close()


def _connect(config: MilvusConfig) -> Any:
    from pymilvus import MilvusClient

    with _engine(config):
        return MilvusClient(
            uri=config.uri,
            token=config.token or "",
            db_name=config.db_name or "",
            timeout=config.timeout_seconds,
        )


_NOT_LOADED = 101


class _Reloading:
    """The Milvus client, loading the collections again when a restarted server has released
    them (Milvus Lite does not remember what was loaded; a cluster does) and retrying once."""

    def __init__(self, client: Any, collections: list[str]) -> None:
        self._client = client
        self._collections = collections

    def __getattr__(self, name: str) -> Any:
        from pymilvus.exceptions import MilvusException

        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except MilvusException as exc:
                if exc.code != _NOT_LOADED:
                    raise
                log.warning("Milvus released the collections (a restart?): loading them again")
                for collection in self._collections:
                    self._client.load_collection(collection)
                return method(*args, **kwargs)

        return call


@contextmanager
def _engine(config: MilvusConfig) -> Iterator[None]:
    """Errors of the engine or the network, as a 503 that names the setting to check."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise StoreUnavailableError(
            f"Milvus at {config.uri} failed: {exc.message} (code {exc.code}); check that it "
            "runs and that BYLINE_MILVUS_URI (and BYLINE_MILVUS_TOKEN, BYLINE_MILVUS_DB) "
            "point to it"
        ) from exc
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise StoreUnavailableError(
            f"Milvus at {config.uri} cannot be reached ({exc}); check that it runs and that "
            "BYLINE_MILVUS_URI points to it"
        ) from exc


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
        self.names = _Names.of(config.collection)
        self.client = _Reloading(_connect(config), self.names.all())
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
            self._create()
            self._info = self._read_info()
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
            "heads": [self._head_row(number, v) for number, v in planned],
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
        with _engine(self.config):
            yield

    # -- collections ----------------------------------------------------------------------

    def _create(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        existing = set(self.client.list_collections())
        if self.names.passages in existing:
            self._check_schema()
        for name in self.names.all():
            if name in existing:
                self.client.load_collection(name)
                continue
            schema = self.client.create_schema(auto_id=name == self.names.passages)
            index = self.client.prepare_index_params()
            if name == self.names.passages:
                schema.add_field("key", DataType.INT64, is_primary=True)
                schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
                schema.add_field("version", DataType.INT64)
                schema.add_field("published", DataType.INT64)
                schema.add_field("dated", DataType.BOOL)
                schema.add_field("ordinal", DataType.INT64)
                schema.add_field("char_start", DataType.INT64)
                schema.add_field("char_end", DataType.INT64)
                schema.add_field("publisher", DataType.VARCHAR, max_length=_SHORT)
                schema.add_field("url", DataType.VARCHAR, max_length=_SHORT)
                schema.add_field("fingerprint", DataType.INT64)
                schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
                schema.add_field(
                    "text",
                    DataType.VARCHAR,
                    max_length=_VARCHAR,
                    enable_analyzer=True,
                    analyzer_params=ANALYZER,
                )
                schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
                schema.add_function(
                    Function(
                        name="bm25",
                        function_type=FunctionType.BM25,
                        input_field_names=["text"],
                        output_field_names=["sparse"],
                    )
                )
                index.add_index("vector", **self._vector_index())
                index.add_index(
                    "sparse",
                    index_type="SPARSE_INVERTED_INDEX",
                    metric_type="BM25",
                    params={"bm25_k1": 1.2, "bm25_b": 0.75},
                )
            else:
                if name == self.names.versions:
                    schema.add_field("part_id", DataType.VARCHAR, is_primary=True, max_length=64)
                    schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
                    schema.add_field("version", DataType.INT64)
                    schema.add_field("part", DataType.INT64)
                    schema.add_field("parts", DataType.INT64)
                    schema.add_field("text", DataType.VARCHAR, max_length=_VARCHAR)
                    schema.add_field("meta", DataType.VARCHAR, max_length=_VARCHAR)
                elif name == self.names.documents:
                    schema.add_field("doc_id", DataType.VARCHAR, is_primary=True, max_length=256)
                    schema.add_field("version", DataType.INT64)
                    schema.add_field("checksum", DataType.VARCHAR, max_length=64)
                    schema.add_field("publisher", DataType.VARCHAR, max_length=_SHORT)
                    schema.add_field("publisher_name", DataType.VARCHAR, max_length=_SHORT)
                    schema.add_field("published", DataType.INT64)
                    schema.add_field("dated", DataType.BOOL)
                else:
                    schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=256)
                    schema.add_field("value", DataType.VARCHAR, max_length=_VARCHAR)
                schema.add_field("pad", DataType.FLOAT_VECTOR, dim=_PAD)
                index.add_index("pad", index_type="FLAT", metric_type="L2")
            self.client.create_collection(
                name, schema=schema, index_params=index, consistency_level="Strong"
            )

    def _vector_index(self) -> dict[str, Any]:
        kind = self.config.index_type.upper()
        params: dict[str, Any] = {}
        if kind == "HNSW":
            params = {"M": 16, "efConstruction": 200}
        elif kind.startswith("IVF"):
            params = {"nlist": 1024}
        return {"index_type": kind, "metric_type": "IP", "params": params}

    def _search_params(self, depth: int) -> dict[str, Any]:
        kind = self.config.index_type.upper()
        if kind == "HNSW":
            return {"metric_type": "IP", "params": {"ef": max(2 * depth, 200)}}
        if kind.startswith("IVF"):
            return {"metric_type": "IP", "params": {"nprobe": 32}}
        return {"metric_type": "IP"}

    def _check_schema(self) -> None:
        described = self.client.describe_collection(self.names.passages)
        for field in described.get("fields", []):
            if field.get("name") == "vector":
                dim = int(field.get("params", {}).get("dim", 0))
                if dim != self.dimension:
                    raise IndexMismatchError(
                        f"the Milvus collection {self.names.passages} at {self.config.uri} holds "
                        f"{dim}-dimensional vectors, but the configured model makes "
                        f"{self.dimension}; set BYLINE_MILVUS_COLLECTION to another name, or "
                        "rebuild it with `byline index --rebuild`"
                    )

    # -- meta -----------------------------------------------------------------------------

    def _put_meta(self, name: str, value: dict[str, Any]) -> None:
        self.client.upsert(
            self.names.meta, [{"name": name, "value": json.dumps(value), "pad": [0.0] * _PAD}]
        )

    def _read_info(self) -> ArchiveInfo | None:
        rows = self.client.query(
            self.names.meta, filter=f"name == {quote('info')}", output_fields=["value"]
        )
        if not rows:
            return None
        try:
            data = json.loads(rows[0]["value"])
            version = data.pop("format_version", None)
            data.pop("format", None)
            if version != FORMAT_VERSION:
                raise IndexCorruptError(
                    f"the Milvus archive {self.config.collection} at {self.config.uri} has format "
                    f"version {version}; this Byline reads {FORMAT_VERSION}. Rebuild it with "
                    "`byline index --rebuild`, or set BYLINE_MILVUS_COLLECTION to another name"
                )
            return ArchiveInfo.model_validate(data)
        except (json.JSONDecodeError, ValueError) as exc:
            raise IndexCorruptError(
                f"the Milvus archive {self.config.collection}: unreadable manifest ({exc})"
            ) from exc

    def _store_info(self, info: ArchiveInfo) -> None:
        if self._info is None:
            self._put_meta(
                "info", {"format": FORMAT, "format_version": FORMAT_VERSION, **info.model_dump()}
            )
            self._info = info
        elif self._info != info:
            check_compatible(self._info, info, f"Milvus at {self.config.uri}")

    # -- writing --------------------------------------------------------------------------

    def _head_row(self, number: int, version: NewVersion) -> dict[str, Any]:
        document = version.document
        published = published_timestamp(document.published)
        return {
            "doc_id": document.doc_id,
            "version": number,
            "checksum": document.checksum,
            "publisher": _fit(casefold(document.publisher), "publisher", document.doc_id),
            "publisher_name": _fit(document.publisher, "publisher", document.doc_id),
            "published": -1 if published is None else published,
            "dated": published is not None,
            "pad": [0.0] * _PAD,
        }

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
            stored = self._rows(
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
        meta = json.dumps(document.metadata())
        text = document.text
        parts = [text[i : i + _TEXT_PART] for i in range(0, len(text), _TEXT_PART)] or [""]
        texts.extend(
            [
                {
                    "part_id": f"{number}:{i}",
                    "doc_id": document.doc_id,
                    "version": number,
                    "part": i,
                    "parts": len(parts),
                    "text": part,
                    "meta": meta if i == 0 else "",
                    "pad": [0.0] * _PAD,
                }
                for i, part in enumerate(parts)
            ]
        )
        published = published_timestamp(document.published)
        common = {
            "doc_id": document.doc_id,
            "version": number,
            "published": -1 if published is None else published,
            "dated": published is not None,
            "publisher": _fit(casefold(document.publisher), "publisher", document.doc_id),
            "url": _fit(document.url, "url", document.doc_id),
        }
        _fit(document.title, "title", document.doc_id)
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        terms = self.terms([text[start:end] for start, end in version.spans])
        passages.extend(
            {
                **common,
                "ordinal": ordinal,
                "char_start": start,
                "char_end": end,
                "fingerprint": int(fp),
                "vector": matrix[ordinal].tolist(),
                "text": _keyword_text(words),
            }
            for ordinal, ((start, end), fp, words) in enumerate(
                zip(version.spans, fingerprints, terms, strict=True)
            )
        )

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
        rows = self._rows(self.names.meta, 'name like "write:%"', ["name", "value"])
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

    def _rows(
        self, collection: str, expr: str, fields: list[str], limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Every row matching `expr` (a query returns at most 16,384: more through an
        iterator, which Milvus Lite cannot pin to one timestamp)."""
        found = list(
            self.client.query(
                collection, filter=expr, output_fields=fields, limit=min(limit or _MAX, _MAX)
            )
        )
        if len(found) < _MAX or (limit is not None and limit <= _MAX):
            return found
        iterator = self.client.query_iterator(
            collection, batch_size=_QUERY_BATCH, filter=expr, output_fields=fields
        )
        found = []
        try:
            while batch := iterator.next():
                found += batch
        finally:
            iterator.close()
        return found

    def _heads(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """The current version of each of these documents that exists."""
        if not doc_ids:
            return {}
        rows = self._rows(
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
            rows = self._rows(
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
                    meta = json.loads(parts[0]["meta"])
                    document = Document(
                        doc_id=str(parts[0]["doc_id"]),
                        text="".join(str(p["text"]) for p in parts),
                        **meta,
                    )
                    found[version] = document
                    self._documents[version] = document
                    while len(self._documents) > 4096:
                        self._documents.popitem(last=False)
        return found

    def passages_of(self, versions: Sequence[int]) -> dict[int, tuple[Passage, ...]]:
        rows = self._rows(self.names.passages, f"version in {ints(versions)}", PASSAGE_FIELDS)
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
        if steps[-1] and (len(steps[-1]) >= _STEP or size + row > _VARCHAR // 2):
            steps.append([])
            size = 0
        steps[-1].append(version)
        size += row
    return steps


def passage_of(row: dict[str, Any]) -> Passage:
    return Passage(
        str(row["doc_id"]),
        int(row["ordinal"]),
        int(row["char_start"]),
        int(row["char_end"]),
        int(row["key"]),
    )


ANALYZER: dict[str, Any] = {
    # The text arrives analyzed (lower case, no stop words, stemmed: `MilvusArchive.terms`):
    # Milvus Lite knows only the standard tokenizer, without the english analyzer's stemmer.
    "tokenizer": "standard",
    "filter": ["lowercase"],
}
