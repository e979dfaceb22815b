"""Counts per speaker, kept in step with the statements as each document is written.

Listing speakers by how much they said grouped every statement of the archive per request
(`GET /speakers` took 1.3 s over 300,000 statements, and every question naming a speaker by
role read the first 1,000 speakers that way). These tables hold, per speaker key, the
statements and documents, and how often each name and each role is given, so that a listing
reads a page of a summary. They change by one document's rows at a time: `tally` adds or
takes away a document, in the same transaction as its statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

SCHEMA = """
CREATE TABLE IF NOT EXISTS speaker_counts (
    speaker_key TEXT PRIMARY KEY, statements INTEGER NOT NULL, documents INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS speakers_by_count ON speaker_counts (statements DESC, speaker_key);
CREATE TABLE IF NOT EXISTS speaker_names (
    speaker_key TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (speaker_key, name)
);
CREATE TABLE IF NOT EXISTS speaker_roles (
    speaker_key TEXT NOT NULL, description TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (speaker_key, description)
);
"""

VERSION = 1
"""`PRAGMA user_version` once the tables hold the counts: a store written before them (0)
is counted once, on opening."""

_ROLES = (
    "SELECT speaker_key, description FROM statements WHERE {where} AND description IS NOT NULL "
    "UNION ALL SELECT speaker_key, description FROM descriptions WHERE {where}"
)


def rebuild(db: sqlite3.Connection) -> None:
    """Count every statement again (a store from before these tables)."""
    for table in ("speaker_counts", "speaker_names", "speaker_roles"):
        db.execute(f"DELETE FROM {table}")
    db.execute(
        "INSERT INTO speaker_counts SELECT speaker_key, COUNT(*), COUNT(DISTINCT doc_id) "
        "FROM statements GROUP BY speaker_key"
    )
    db.execute(
        "INSERT INTO speaker_names SELECT speaker_key, speaker_name, COUNT(*) FROM statements "
        "GROUP BY speaker_key, speaker_name"
    )
    db.execute(
        "INSERT INTO speaker_roles SELECT speaker_key, description, COUNT(*) FROM ("
        + _ROLES.format(where="1")
        + ") GROUP BY speaker_key, description"
    )
    db.execute(f"PRAGMA user_version = {VERSION}")


def tally(db: sqlite3.Connection, doc_ids: Sequence[str], sign: int) -> None:
    """Add (`sign` 1, after inserting their rows) or take away (-1, before deleting them)
    these documents' statements, names and roles."""
    for doc_id in doc_ids:
        counts = db.execute(
            "SELECT speaker_key, COUNT(*) FROM statements WHERE doc_id = ? GROUP BY speaker_key",
            (doc_id,),
        ).fetchall()
        _add(db, "speaker_counts", [(key, sign * n, sign) for key, n in counts], prune=sign < 0)
        names = db.execute(
            "SELECT speaker_key, speaker_name, COUNT(*) FROM statements WHERE doc_id = ? "
            "GROUP BY speaker_key, speaker_name",
            (doc_id,),
        ).fetchall()
        _add(db, "speaker_names", [(key, name, sign * n) for key, name, n in names], prune=sign < 0)
        roles = db.execute(
            "SELECT speaker_key, description, COUNT(*) FROM ("
            + _ROLES.format(where="doc_id = ?")
            + ") GROUP BY speaker_key, description",
            (doc_id, doc_id),
        ).fetchall()
        _add(db, "speaker_roles", [(key, role, sign * n) for key, role, n in roles], prune=sign < 0)


# Per table: its key columns, how a row adds to the stored one, the count that, at 0, ends it.
_TABLES = {
    "speaker_counts": (
        ("speaker_key",),
        "statements = statements + excluded.statements, documents = documents + excluded.documents",
        "statements",
    ),
    "speaker_names": (("speaker_key", "name"), "n = n + excluded.n", "n"),
    "speaker_roles": (("speaker_key", "description"), "n = n + excluded.n", "n"),
}


def _add(
    db: sqlite3.Connection, table: str, rows: list[tuple[object, ...]], *, prune: bool
) -> None:
    """Add the rows to the stored counts; when taking away (`prune`), drop those now at 0."""
    if not rows:
        return
    keys, update, count = _TABLES[table]
    marks = ",".join("?" * len(rows[0]))
    db.executemany(
        f"INSERT INTO {table} VALUES ({marks}) "
        f"ON CONFLICT({', '.join(keys)}) DO UPDATE SET {update}",
        rows,
    )
    if not prune:
        return
    where = " AND ".join(f"{k} = ?" for k in keys)
    db.executemany(
        f"DELETE FROM {table} WHERE {where} AND {count} <= 0", [r[: len(keys)] for r in rows]
    )


def page(
    db: sqlite3.Connection, name_like: str | None, limit: int, offset: int
) -> tuple[list[tuple[str, int, int]], int]:
    """(key, statements, documents) by statements, and how many there are; `name_like`
    keeps the speakers one of whose names matches it (a LIKE pattern on `' ' || name`)."""
    where, params = "", []
    if name_like is not None:
        where = (
            "WHERE speaker_key IN (SELECT speaker_key FROM speaker_names "
            "WHERE (' ' || lower(name)) LIKE ? ESCAPE '\\')"
        )
        params = [name_like]
    total = db.execute(f"SELECT COUNT(*) FROM speaker_counts {where}", params).fetchone()[0]
    rows = db.execute(
        f"SELECT speaker_key, statements, documents FROM speaker_counts {where} "
        "ORDER BY statements DESC, speaker_key LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [(str(k), int(n), int(d)) for k, n, d in rows], int(total)


def counts(db: sqlite3.Connection, key: str) -> tuple[int, int]:
    row = db.execute(
        "SELECT statements, documents FROM speaker_counts WHERE speaker_key = ?", (key,)
    ).fetchone()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


def name_and_role(db: sqlite3.Connection, key: str) -> tuple[str | None, str | None]:
    """The fullest name and the commonest role the articles give the speaker."""
    found = [
        db.execute(query, (key,)).fetchone()
        for query in (
            "SELECT name FROM speaker_names WHERE speaker_key = ? "
            "ORDER BY length(name) DESC, n DESC LIMIT 1",
            "SELECT description FROM speaker_roles WHERE speaker_key = ? "
            "ORDER BY n DESC, length(description) DESC LIMIT 1",
        )
    ]
    name, role = (None if row is None else str(row[0]) for row in found)
    return name, role
