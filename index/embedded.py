"""The embedded archive: SQLite rows are the truth, vectors live in memory, tantivy does BM25.

    index_dir/
      archive.sqlite     documents, passages (spans, fingerprints, where each vector is),
                         meta; WAL mode
      vectors/           the passages' vectors, append-only segment files (vector_files.py)
      keywords/          the tantivy index of passage texts, with the last sequence applied

A write appends its vectors (fsynced), then commits one SQLite transaction naming them
(durable when it returns: WAL with synchronous=FULL), then one tantivy commit, then
publishes a new view by reference. Every write has a sequence number; rows carry the
sequence that added and the one that deleted them, so a view of sequence S reads exactly
the rows live at S, and the keyword index, if a crash left it behind, replays the sequences
it missed at start-up (embedded_load.py, with the rest of what opening reads).

Heavy work (training IVF lists, merging new rows into them, compaction) runs on one
background thread over a snapshot and is published by one reference swap
(embedded_upkeep.py); searches never wait for it, and writes wait only for the swap.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.archive import (
    ArchiveInfo,
    CompactionReport,
    Keys,
    NewVersion,
    SearchFilter,
    Vectors,
    check_compatible,
)
from index.archive_db import (
    DATABASE,
    SCHEMA,
    Reader,
    connect,
    decode_info,
    encode_info,
    transaction,
)
from index.documents import published_timestamp
from index.embedded_load import (
    catch_up_keywords,
    load_columns,
    read_vectors,
    referenced_segments,
    saved_centroids,
)
from index.embedded_upkeep import CENTROIDS, Upkeep
from index.embedded_view import EmbeddedView
from index.errors import DocumentNotFoundError, IndexCorruptError
from index.files import directory_bytes
from index.keywords import Bm25Params, KeywordIndex, KeywordPassage
from index.vector_files import FOLDER as VECTORS
from index.vector_files import VectorFiles
from index.vectors import (
    NO_CODE,
    NO_DATE,
    NewRows,
    RowFilter,
    StorePolicy,
    VectorSnapshot,
)

log = logging.getLogger(__name__)

KEYWORDS = "keywords"


def remove_archive(directory: Path) -> None:
    """Delete the archive in `directory` (what `byline index --rebuild` starts from)."""
    import shutil

    for path in [directory / DATABASE, *directory.glob(f"{DATABASE}-*"), directory / CENTROIDS]:
        path.unlink(missing_ok=True)
    shutil.rmtree(directory / KEYWORDS, ignore_errors=True)
    shutil.rmtree(directory / VECTORS, ignore_errors=True)


class EmbeddedArchive(Upkeep):
    """The `Archive` in one directory on this machine (see the module docstring)."""

    kind = "embedded"

    def __init__(
        self,
        directory: Path,
        dimension: int,
        *,
        policy: StorePolicy | None = None,
        bm25: Bm25Params | None = None,
        background: bool = True,
    ) -> None:
        self.directory = directory
        self.dimension = dimension
        self.policy = policy or StorePolicy()
        directory.mkdir(parents=True, exist_ok=True)
        self._path = directory / DATABASE
        try:
            self._writer = connect(self._path)
            self._writer.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(
                f"{self._path}: the archive database cannot be read ({exc}); restore it from a "
                f"backup, or rebuild it with `byline index --rebuild --index-dir {directory}`"
            ) from exc
        self.reader = Reader(self._path)
        self._vectors = VectorFiles(directory, dimension)
        self._vectors.open(referenced_segments(self._writer))
        self._write_lock = threading.Lock()
        self._closed = False
        # Heavy upkeep (IVF training, merging, compaction) one at a time: each renumbers or
        # replaces what the next starts from.
        self._upkeep_lock = threading.Lock()
        self._publisher_codes: dict[str, int] = {}
        self._doc_codes: dict[str, int] = {}
        self._views: weakref.WeakSet[EmbeddedView] = weakref.WeakSet()
        self._info = self._read_info()
        self._seq = int(self._meta("seq") or 0)
        self._next_key = self._max_key() + 1
        self._keywords = KeywordIndex(directory / KEYWORDS, bm25 or Bm25Params())
        catch_up_keywords(self._writer, self._keywords, self._seq)
        self._view = self._load_view()
        # Upkeep requests: writes ask (`_requested += 1`), the worker records the request it
        # last finished (`_completed`); wait_idle waits for the worker to catch up.
        self._upkeep_state = threading.Condition()
        self._requested = 0
        self._completed = 0
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        if background:
            self._worker = threading.Thread(target=self._work, name="archive-upkeep", daemon=True)
            self._worker.start()
            self._request_upkeep()

    # -- Archive ------------------------------------------------------------------------

    def info(self) -> ArchiveInfo | None:
        return self._info

    def view(self) -> EmbeddedView:
        return self._view

    def write(
        self, info: ArchiveInfo, versions: Sequence[NewVersion], deletions: Sequence[str] = ()
    ) -> None:
        with self._write_lock:
            seq = self._seq + 1
            removed: list[int] = []
            added: list[KeywordPassage] = []
            new_rows: list[NewRows] = []
            documents = self._view.document_count
            with transaction(self._writer) as db:
                self._store_info(db, info)
                prepared = [self._prepare(db, version) for version in versions]
                matrices = [vectors for _, vectors, _ in prepared]
                segment, positions = self._vectors.append(
                    np.concatenate(matrices)
                    if matrices
                    else np.zeros((0, self.dimension), np.float32)
                )
                first = 0
                for version, (old, vectors, fingerprints) in zip(versions, prepared, strict=True):
                    where = positions[first : first + len(vectors)]
                    first += len(vectors)
                    replaced = self._insert(
                        db,
                        seq,
                        version,
                        old,
                        (vectors, fingerprints, segment, where),
                        added,
                        new_rows,
                    )
                    documents += 0 if replaced is not None else 1
                    removed += replaced or []
                for doc_id in deletions:
                    old = self._current_row(db, doc_id)
                    if old is None:
                        raise DocumentNotFoundError(doc_id)
                    removed += self._retire(db, seq, old)
                    documents -= 1
                db.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", (str(seq),))
            self._seq = seq
            self._keywords.apply(seq, removed, added)
            rows = _concat(new_rows, self.dimension)
            self._publish(self._view.snapshot.appended(rows, _keys(removed)), documents)
        self._request_upkeep()

    def compact(self) -> CompactionReport:
        """Drop deleted rows from the database and memory now (the upkeep thread does this
        by itself when they pass a share of the live ones)."""
        with self._upkeep_lock:
            return self._compact()

    def disk_bytes(self) -> int:
        return directory_bytes(self.directory)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._request_upkeep()
        if self._worker is not None:
            self._worker.join(timeout=120)
        self._keywords.close()
        self.reader.close()
        with self._write_lock:
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            self._writer.close()

    # -- writing ------------------------------------------------------------------------

    def _prepare(
        self, db: sqlite3.Connection, version: NewVersion
    ) -> tuple[int | None, Vectors, Keys]:
        """The row of the version this one replaces, and this one's vectors and fingerprints
        (a metadata-only change keeps the stored ones)."""
        document = version.document
        old = self._current_row(db, document.doc_id)
        vectors, fingerprints = version.vectors, version.fingerprints
        if old is not None and vectors is None:
            stored = db.execute(
                "SELECT seg, pos, fingerprint FROM passages WHERE doc_row = ? ORDER BY ordinal",
                (old,),
            ).fetchall()
            vectors = read_vectors(
                self._vectors,
                np.array([r[0] for r in stored], np.int64),
                np.array([r[1] for r in stored]),
            )
            fingerprints = np.array([r[2] for r in stored], np.int64)
        if vectors is None or len(vectors) != len(version.spans):
            raise ValueError(
                f"{document.doc_id}: vectors do not match its {len(version.spans)} passages"
            )
        return old, np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(fingerprints)

    def _insert(
        self,
        db: sqlite3.Connection,
        seq: int,
        version: NewVersion,
        old: int | None,
        stored: tuple[Vectors, Keys, int, Keys],
        added: list[KeywordPassage],
        new_rows: list[NewRows],
    ) -> list[int] | None:
        """Store one version whose vectors are at (segment, positions); the keys of the
        passages it replaces (None for a new id)."""
        document = version.document
        matrix, fingerprints, segment, positions = stored
        removed = None if old is None else self._retire(db, seq, old)
        published = published_timestamp(document.published)
        cursor = db.execute(
            "INSERT INTO documents (doc_id, text, checksum, title, publisher, publisher_key, url,"
            " published, published_ts, added_seq) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                document.doc_id,
                document.text,
                document.checksum,
                document.title,
                document.publisher,
                _casefold(document.publisher),
                document.url,
                document.published,
                published,
                seq,
            ),
        )
        doc_row = int(cursor.lastrowid or 0)
        first = self._next_key
        keys = np.arange(first, first + len(version.spans), dtype=np.int64)
        self._next_key += len(version.spans)
        db.executemany(
            "INSERT INTO passages (key, doc_row, ordinal, char_start, char_end, seg, pos, "
            "fingerprint, added_seq) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (int(key), doc_row, ordinal, start, end, segment, int(pos), int(fp), seq)
                for ordinal, (key, (start, end), pos, fp) in enumerate(
                    zip(keys, version.spans, positions, fingerprints, strict=True)
                )
            ],
        )
        publisher = _casefold(document.publisher)
        added.extend(
            KeywordPassage(
                int(key), document.doc_id, document.text[start:end], published, publisher
            )
            for key, (start, end) in zip(keys, version.spans, strict=True)
        )
        date = NO_DATE if published is None else published
        count = len(keys)
        new_rows.append(
            NewRows(
                keys=keys,
                vectors=matrix,
                fingerprints=np.asarray(fingerprints, np.int64),
                published=np.full(count, date, np.int64),
                publishers=np.full(count, self._publisher_code(document.publisher), np.int32),
                docs=np.full(count, self._doc_code(document.doc_id), np.int32),
            )
        )
        return removed

    def _retire(self, db: sqlite3.Connection, seq: int, doc_row: int) -> list[int]:
        """Mark a document version and its passages deleted as of `seq`; their keys."""
        db.execute("UPDATE documents SET deleted_seq = ? WHERE row = ?", (seq, doc_row))
        keys = [
            int(r[0]) for r in db.execute("SELECT key FROM passages WHERE doc_row = ?", (doc_row,))
        ]
        db.execute("UPDATE passages SET deleted_seq = ? WHERE doc_row = ?", (seq, doc_row))
        return keys

    def _current_row(self, db: sqlite3.Connection, doc_id: str) -> int | None:
        found = db.execute(
            "SELECT row FROM documents WHERE doc_id = ? AND deleted_seq IS NULL", (doc_id,)
        ).fetchone()
        return None if found is None else int(found[0])

    def _store_info(self, db: sqlite3.Connection, info: ArchiveInfo) -> None:
        if self._info is None:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('info', ?)", (encode_info(info),))
            self._info = info
        elif self._info != info:
            check_compatible(self._info, info, str(self.directory))

    def _publisher_code(self, publisher: str | None) -> int:
        key = _casefold(publisher)
        if key is None:
            return NO_CODE
        return self._publisher_codes.setdefault(key, len(self._publisher_codes))

    def _doc_code(self, doc_id: str) -> int:
        return self._doc_codes.setdefault(doc_id, len(self._doc_codes))

    def _publish(self, snapshot: VectorSnapshot, document_count: int) -> None:
        view = EmbeddedView(
            self.reader,
            self.row_filter,
            self._seq,
            snapshot,
            self._keywords.searcher(),
            document_count,
        )
        self._views.add(view)
        self._view = view  # the one reference searches read: the swap

    # -- reading ------------------------------------------------------------------------

    def row_filter(self, search_filter: SearchFilter | None) -> RowFilter | None:
        """A search filter in the vector table's terms (codes instead of names)."""
        if search_filter is None:
            return None
        publishers = docs = None
        if search_filter.publishers:
            codes = [self._publisher_codes.get(p) for p in search_filter.publishers]
            publishers = np.array([c for c in codes if c is not None], np.int32)
        if search_filter.doc_ids:
            codes = [self._doc_codes.get(d) for d in search_filter.doc_ids]
            docs = np.array([c for c in codes if c is not None], np.int32)
        return RowFilter(
            search_filter.published_after, search_filter.published_before, publishers, docs
        )

    # -- loading ------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._writer.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _read_info(self) -> ArchiveInfo | None:
        return decode_info(self._meta("info"), self._path)

    def _max_key(self) -> int:
        row = self._writer.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'passages'"
        ).fetchone()
        return 0 if row is None else int(row[0])

    def _load_view(self) -> EmbeddedView:
        """Every live passage's vector and filter columns into memory (no re-embedding)."""
        columns, documents = load_columns(
            self._writer, self._vectors, self._publisher_code, self._doc_code
        )
        n = columns.capacity
        snapshot = VectorSnapshot(columns, n, np.ones(n, np.bool_), n, nprobe=self.policy.nprobe)
        centroids = saved_centroids(self.directory / CENTROIDS, self.dimension)
        if centroids is not None and self.policy.kind != "flat" and n:
            started = time.perf_counter()
            snapshot = snapshot.with_centroids(centroids)
            log.info(
                "vector index: IVF with %d saved lists over %d passages [%.1f s]",
                len(centroids),
                n,
                time.perf_counter() - started,
            )
        view = EmbeddedView(
            self.reader, self.row_filter, self._seq, snapshot, self._keywords.searcher(), documents
        )
        self._views.add(view)
        return view


def _casefold(name: str | None) -> str | None:
    return name.strip().casefold() if name and name.strip() else None


def _keys(values: Sequence[int]) -> Keys:
    return np.asarray(values, dtype=np.int64)


def _concat(parts: Sequence[NewRows], dimension: int) -> NewRows:
    if not parts:
        empty = np.zeros(0, np.int64)
        return NewRows(
            empty,
            np.zeros((0, dimension), np.float32),
            empty,
            empty,
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
        )
    return NewRows(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in NewRows.__dataclass_fields__)
    )
