"""The vector segment files: appends, reads, what opening cuts off after a crash, compaction's
copies. Real files in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import vector_files
from index.errors import IndexCorruptError
from index.vector_files import VectorFiles

DIMENSION = 4


def _rows(count: int, start: float = 0.0) -> np.ndarray:
    return (np.arange(count * DIMENSION, dtype=np.float32) + start).reshape(count, DIMENSION)


def test_appended_rows_read_back_in_any_order(tmp_path: Path) -> None:
    files = VectorFiles(tmp_path, DIMENSION)
    files.open({})
    segment, positions = files.append(_rows(5))
    again, more = files.append(_rows(3, start=100))
    assert segment == again == 1
    assert positions.tolist() == [0, 1, 2, 3, 4]
    assert more.tolist() == [5, 6, 7]
    picked = np.array([6, 0, 3])
    expected = np.vstack([_rows(3, start=100)[1], _rows(5)[0], _rows(5)[3]])
    assert np.array_equal(files.read(1, picked), expected)


def test_a_full_segment_is_sealed_and_writes_go_on_in_a_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_files, "SEGMENT_ROWS", 4)
    files = VectorFiles(tmp_path, DIMENSION)
    files.open({})
    assert files.append(_rows(3))[0] == 1
    segment, positions = files.append(_rows(2))
    assert segment == 2
    assert positions.tolist() == [0, 1]
    assert files.segments() == {1: 3, 2: 2}
    reopened = VectorFiles(tmp_path, DIMENSION)
    reopened.open({1: 3, 2: 2})
    assert reopened.append(_rows(1))[0] == 2  # the last segment still has room


def test_opening_cuts_rows_no_passage_names_and_removes_unnamed_segments(
    tmp_path: Path,
) -> None:
    files = VectorFiles(tmp_path, DIMENSION)
    files.open({})
    files.append(_rows(4))
    orphan = files.copy(1, np.array([0, 1]))  # compaction's copy, never committed
    with files.path(1).open("ab") as f:
        f.write(b"\x00" * 7)  # an append a crash cut short
    reopened = VectorFiles(tmp_path, DIMENSION)
    reopened.open({1: 3})  # the commit of the fourth row never happened
    assert reopened.segments() == {1: 3}
    assert not reopened.path(orphan).exists()
    assert np.array_equal(reopened.read(1, np.arange(3)), _rows(4)[:3])
    segment, positions = reopened.append(_rows(1, start=50))
    assert (segment, positions.tolist()) == (1, [3])


def test_a_missing_segment_is_refused_with_how_to_fix_it(tmp_path: Path) -> None:
    files = VectorFiles(tmp_path, DIMENSION)
    with pytest.raises(IndexCorruptError, match="rebuild"):
        files.open({3: 10})


def test_reading_past_a_segments_end_is_refused(tmp_path: Path) -> None:
    files = VectorFiles(tmp_path, DIMENSION)
    files.open({})
    files.append(_rows(2))
    with pytest.raises(IndexCorruptError, match="name row 5 of 2"):
        files.read(1, np.array([5]))


def test_copy_keeps_the_rows_in_order_under_a_new_number(tmp_path: Path) -> None:
    files = VectorFiles(tmp_path, DIMENSION)
    files.open({})
    files.append(_rows(6))
    target = files.copy(1, np.array([1, 4, 5]))
    assert target != 1
    assert target != files.open_segment
    assert np.array_equal(files.read(target, np.arange(3)), _rows(6)[[1, 4, 5]])
    files.remove(1)
    assert set(files.segments()) == {target}


def test_vectors_of_the_wrong_width_are_refused(tmp_path: Path) -> None:
    files = VectorFiles(tmp_path, DIMENSION)
    files.open({})
    with pytest.raises(ValueError, match="expected"):
        files.append(np.zeros((2, DIMENSION + 1), np.float32))


def test_read_into_fills_rows_whole_or_picked(tmp_path: Path) -> None:
    files = VectorFiles(tmp_path, DIMENSION)
    files.open({})
    files.append(_rows(4))
    whole = np.zeros((4, DIMENSION), np.float32)
    files.read_into(1, np.arange(4), whole)  # the whole segment, in order: read directly
    assert np.array_equal(whole, _rows(4))
    picked = np.zeros((2, DIMENSION), np.float32)
    files.read_into(1, np.array([3, 1]), picked)
    assert np.array_equal(picked, _rows(4)[[3, 1]])
    backwards = np.zeros((4, DIMENSION), np.float32)
    files.read_into(1, np.array([3, 2, 1, 0]), backwards)  # all rows, another order
    assert np.array_equal(backwards, _rows(4)[::-1])
