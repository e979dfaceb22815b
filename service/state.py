"""What a running service holds: settings, the loaded index, and whether it is ready."""

from __future__ import annotations

import logging
import time

from index.answer import ExtractiveAnswerer
from index.archive import check_model
from index.coalesce import CoalescingEmbedder
from index.embedding import Embedder, resolve_model
from index.engine import NewsIndex
from index.errors import BylineError, IndexCorruptError
from index.shaped_answer import ShapedAnswerer
from index.who_said import Statements
from service.errors import ServiceError
from service.settings import ConfigurationError, Settings

log = logging.getLogger(__name__)


class ServiceState:
    """Loads the model and index once, then serves them. Writes are durable when the index
    returns from them, so the state keeps nothing of its own to save."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._index: NewsIndex | None = None
        self._answerer: ShapedAnswerer | None = None
        self.error: BylineError | None = None
        self.load_seconds: float | None = None

    def refuse_another_model(self) -> None:
        """Raise IndexMismatchError at once for an index built with another model, before
        seconds go into loading one: a mismatch never resolves itself."""
        config = self.settings.index_config()
        try:
            stored = config.stored_info()
        except IndexCorruptError:
            return  # loading reports it, and /ready says how to fix it
        if stored is not None:
            model = (
                self._embedder.model_id
                if self._embedder is not None
                else resolve_model(self.settings.model)[0]
            )
            check_model(stored, model, str(config.index_dir))

    def load(self) -> None:
        """Load the embedding model and the index; record an error instead of raising it."""
        started = time.perf_counter()
        try:
            embedder = self._embedder or self.settings.load_embedder()
            if self.settings.embed_coalesce:
                embedder = CoalescingEmbedder(embedder, leaders=self.settings.embed_parallel)
            self._index = NewsIndex.open(self.settings.index_config(), embedder)
        except ConfigurationError as exc:
            self.error = BylineError(str(exc))
            log.error("cannot serve: %s", exc)
            return
        except BylineError as exc:
            self.error = exc
            log.error("cannot serve: %s", exc)
            return
        self._answerer = ShapedAnswerer(
            self._index, ExtractiveAnswerer(embedder, knows=self._knows), knows=self._knows
        )
        self.load_seconds = time.perf_counter() - started
        view = self._index.view()
        log.info(
            "ready in %.1f s: %d documents, %d passages in %s",
            self.load_seconds,
            view.document_count,
            view.passage_count,
            self._index.where,
        )

    def close(self) -> None:
        if self._index is not None:
            self._index.close()

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
    def answerer(self) -> ShapedAnswerer:
        self.index  # noqa: B018 -- raises the 503 that says why nothing is loaded yet
        assert self._answerer is not None
        return self._answerer

    @property
    def statements(self) -> Statements:
        """Who said what (a 503 while nothing is loaded)."""
        return self.answerer.statements

    def _knows(self, word: str) -> bool:
        # Through the state, so the answerer always sees the index after the latest write.
        return self.index.knows(word)
