"""An `Embedder` on ONNX Runtime: the same vectors as sentence-transformers at a quarter of
the cost per query, and serving needs neither torch nor transformers.

The ONNX graph is exported once from the sentence-transformers model (torch is needed for
that step only) into a cache directory, keyed by model and exporter version; later starts
load the cached files. Optional int8 quantization stores the weights of every MatMul in
blocks of 32 values with a scale each, and ONNX Runtime quantizes the activations the same
way, per token and block, at run time; the products are integer (VNNI where the CPU has it).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import os
import platform
import re
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from index.embedding import Precision, Vectors, resolve_model
from index.errors import ModelLoadError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

# onnxruntime looks up its telemetry hosts unless told not to; a self-hosted service must not.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

log = logging.getLogger(__name__)

# Bump when the exported graph or the files beside it change, so old caches are not reused.
EXPORT_VERSION = 1
_META = "byline-onnx.json"
_TOKENIZER = "tokenizer.json"
_FP32 = "model-fp32.onnx"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class ExportMeta:
    """What serving needs to know about the exported model besides the graph."""

    model_id: str
    dimension: int
    max_seq_length: int
    pooling: Literal["mean", "cls"]
    normalize: bool

    @classmethod
    def read(cls, directory: Path) -> ExportMeta:
        raw = json.loads((directory / _META).read_text(encoding="utf-8"))
        return cls(
            model_id=str(raw["model_id"]),
            dimension=int(raw["dimension"]),
            max_seq_length=int(raw["max_seq_length"]),
            pooling="cls" if raw["pooling"] == "cls" else "mean",
            normalize=bool(raw["normalize"]),
        )


Int8Variant = Literal["vnni", "avxvnni", "avx2", "arm64"]
"""vnni: AVX-512 VNNI; avxvnni: VNNI on 256-bit registers without AVX-512 (Alder Lake and
later), where ONNX Runtime runs yet another int8 kernel."""

QUANTIZATION_RECIPE = 3
"""Bump when `_quantize` changes: it names the int8 file and the precision an index records,
so an export or an index of an earlier recipe is never reused as if it were this one."""

LOSSLESS_INT8: frozenset[Int8Variant] = frozenset({"vnni"})
"""CPU kinds where int8 was measured within 0.002 nDCG@10 of fp32 on SciFact test, dense and
hybrid, so that `auto` picks it there. VNNI: recipe 3 loses nothing on SciFact test or train
under z-score, min-max or RRF fusion (README, "Speed and memory"). AVX2 runs another kernel:
under emulation its vectors are as close to fp32 as VNNI's, but SciFact was not run on it
(docs/int8.md): fp32. AVX-VNNI without AVX-512 runs a third kernel, which neither a machine
here nor QEMU 7.2 can run: fp32. ARM: not measured, fp32."""


def detect_int8_variant(cpuinfo: str, machine: str) -> Int8Variant:
    """The int8 kernels a CPU runs, from its /proc/cpuinfo text and `platform.machine()`."""
    if machine.lower() in {"aarch64", "arm64"}:
        return "arm64"
    match = re.search(r"^flags\s*:(.*)$", cpuinfo, re.MULTILINE)
    flags = set(match.group(1).split()) if match else set()
    if "avx512_vnni" in flags:
        return "vnni"
    return "avxvnni" if "avx_vnni" in flags else "avx2"


@functools.cache
def int8_variant(cpuinfo: Path = Path("/proc/cpuinfo")) -> Int8Variant:
    """The int8 kernels this CPU runs: 'vnni', 'avxvnni', 'avx2' or 'arm64'."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return detect_int8_variant(text, platform.machine())


def auto_precision(
    variant: Int8Variant, lossless: frozenset[Int8Variant] = LOSSLESS_INT8
) -> Precision:
    """What `BYLINE_EMBED_PRECISION=auto` means on a CPU of this kind."""
    return "int8" if variant in lossless else "fp32"


