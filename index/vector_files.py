"""Passage vectors on disk: append-only segment files beside the archive's database.

    index_dir/vectors/000001.f32   float32 rows of the archive's dimension, in write order

A passage row in SQLite names where its vector lives (`seg`, `pos`). A write appends its
vectors to the open segment and fsyncs them before the transaction that names them commits,
so a committed row's vector is always on disk; a crash between the two leaves rows no
passage names, which `open` cuts off. Compaction copies a segment's live rows into a new
segment, points their passages at it in one transaction and only then deletes the old file.

Why not BLOBs in SQLite (format 3): a start-up then read a million 1.5 KB values through
SQLite and Python one by one (15 s of the 23 s at a million passages, and every scan of the
passages table paged through every vector). One read per segment file takes well under a
second, and the passages table stays small enough to scan. Why not FAISS's own files: the
vectors are the archive's truth, written once per write; FAISS indexes are derived from them
in memory and never saved whole.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from index.errors import IndexCorruptError

log = logging.getLogger(__name__)

FOLDER = "vectors"
SEGMENT_ROWS = 65_536
"""Rows after which writes open a new segment (96 MB at 384 dimensions): small enough that
compacting one is quick, few enough that start-up opens a handful of files."""
_SUFFIX = ".f32"

Positions = NDArray[np.int64]


class VectorFiles:
    """The segment files of one archive; `append` from the writer, the rest from anyone."""

    def __init__(self, directory: Path, dimension: int) -> None:
        self.directory = directory / FOLDER
        self.dimension = dimension
        self.row_bytes = dimension * 4
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # the segment numbers and the open segment
        self._open_segment = 1
        self._open_rows = 0
        self._highest = 0

    def path(self, segment: int) -> Path:
        return self.directory / f"{segment:06d}{_SUFFIX}"

    def segments(self) -> dict[int, int]:
        """Rows in each segment file on disk."""
        return {
            int(p.stem): p.stat().st_size // self.row_bytes
            for p in self.directory.glob(f"*{_SUFFIX}")
            if p.stem.isdigit()
        }

    def open(self, referenced: Mapping[int, int]) -> None:
        """Cut each segment to the rows passages name (`referenced`: segment -> highest
        position + 1) and remove segments no passage names: what a crash between an append
        and its commit, or during compaction, left behind."""
        for segment, rows in self.segments().items():
            keep = referenced.get(segment, 0)
            path = self.path(segment)
            if keep == 0:
                path.unlink()
                log.info("removed %s: no passage names it", path)
            elif rows * self.row_bytes != path.stat().st_size or rows > keep:
                with path.open("r+b") as f:
                    f.truncate(keep * self.row_bytes)
                    os.fsync(f.fileno())
                log.info("cut %s to the %d rows passages name (it held %d)", path, keep, rows)
        missing = [s for s in referenced if not self.path(s).exists()]
        if missing:
            raise IndexCorruptError(
                f"{self.directory}: vector segments {missing[:5]} are missing; restore the index "
                "from a backup or rebuild it with `byline index --rebuild`"
            )
        _fsync_directory(self.directory)
        on_disk = self.segments()
        with self._lock:
            self._highest = max(on_disk, default=0)
            last = self._highest
            if last and on_disk[last] < SEGMENT_ROWS:
                self._open_segment, self._open_rows = last, on_disk[last]
            else:
                self._open_segment, self._open_rows = self._next_segment(), 0

    def append(self, vectors: NDArray[np.float32]) -> tuple[int, Positions]:
        """Write rows to the open segment and fsync them; (segment, their positions).

        One writer at a time (the archive's write lock); a batch never spans segments."""
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dimension:
            raise ValueError(f"vectors of shape {matrix.shape}, expected (n, {self.dimension})")
        if not len(matrix):  # a write that only deletes: nothing to write or fsync
            return self.open_segment, np.zeros(0, np.int64)
        with self._lock:
            if self._open_rows and self._open_rows + len(matrix) > SEGMENT_ROWS:
                self._open_segment, self._open_rows = self._next_segment(), 0
            segment, first = self._open_segment, self._open_rows
        path = self.path(segment)
        created = not path.exists()
        with path.open("ab") as f:
            if f.tell() != first * self.row_bytes:  # an append that failed half-way
                f.truncate(first * self.row_bytes)
            f.write(matrix.tobytes())
            f.flush()
            os.fsync(f.fileno())
        if created:
            _fsync_directory(self.directory)
        with self._lock:
            self._open_rows = first + len(matrix)
        return segment, np.arange(first, first + len(matrix), dtype=np.int64)

    def read(self, segment: int, positions: Positions) -> NDArray[np.float32]:
        """The rows at these positions of one segment, in the order given."""
        path = self.path(segment)
        try:
            rows = path.stat().st_size // self.row_bytes
            if len(positions) and int(positions.max()) >= rows:
                raise IndexCorruptError(
                    f"{path}: passages name row {int(positions.max())} of {rows}; restore "
                    "the index from a backup or rebuild it with `byline index --rebuild`"
                )
            if not len(positions):
                return np.zeros((0, self.dimension), np.float32)
            # Mapped, so that a few rows (a metadata-only change) read a few pages, not the
            # whole segment.
            mapped = np.memmap(path, np.float32, "r", shape=(rows, self.dimension))
            return np.array(mapped[positions], dtype=np.float32)
        except OSError as exc:
            raise IndexCorruptError(f"{path}: vector segment unreadable ({exc})") from exc

    def read_into(self, segment: int, positions: Positions, out: NDArray[np.float32]) -> None:
        """`out[i] = row positions[i]`; a segment read whole and in order goes straight into
        `out`, without a copy in between (start-up reads a million rows this way)."""
        path = self.path(segment)
        whole = len(positions) * self.row_bytes == path.stat().st_size and bool(
            np.array_equal(positions, np.arange(len(positions)))
        )
        if not (whole and out.flags.c_contiguous):
            out[:] = self.read(segment, positions)
            return
        with path.open("rb") as f:
            if f.readinto(out.data.cast("B")) != out.nbytes:
                raise IndexCorruptError(f"{path}: vector segment shorter than its passages")

    def copy(self, segment: int, positions: Positions) -> int:
        """A new segment holding these rows of `segment`, in order, on disk (compaction)."""
        rows = self.read(segment, positions)
        with self._lock:
            target = self._next_segment()
        path = self.path(target)
        with path.open("wb") as f:
            f.write(np.ascontiguousarray(rows).tobytes())
            f.flush()
            os.fsync(f.fileno())
        _fsync_directory(self.directory)
        return target

    def remove(self, segment: int) -> None:
        """Delete a segment no passage names any more."""
        self.path(segment).unlink(missing_ok=True)

    @property
    def open_segment(self) -> int:
        """The segment writes append to (compaction leaves it alone)."""
        with self._lock:
            return self._open_segment

    def _next_segment(self) -> int:
        """A number after every segment ever used by this process (call with the lock held)."""
        self._highest += 1
        return self._highest


def _fsync_directory(directory: Path) -> None:
    """Make a file's creation or removal durable, not only its contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
