"""The statements of every article, by speaker: a derived index beside the archive.

The archive (documents, passages, vectors) is the record; this SQLite file holds what
`index.statements.extract` finds in each current document version, so that "what did X say"
is a lookup by speaker rather than a scan of the archive. It is kept in step by the index on
every write, and on opening it is reconciled with the archive by document checksum: a
document written just before a crash, or stored by an older extractor
(`EXTRACTOR_VERSION`), is extracted again (text only, no model), one whose document is gone
is dropped. A row is served only while its checksum is that of the document's current
version, so a statement never points into another version's text.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index import people, speaker_tally
from index.archive import ArchiveView, SearchFilter
from index.cleaning import fingerprint
from index.documents import Document, published_timestamp
from index.speakers import fold, is_title, speaker_key
from index.statements import EXTRACTOR_VERSION, extract

log = logging.getLogger(__name__)

DATABASE = "statements.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS extracted (
    doc_id TEXT PRIMARY KEY, checksum TEXT NOT NULL, version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS statements (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL, checksum TEXT NOT NULL, kind TEXT NOT NULL,
    speaker_key TEXT NOT NULL, speaker_name TEXT NOT NULL, description TEXT,
    person INTEGER NOT NULL,
    quote_start INTEGER NOT NULL, quote_end INTEGER NOT NULL,
    speaker_start INTEGER NOT NULL, speaker_end INTEGER NOT NULL,
    sentence_start INTEGER NOT NULL, sentence_end INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL, published_ts INTEGER, publisher_key TEXT
);
CREATE INDEX IF NOT EXISTS statements_by_speaker ON statements (speaker_key, published_ts);
CREATE INDEX IF NOT EXISTS statements_by_doc ON statements (doc_id);
CREATE TABLE IF NOT EXISTS descriptions (
    doc_id TEXT NOT NULL, checksum TEXT NOT NULL, speaker_key TEXT NOT NULL,
    speaker_name TEXT NOT NULL, description TEXT NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS descriptions_by_speaker ON descriptions (speaker_key);
CREATE INDEX IF NOT EXISTS descriptions_by_doc ON descriptions (doc_id);
"""

_COLUMNS = (
    "doc_id, checksum, kind, speaker_key, speaker_name, description, person, quote_start, "
    "quote_end, speaker_start, speaker_end, sentence_start, sentence_end, fingerprint"
)


@dataclass(frozen=True, slots=True)
class StoredStatement:
    doc_id: str
    checksum: str
    kind: str
    speaker_key: str
    speaker_name: str
    description: str | None
    person: bool
    start: int
    end: int
    speaker_start: int
    speaker_end: int
    sentence_start: int
    sentence_end: int
    fingerprint: int


@dataclass(frozen=True, slots=True)
class StoredDescription:
    doc_id: str
    checksum: str
    speaker_key: str
    speaker_name: str
    description: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SpeakerStats:
    key: str
    name: str
    description: str | None
    statements: int
    documents: int


