"""Moving an index from format 2 (whole generations rewritten on every save) to the archive;
format 3 archives are moved on by index/migration_vectors.py.

Format 2 kept `CURRENT` naming a directory `gen-NNNNNN/` with `manifest.json`,
`documents.jsonl` (text, metadata and passage spans) and `vectors.faiss` (vectors keyed by a
hash of `doc_id#ordinal`). Its vectors are read back, not re-embedded; the old files are
removed once the archive holds every passage. A crash part-way leaves the old index in place
and the migration starts again (the half-written archive is removed first).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.archive import ArchiveInfo, NewVersion, check_compatible
from index.archive_db import MIGRATED_VERSIONS, stored_info, stored_version
from index.cleaning import CLEANING_VERSION, fingerprint
from index.config import IndexConfig
from index.documents import Document
from index.embedded import EmbeddedArchive, remove_archive
from index.embedding import Embedder
from index.errors import IndexCorruptError
from index.migration_vectors import migrate_format_3

log = logging.getLogger(__name__)

_CURRENT = "CURRENT"
_BATCH = 200


def has_format_2(directory: Path) -> bool:
    return (directory / _CURRENT).is_file()


def remove_format_2(directory: Path) -> None:
    """Delete a format-2 index (its pointer first, so a crash never leaves half of one)."""
    (directory / _CURRENT).unlink(missing_ok=True)
    for old in directory.glob("gen-*"):
        shutil.rmtree(old, ignore_errors=True)


def migrate_if_needed(config: IndexConfig, embedder: Embedder) -> bool:
    """Migrate a format-2 or format-3 index in `config.index_dir`; True if one was."""
    directory = config.index_dir
    pointer = directory / _CURRENT
    if not pointer.is_file():
        stored = stored_info(directory) if stored_version(directory) in MIGRATED_VERSIONS else None
        if stored is None:
            return False
        migrate_format_3(directory, stored.dimension)
        return True
    generation = directory / pointer.read_text(encoding="utf-8").strip()
    manifest = _read_json(generation / "manifest.json")
    stored = _info_of(manifest)
    check_compatible(stored, config.archive_info(embedder), str(directory))
    started = time.perf_counter()
    log.warning("migrating the index in %s from format 2 to the archive format", directory)
    remove_archive(directory)  # what an interrupted migration left
    vectors = _read_vectors(generation / "vectors.faiss", embedder.dimension)
    archive = EmbeddedArchive(
        directory, embedder.dimension, policy=config.store, bm25=config.bm25, background=False
    )
    passages = 0
    try:
        batch: list[NewVersion] = []
        for record in _records(generation / "documents.jsonl"):
            document = Document(
                doc_id=record["id"],
                text=record["text"],
                **{k: record.get(k) for k in ("title", "publisher", "url", "published")},
            )
            spans = tuple((int(s), int(e)) for s, e in record["passages"])
            keys = [_old_key(f"{document.doc_id}#{i}") for i in range(len(spans))]
            matrix = np.vstack([vectors(key) for key in keys]) if keys else None
            prints = np.array([fingerprint(document.text[s:e]) for s, e in spans], np.int64)
            batch.append(NewVersion(document, spans, matrix, prints))
            passages += len(spans)
            if len(batch) >= _BATCH:
                archive.write(stored, batch)
                batch = []
        if batch:
            archive.write(stored, batch)
        if archive.view().passage_count != passages:
            raise IndexCorruptError(f"{directory}: migration stored a different passage count")
    finally:
        archive.close()
    remove_format_2(directory)
    log.warning(
        "migrated %d passages in %s to the archive format [%.1f s]; the format-2 files are removed",
        passages,
        directory,
        time.perf_counter() - started,
    )
    return True


def _old_key(passage_id: str) -> int:
    digest = hashlib.blake2b(passage_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def _info_of(manifest: dict[str, Any]) -> ArchiveInfo:
    try:
        model, chunking, bm25 = manifest["model"], manifest["chunking"], manifest["bm25"]
        return ArchiveInfo(
            model=model["id"],
            dimension=model["dimension"],
            max_tokens=model["max_tokens"],
            precision=model.get("precision", "fp32"),
            target_tokens=chunking["target_tokens"],
            chunk_max_tokens=chunking["max_tokens"],
            overlap_tokens=chunking["overlap_tokens"],
            cleaning_version=chunking.get("cleaning_version", CLEANING_VERSION),
            bm25_k1=bm25["k1"],
            bm25_b=bm25["b"],
            bm25_stem=bm25["stem"],
            bm25_stopwords=bm25["stopwords"],
        )
    except (KeyError, TypeError) as exc:
        raise IndexCorruptError(f"format-2 manifest lacks {exc}; rebuild the index") from exc


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{path}: unreadable ({exc}); rebuild the index") from exc
    return data


def _records(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{path}: unreadable ({exc}); rebuild the index") from exc


def _read_vectors(path: Path, dimension: int) -> Any:
    """A function from old passage key to its stored vector."""
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(f"{path}: FAISS cannot read it ({exc})") from exc
    if index.d != dimension:
        raise IndexCorruptError(f"{path}: {index.d}-dimensional vectors, expected {dimension}")

    def vector(key: int) -> np.ndarray:
        return np.asarray(index.reconstruct(key), dtype=np.float32)

    return vector
