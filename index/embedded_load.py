"""What the embedded archive reads when it opens: the keyword index brought up to date, and
every live passage's vector and filter columns, without re-embedding anything.

At a million passages this is the start-up: one scan of the (small) passages table, one of
the current documents, one read per vector segment, and the saved IVF lists (docs/scaling.md).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.archive import Keys, Vectors
from index.errors import IndexCorruptError
from index.keywords import KeywordIndex, KeywordPassage
from index.vector_files import VectorFiles
from index.vectors import NO_DATE, Columns

log = logging.getLogger(__name__)


def catch_up_keywords(db: sqlite3.Connection, keywords: KeywordIndex, seq: int) -> None:
    """Replay into the keyword index the writes a crash kept from it."""
    applied = keywords.applied_seq
    if applied == seq:
        return
    if applied > seq:
        log.warning("keyword index is ahead of the database (%d > %d): rebuilding it", applied, seq)
        keywords.clear()
        applied = 0
    started = time.perf_counter()
    removed = [
        int(r[0])
        for r in db.execute(
            "SELECT key FROM passages WHERE deleted_seq > ? AND added_seq <= ?", (applied, applied)
        )
    ]
    added = [
        KeywordPassage(int(key), doc_id, text[start:end], ts, pub)
        for key, doc_id, text, start, end, ts, pub in db.execute(
            "SELECT p.key, d.doc_id, d.text, p.char_start, p.char_end, d.published_ts, "
            "d.publisher_key FROM passages p JOIN documents d ON d.row = p.doc_row "
            "WHERE p.added_seq > ? AND p.deleted_seq IS NULL ORDER BY p.key",
            (applied,),
        )
    ]
    keywords.apply(seq, removed, added)
    log.info(
        "keyword index caught up from sequence %d to %d: %d passages added, %d removed [%.1f s]",
        applied,
        seq,
        len(added),
        len(removed),
        time.perf_counter() - started,
    )


def referenced_segments(db: sqlite3.Connection) -> dict[int, int]:
    """Each vector segment passages name, with the highest position named + 1."""
    rows = db.execute("SELECT seg, MAX(pos) + 1 FROM passages GROUP BY seg")
    return {int(segment): int(end) for segment, end in rows}


def read_vectors(
    files: VectorFiles, segments: Keys, positions: Keys, out: Vectors | None = None
) -> Vectors:
    """Stored vectors, in the order given, from their segment files (into `out`)."""
    if out is None:
        out = np.empty((len(segments), files.dimension), np.float32)
    for segment in np.unique(segments):
        picked = np.flatnonzero(segments == segment)
        first, last = int(picked[0]), int(picked[-1]) + 1
        if last - first == len(picked):  # a run of rows: read into them directly
            files.read_into(int(segment), positions[first:last], out[first:last])
        else:
            out[picked] = files.read(int(segment), positions[picked])
    return out


def load_columns(
    db: sqlite3.Connection,
    files: VectorFiles,
    publisher_code: Callable[[str | None], int],
    doc_code: Callable[[str], int],
) -> tuple[Columns, int]:
    """Every live passage's row, in key order, and the number of current documents."""
    # Each column as one comma-separated string, parsed by numpy: the scan and the parsing
    # stay in C (2 s at a million rows, against 12 s for a million Python tuples).
    concatenated = db.execute(
        "SELECT group_concat(key), group_concat(seg), group_concat(pos), "
        "group_concat(fingerprint), group_concat(doc_row), group_concat(IFNULL(list_no, -1)) "
        "FROM passages WHERE deleted_seq IS NULL"
    ).fetchone()
    parsed = [np.fromstring(c or "", dtype=np.int64, sep=",") for c in concatenated]
    if len({len(c) for c in parsed}) != 1:
        raise IndexCorruptError(f"{files.directory.parent}: the passages table reads unevenly")
    rows = np.stack(parsed, axis=1)
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    filled = len(rows)
    columns = Columns.empty(filled, files.dimension)
    columns.keys[:] = rows[:, 0]
    columns.fingerprints[:] = rows[:, 3]
    columns.lists[:] = rows[:, 5]
    read_vectors(files, rows[:, 1], rows[:, 2], out=columns.vectors)
    documents = db.execute(
        "SELECT row, doc_id, published_ts, publisher FROM documents "
        "WHERE deleted_seq IS NULL ORDER BY row"
    ).fetchall()
    if filled:
        doc_rows = np.array([d[0] for d in documents], np.int64)
        at = np.searchsorted(doc_rows, rows[:, 4])
        if len(doc_rows) == 0 or bool(
            (doc_rows[np.minimum(at, len(doc_rows) - 1)] != rows[:, 4]).any()
        ):
            raise IndexCorruptError(
                f"{files.directory.parent}: live passages of a deleted document"
            )
        dates = np.array([NO_DATE if d[2] is None else d[2] for d in documents], np.int64)
        columns.published[:] = dates[at]
        columns.publishers[:] = np.array([publisher_code(d[3]) for d in documents], np.int32)[at]
        columns.docs[:] = np.array([doc_code(d[1]) for d in documents], np.int32)[at]
    return columns, len(documents)


def saved_centroids(path: Path, dimension: int) -> Vectors | None:
    """IVF centroids saved by an earlier run, None if there are none that fit."""
    if not path.exists():
        return None
    try:
        centroids = np.load(path)
    except (OSError, ValueError) as exc:
        log.warning("%s unreadable (%s): the IVF lists are trained again", path, exc)
        return None
    if centroids.ndim != 2 or centroids.shape[1] != dimension:
        log.warning("%s does not fit the archive: the IVF lists are trained again", path)
        return None
    return np.ascontiguousarray(centroids, dtype=np.float32)
