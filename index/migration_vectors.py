"""Moving an archive from format 3 (vectors as BLOBs in `passages`) to format 4 (vectors in
segment files, index/vector_files.py), in place and without re-embedding.

The vectors are copied into segment files first (fsynced); then one SQLite transaction
builds the new passages table naming them and records format 4. A crash before that commit
leaves format 3 as it was (the next opening removes the half-written segments and starts
again); after it, the archive is format 4. The old table's pages are then freed.
"""

from __future__ import annotations

import json
import logging
import shutil
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

_COPY = f"""
INSERT INTO passages_v4 (key, doc_row, ordinal, char_start, char_end, seg, pos, fingerprint,
                         added_seq, deleted_seq, list_no)
SELECT key, doc_row, ordinal, char_start, char_end,
       1 + (n / {SEGMENT_ROWS}), n % {SEGMENT_ROWS},
       fingerprint, added_seq, deleted_seq, list_no
FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY key) - 1 AS n FROM passages)
"""


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
            sequence = db.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'passages'"
            ).fetchone()
            db.execute(_new_table())
            db.execute(_COPY)
            db.execute("DROP TABLE passages")
            db.execute("ALTER TABLE passages_v4 RENAME TO passages")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            # Keys are never reused, even those of passages compaction removed.
            db.execute("DELETE FROM sqlite_sequence WHERE name = 'passages'")
            if sequence is not None:
                db.execute("INSERT INTO sqlite_sequence VALUES ('passages', ?)", (sequence[0],))
            info = json.loads(db.execute("SELECT value FROM meta WHERE key = 'info'").fetchone()[0])
            info["format_version"] = FORMAT_VERSION
            db.execute("UPDATE meta SET value = ? WHERE key = 'info'", (json.dumps(info),))
        db.execute("PRAGMA incremental_vacuum").fetchall()
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


def _new_table() -> str:
    """The format-4 passages table's definition, under a temporary name."""
    start = SCHEMA.index("CREATE TABLE IF NOT EXISTS passages (")
    end = SCHEMA.index(");", start) + 1
    return SCHEMA[start:end].replace("IF NOT EXISTS passages (", "passages_v4 (")
