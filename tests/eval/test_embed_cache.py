from __future__ import annotations

from pathlib import Path

import numpy as np

from eval.embed_cache import CachedEmbedder
from index.embedding import Embedder
from tests.conftest import CountingEmbedder


def test_second_run_comes_from_disk_with_identical_vectors(
    tmp_path: Path, embedder: Embedder
) -> None:
    texts = ["Kursk incursion", "Belgorod emergency", "Kursk incursion"]
    counting = CountingEmbedder(embedder)
    first = CachedEmbedder(counting, tmp_path / "cache.sqlite")
    vectors = first.embed(texts)
    first.close()
    assert counting.embedded == 3

    counting.embedded = 0
    second = CachedEmbedder(counting, tmp_path / "cache.sqlite")
    again = second.embed([*texts, "a new text"])
    second.close()
    assert counting.embedded == 1  # only the text never seen before
    np.testing.assert_array_equal(again[:3], vectors)
    np.testing.assert_allclose(again[:3], embedder.embed(texts), rtol=1e-5, atol=1e-6)
