"""The archive's SQLite database: its schema, and the reads a view makes.

Rows are written once and then only marked deleted (`deleted_seq`), so a read at sequence S
(`_LIVE_AT`) sees exactly the documents and passages live at S, and a document version never
changes: it is cached by row. Each thread reads through its own connection; in WAL mode a
reader never waits for the writer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.archive import (
    ArchiveInfo,
    DocumentOrder,
    IndexedDocument,
    Passage,
    PublisherStats,
    SearchFilter,
)
from index.documents import Document
from index.errors import IndexCorruptError

DATABASE = "archive.sqlite"
FORMAT = "byline-archive"
FORMAT_VERSION = 4
"""4: vectors in segment files beside the database (index/vector_files.py), and a document's
text in its row's last column. 3 kept vectors as BLOBs in `passages`; 2 was whole-generation
directories (gen-NNNNNN). index/migration.py moves both forward."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    checksum TEXT NOT NULL,
    title TEXT, publisher TEXT, publisher_key TEXT, url TEXT, published TEXT,
    published_ts INTEGER,
    added_seq INTEGER NOT NULL,
    deleted_seq INTEGER,
    text TEXT NOT NULL -- last: reading the columns before it never pages through the text
);
CREATE UNIQUE INDEX IF NOT EXISTS documents_current ON documents (doc_id)
    WHERE deleted_seq IS NULL;
CREATE INDEX IF NOT EXISTS documents_by_id ON documents (doc_id, added_seq);
CREATE INDEX IF NOT EXISTS documents_by_checksum ON documents (checksum);
CREATE INDEX IF NOT EXISTS documents_dead ON documents (deleted_seq)
    WHERE deleted_seq IS NOT NULL;
CREATE TABLE IF NOT EXISTS passages (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_row INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    seg INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL,
    added_seq INTEGER NOT NULL,
    deleted_seq INTEGER,
    list_no INTEGER
);
CREATE INDEX IF NOT EXISTS passages_by_doc ON passages (doc_row);
CREATE INDEX IF NOT EXISTS passages_added ON passages (added_seq);
CREATE INDEX IF NOT EXISTS passages_by_seg ON passages (seg, pos);
CREATE INDEX IF NOT EXISTS passages_dead ON passages (deleted_seq)
    WHERE deleted_seq IS NOT NULL;
"""


def encode_info(info: ArchiveInfo) -> str:
    return json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, **info.model_dump()})


MIGRATED_VERSIONS = (3,)
"""Older formats that `index.migration` moves to this one when the archive is opened."""


def decode_info(raw: str | None, path: Path, *, migratable: bool = False) -> ArchiveInfo | None:
    """The archive's description as stored in `meta`, None for a new archive (`migratable`:
    also of a format the next opening migrates; the description is the same in both)."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        version = data.pop("format_version", None)
        data.pop("format", None)
        if version != FORMAT_VERSION and not (migratable and version in MIGRATED_VERSIONS):
            raise IndexCorruptError(
                f"{path}: archive format version {version} is not supported (this Byline "
                f"reads version {FORMAT_VERSION}); rebuild with `byline index --rebuild`"
            )
        return ArchiveInfo.model_validate(data)
    except (json.JSONDecodeError, ValueError) as exc:
        raise IndexCorruptError(f"{path}: unreadable archive description ({exc})") from exc


def _stored_description(directory: Path) -> tuple[Path, str | None] | None:
    """The archive's raw description from `meta`, read without opening it for writing (None
    when there is no archive; `(path, None)` for one with no description yet)."""
    path = directory / DATABASE
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'info'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise IndexCorruptError(f"{path}: not a readable archive ({exc})") from exc
    finally:
        db.close()
    return path, None if row is None else str(row[0])


def stored_info(directory: Path) -> ArchiveInfo | None:
    """What the archive in `directory` was built with (None when there is no archive yet)."""
    stored = _stored_description(directory)
    return None if stored is None else decode_info(stored[1], stored[0], migratable=True)


def stored_version(directory: Path) -> int | None:
    """The format version of the archive in `directory` (None when there is none)."""
    try:
        stored = _stored_description(directory)
        if stored is None or stored[1] is None:
            return None
        return int(json.loads(stored[1]).get("format_version", 0))
    except (IndexCorruptError, json.JSONDecodeError, TypeError, ValueError):
        return None  # opening the archive says what is wrong with it


_LIVE_AT = "added_seq <= :seq AND (deleted_seq IS NULL OR deleted_seq > :seq)"
_DOCUMENT_COLUMNS = "row, doc_id, text, title, publisher, url, published"
_JOINED_COLUMNS = "d.row, d.doc_id, d.text, d.title, d.publisher, d.url, d.published"


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
    # Only takes on a new file, and only before WAL mode is set: compaction then gives the
    # pages of deleted rows back to the file system (`PRAGMA incremental_vacuum`).
    connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
    connection.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk when it returns, not merely in the OS's cache.
    connection.execute("PRAGMA synchronous=FULL")
    return connection


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def document_from_row(row: Sequence[Any]) -> Document:
    return Document(
        doc_id=row[1], text=row[2], title=row[3], publisher=row[4], url=row[5], published=row[6]
    )


