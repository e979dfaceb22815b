"""Concurrent requests' queries embedded together: one model call for what arrived at once.

Under load, a 2-core machine spends most of each search in the model, and several threads
calling it at once only fight over the cores. Here one caller at a time (the leader) runs the
model, for its own texts and those of every caller waiting meanwhile; when it is done it hands
the lead to the next waiting caller. An idle service pays nothing: a lone caller leads at once.
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
    """An `Embedder` that merges concurrent small calls (queries) into one call of `inner`.

    Calls of more than `max_texts` texts (indexing) go straight to `inner`.
    """

    def __init__(self, inner: Embedder, *, max_texts: int = 32) -> None:
        super().__init__(inner)
        self.max_texts = max_texts
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._leading = False
        self.calls = 0
        """Model calls made for coalesced texts (less than the callers, under load)."""

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if len(texts) > self.max_texts or not texts:
            return self.inner.embed(texts, progress=progress)
        job = _Job(list(texts))
        with self._lock:
            self._waiting.append(job)
            if not self._leading:
                self._leading = job.lead = True
        while not job.lead:
            job.done.wait()
            if job.result is not None or job.error is not None:
                return self._outcome(job)
            # Woken without a result: the last leader handed the lead to this job.
            job.done.clear()
        self._lead()
        return self._outcome(job)

    def _lead(self) -> None:
        with self._lock:
            batch: list[_Job] = []
            size = 0
            for waiting in self._waiting:
                if batch and size + len(waiting.texts) > self.max_texts:
                    break
                batch.append(waiting)
                size += len(waiting.texts)
            del self._waiting[: len(batch)]
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
            if self._waiting:
                successor = self._waiting[0]
                successor.lead = True
                successor.done.set()
            else:
                self._leading = False
        for j in batch:
            j.done.set()

    @staticmethod
    def _outcome(job: _Job) -> Vectors:
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result
