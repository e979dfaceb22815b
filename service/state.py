"""What a running service holds: settings, the loaded index, and whether it is ready."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from index.answer import ExtractiveAnswerer
from index.coalesce import CoalescingEmbedder
from index.documents import Document
from index.embedding import Embedder
from index.engine import IngestResult, NewsIndex
from index.errors import BylineError
from service.errors import ServiceError
from service.settings import Settings

log = logging.getLogger(__name__)


class ServiceState:
    """Loads the model and index once, then serves them; writes persist before they return."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._index: NewsIndex | None = None
        self._answerer: ExtractiveAnswerer | None = None
        self.error: BylineError | None = None
        self.load_seconds: float | None = None
        # One write at a time, from the change in memory until it is on disk.
        self._write_lock = threading.Lock()

    def load(self) -> None:
        """Load the embedding model and the index; record an error instead of raising it."""
        started = time.perf_counter()
        try:
            embedder = self._embedder or self.settings.load_embedder()
            if self.settings.embed_coalesce:
                embedder = CoalescingEmbedder(embedder)
            params = self.settings.chunking(embedder.max_tokens)
            self._index = NewsIndex.open(
                self.settings.index_dir,
                embedder,
                params,
                bm25=self.settings.bm25(),
                options=self.settings.search_options(),
                store_policy=self.settings.store_policy(),
            )
        except BylineError as exc:
            self.error = exc
            log.error("cannot serve: %s", exc)
            return
        self._answerer = ExtractiveAnswerer(embedder, knows=self._knows)
        self.load_seconds = time.perf_counter() - started
        log.info(
            "ready in %.1f s: %d documents, %d passages from %s",
            self.load_seconds,
            self._index.document_count,
            self._index.passage_count,
            self.settings.index_dir,
        )

    @property
    def loaded_index(self) -> NewsIndex | None:
        return self._index

    @property
    def index(self) -> NewsIndex:
        """The loaded index, or a 503 that says why there is none yet."""
        if self._index is not None:
            return self._index
        if self.error is not None:
            raise ServiceError(503, self.error.code, str(self.error))
        raise ServiceError(503, "not_ready", "the index is still loading; retry in a few seconds")

    @property
    def answerer(self) -> ExtractiveAnswerer:
        self.index  # noqa: B018 -- raises the 503 that says why nothing is loaded yet
        assert self._answerer is not None
        return self._answerer

    def _knows(self, word: str) -> bool:
        # Through the state, so the answerer always sees the index after the latest write.
        return self.index.knows(word)

    def upsert(self, documents: Sequence[Document]) -> list[IngestResult]:
        with self._write_lock:
            results = self.index.upsert(documents)
            self._persist()
            return results

    def delete(self, doc_id: str) -> None:
        with self._write_lock:
            self.index.delete(doc_id)
            self._persist()

    def _persist(self) -> None:
        """Save, or put memory back to the last saved index and report the failure."""
        index = self.index
        try:
            index.save(self.settings.index_dir)
        except OSError as exc:
            log.error("saving the index to %s failed: %s", self.settings.index_dir, exc)
            self._index = NewsIndex.open(
                self.settings.index_dir,
                index.embedder,
                index.params,
                bm25=self.settings.bm25(),
                options=self.settings.search_options(),
                store_policy=self.settings.store_policy(),
            )
            raise ServiceError(
                503,
                "storage_failed",
                f"the change was not saved ({exc.strerror or exc}); the index is as it was before",
            ) from exc
