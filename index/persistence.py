"""An index on disk: one directory, saved atomically, checked when loaded.

    index_dir/
      CURRENT              names the live generation, e.g. "gen-000007"
      gen-000007/
        manifest.json      format version, model, chunking, per-document checksums, file hashes
        vectors.faiss      the vector store's file(s)
        documents.jsonl    one document a line: metadata, original text, passage spans

A save writes a new generation into a temporary directory beside the live one, fsyncs it,
renames it into place and only then replaces CURRENT (itself written to a temporary file and
renamed). A crash at any moment leaves CURRENT naming a complete generation.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from index.errors import IndexCorruptError

FORMAT = "byline-index"
FORMAT_VERSION = 2
"""2: adds the BM25 index (`bm25/`) and its parameters."""
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
_GENERATION_PREFIX = "gen-"
_TMP_PREFIX = ".tmp-"


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    dimension: int
    max_tokens: int
    # Indexes written before precisions existed were all fp32.
    precision: str = "fp32"


class ChunkingInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_tokens: int
    max_tokens: int
    overlap_tokens: int
    cleaning_version: int


class Bm25Info(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k1: float
    b: float
    stem: bool
    stopwords: str


class FileInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str
    bytes: int


class Counts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: int
    passages: int


class Manifest(BaseModel):
    """What an index was built with; loading compares it with the running configuration."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["byline-index"] = "byline-index"
    format_version: int = FORMAT_VERSION
    generation: int = 0
    created_at: str = ""
    model: ModelInfo
    chunking: ChunkingInfo
    store: str
    bm25: Bm25Info
    counts: Counts
    documents: dict[str, str]
    """doc_id -> sha256 of the document's text."""
    files: dict[str, FileInfo] = {}


def index_exists(index_dir: Path) -> bool:
    return (index_dir / CURRENT).is_file()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def live_generation(index_dir: Path) -> Path:
    """The directory CURRENT names; refuses a dangling or malformed pointer."""
    pointer = index_dir / CURRENT
    name = pointer.read_text(encoding="utf-8").strip()
    generation = index_dir / name
    if not name.startswith(_GENERATION_PREFIX) or "/" in name or not generation.is_dir():
        raise IndexCorruptError(
            f"{pointer} names {name!r}, which is not a generation directory of this index; "
            f"rebuild it with `byline index --rebuild --index-dir {index_dir}`"
        )
    return generation


def read_manifest(generation: Path) -> Manifest:
    path = generation / MANIFEST
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{path}: unreadable manifest ({exc})") from exc
    if isinstance(raw, dict) and raw.get("format_version") not in (None, FORMAT_VERSION):
        raise IndexCorruptError(
            f"{path}: index format version {raw.get('format_version')} is not supported "
            f"(this Byline reads version {FORMAT_VERSION}); rebuild the index"
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        raise IndexCorruptError(f"{path}: not a Byline index manifest ({exc})") from exc


def verify_files(generation: Path, manifest: Manifest) -> None:
    """Check every file the manifest lists against its size and sha256."""
    for name, info in manifest.files.items():
        path = generation / name
        if not path.is_file():
            raise IndexCorruptError(
                f"{path}: missing; rebuild the index with `byline index --rebuild`"
            )
        size = path.stat().st_size
        if size != info.bytes or _sha256(path) != info.sha256:
            raise IndexCorruptError(
                f"{path}: does not match its checksum in the manifest ({size} bytes, expected "
                f"{info.bytes}); the file is truncated or was changed. Rebuild the index with "
                "`byline index --rebuild`"
            )


def write_generation(
    index_dir: Path, manifest: Manifest, write_files: Callable[[Path], list[str]]
) -> Path:
    """Write a new generation with `write_files(tmp_dir)` and make it live atomically."""
    index_dir.mkdir(parents=True, exist_ok=True)
    live = live_generation(index_dir) if index_exists(index_dir) else None
    _remove_leftovers(index_dir, live)
    previous = manifest.generation
    if live is not None:
        previous = max(previous, int(live.name[len(_GENERATION_PREFIX) :]))
    tmp = index_dir / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        names = write_files(tmp)
        files = {}
        for name in names:
            path = tmp / name
            _fsync_file(path)
            files[name] = FileInfo(sha256=_sha256(path), bytes=path.stat().st_size)
        for folder in {(tmp / name).parent for name in names} - {tmp}:
            _fsync_dir(folder)
        final = manifest.model_copy(
            update={
                "generation": previous + 1,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": files,
            }
        )
        (tmp / MANIFEST).write_text(final.model_dump_json(indent=2), encoding="utf-8")
        _fsync_file(tmp / MANIFEST)
        _fsync_dir(tmp)
        generation = index_dir / f"{_GENERATION_PREFIX}{final.generation:06d}"
        tmp.rename(generation)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(index_dir)
    pointer_tmp = index_dir / f"{_TMP_PREFIX}{CURRENT}-{uuid.uuid4().hex}"
    pointer_tmp.write_text(generation.name + "\n", encoding="utf-8")
    _fsync_file(pointer_tmp)
    os.replace(pointer_tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    for old in index_dir.glob(f"{_GENERATION_PREFIX}*"):
        if old != generation:
            shutil.rmtree(old, ignore_errors=True)
    return generation


def _remove_leftovers(index_dir: Path, live: Path | None) -> None:
    """What an interrupted save left: temporary files, and a generation CURRENT never named."""
    leftovers = [*index_dir.glob(f"{_TMP_PREFIX}*"), *index_dir.glob(f"{_GENERATION_PREFIX}*")]
    for leftover in leftovers:
        if leftover == live:
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
