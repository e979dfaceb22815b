"""The statement store follows the archive: every write, delete and crash in between."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from index import speaker_tally
from index.documents import Document
from index.engine import NewsIndex
from index.statement_store import DATABASE
from tests.conftest import IndexFactory

TEXT = (
    "Kremlin adviser Yuri Ushakov spoke on Monday.\n"
    "“At this stage, we will not talk to them,” Ushakov said."
)


def _quotes(index: NewsIndex, speaker: str) -> list[str]:
    keys = index.statements.keys_for(speaker)
    rows = index.statements.by_speaker(keys, None, 50)
    return [index.get(r.doc_id).document.text[r.start : r.end] for r in rows]


def test_writes_replacements_and_deletes_keep_statements_in_step(
    make_index: IndexFactory,
) -> None:
    index = make_index()
    index.upsert([Document("a", TEXT)])
    assert _quotes(index, "Ushakov") == ["At this stage, we will not talk to them"]
    index.upsert([Document("a", TEXT.replace("talk to them", "negotiate now"))])
    assert _quotes(index, "yuri ushakov") == ["At this stage, we will not negotiate now"]
    index.upsert([replace(index.get("a").document, publisher="Moscow Wire")])  # metadata only
    assert len(_quotes(index, "Ushakov")) == 1
    index.delete("a")
    assert _quotes(index, "Ushakov") == []
    assert index.statements.speakers(None, 10, 0) == ([], 0)


def test_a_crash_between_the_archive_and_the_store_is_mended_on_opening(
    make_index: IndexFactory,
) -> None:
    index = make_index()
    index.upsert([Document("a", TEXT), Document("b", "Nobody said anything here.")])
    where = index.config.index_dir
    # As if the process died after the archive's commit, before the store's: the store
    # lost "a" and still holds a document the archive no longer has.
    with sqlite3.connect(where / DATABASE) as db:
        db.execute("DELETE FROM statements WHERE doc_id = 'a'")
        db.execute("DELETE FROM extracted WHERE doc_id = 'a'")
        db.execute("INSERT INTO extracted (doc_id, checksum, version) VALUES ('gone', 'x', 1)")
    index.close()
    reopened = make_index(index_dir=where)
    assert _quotes(reopened, "Ushakov") == ["At this stage, we will not talk to them"]
    with sqlite3.connect(where / DATABASE) as db:
        docs = {row[0] for row in db.execute("SELECT doc_id FROM extracted")}
    assert docs == {"a", "b"}


def test_an_older_extractor_s_rows_are_extracted_again(make_index: IndexFactory) -> None:
    index = make_index()
    index.upsert([Document("a", TEXT)])
    where = index.config.index_dir
    index.close()
    with sqlite3.connect(where / DATABASE) as db:
        db.execute("UPDATE extracted SET version = 0")
        db.execute("DELETE FROM statements")
    reopened = make_index(index_dir=where)
    assert _quotes(reopened, "Ushakov") == ["At this stage, we will not talk to them"]


def test_two_people_with_one_surname_stay_two(make_index: IndexFactory) -> None:
    index = make_index()
    index.upsert(
        [
            Document("boris", "“We will get Brexit done by January,” Boris Johnson said."),
            Document("dwayne", "“Acting is the best job in the world,” Dwayne Johnson said."),
        ]
    )
    speakers, total = index.statements.speakers(None, 10, 0)
    assert total == 2
    assert {s.name for s in speakers} == {"Boris Johnson", "Dwayne Johnson"}
    assert _quotes(index, "Boris Johnson") == ["We will get Brexit done by January"]
    assert _quotes(index, "dwayne johnson") == ["Acting is the best job in the world"]
    assert len(_quotes(index, "Johnson")) == 2  # the surname alone is either
    # An article that names him by surname alone can't be told apart: it stays its own.
    index.upsert([Document("later", "“Parliament must decide this week,” Johnson said.")])
    assert _quotes(index, "Boris Johnson") == ["We will get Brexit done by January"]
    assert len(_quotes(index, "Johnson")) == 3


def test_a_surname_alone_is_the_one_person_the_archive_knows_by_it(
    make_index: IndexFactory,
) -> None:
    index = make_index()
    index.upsert(
        [Document("a", "“We will respond to this attack,” Russian President Vladimir Putin said.")]
    )
    index.upsert([Document("b", "“The offensive has failed,” Putin told the forum.")])
    speakers, total = index.statements.speakers(None, 10, 0)
    assert total == 1
    assert speakers[0].name == "Vladimir Putin"
    assert speakers[0].statements == 2
    assert len(_quotes(index, "Vladimir Putin")) == 2
    assert len(_quotes(index, "President Putin")) == 2


def test_the_first_full_name_takes_over_the_surname_said_before(
    make_index: IndexFactory,
) -> None:
    index = make_index()
    index.upsert([Document("b", "“The offensive has failed in Kursk,” Putin told the forum.")])
    index.upsert([Document("a", "“We will respond to this attack,” Vladimir Putin said.")])
    speakers, total = index.statements.speakers(None, 10, 0)
    assert (total, speakers[0].name, speakers[0].statements) == (1, "Vladimir Putin", 2)


def test_the_speaker_counts_follow_every_write(make_index: IndexFactory) -> None:
    index = make_index()
    index.upsert(
        [Document("a", TEXT), Document("b", "“We will respond to this attack,” Putin said.")]
    )
    index.upsert([Document("c", "“The offensive has failed in Kursk,” Vladimir Putin said.")])
    index.upsert([Document("a", TEXT + "\n“Talks are off the table for now,” Ushakov added.")])
    index.delete("c")
    kept = index.statements.speakers(None, 10, 0)
    with sqlite3.connect(index.config.index_dir / DATABASE) as db:
        speaker_tally.rebuild(db)  # counted from scratch
    assert index.statements.speakers(None, 10, 0) == kept
    # "Putin" of b was taken over by Vladimir Putin of c, and keeps his key once c is gone.
    assert [(s.key, s.name, s.statements, s.documents) for s in kept[0]] == [
        ("p:ushakov/y", "Yuri Ushakov", 2, 1),
        ("p:putin/v", "Putin", 1, 1),
    ]
    assert index.statements.speakers("yuri", 10, 0)[1] == 1
