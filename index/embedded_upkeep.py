"""The embedded archive's background upkeep: training IVF lists, merging new rows into them,
saving the lists, and compaction (dead rows out of SQLite, vector segments rewritten).

One thread does all of it over a snapshot and publishes the result by one reference swap:
searches never wait for it, writes wait only for the swap. Mixed into `EmbeddedArchive`,
whose state it names below.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.archive import CompactionReport
from index.archive_db import transaction
from index.embedded_view import EmbeddedView
from index.keywords import KeywordIndex
from index.vector_files import VectorFiles
from index.vectors import StorePolicy, VectorSnapshot

log = logging.getLogger(__name__)

CENTROIDS = "ivf-centroids.npy"
"""The trained IVF centroids; each passage's list is in `passages.list_no`. Written after
the lists, so a crash between the two leaves no file and the next start trains again."""
_LIST_BATCH = 20_000
_COMPACT_WHEN_DEAD = 0.15
"""Compact when deleted passages exceed this share of the live ones: disk stays within
1.3x of the live data (SQLite's freed pages are returned by incremental vacuum)."""


class Upkeep:
    """The background thread's work on an `EmbeddedArchive`."""

    directory: Path
    policy: StorePolicy
    _writer: sqlite3.Connection
    _write_lock: threading.Lock
    _upkeep_lock: threading.Lock
    _upkeep_state: threading.Condition
    _requested: int
    _completed: int
    _stop: threading.Event
    _worker: threading.Thread | None
    _vectors: VectorFiles
    _keywords: KeywordIndex
    _views: weakref.WeakSet[EmbeddedView]
    _view: EmbeddedView
    _seq: int

    def _publish(self, snapshot: VectorSnapshot, document_count: int) -> None:
        raise NotImplementedError

    def disk_bytes(self) -> int:
        raise NotImplementedError

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
        report.vector_segments_rewritten = self._compact_segments()
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

    def _compact_segments(self) -> int:
        """Rewrite each vector segment (but the one writes append to) whose dead rows pass
        the compaction share: its live rows into a new file, their passages pointed at it in
        one transaction, then the old file deleted. Returns the segments rewritten."""
        with self._write_lock:
            live = self._referenced_counts()
        rewritten = 0
        for segment, rows in self._vectors.segments().items():
            if segment == self._vectors.open_segment:
                continue
            if live.get(segment, 0) >= (1 - _COMPACT_WHEN_DEAD) * rows:
                continue
            with self._write_lock:
                named = self._writer.execute(
                    "SELECT key, pos FROM passages WHERE seg = ? ORDER BY pos", (segment,)
                ).fetchall()
            if named:
                target = self._vectors.copy(segment, np.array([p for _, p in named], np.int64))
                with self._write_lock, transaction(self._writer) as db:
                    db.executemany(
                        "UPDATE passages SET seg = ?, pos = ? WHERE key = ?",
                        [(target, i, key) for i, (key, _) in enumerate(named)],
                    )
            self._vectors.remove(segment)
            rewritten += 1
        return rewritten

    def _referenced_counts(self) -> dict[int, int]:
        """Passages naming each vector segment (deleted ones not yet compacted included)."""
        rows = self._writer.execute("SELECT seg, COUNT(*) FROM passages GROUP BY seg")
        return {int(segment): int(count) for segment, count in rows}


def _replace_ivf(latest: VectorSnapshot, merged: VectorSnapshot) -> VectorSnapshot:
    """The latest snapshot searching through `merged`'s IVF index (rows are never renumbered
    between the two: only compaction does that, and it runs on the same thread)."""
    return replace(latest, ivf=merged.ivf, ivf_rows=merged.ivf_rows)
