"""Who a person is across articles, where an article alone resolves them by surname.

Within an article `index.speakers` keys people by surname ("Zakharova" is the Maria Zakharova
it named). In the archive two people may share a surname, so a person's key adds the initial
of the first name the article gives; an article that gives the surname alone joins the one
person of that surname the archive knows, and the first full name takes over what was said
under the surname before it. These run inside the statement store's write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from index.speaker_tally import tally
from index.speakers import fold, speaker_key


def archive_key(key: str, fullest_name: str) -> str:
    """A person's key across articles: the surname key and the initial of the first name
    the article gives ("p:johnson/b" for Boris Johnson, "p:johnson/d" for Dwayne Johnson),
    so that two people with one surname stay two; initials, not first names, because
    transliterations differ there too (Volodymyr and Vladimir Zelensky). A person the
    article names by surname alone keeps the surname key."""
    words = fullest_name.split()
    if not key.startswith("p:") or len(words) < 2:
        return key
    return f"{key}/{fold(words[0])[:1]}"


def known_people(
    db: sqlite3.Connection,
    statements: list[Sequence[object]],
    descriptions: list[Sequence[object]],
) -> tuple[list[Sequence[object]], list[Sequence[object]]]:
    """A person this article names by surname alone is the one person of that surname the
    archive knows by full name, if it knows exactly one ("Putin said" is Vladimir Putin,
    though the article alone can't tell a one-word name from an organisation's); with none
    or several, the article's key stays."""
    rows = [(r, STATEMENT_KEY) for r in statements] + [(r, DESCRIPTION_KEY) for r in descriptions]
    known: dict[str, str] = {}
    for key in {str(r[at]) for r, at in rows}:
        surname = surname_alone(key)
        if surname is None:
            continue
        found = db.execute(
            f"SELECT DISTINCT speaker_key FROM statements WHERE {INITIALS} LIMIT 2",
            initials(surname),
        ).fetchall()
        if len(found) == 1:
            known[key] = found[0][0]

    def mapped(row: Sequence[object], at: int) -> Sequence[object]:
        key = str(row[at])
        return row if key not in known else (*row[:at], known[key], *row[at + 1 :])

    return (
        [mapped(r, STATEMENT_KEY) for r in statements],
        [mapped(r, DESCRIPTION_KEY) for r in descriptions],
    )


def adopt_earlier(db: sqlite3.Connection, statements: list[Sequence[object]]) -> None:
    """The first person of a surname the archive learns by full name takes over what earlier
    articles said under that surname alone, as `known_people` would have had they come
    later. Looked up by exact keys: the surname's, and the one-word organisation's spelled
    as this article spells the name."""
    people = {
        str(r[STATEMENT_KEY]): str(r[STATEMENT_NAME])
        for r in statements
        if "/" in str(r[STATEMENT_KEY])
    }
    for key, name in people.items():
        surname = key.split("/", 1)[0]
        known = db.execute(
            f"SELECT 1 FROM statements WHERE {INITIALS} LIMIT 1", initials(surname)
        ).fetchone()
        if known is not None:
            continue  # not the first: earlier surname-only rows were joined or stay ambiguous
        alone = [surname, speaker_key(name.split()[-1], person=False)]
        docs = [
            row[0]
            for row in db.execute(
                "SELECT doc_id FROM statements WHERE speaker_key IN (?, ?) UNION "
                "SELECT doc_id FROM descriptions WHERE speaker_key IN (?, ?)",
                [*alone, *alone],
            )
        ]
        tally(db, docs, -1)
        for table in ("statements", "descriptions"):
            db.executemany(
                f"UPDATE {table} SET speaker_key = ? WHERE speaker_key = ?",
                [(key, old) for old in alone],
            )
        tally(db, docs, 1)


INITIALS = "(speaker_key > ? AND speaker_key < ?)"
"""The keys of a surname's people with an initial ("p:johnson/b", "p:johnson/d"), as a range
of the speaker index (a LIKE would read every row)."""


def initials(surname: str) -> tuple[str, str]:
    return surname + "/", surname + "0"  # "0" is the character after "/"


STATEMENT_KEY, STATEMENT_NAME, DESCRIPTION_KEY = 3, 4, 2
"""Where the speaker key (and name) is in a statement row and in a description row
(index/statement_store.py's `_rows`)."""


def surname_alone(key: str) -> str | None:
    """The surname key a key may stand for: a person's without an initial ("p:putin"), or
    a one-word organisation's ("o:putin")."""
    if key.startswith("p:") and "/" not in key:
        return key
    if key.startswith("o:") and len(key.split()) == 1 and len(key) > 2:
        return speaker_key(key[2:], person=True)
    return None
