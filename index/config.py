"""One description of an index: where it lives, how it is built and how it is searched.

`service.settings.Settings.index_config()` makes the one `IndexConfig` that the service, every
CLI command, the evaluation code and the tests use, so a setting means the same everywhere.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from index.archive import Archive, ArchiveInfo
from index.chunking import ChunkingParams
from index.cleaning import CLEANING_VERSION
from index.embedding import Embedder
from index.errors import IndexConfigError
from index.fusion import Fusion, Mode
from index.keywords import Bm25Params
from index.vectors import StorePolicy

Backend = Literal["embedded", "milvus"]
_CHUNKING = ChunkingParams()


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """How queries are answered; query-time only, so not recorded in the archive."""

    mode: Mode = Mode.HYBRID
    fusion: Fusion = field(default_factory=Fusion)
    candidates: int = 100
    """Passages taken from each retriever before fusion and folding."""
    duplicate_cosine: float = 0.9
    """Passages whose vectors are at least this similar are one fact."""
    query_cache: int = 1024
    """Query embeddings kept for repeated queries (0: none)."""


@dataclass(frozen=True, slots=True)
class MilvusConfig:
    """Where the Milvus archive lives (index/milvus_archive.py)."""

    uri: str
    token: str | None = None
    db_name: str | None = None
    collection: str = "byline"
    timeout_seconds: float = 10.0
    index_type: str = "HNSW"
    """The dense vector index: HNSW, FLAT, IVF_FLAT ... (what the deployment offers)."""
    server_weighted: bool = False
    """Convex fusion by Milvus's WeightedRanker (arctan-normalized scores) instead of
    Byline's min-max fusion of the two searches; RRF always runs in the server."""


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """Everything that decides how an index is stored, built and searched."""

    index_dir: Path = Path("data/index")
    target_tokens: int = _CHUNKING.target_tokens
    overlap_tokens: int = _CHUNKING.overlap_tokens
    bm25: Bm25Params = field(default_factory=Bm25Params)
    search: SearchOptions = field(default_factory=SearchOptions)
    store: StorePolicy = field(default_factory=StorePolicy)
    backend: Backend = "embedded"
    milvus: MilvusConfig | None = None

    def chunking(self, max_tokens: int) -> ChunkingParams:
        """Chunking for a model whose window holds `max_tokens` tokens (ValueError if the
        target or overlap do not fit it)."""
        return ChunkingParams(
            target_tokens=min(self.target_tokens, max_tokens),
            max_tokens=max_tokens,
            overlap_tokens=self.overlap_tokens,
        )

    def archive_info(self, embedder: Embedder) -> ArchiveInfo:
        """What an archive built by this configuration and model records; another is refused."""
        params = self.chunking(embedder.max_tokens)
        return ArchiveInfo(
            model=embedder.model_id,
            dimension=embedder.dimension,
            max_tokens=embedder.max_tokens,
            precision=embedder.precision,
            target_tokens=params.target_tokens,
            chunk_max_tokens=params.max_tokens,
            overlap_tokens=params.overlap_tokens,
            cleaning_version=CLEANING_VERSION,
            bm25_k1=self.bm25.k1,
            bm25_b=self.bm25.b,
            bm25_stem=self.bm25.stem,
            bm25_stopwords=self.bm25.stopwords,
        )

    def stored_info(self) -> ArchiveInfo | None:
        """What the embedded archive was built with, without opening it (None for a new
        archive, and for Milvus, whose collection is checked when it is opened)."""
        if self.backend != "embedded":
            return None
        from index.archive_db import stored_info

        return stored_info(self.index_dir)

    def open_archive(self, dimension: int, *, background: bool = True) -> Archive:
        """The configured storage backend, opened (Milvus only imported when chosen)."""
        if self.backend == "milvus":
            if self.milvus is None:
                raise ValueError("backend 'milvus' needs a MilvusConfig (BYLINE_MILVUS_URI)")
            try:
                milvus = importlib.import_module("index.milvus_view")
            except ModuleNotFoundError as exc:
                raise IndexConfigError(
                    f"BYLINE_STORE=milvus: the Milvus backend is not available here ({exc}); "
                    "use BYLINE_STORE=embedded"
                ) from exc
            archive: Archive = milvus.open_milvus_archive(self.milvus, dimension)
            return archive
        from index.embedded import EmbeddedArchive

        return EmbeddedArchive(
            self.index_dir, dimension, policy=self.store, bm25=self.bm25, background=background
        )
