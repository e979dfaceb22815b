from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.coalesce import CoalescingEmbedder
from index.embedding import Embedder, Vectors, WrappedEmbedder

QUERIES = [f"what happened in Kursk on day {i}?" for i in range(16)]


class SlowFirstCall(WrappedEmbedder):
    """The real embedder, whose first call lingers so that other callers queue up behind it
    (a test double for a busy model); it fails on the text 'boom'."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.batches: list[int] = []
        self._first = True

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if self._first:
            self._first = False
            time.sleep(0.3)
        if "boom" in texts:
            raise RuntimeError("the model failed")
        self.batches.append(len(texts))
        return self.inner.embed(texts)


def test_concurrent_callers_share_model_calls_and_get_their_own_vectors(
    embedder: Embedder,
) -> None:
    slow = SlowFirstCall(embedder)
    coalescing = CoalescingEmbedder(slow, max_texts=32)
    with ThreadPoolExecutor(max_workers=len(QUERIES)) as pool:
        results = list(pool.map(lambda q: coalescing.embed([q]), QUERIES))
    for query, vectors in zip(QUERIES, results, strict=True):
        np.testing.assert_allclose(vectors, embedder.embed([query]), atol=1e-5)
    assert sum(slow.batches) == len(QUERIES)
    assert len(slow.batches) < len(QUERIES)  # the callers queued behind the first shared calls
    assert coalescing.calls == len(slow.batches)


def test_a_failure_reaches_its_batch_and_the_next_callers_still_get_answers(
    embedder: Embedder,
) -> None:
    coalescing = CoalescingEmbedder(SlowFirstCall(embedder))
    barrier = threading.Barrier(2)

    def call(texts: list[str]) -> Vectors:
        barrier.wait()
        return coalescing.embed(texts)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(call, ["boom"])
        second = pool.submit(call, ["Zakharova"])
        with pytest.raises(RuntimeError, match="the model failed"):
            first.result()
        error = second.exception()
        if error is None:
            np.testing.assert_allclose(second.result(), embedder.embed(["Zakharova"]), atol=1e-5)
        else:  # it shared the failing batch
            assert "the model failed" in str(error)
    np.testing.assert_allclose(
        coalescing.embed(["Zakharova"]), embedder.embed(["Zakharova"]), atol=1e-5
    )


def test_large_calls_go_straight_to_the_model(embedder: Embedder) -> None:
    slow = SlowFirstCall(embedder)
    coalescing = CoalescingEmbedder(slow, max_texts=4)
    vectors = coalescing.embed(QUERIES[:10])
    assert vectors.shape == (10, embedder.dimension)
    assert coalescing.calls == 0
    assert slow.batches == [10]


class CountsInFlight(WrappedEmbedder):
    """The real embedder, each call lingering a little, recording how many run at once."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.batches: list[int] = []
        self.most_at_once = 0
        self._running = 0
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        with self._lock:
            self._running += 1
            self.most_at_once = max(self.most_at_once, self._running)
        try:
            time.sleep(0.05)
            self.batches.append(len(texts))
            return self.inner.embed(texts)
        finally:
            with self._lock:
                self._running -= 1


@pytest.mark.parametrize("leaders", [1, 2, 3])
def test_at_most_leaders_model_calls_run_at_once_and_every_caller_gets_its_vectors(
    embedder: Embedder, leaders: int
) -> None:
    counting = CountsInFlight(embedder)
    coalescing = CoalescingEmbedder(counting, max_texts=32, leaders=leaders)
    queries = QUERIES * 3
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        results = list(pool.map(lambda q: coalescing.embed([q]), queries))
    for query, vectors in zip(queries, results, strict=True):
        np.testing.assert_allclose(vectors, embedder.embed([query]), atol=1e-5)
    assert sum(counting.batches) == len(queries)
    assert len(counting.batches) < len(queries)
    assert 1 <= counting.most_at_once <= leaders
    # Nobody is left leading: a lone caller afterwards leads at once.
    np.testing.assert_allclose(coalescing.embed(["Kursk"]), embedder.embed(["Kursk"]), atol=1e-5)


def test_leaders_must_be_at_least_one(embedder: Embedder) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CoalescingEmbedder(embedder, leaders=0)
