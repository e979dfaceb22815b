"""The embedded archive: SQLite rows are the truth, vectors live in memory, tantivy does BM25.

    index_dir/
      archive.sqlite     documents, passages (spans, vectors, fingerprints), meta; WAL mode
      keywords/          the tantivy index of passage texts, with the last sequence applied

A write is one SQLite transaction (durable when it returns: WAL with synchronous=FULL), then
one tantivy commit, then a new view published by reference. Every write has a sequence
number; rows carry the sequence that added and the one that deleted them, so a view of
sequence S reads exactly the rows live at S, and the keyword index, if a crash left it
behind, replays the sequences it missed at start-up.

Heavy work (training IVF lists, merging new rows into them, compaction) runs on one
background thread over a snapshot and is published by one reference swap; searches never
wait for it, and writes wait only for the swap.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import replace
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
from index.embedded_view import EmbeddedView
from index.errors import DocumentNotFoundError, IndexCorruptError
from index.files import directory_bytes
from index.keywords import Bm25Params, KeywordIndex, KeywordPassage
from index.vectors import (
    NO_CODE,
    NO_DATE,
    Columns,
    NewRows,
    RowFilter,
    StorePolicy,
    VectorSnapshot,
)

log = logging.getLogger(__name__)

KEYWORDS = "keywords"
CENTROIDS = "ivf-centroids.npy"
"""The trained IVF centroids; each passage's list is in `passages.list_no`. Written after
the lists, so a crash between the two leaves no file and the next start trains again."""
_LIST_BATCH = 20_000
_LOAD_BATCH = 20_000


def remove_archive(directory: Path) -> None:
    """Delete the archive in `directory` (what `byline index --rebuild` starts from)."""
    import shutil

    for path in [directory / DATABASE, *directory.glob(f"{DATABASE}-*"), directory / CENTROIDS]:
        path.unlink(missing_ok=True)
    shutil.rmtree(directory / KEYWORDS, ignore_errors=True)


_COMPACT_WHEN_DEAD = 0.15
"""Compact when deleted passages exceed this share of the live ones: disk stays within
1.3x of the live data (SQLite's freed pages are returned by incremental vacuum)."""


class EmbeddedArchive:
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
            self._writer.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes on a new file
            self._writer.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(
                f"{self._path}: the archive database cannot be read ({exc}); restore it from a "
                f"backup, or rebuild it with `byline index --rebuild --index-dir {directory}`"
            ) from exc
        self.reader = Reader(self._path)
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
        self._catch_up_keywords()
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
                for version in versions:
                    replaced = self._insert(db, seq, version, added, new_rows)
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

    def wait_idle(self, timeout: float = 120) -> bool:
        """Block until background upkeep has caught up with every write so far (for tests
        and benchmarks); False on time-out."""
        if self._worker is None:
            return True  # no background upkeep: nothing to wait for
        with self._upkeep_state:
            target = self._requested
            return self._upkeep_state.wait_for(lambda: self._completed >= target, timeout)

    def _request_upkeep(self) -> None:
        with self._upkeep_state:
            self._requested += 1
            self._upkeep_state.notify_all()

    # -- writing ------------------------------------------------------------------------

    def _insert(
        self,
        db: sqlite3.Connection,
        seq: int,
        version: NewVersion,
        added: list[KeywordPassage],
        new_rows: list[NewRows],
    ) -> list[int] | None:
        """Store one version; the keys of the passages it replaces (None for a new id)."""
        document = version.document
        old = self._current_row(db, document.doc_id)
        removed: list[int] | None = None
        vectors = version.vectors
        fingerprints = version.fingerprints
        if old is not None:
            if vectors is None:
                stored = db.execute(
                    "SELECT vector, fingerprint FROM passages WHERE doc_row = ? ORDER BY ordinal",
                    (old,),
                ).fetchall()
                vectors = _vectors([r[0] for r in stored], self.dimension)
                fingerprints = np.array([r[1] for r in stored], np.int64)
            removed = self._retire(db, seq, old)
        if vectors is None or len(vectors) != len(version.spans):
            raise ValueError(
                f"{document.doc_id}: vectors do not match its {len(version.spans)} passages"
            )
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
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        db.executemany(
            "INSERT INTO passages (key, doc_row, ordinal, char_start, char_end, vector, "
            "fingerprint, added_seq) VALUES (?,?,?,?,?,?,?,?)",
            [
                (int(key), doc_row, ordinal, start, end, matrix[ordinal].tobytes(), int(fp), seq)
                for ordinal, (key, (start, end), fp) in enumerate(
                    zip(keys, version.spans, fingerprints, strict=True)
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

    def _catch_up_keywords(self) -> None:
        """Replay into the keyword index the writes a crash kept from it."""
        applied = self._keywords.applied_seq
        if applied == self._seq:
            return
        if applied > self._seq:
            log.warning(
                "keyword index is ahead of the database (%d > %d): rebuilding it",
                applied,
                self._seq,
            )
            self._keywords.clear()
            applied = 0
        started = time.perf_counter()
        removed = [
            int(r[0])
            for r in self._writer.execute(
                "SELECT key FROM passages WHERE deleted_seq > ? AND added_seq <= ?",
                (applied, applied),
            )
        ]
        added = [
            KeywordPassage(int(key), doc_id, text[start:end], ts, pub)
            for key, doc_id, text, start, end, ts, pub in self._writer.execute(
                "SELECT p.key, d.doc_id, d.text, p.char_start, p.char_end, d.published_ts, "
                "d.publisher_key FROM passages p JOIN documents d ON d.row = p.doc_row "
                "WHERE p.added_seq > ? AND p.deleted_seq IS NULL ORDER BY p.key",
                (applied,),
            )
        ]
        self._keywords.apply(self._seq, removed, added)
        log.info(
            "keyword index caught up from sequence %d to %d: %d passages added, %d removed "
            "[%.1f s]",
            applied,
            self._seq,
            len(added),
            len(removed),
            time.perf_counter() - started,
        )

    def _load_view(self) -> EmbeddedView:
        """Every live passage's vector and filter columns into memory (no re-embedding)."""
        count = int(
            self._writer.execute(
                "SELECT COUNT(*) FROM passages WHERE deleted_seq IS NULL"
            ).fetchone()[0]
        )
        columns = Columns.empty(count, self.dimension)
        cursor = self._writer.execute(
            "SELECT p.key, p.vector, p.fingerprint, d.published_ts, d.publisher, d.doc_id, "
            "p.list_no FROM passages p JOIN documents d ON d.row = p.doc_row "
            "WHERE p.deleted_seq IS NULL ORDER BY p.key"
        )
        # In batches straight into the arrays: a million rows at once would hold every
        # vector three times (rows, joined bytes, array) on the way.
        filled = 0
        while batch := cursor.fetchmany(_LOAD_BATCH):
            end = filled + len(batch)
            if end > count:
                raise IndexCorruptError(f"{self._path}: passages changed while loading")
            part = slice(filled, end)
            columns.keys[part] = [r[0] for r in batch]
            columns.vectors[part] = _vectors([r[1] for r in batch], self.dimension)
            columns.fingerprints[part] = [r[2] for r in batch]
            columns.published[part] = [NO_DATE if r[3] is None else r[3] for r in batch]
            columns.publishers[part] = [self._publisher_code(r[4]) for r in batch]
            columns.docs[part] = [self._doc_code(r[5]) for r in batch]
            columns.lists[part] = [-1 if r[6] is None else r[6] for r in batch]
            filled = end
        snapshot = VectorSnapshot(
            columns, filled, np.ones(filled, np.bool_), filled, nprobe=self.policy.nprobe
        )
        centroids = self._saved_centroids()
        if centroids is not None and self.policy.kind != "flat" and count:
            started = time.perf_counter()
            snapshot = snapshot.with_centroids(centroids)
            log.info(
                "vector index: IVF with %d saved lists over %d passages [%.1f s]",
                len(centroids),
                count,
                time.perf_counter() - started,
            )
        documents = int(
            self._writer.execute(
                "SELECT COUNT(*) FROM documents WHERE deleted_seq IS NULL"
            ).fetchone()[0]
        )
        view = EmbeddedView(
            self.reader, self.row_filter, self._seq, snapshot, self._keywords.searcher(), documents
        )
        self._views.add(view)
        return view

    # -- upkeep (the background thread) -------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._upkeep_state:
                self._upkeep_state.wait_for(lambda: self._requested > self._completed)
                target = self._requested
            if self._stop.is_set():
                return
            try:
                with self._upkeep_lock:
                    self._upkeep()
            except Exception:
                log.exception("archive upkeep failed; it will be tried again after the next write")
            finally:
                with self._upkeep_state:
                    self._completed = target
                    self._upkeep_state.notify_all()

    def _upkeep(self) -> None:
        snapshot = self._view.snapshot
        if snapshot.ivf is None and self.policy.wants_ivf(snapshot.live_count):
            started = time.perf_counter()
            trained = snapshot.with_ivf(self.policy)
            self._swap_in(trained, snapshot)
            self._save_ivf(trained)
            log.info(
                "vector index: IVF with %d lists over %d passages [%.1f s]",
                trained.ivf.nlist,
                trained.n,
                time.perf_counter() - started,
            )
        elif snapshot.tail_rows >= self.policy.merge_rows:
            merged = snapshot.merged()
            with self._write_lock:
                latest = self._view.snapshot
                self._publish(_replace_ivf(latest, merged), self._view.document_count)
            self._save_lists(merged, snapshot.ivf_rows)
        dead = self._dead_passages()
        if dead > _COMPACT_WHEN_DEAD * max(1, self._view.passage_count):
            self._compact()

    def _saved_centroids(self) -> Vectors | None:
        path = self.directory / CENTROIDS
        if not path.exists():
            return None
        try:
            centroids = np.load(path)
        except (OSError, ValueError) as exc:
            log.warning("%s unreadable (%s): the IVF lists are trained again", path, exc)
            return None
        if centroids.ndim != 2 or centroids.shape[1] != self.dimension:
            log.warning("%s does not fit the archive: the IVF lists are trained again", path)
            return None
        return np.ascontiguousarray(centroids, dtype=np.float32)

    def _save_ivf(self, trained: VectorSnapshot) -> None:
        """Each passage's list, then the centroids: a restart rebuilds the IVF index from
        them in seconds instead of training it again."""
        self._save_lists(trained, 0)
        path = self.directory / CENTROIDS
        partial = path.with_suffix(".partial")
        with partial.open("wb") as f:
            np.save(f, trained.centroids())
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)

    def _save_lists(self, snapshot: VectorSnapshot, start: int) -> None:
        """`passages.list_no` of rows `[start, n)`, a batch per transaction so that writes
        wait at most one batch."""
        keys = snapshot.columns.keys[start : snapshot.n].tolist()
        lists = snapshot.columns.lists[start : snapshot.n].tolist()
        for first in range(0, len(keys), _LIST_BATCH):
            pairs = zip(
                lists[first : first + _LIST_BATCH], keys[first : first + _LIST_BATCH], strict=True
            )
            with self._write_lock, transaction(self._writer) as db:
                db.executemany("UPDATE passages SET list_no = ? WHERE key = ?", pairs)

    def _swap_in(self, computed: VectorSnapshot, base: VectorSnapshot) -> None:
        """Publish a snapshot computed from `base` beside searches, with the writes since."""
        with self._write_lock:
            self._publish(computed.rebased(base, self._view.snapshot), self._view.document_count)

    def _dead_passages(self) -> int:
        with self._write_lock:
            row = self._writer.execute(
                "SELECT COUNT(*) FROM passages WHERE deleted_seq IS NOT NULL"
            )
            return int(row.fetchone()[0])

    def _compact(self) -> CompactionReport:
        started = time.perf_counter()
        report = CompactionReport(bytes_before=self.disk_bytes())
        # Rows some view still reads, or the keyword index still holds, stay for now.
        oldest = min([v.seq for v in list(self._views)] + [self._keywords.applied_seq, self._seq])
        while True:
            with self._write_lock, transaction(self._writer) as db:
                keys = [
                    r[0]
                    for r in db.execute(
                        "SELECT key FROM passages WHERE deleted_seq <= ? LIMIT 5000", (oldest,)
                    )
                ]
                db.executemany("DELETE FROM passages WHERE key = ?", [(k,) for k in keys])
                report.passages_removed += len(keys)
                if not keys:
                    gone = db.execute(
                        "DELETE FROM documents WHERE deleted_seq <= ? AND row NOT IN "
                        "(SELECT doc_row FROM passages)",
                        (oldest,),
                    )
                    report.documents_removed = gone.rowcount
                    break
        with self._write_lock:  # the writer's connection: one thread at a time
            self._writer.execute("PRAGMA incremental_vacuum").fetchall()
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        snapshot = self._view.snapshot
        if snapshot.dead_rows:
            self._swap_in(snapshot.compacted(), snapshot)
        report.bytes_after = self.disk_bytes()
        report.seconds = time.perf_counter() - started
        log.info(
            "compacted: %d passages and %d document versions removed, %d -> %d bytes [%.1f s]",
            report.passages_removed,
            report.documents_removed,
            report.bytes_before,
            report.bytes_after,
            report.seconds,
        )
        return report


def _casefold(name: str | None) -> str | None:
    return name.strip().casefold() if name and name.strip() else None


def _keys(values: Sequence[int]) -> Keys:
    return np.asarray(values, dtype=np.int64)


def _vectors(blobs: Sequence[bytes], dimension: int) -> Vectors:
    if not blobs:
        return np.zeros((0, dimension), np.float32)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32)
    if matrix.size != len(blobs) * dimension:
        raise IndexCorruptError(
            f"stored vectors are not {dimension}-dimensional; rebuild the index"
        )
    return matrix.reshape(len(blobs), dimension)


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


def _replace_ivf(latest: VectorSnapshot, merged: VectorSnapshot) -> VectorSnapshot:
    """The latest snapshot searching through `merged`'s IVF index (rows are never renumbered
    between the two: only compaction does that, and it runs on the same thread)."""
    return replace(latest, ivf=merged.ivf, ivf_rows=merged.ivf_rows)
