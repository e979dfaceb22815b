"""The configured embedder, loaded: ONNX by default, or sentence-transformers on torch.

Apart from `index.embedding` (the interface and the torch embedder) so that neither embedder
module imports the other.
"""

from __future__ import annotations

from pathlib import Path

from index.embedding import (
    DEFAULT_MODEL,
    Backend,
    Embedder,
    Precision,
    SentenceTransformerEmbedder,
)
from index.errors import ModelLoadError
from index.onnx_embedding import OnnxEmbedder


def load_embedder(
    model: str = DEFAULT_MODEL,
    *,
    backend: Backend = "onnx",
    precision: Precision = "fp32",
    cache_dir: Path = Path("data/models"),
    batch_size: int = 32,
    threads: int = 0,
) -> Embedder:
    """The configured embedder. ONNX is the default: same vectors, a quarter of the latency."""
    if backend == "torch":
        if precision != "fp32":
            raise ModelLoadError("int8 precision needs the onnx backend")
        return SentenceTransformerEmbedder(model, batch_size=batch_size)
    return OnnxEmbedder(
        model, cache_dir=cache_dir, precision=precision, batch_size=batch_size, threads=threads
    )
