"""Concurrent requests' queries embedded together: few model calls for what arrived at once.

Under load, a 2-core machine spends most of each search in the model, and many threads
calling it at once only fight over the cores. Here a few callers at a time (the leaders) run
the model, each for its own texts and those of the callers waiting meanwhile; when one is done
it hands the lead to the next waiting caller. An idle service pays nothing: a lone caller
leads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from index.embedding import Embedder, Vectors, WrappedEmbedder


@dataclass(eq=False)
class _Job:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: Vectors | None = None
    error: BaseException | None = None


class CoalescingEmbedder(WrappedEmbedder):
    """An `Embedder` that merges concurrent small calls (queries) into few calls of `inner`.

    At most `leaders` model calls run at once (one per core, each on one model thread, is
    what serves most queries a second on a small machine); a caller that arrives while they
    all run waits, and the next leader embeds its texts with everyone else's waiting then.
    Calls of more than `max_texts` texts (indexing) go straight to `inner`.
    """

    def __init__(self, inner: Embedder, *, max_texts: int = 32, leaders: int = 1) -> None:
        super().__init__(inner)
        if leaders < 1:
            raise ValueError(f"leaders must be at least 1, not {leaders}")
        self.max_texts = max_texts
        self.leaders = leaders
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._leading = 0
        self.calls = 0
        """Model calls made for coalesced texts (less than the callers, under load)."""

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if len(texts) > self.max_texts or not texts:
            return self.inner.embed(texts, progress=progress)
        job = _Job(list(texts))
        with self._lock:
            self._waiting.append(job)
            if self._leading < self.leaders:
                self._leading += 1
                job.lead = True
        while not job.lead:
            job.done.wait()
            if job.result is not None or job.error is not None:
                return self._outcome(job)
            # Woken without a result: a finished leader handed the lead to this job.
            job.done.clear()
        self._lead(job)
        return self._outcome(job)

    def _lead(self, own: _Job) -> None:
        with self._lock:
            # Its own texts first (another leader may have embedded them meanwhile), then
            # those of callers waiting without the lead, oldest first.
            batch: list[_Job] = [own] if own in self._waiting else []
            size = sum(len(j.texts) for j in batch)
            for waiting in self._waiting:
                if waiting is own or waiting.lead:
                    continue
                if batch and size + len(waiting.texts) > self.max_texts:
                    break
                batch.append(waiting)
                size += len(waiting.texts)
            for j in batch:
                self._waiting.remove(j)
        if batch:
            try:
                vectors = self.inner.embed([t for j in batch for t in j.texts])
                self.calls += 1
            except BaseException as exc:  # every caller in the batch gets the error
                for j in batch:
                    j.error = exc
            else:
                offset = 0
                for j in batch:
                    j.result = np.ascontiguousarray(vectors[offset : offset + len(j.texts)])
                    offset += len(j.texts)
        with self._lock:
            successor = next((j for j in self._waiting if not j.lead), None)
            if successor is not None:
                successor.lead = True
                successor.done.set()
            else:
                self._leading -= 1
        for j in batch:
            j.done.set()

    @staticmethod
    def _outcome(job: _Job) -> Vectors:
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result