class Reader:
    """Reads of documents and passages as of a sequence number, from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._document_cache: OrderedDict[int, Document] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, check_same_thread=False, timeout=60)
            connection.execute("PRAGMA query_only=ON")
            self._local.connection = connection
            with self._opened_lock:
                self._opened.append(connection)
        return connection

    def close(self) -> None:
        """Close every thread's connection (the last one to close checkpoints the WAL)."""
        with self._opened_lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()

    def _document_at(self, row: Sequence[Any]) -> Document:
        """Document versions never change, so they are cached by row."""
        with self._cache_lock:
            cached = self._document_cache.get(int(row[0]))
            if cached is None:
                cached = document_from_row(row)
                self._document_cache[int(row[0])] = cached
                if len(self._document_cache) > 4096:
                    self._document_cache.popitem(last=False)
            return cached

    def read_passages(self, keys: Sequence[int]) -> list[tuple[Passage, Document]]:
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = (
            self._connection()
            .execute(
                f"SELECT p.key, p.ordinal, p.char_start, p.char_end, {_JOINED_COLUMNS} "
                f"FROM passages p JOIN documents d ON d.row = p.doc_row WHERE p.key IN ({marks})",
                [int(k) for k in keys],
            )
            .fetchall()
        )
        found = {}
        for row in rows:
            document = self._document_at(row[4:])
            found[int(row[0])] = (
                Passage(document.doc_id, int(row[1]), int(row[2]), int(row[3]), int(row[0])),
                document,
            )
        missing = [k for k in keys if k not in found]
        if missing:
            raise IndexCorruptError(f"passages {missing[:5]} are missing from {self.path}")
        return [found[int(k)] for k in keys]

    def _passages_of(self, doc_row: int, doc_id: str) -> tuple[Passage, ...]:
        rows = self._connection().execute(
            "SELECT key, ordinal, char_start, char_end FROM passages WHERE doc_row = ? "
            "ORDER BY ordinal",
            (doc_row,),
        )
        return tuple(Passage(doc_id, int(o), int(s), int(e), int(k)) for k, o, s, e in rows)

    def read_document(self, doc_id: str, seq: int) -> IndexedDocument | None:
        row = (
            self._connection()
            .execute(
                f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE doc_id = :doc_id AND {_LIVE_AT}",
                {"doc_id": doc_id, "seq": seq},
            )
            .fetchone()
        )
        if row is None:
            return None
        document = self._document_at(row)
        return IndexedDocument(document, self._passages_of(int(row[0]), document.doc_id))

    def _where(self, seq: int, search_filter: SearchFilter | None) -> tuple[str, dict[str, Any]]:
        clauses: list[str] = [_LIVE_AT]
        params: dict[str, Any] = {"seq": seq}
        if search_filter is not None:
            if search_filter.published_after is not None:
                clauses.append("published_ts >= :after")
                params["after"] = search_filter.published_after
            if search_filter.published_before is not None:
                clauses.append("published_ts < :before")
                params["before"] = search_filter.published_before
            for name, values, column in (
                ("pub", search_filter.publishers, "publisher_key"),
                ("doc", search_filter.doc_ids, "doc_id"),
            ):
                if values:
                    names = [f"{name}{i}" for i in range(len(values))]
                    clauses.append(f"{column} IN ({','.join(':' + n for n in names)})")
                    params.update(zip(names, sorted(values), strict=True))
        return " AND ".join(clauses), params

    def read_documents(
        self,
        seq: int,
        search_filter: SearchFilter | None,
        order: DocumentOrder,
        limit: int | None,
        offset: int,
    ) -> tuple[list[IndexedDocument], int]:
        where, params = self._where(seq, search_filter)
        reader = self._connection()
        total = int(
            reader.execute(f"SELECT COUNT(*) FROM documents WHERE {where}", params).fetchone()[0]
        )
        sort = {
            DocumentOrder.ID: "doc_id",
            DocumentOrder.NEWEST: "published_ts IS NULL, published_ts DESC, doc_id",
            DocumentOrder.OLDEST: "published_ts IS NULL, published_ts, doc_id",
        }[order]
        page = reader.execute(
            f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE {where} ORDER BY {sort} "
            "LIMIT :limit OFFSET :offset",
            {**params, "limit": -1 if limit is None else limit, "offset": offset},
        ).fetchall()
        return [
            IndexedDocument(self._document_at(r), self._passages_of(int(r[0]), r[1])) for r in page
        ], total

    def count_undated(self, seq: int) -> int:
        return int(
            self._connection()
            .execute(
                f"SELECT COUNT(*) FROM documents WHERE published_ts IS NULL AND {_LIVE_AT}",
                {"seq": seq},
            )
            .fetchone()[0]
        )

    def read_checksums(self, seq: int) -> dict[str, str]:
        rows = self._connection().execute(
            f"SELECT doc_id, checksum FROM documents WHERE {_LIVE_AT}", {"seq": seq}
        )
        return {str(doc_id): str(checksum) for doc_id, checksum in rows}

    def find_checksum(self, seq: int, checksum: str) -> str | None:
        row = (
            self._connection()
            .execute(
                f"SELECT doc_id FROM documents WHERE checksum = :checksum AND {_LIVE_AT} "
                "ORDER BY doc_id LIMIT 1",
                {"seq": seq, "checksum": checksum},
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def read_publishers(self, seq: int) -> list[PublisherStats]:
        rows = self._connection().execute(
            "SELECT publisher, COUNT(*), MIN(published_ts), MAX(published_ts) FROM documents "
            f"WHERE publisher IS NOT NULL AND {_LIVE_AT} GROUP BY publisher_key "
            "ORDER BY COUNT(*) DESC, publisher",
            {"seq": seq},
        )
        return [PublisherStats(name, int(n), first, last) for name, n, first, last in rows]
