"""One settings object for the service and the CLI, read from `BYLINE_*` environment variables."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from limits import parse
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.chunking import ChunkingParams
from index.config import Backend as StoreBackend
from index.config import IndexConfig, MilvusConfig, SearchOptions
from index.embedding import DEFAULT_MODEL, Backend, Embedder, Precision
from index.errors import BylineError
from index.fusion import Fusion, FusionMethod, Mode
from index.models import load_embedder
from index.onnx_embedding import LOSSLESS_INT8, auto_precision, int8_variant
from index.vectors import StoreKind, StorePolicy
from index.web import FetchPolicy

log = logging.getLogger(__name__)

ENV_PREFIX = "BYLINE_"
_CHUNKING = ChunkingParams()
_SEARCH = SearchOptions()
_FUSION = Fusion()
_STORE = StorePolicy()


MilvusIndex = Literal["HNSW", "FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "DISKANN", "AUTOINDEX"]


class ConfigurationError(Exception):
    """A setting has a bad value; the message names the environment variable."""


class Settings(BaseSettings):
    """Every knob of Byline. Environment: `BYLINE_<NAME>`; CLI flags override it."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    index_dir: Path = Field(Path("data/index"), description="Directory holding the saved index.")
    seeds_dir: Path = Field(Path("seeds"), description="Corpus `byline index` reads by default.")
    model: str = Field(
        DEFAULT_MODEL,
        description="Embedding model: the packaged default, a local directory, or a model id.",
    )
    embed_backend: Backend = Field(
        "onnx",
        description="Embedding runtime: onnx (default; exported once, no torch to serve) or torch.",
    )
    embed_precision: Literal["auto", "fp32", "int8"] = Field(
        "auto",
        description="onnx only: fp32, int8 (faster, slightly less accurate), or auto: the "
        "existing index's precision, else int8 where measured lossless (AVX-512 VNNI CPUs), "
        "else fp32.",
    )
    embed_threads: int = Field(
        0, ge=0, le=256, description="onnx only: threads per model call; 0 means one per core."
    )
    embed_coalesce: bool = Field(
        True, description="Embed the queries of concurrent requests in one model call."
    )
    embed_parallel: int = Field(
        1,
        ge=1,
        le=64,
        description="Coalesced model calls that may run at once (each with BYLINE_EMBED_THREADS).",
    )
    model_cache: Path = Field(
        Path("data/models"), description="Where the ONNX export of the model is cached."
    )
    store: StoreBackend = Field(
        "embedded",
        description="Where the archive lives: embedded (this machine) or milvus (BYLINE_MILVUS_*).",
    )
    milvus_uri: str | None = Field(
        None,
        description="Milvus: a file path (Milvus Lite) or http://host:19530 (a server).",
    )
    milvus_token: SecretStr | None = Field(None, description="Milvus: user:password or token.")
    milvus_db: str | None = Field(None, description="Milvus: database name (default: default).")
    milvus_collection: str = Field(
        "byline",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$",
        description="Milvus: collection prefix.",
    )
    milvus_timeout_seconds: float = Field(
        10.0, gt=0, le=600, description="Milvus: time-out of each request to it."
    )
    milvus_index: MilvusIndex = Field("HNSW", description="Milvus: the dense vector index type.")
    milvus_server_weighted: bool = Field(
        False,
        description="Milvus: convex fusion by its WeightedRanker (arctan-normalized) rather "
        "than Byline's min-max fusion; RRF (BYLINE_FUSION=rrf) always runs in Milvus.",
    )
    index_kind: StoreKind = Field(
        _STORE.kind,
        description="Vector index: flat (exact), ivf (approximate), or auto (ivf when large).",
    )
    ivf_threshold: int = Field(
        _STORE.ivf_threshold, ge=1, description="Passages at which `auto` moves to IVF."
    )
    ivf_nprobe: int = Field(
        _STORE.nprobe, ge=1, le=65536, description="IVF lists searched per query."
    )
    host: str = Field("127.0.0.1", description="Address the HTTP service listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the HTTP service listens on.")
    batch_size: int = Field(32, ge=1, le=4096, description="Texts embedded per model call.")
    # Defaults come from the core's own parameter classes, where each is justified.
    chunk_target_tokens: int = Field(
        _CHUNKING.target_tokens, ge=16, le=510, description="Target passage length in tokens."
    )
    chunk_overlap_tokens: int = Field(
        _CHUNKING.overlap_tokens, ge=0, le=256, description="Longest overlap sentence."
    )
    search_mode: Mode = Field(_SEARCH.mode, description="Default mode: dense, bm25 or hybrid.")
    fusion: FusionMethod = Field(
        _FUSION.method,
        description="How hybrid mode fuses the two ranked lists: convex, zscore, dbsf, rank, rrf, "
        "zscore_rrf, peaked.",
    )
    dense_weight: float = Field(
        _FUSION.dense_weight, ge=0.0, le=1.0, description="Weight of dense scores in fusion."
    )
    duplicate_cosine: float = Field(
        _SEARCH.duplicate_cosine,
        ge=0.5,
        le=1.01,
        description="Passages this similar are one fact; above 1 turns it off.",
    )
    query_cache: int = Field(
        _SEARCH.query_cache, ge=0, le=1_000_000, description="Query embeddings kept (LRU)."
    )
    chat_passages: int = Field(
        5, ge=1, le=50, description="Passages the chat endpoint draws its answer from."
    )
    worker_threads: int = Field(
        8,
        ge=1,
        le=256,
        description="Threads that run searches and writes; their queries share model calls.",
    )
    max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest request body accepted; larger is a 413."
    )
    max_documents_per_request: int = Field(
        100, ge=1, le=10_000, description="Documents one POST /documents may carry."
    )
    max_document_chars: int = Field(
        1_000_000, ge=1000, description="Longest article text accepted, in characters."
    )
    fetch_allow_private: bool = Field(
        False,
        description="Fetch pages from private, loopback and link-local addresses too "
        "(a newsroom's own network; the tests' local server).",
    )
    fetch_max_bytes: int = Field(
        5_000_000, ge=10_000, description="Largest page or feed fetched, in bytes."
    )
    fetch_timeout_seconds: float = Field(
        15.0, gt=0, le=300, description="Time-out of every fetch request."
    )
    max_fetch_urls: int = Field(
        20, ge=1, le=1000, description="URLs one POST /documents/fetch may carry."
    )
    api_key: SecretStr | None = Field(
        None, description="Bearer key that writes (and, with protect_reads, reads) require."
    )
    api_key_file: Path | None = Field(None, description="A file holding the API key instead.")
    protect_reads: bool = Field(False, description="Require the API key for reads too.")
    rate_limit: str | None = Field(
        None, description='Requests per client, e.g. "120/minute"; unset: no limit.'
    )
    log_format: Literal["json", "text"] = Field("json", description="Log lines as JSON or text.")
    cors_origins: str = Field(
        "",
        description="Browser origins allowed to call the API, comma-separated, or *; empty: none.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("rate_limit")
    @classmethod
    def _valid_rate_limit(cls, value: str | None) -> str | None:
        if value:
            try:
                parse(value)
            except ValueError as exc:
                raise ValueError(f'use a limit such as "120/minute" ({exc})') from exc
        return value or None

    @model_validator(mode="after")
    def _key_from_file(self) -> Settings:
        if self.api_key_file is not None and self.api_key is None:
            try:
                key = self.api_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"api_key_file {self.api_key_file}: {exc.strerror}") from exc
            if not key:
                raise ValueError(f"api_key_file {self.api_key_file} is empty")
            object.__setattr__(self, "api_key", SecretStr(key))
        return self

    @model_validator(mode="after")
    def _precision_needs_onnx(self) -> Settings:
        if self.embed_precision == "int8" and self.embed_backend != "onnx":
            raise ValueError(
                f"BYLINE_EMBED_PRECISION={self.embed_precision} needs BYLINE_EMBED_BACKEND=onnx"
            )
        return self

    @model_validator(mode="after")
    def _milvus_needs_uri(self) -> Settings:
        if self.store == "milvus" and not self.milvus_uri:
            raise ValueError(
                "BYLINE_STORE=milvus needs BYLINE_MILVUS_URI (a file path for Milvus Lite, or "
                "http://host:19530)"
            )
        return self

    def precision(self) -> Precision:
        """The embedding precision to load: `auto` resolved, the choice logged."""
        if self.embed_precision != "auto":
            return self.embed_precision
        if self.embed_backend != "onnx":
            return "fp32"
        try:
            stored = self.index_config().stored_info()
        except BylineError:
            stored = None  # opening the index reports it
        if stored is not None:
            # An index serves only queries of its own precision: follow it, so that an index
            # built before int8 became the default keeps working.
            chosen: Precision = "fp32" if stored.precision == "fp32" else "int8"
            log.info("embedding precision %s: auto, as the index was built", chosen)
            return chosen
        variant = int8_variant()
        chosen = auto_precision(variant, LOSSLESS_INT8)
        log.info(
            "embedding precision %s: auto on a CPU of kind %s (int8 where measured lossless: %s)",
            chosen,
            variant,
            ", ".join(sorted(LOSSLESS_INT8)) or "none yet",
        )
        return chosen

    def load_embedder(self) -> Embedder:
        """The embedder these settings describe (loads or exports the model: seconds)."""
        return load_embedder(
            self.model,
            backend=self.embed_backend,
            precision=self.precision(),
            cache_dir=self.model_cache,
            batch_size=self.batch_size,
            threads=self.embed_threads,
        )

    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(
            allow_private=self.fetch_allow_private,
            max_bytes=self.fetch_max_bytes,
            timeout_seconds=self.fetch_timeout_seconds,
        )

    def index_config(self) -> IndexConfig:
        """The one description of the index that every entry point uses."""
        milvus = None
        if self.milvus_uri:
            milvus = MilvusConfig(
                uri=self.milvus_uri,
                token=self.milvus_token.get_secret_value() if self.milvus_token else None,
                db_name=self.milvus_db,
                collection=self.milvus_collection,
                timeout_seconds=self.milvus_timeout_seconds,
                index_type=self.milvus_index,
                server_weighted=self.milvus_server_weighted,
            )
        return IndexConfig(
            index_dir=self.index_dir,
            target_tokens=self.chunk_target_tokens,
            overlap_tokens=self.chunk_overlap_tokens,
            search=SearchOptions(
                mode=self.search_mode,
                fusion=Fusion(method=self.fusion, dense_weight=self.dense_weight),
                duplicate_cosine=self.duplicate_cosine,
                query_cache=self.query_cache,
            ),
            store=StorePolicy(
                kind=self.index_kind, ivf_threshold=self.ivf_threshold, nprobe=self.ivf_nprobe
            ),
            backend=self.store,
            milvus=milvus,
        )

    def chunking(self, max_tokens: int) -> ChunkingParams:
        """Chunking for a model whose window holds `max_tokens` tokens."""
        try:
            return self.index_config().chunking(max_tokens)
        except ValueError as exc:
            raise ConfigurationError(
                f"{ENV_PREFIX}CHUNK_TARGET_TOKENS / {ENV_PREFIX}CHUNK_OVERLAP_TOKENS: {exc}"
            ) from exc


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with non-None `overrides` (CLI flags) taking precedence."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "api_key_file"
            source = (
                f"--{name.replace('_', '-')}" if name in given else f"{ENV_PREFIX}{name.upper()}"
            )
            problems.append(f"{source}={error.get('input')!r}: {error['msg']}")
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