def precision_tag(precision: Precision) -> str:
    """The name of a precision as recorded in a manifest: 'fp32' or e.g. 'int8r3-vnni'.

    The part before the dash is the family an index must share with its queries
    (`index.archive.check_compatible`): the recipe is in it, the CPU kind is not.
    """
    if precision == "fp32":
        return "fp32"
    return f"int8r{QUANTIZATION_RECIPE}-{int8_variant()}"


def cache_directory(model: str, cache_root: Path) -> Path:
    """Where the export of `model` lives: one directory per model id and source version."""
    model_id, source, _ = resolve_model(model)
    fingerprint = hashlib.sha256(f"{model_id}\n{EXPORT_VERSION}".encode())
    source_dir = Path(source)
    if source_dir.is_dir():
        # Size and name of every file: a changed model on disk gets a new export.
        for path in sorted(p for p in source_dir.rglob("*") if p.is_file()):
            relative = path.relative_to(source_dir).as_posix()
            fingerprint.update(f"\n{relative}:{path.stat().st_size}".encode())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id.rsplit("/", 1)[-1])[:60]
    return cache_root / f"{slug}-{fingerprint.hexdigest()[:12]}"


def ensure_export(model: str, cache_root: Path, precision: Precision) -> Path:
    """The ONNX file for `model` at `precision`, exported (and quantized) on first use."""
    directory = cache_directory(model, cache_root)
    fp32 = directory / _FP32
    if not (fp32.is_file() and (directory / _META).is_file()):
        _export(model, directory)
    if precision == "fp32":
        return fp32
    quantized = directory / f"model-{precision_tag(precision)}.onnx"
    if not quantized.is_file():
        _quantize(fp32, quantized, int8_variant())
    return quantized


