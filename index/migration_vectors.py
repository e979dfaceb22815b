"""Moving an archive from format 3 (vectors as BLOBs in `passages`) to format 4 (vectors in
segment files, index/vector_files.py), in place and without re-embedding.

The vectors are copied into segment files first (fsynced); then one SQLite transaction
builds the new passages table naming them, rebuilds the documents table with the text last,
and records format 4. A crash before that commit
leaves format 3 as it was (the next opening removes the half-written segments and starts
again); after it, the archive is format 4. The file is then vacuumed.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

from index.archive_db import DATABASE, FORMAT_VERSION, SCHEMA, connect, transaction
from index.errors import IndexCorruptError
from index.vector_files import FOLDER, SEGMENT_ROWS, VectorFiles

log = logging.getLogger(__name__)

_BATCH = SEGMENT_ROWS // 8
"""Rows read and appended at a time: a divisor of SEGMENT_ROWS, so that the k-th passage in
key order lands at segment 1 + k // SEGMENT_ROWS, position k % SEGMENT_ROWS."""

_PASSAGES = f"""
INSERT INTO passages_v4 (key, doc_row, ordinal, char_start, char_end, seg, pos, fingerprint,
                         added_seq, deleted_seq, list_no)
SELECT key, doc_row, ordinal, char_start, char_end,
       1 + (n / {SEGMENT_ROWS}), n % {SEGMENT_ROWS},
       fingerprint, added_seq, deleted_seq, list_no
FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY key) - 1 AS n FROM passages)
"""
_COLUMNS = (
    "row, doc_id, checksum, title, publisher, publisher_key, url, published, published_ts, "
    "added_seq, deleted_seq, text"
)
_DOCUMENTS = f"INSERT INTO documents_v4 ({_COLUMNS}) SELECT {_COLUMNS} FROM documents"


def migrate_format_3(directory: Path, dimension: int) -> int:
    """Move the format-3 archive in `directory` to format 4; the passages moved."""
    started = time.perf_counter()
    log.warning("migrating the archive in %s from format 3 to 4 (vectors to files)", directory)
    shutil.rmtree(directory / FOLDER, ignore_errors=True)  # what an interrupted run left
    db = connect(directory / DATABASE)
    try:
        files = VectorFiles(directory, dimension)
        files.open({})
        moved = 0
        cursor = db.execute("SELECT vector FROM passages ORDER BY key")
        while batch := cursor.fetchmany(_BATCH):
            matrix = np.frombuffer(b"".join(r[0] for r in batch), dtype=np.float32)
            if matrix.size != len(batch) * dimension:
                raise IndexCorruptError(
                    f"{directory / DATABASE}: stored vectors are not {dimension}-dimensional; "
                    "rebuild the index with `byline index --rebuild`"
                )
            files.append(matrix.reshape(len(batch), dimension))
            moved += len(batch)
        with transaction(db):
            for table, copy in (("passages", _PASSAGES), ("documents", _DOCUMENTS)):
                _rebuild(db, table, copy)
            for statement in SCHEMA.split(";"):  # the indexes, dropped with the old tables
                if statement.strip():
                    db.execute(statement)
            info = json.loads(db.execute("SELECT value FROM meta WHERE key = 'info'").fetchone()[0])
            info["format_version"] = FORMAT_VERSION
            db.execute("UPDATE meta SET value = ? WHERE key = 'info'", (json.dumps(info),))
        # Hand the vectors' pages back, and let compaction do so from now on (format-3 files
        # were made without incremental vacuum).
        db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        db.close()
    log.warning(
        "migrated %d passages in %s to format 4 [%.1f s]",
        moved,
        directory,
        time.perf_counter() - started,
    )
    return moved


def _rebuild(db: sqlite3.Connection, table: str, copy: str) -> None:
    """Replace `table` by its format-4 definition, filled by `copy`; its row numbers go on
    from where they were (keys are never reused, even those compaction removed)."""
    sequence = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    start = SCHEMA.index(f"CREATE TABLE IF NOT EXISTS {table} (")
    end = SCHEMA.index(");", start) + 1
    db.execute(SCHEMA[start:end].replace(f"IF NOT EXISTS {table} (", f"{table}_v4 ("))
    db.execute(copy)
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE {table}_v4 RENAME TO {table}")
    db.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
    if sequence is not None:
        db.execute("INSERT INTO sqlite_sequence VALUES (?, ?)", (table, sequence[0]))
