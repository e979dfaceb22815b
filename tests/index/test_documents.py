from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.documents import derived_doc_id, load_documents
from index.errors import InvalidDocumentError
from tests.conftest import SEEDS


def test_seed_folder_reads_five_articles_with_metadata() -> None:
    documents = {d.doc_id: d for d in load_documents([SEEDS])}
    assert sorted(documents) == [p.stem for p in sorted(SEEDS.glob("*.txt"))]
    assert documents["004_1436fe9128c89578"].publisher == "MONews"
    assert all(d.title for d in documents.values())
    for doc_id, document in documents.items():
        # Text is the file's bytes decoded, nothing normalized: offsets match the file.
        assert document.text == (SEEDS / f"{doc_id}.txt").read_bytes().decode("utf-8")


def test_folder_of_text_markdown_json_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "a.txt").write_bytes(b"First article.\r\nWith CRLF line ends.\r\n")
    (tmp_path / "nested" / "b.md").write_text("# Heading\n\nSecond article body.\n")
    (tmp_path / "c.json").write_text(json.dumps([{"id": "c1", "text": "Third.", "title": "T"}]))
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"text": "Fourth.", "url": "https://example.org/4", "published": "2024-08-16"})
        + "\n\n"
        + json.dumps({"id": "d2", "text": "Fifth.", "publisher": "Agency"})
        + "\n"
    )
    documents = {d.doc_id: d for d in load_documents([tmp_path])}
    assert set(documents) == {"a", "nested_b", "c1", derived_doc_id("Fourth."), "d2"}
    assert documents["a"].text == "First article.\r\nWith CRLF line ends.\r\n"
    assert documents["c1"].title == "T"
    assert documents[derived_doc_id("Fourth.")].published == "2024-08-16"
    assert documents["d2"].publisher == "Agency"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.txt", b"caf\xe9 latin-1 text", "not valid UTF-8"),
        ("bad.jsonl", b'{"text": "ok"}\n{"text": \n', r"bad\.jsonl:2: invalid JSON"),
        ("bad.json", b'[{"title": "no text"}]', "'text' is required"),
        ("bad.json", b'[{"id": "../../etc/passwd", "text": "x"}]', "is not allowed"),
        ("bad.json", b'[{"text": "x", "title": 5}]', "'title' must be a string"),
    ],
)
def test_bad_files_name_the_file_and_what_to_fix(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InvalidDocumentError, match=message):
        load_documents([tmp_path])


def test_two_documents_with_one_id_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps([{"id": "same", "text": "One."}]))
    (tmp_path / "y.json").write_text(json.dumps([{"id": "same", "text": "Two."}]))
    with pytest.raises(InvalidDocumentError, match="also used by"):
        load_documents([tmp_path])


def test_missing_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidDocumentError, match="no such file or folder"):
        load_documents([tmp_path / "absent"])