def _export(model: str, directory: Path) -> None:
    """Export the transformer of a sentence-transformers model; pooling is done in numpy."""
    log.info("exporting %s to ONNX in %s (once; needs torch)", model, directory)
    import torch
    from sentence_transformers import SentenceTransformer

    model_id, source, local_only = resolve_model(model)
    try:
        st = SentenceTransformer(source, device="cpu", local_files_only=local_only)
    except Exception as exc:  # the library raises many types for a bad path or id
        raise ModelLoadError(f"cannot load embedding model {model!r} to export it: {exc}") from exc
    modules = list(st)
    pooling = modules[1] if len(modules) > 1 else None
    mode = getattr(pooling, "pooling_mode", None)
    if mode not in {"mean", "cls"}:
        raise ModelLoadError(
            f"model {model!r} pools with {mode!r}; the ONNX backend supports mean and cls "
            "pooling. Set BYLINE_EMBED_BACKEND=torch for this model."
        )
    normalize = any(type(m).__name__ == "Normalize" for m in modules)
    auto_model: torch.nn.Module = modules[0].auto_model  # type: ignore[assignment]
    transformer = auto_model.eval()
    accepted = set(inspect.signature(transformer.forward).parameters)
    inputs = [name for name in _INPUTS if name in accepted]

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            kwargs = dict(zip(inputs, tensors, strict=True))
            return self.transformer(**kwargs).last_hidden_state  # type: ignore[no-any-return]

    sample = st.tokenizer(
        ["an example", "a somewhat longer example text"], return_tensors="pt", padding=True
    )
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".export-") as tmp:
        staging = Path(tmp)
        axes = {name: {0: "batch", 1: "tokens"} for name in [*inputs, "last_hidden_state"]}
        # The TorchScript exporter makes one self-contained file in a second and needs no
        # onnxscript; it warns that it is deprecated and about traced branches, which the
        # tests check by comparing its vectors with sentence-transformers' own.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Encoder(),
                tuple(sample[name] for name in inputs),
                str(staging / _FP32),
                input_names=inputs,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        st.tokenizer.backend_tokenizer.save(str(staging / _TOKENIZER))
        meta = {
            "model_id": model_id,
            "dimension": st.get_embedding_dimension(),
            "max_seq_length": st.max_seq_length,
            "pooling": mode,
            "normalize": normalize,
            "export_version": EXPORT_VERSION,
        }
        (staging / _META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        # The graph and tokenizer land before the meta file that marks the export complete.
        for name in (_FP32, _TOKENIZER, _META):
            os.replace(staging / name, directory / name)


INT8_BLOCK = 32
"""Weights and activations share one scale per this many values along the inner dimension."""


def _quantize(fp32: Path, target: Path, variant: Int8Variant) -> None:
    """Block-wise int8 quantization of the MatMul weights (MatMulNBits), written atomically.

    Dynamic quantization (recipe 2) gives a whole batch's activations one scale, and that
    error dominates: 2-7% per MatMul against about 1% from the weights. Blocks of 32 values
    per token for both took the mean cosine to fp32 from 0.995 to 0.9996 and the dense top 10
    shared with fp32 from 89% to 97% (README, "Speed and memory"). The word embeddings stay
    fp32: ONNX Runtime quantizes a Gather block-wise only to 4 bits.
    """
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    from onnxruntime.quantization.shape_inference import quant_pre_process

    log.info("quantizing %s to int8 (recipe %d, %s)", fp32, QUANTIZATION_RECIPE, variant)
    # It logs a line at INFO for each of the graph's ~100 nodes it leaves alone.
    logging.getLogger(MatMulNBitsQuantizer.__module__).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".quant-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Symbolic shape inference does not finish on this graph; ONNX's own does enough.
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        quantizer = MatMulNBitsQuantizer(
            str(prepared),
            bits=8,
            block_size=INT8_BLOCK,
            is_symmetric=True,
            # 4: activations quantized to int8 per block at run time, integer products.
            # Lower levels dequantize the weights and multiply in float (5x slower than fp32).
            accuracy_level=4,
            op_types_to_quantize=("MatMul",),
        )
        quantizer.process()
        staged = Path(tmp) / target.name
        quantizer.model.save_model_to_file(str(staged), False)
        os.replace(staged, target)


class OnnxEmbedder:
    """An `Embedder` running an exported sentence-transformers model on ONNX Runtime."""

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path,
        precision: Precision = "fp32",
        batch_size: int = 32,
        threads: int = 0,
    ) -> None:
        try:
            graph = ensure_export(model, cache_dir, precision)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"cannot export model {model!r} to ONNX in {cache_dir}: {exc} "
                "(set BYLINE_EMBED_BACKEND=torch to run it with sentence-transformers)"
            ) from exc
        self._session = _session(graph, threads)
        self._meta = ExportMeta.read(graph.parent)
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._encoder = _tokenizer(graph.parent, self._meta.max_seq_length)
        self._counter = _tokenizer(graph.parent, None)
        self._batch_size = batch_size
        self._precision = precision_tag(precision)

    @property
    def model_id(self) -> str:
        return self._meta.model_id

    @property
    def dimension(self) -> int:
        return self._meta.dimension

    @property
    def max_tokens(self) -> int:
        return self._meta.max_seq_length - 2

    @property
    def precision(self) -> str:
        return self._precision

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding (wasted work) small within each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            out[rows] = self._embed_batch([texts[i] for i in rows])
        return out

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = (
            [self._encoder.encode(texts[0])]
            if len(texts) == 1
            else self._encoder.encode_batch(texts)
        )
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {name: feed[name] for name in self._inputs})[0]
        if self._meta.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self._meta.normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(pooled, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [
            len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)
        ]


def _session(graph: Path, threads: int) -> onnxruntime.InferenceSession:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads  # 0: one per core
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning threads keep a core busy between requests, starving the HTTP and other threads.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def _tokenizer(directory: Path, max_length: int | None) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / _TOKENIZER))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    if max_length is not None:
        tokenizer.enable_truncation(max_length)
        tokenizer.enable_padding()
    return tokenizer