class StatementStore:
    """Statements and role descriptions by speaker; one writer, readers on any thread."""

    def __init__(self, directory: Path, name: str = DATABASE) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / name
        self._write_lock = threading.Lock()
        self._opened_lock = threading.Lock()
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        with self._write_lock:
            # Commits as it goes: no BEGIN around it.
            self._connection().executescript(_SCHEMA + speaker_tally.SCHEMA)
        version = self._connection().execute("PRAGMA user_version").fetchone()[0]
        if version < speaker_tally.VERSION:
            with self._writing() as db:
                speaker_tally.rebuild(db)

    # -- connections -----------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=60
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # derived: rebuilt after a crash
            self._local.connection = connection
            with self._opened_lock:
                self._opened.append(connection)
        return connection

    def _writing(self) -> _Transaction:
        return _Transaction(self._connection(), self._write_lock)

    def close(self) -> None:
        with self._opened_lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()
        self._local = threading.local()

    # -- writes ----------------------------------------------------------------------------

    def replace(self, documents: Sequence[Document]) -> None:
        """Extract these document versions and store their statements in place of the old."""
        rows = [_rows(d) for d in documents]
        with self._writing() as db:
            for document, (statements, descriptions) in zip(documents, rows, strict=True):
                _delete(db, document.doc_id)
                statements, descriptions = people.known_people(db, statements, descriptions)
                people.adopt_earlier(db, statements)
                db.executemany(
                    f"INSERT INTO statements ({_COLUMNS}, published_ts, publisher_key) "
                    f"VALUES ({','.join('?' * 16)})",
                    statements,
                )
                db.executemany(
                    "INSERT INTO descriptions (doc_id, checksum, speaker_key, speaker_name, "
                    "description, char_start, char_end) VALUES (?,?,?,?,?,?,?)",
                    descriptions,
                )
                db.execute(
                    "INSERT INTO extracted (doc_id, checksum, version) VALUES (?,?,?)",
                    (document.doc_id, document.checksum, EXTRACTOR_VERSION),
                )
                speaker_tally.tally(db, [document.doc_id], 1)

    def remove(self, doc_ids: Sequence[str]) -> None:
        with self._writing() as db:
            for doc_id in doc_ids:
                _delete(db, doc_id)

    def reconcile(self, view: ArchiveView, page: int = 500) -> int:
        """Bring the store in step with the archive; returns how many documents were
        extracted again. Checksums are compared first, so an opening that finds the store in
        step reads no article text."""
        stored = {
            doc_id: (checksum, version)
            for doc_id, checksum, version in self._connection().execute(
                "SELECT doc_id, checksum, version FROM extracted"
            )
        }
        current = view.checksums()
        stale = [
            doc_id
            for doc_id, checksum in current.items()
            if stored.get(doc_id) != (checksum, EXTRACTOR_VERSION)
        ]
        for first in range(0, len(stale), page):
            found = (view.document(doc_id) for doc_id in stale[first : first + page])
            self.replace([indexed.document for indexed in found if indexed is not None])
        done = len(stale)
        gone = [doc_id for doc_id in stored if doc_id not in current]
        self.remove(gone)
        if done or gone:
            log.info("statements: %d documents extracted, %d removed", done, len(gone))
        return done

    # -- reads -----------------------------------------------------------------------------

    def by_speaker(
        self, keys: Sequence[str], search_filter: SearchFilter | None, limit: int
    ) -> list[StoredStatement]:
        """The speakers' statements in scope, newest first."""
        if not keys:
            return []
        clauses = [f"speaker_key IN ({','.join('?' * len(keys))})"]
        params: list[object] = list(keys)
        clauses += _filter_clauses(search_filter, params)
        rows = self._connection().execute(
            f"SELECT {_COLUMNS} FROM statements WHERE {' AND '.join(clauses)} "
            "ORDER BY published_ts IS NULL, published_ts DESC, doc_id, quote_start LIMIT ?",
            [*params, limit],
        )
        return [_statement(r) for r in rows]

    def in_documents(self, doc_ids: Sequence[str]) -> list[StoredStatement]:
        if not doc_ids:
            return []
        rows = self._connection().execute(
            f"SELECT {_COLUMNS} FROM statements WHERE doc_id IN ({','.join('?' * len(doc_ids))})"
            " ORDER BY doc_id, quote_start",
            list(doc_ids),
        )
        return [_statement(r) for r in rows]

    def descriptions(self, keys: Sequence[str]) -> list[StoredDescription]:
        if not keys:
            return []
        rows = self._connection().execute(
            "SELECT doc_id, checksum, speaker_key, speaker_name, description, char_start, "
            f"char_end FROM descriptions WHERE speaker_key IN ({','.join('?' * len(keys))}) "
            "ORDER BY doc_id, char_start",
            list(keys),
        )
        return [StoredDescription(*r) for r in rows]

    def speakers(
        self, query: str | None, limit: int, offset: int
    ) -> tuple[list[SpeakerStats], int]:
        """Speakers by number of statements; `query` finds a name (any word's start)."""
        pattern = "% " + _like(fold(query)) + "%" if query else None
        found, total = speaker_tally.page(self._connection(), pattern, limit, offset)
        return [self._stats(key, n, docs) for key, n, docs in found], total

    def stats(self, key: str) -> SpeakerStats:
        """One speaker's name, role and counts."""
        return self._stats(key, *speaker_tally.counts(self._connection(), key))

    def _stats(self, key: str, statements: int, documents: int) -> SpeakerStats:
        """The fullest name and the commonest role the articles give the speaker."""
        name, role = speaker_tally.name_and_role(self._connection(), key)
        return SpeakerStats(key, name or key[2:], role, statements, documents)

    def keys_for(self, name: str) -> list[str]:
        """The speakers a name can mean: a person by surname ("zakharova", "Maria
        Zakharova"), an organisation by its name ("the Kremlin")."""
        words = fold(name).split()
        if not words:
            return []
        person = speaker_key(name, person=True)
        rows = self._connection().execute(
            "SELECT DISTINCT speaker_key FROM statements WHERE speaker_key IN (?, ?) "
            f"OR {people.INITIALS}",
            (person, speaker_key(name, person=False), *people.initials(person)),
        )
        found = [r[0] for r in rows]
        if not found and len(words) > 1:
            # "the governor of Belgorod": a speaker named by part of it ("the governor").
            for size in range(len(words) - 1, 0, -1):
                parts = [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
                keys = [speaker_key(p, person=False) for p in parts]
                rows = self._connection().execute(
                    "SELECT DISTINCT speaker_key FROM statements WHERE speaker_key IN "
                    f"({','.join('?' * len(keys))})",
                    keys,
                )
                found = [r[0] for r in rows if r[0] != "o:"]
                if found:
                    return found
        if not found:
            # "NATO": the speakers the articles describe with that word ("NATO Secretary
            # General Jens Stoltenberg").
            rows = self._connection().execute(
                "SELECT DISTINCT speaker_key FROM statements WHERE (' ' || lower(description)"
                " || ' ') LIKE ? ESCAPE '\\'",
                ["% " + _like(" ".join(words)) + " %"],
            )
            return [r[0] for r in rows]
        given = [w for w in words[:-1] if not is_title(w)]
        if not given:
            return found  # "Zakharova", "President Putin": everyone of that surname
        # "Maria Zakharova": the surname's people with that initial, and those the articles
        # name by surname alone unless another initial shares the surname.
        initial = given[0][:1]
        initials = {k.split("/", 1)[1] for k in found if k.startswith("p:") and "/" in k}
        return [
            key
            for key in found
            if not key.startswith("p:")
            or key.endswith("/" + initial)
            or ("/" not in key and initials <= {initial})
        ]


class _Transaction:
    def __init__(self, connection: sqlite3.Connection, lock: threading.Lock) -> None:
        self.connection, self.lock = connection, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            self.connection.execute("ROLLBACK" if kind is not None else "COMMIT")
        finally:
            self.lock.release()


def _delete(db: sqlite3.Connection, doc_id: str) -> None:
    speaker_tally.tally(db, [doc_id], -1)
    for table in ("statements", "descriptions", "extracted"):
        db.execute(f"DELETE FROM {table} WHERE doc_id = ?", (doc_id,))


def _rows(document: Document) -> tuple[list[Sequence[object]], list[Sequence[object]]]:
    found = extract(document.text)
    # The fullest name the article gives each person it quotes: the key across articles.
    fullest: dict[str, str] = {}
    for speaker in [s.speaker for s in found.statements] + [d.speaker for d in found.descriptions]:
        if len(speaker.name) > len(fullest.get(speaker.key, "")):
            fullest[speaker.key] = speaker.name
    keys = {key: people.archive_key(key, name) for key, name in fullest.items()}
    checksum = document.checksum
    published = published_timestamp(document.published)
    publisher = document.publisher.strip().casefold() if document.publisher else None
    statements: list[Sequence[object]] = [
        (
            document.doc_id,
            checksum,
            s.kind,
            keys[s.speaker.key],
            s.speaker.name,
            s.speaker.description,
            int(s.speaker.person),
            s.start,
            s.end,
            s.speaker_start,
            s.speaker_end,
            s.sentence_start,
            s.sentence_end,
            fingerprint(document.text[s.start : s.end]),
            published,
            publisher,
        )
        for s in found.statements
    ]
    descriptions: list[Sequence[object]] = [
        (
            document.doc_id,
            checksum,
            keys[d.speaker.key],
            d.speaker.name,
            d.speaker.description,
            d.start,
            d.end,
        )
        for d in found.descriptions
        if d.speaker.description
    ]
    return statements, descriptions


def _statement(row: Sequence[object]) -> StoredStatement:
    values = list(row)
    values[6] = bool(values[6])
    return StoredStatement(*values)  # type: ignore[arg-type]


def _filter_clauses(search_filter: SearchFilter | None, params: list[object]) -> list[str]:
    if search_filter is None:
        return []
    clauses = []
    if search_filter.published_after is not None:
        clauses.append("published_ts >= ?")
        params.append(search_filter.published_after)
    if search_filter.published_before is not None:
        clauses.append("published_ts < ?")
        params.append(search_filter.published_before)
    for column, values in (
        ("publisher_key", search_filter.publishers),
        ("doc_id", search_filter.doc_ids),
    ):
        if values:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(sorted(values))
    return clauses


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
