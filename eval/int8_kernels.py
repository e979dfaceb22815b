"""Int8 on another CPU's kernels: run the embedding step under an emulated CPU, compare natively.

ONNX Runtime picks its integer kernels from CPUID when it loads, so the AVX2 path can be
measured on an AVX-512 machine by running only the model under `qemu-x86_64 -cpu Haswell-v4`
(docs/int8.md; `make int8-emulated`). `op` runs one MatMulNBits node of the int8 model alone
and `op-check` compares its outputs with exact int8 and float references, which tells which
kind of kernel ran; `dump` embeds fixed samples into one .npz each, `compare` gives the
cosine between two dumps of the same texts, and `score` runs SciFact with a dump's vectors
in place of the model.

Under qemu-user /proc/cpuinfo is still the host's file, so Byline's own detection
(`index.onnx_embedding.int8_variant`) sees the host's CPU: these commands read CPUID in their
own process instead, and the graph is the same file in every run.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import mmap
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval import benchmark
from eval.datasets import load_beir, load_squad
from index.embedding import DEFAULT_MODEL, Vectors
from index.fusion import Mode
from index.onnx_embedding import OnnxEmbedder, cache_directory, precision_tag

SAMPLES = ("squad-questions", "scifact-queries", "squad-paragraphs", "scifact-corpus")

OP_NODE = "/transformer/encoder/layer.0/intermediate/dense/MatMul_Q8"
"""Layer 0's feed-forward up-projection: K 384, N 1536, the shape of half the MatMuls."""

# cpuid(leaf, subleaf, out): push rbx; mov eax, edi; mov ecx, esi; mov r8, rdx; cpuid;
# mov [r8], eax; mov [r8+4], ebx; mov [r8+8], ecx; mov [r8+12], edx; pop rbx; ret
_CPUID = bytes.fromhex("5389f889f14989d00fa241890041895804418948084189500c5bc3")
# xgetbv(0): xor ecx, ecx; xgetbv; shl rdx, 32; or rax, rdx; ret
_XGETBV = bytes.fromhex("31c90f01d048c1e2204809d0c3")


def cpu_features() -> dict[str, bool]:
    """What CPUID and XCR0 say in this process: under an emulator, the emulated CPU's."""
    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(_CPUID)
    page.seek(64)
    page.write(_XGETBV)
    base = ctypes.addressof(ctypes.c_char.from_buffer(page))
    registers = ctypes.POINTER(ctypes.c_uint32)
    call = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32, registers)(base)
    xgetbv = ctypes.CFUNCTYPE(ctypes.c_uint64)(base + 64)

    def cpuid(leaf: int, subleaf: int = 0) -> tuple[int, int, int, int]:
        out = (ctypes.c_uint32 * 4)()
        call(leaf, subleaf, out)
        return out[0], out[1], out[2], out[3]

    _, _, c1, _ = cpuid(1)
    _, b7, c7, _ = cpuid(7)
    a71, _, _, _ = cpuid(7, 1)
    xcr0 = int(xgetbv()) if c1 >> 27 & 1 else 0  # OSXSAVE
    features = {
        "avx": bool(c1 >> 28 & 1),
        "fma": bool(c1 >> 12 & 1),
        "f16c": bool(c1 >> 29 & 1),
        "avx2": bool(b7 >> 5 & 1),
        "avx_vnni": bool(a71 >> 4 & 1),
        "avx512f": bool(b7 >> 16 & 1),
        "avx512bw": bool(b7 >> 30 & 1),
        "avx512_vnni": bool(c7 >> 11 & 1),
        "os_ymm": xcr0 & 0x6 == 0x6,
        "os_zmm": xcr0 & 0xE6 == 0xE6,
    }
    return features


def int8_graph(model: str, model_cache: Path) -> Path:
    """The int8 graph an earlier native `dump` exported (this CPU's name for it)."""
    graph = cache_directory(model, model_cache) / f"model-{precision_tag('int8')}.onnx"
    if not graph.is_file():
        raise SystemExit(f"{graph} is missing: run `dump --precision int8` natively first")
    return graph


# One MatMulNBits node, alone.


def node_weights(graph: Path) -> tuple[Any, np.ndarray, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(graph))
    node = next(n for n in model.graph.node if n.name == OP_NODE)
    initializers = {i.name: i for i in model.graph.initializer}
    packed = numpy_helper.to_array(initializers[node.input[1]])
    scales = numpy_helper.to_array(initializers[node.input[2]])
    return node, packed, scales


def op_activations(packed: np.ndarray) -> np.ndarray:
    """Eight fixed rows of K values; the last two drive every product to its extreme."""
    rng = np.random.default_rng(15)
    a = rng.standard_normal((8, packed.shape[1] * packed.shape[2])).astype(np.float32)
    a[:, ::7] *= 6.0  # like LayerNorm outputs, a few large channels set the block scales
    # Activations quantized to +-127 with the sign of the weights of outputs 0 and 1: where a
    # kernel adds pairs of products in int16 (vpmaddubsw) it would saturate on these.
    weights = packed.astype(np.int32).reshape(len(packed), -1) - 128
    a[6] = np.where(weights[0] >= 0, 3.0, -3.0)
    a[7] = np.where(weights[1] >= 0, -2.0, 2.0)
    return a


def op_references(packed: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact int8 products (activations quantized per row and block) and float products."""
    n, blocks, size = packed.shape
    weights = packed.astype(np.int64) - 128  # symmetric 8-bit: zero point 128
    a = op_activations(packed).astype(np.float64).reshape(-1, blocks, size)
    a_scale = np.abs(a).max(axis=2) / 127.0
    a_int = np.rint(a / np.where(a_scale == 0, 1.0, a_scale)[:, :, None]).astype(np.int64)
    dots = np.einsum("mbk,nbk->mnb", a_int, weights)
    exact = (dots * a_scale[:, None, :] * scales[None, :, :]).sum(axis=2)
    floating = a.reshape(len(a), -1) @ (weights * scales[:, :, None]).reshape(n, -1).T
    return exact.astype(np.float32), floating.astype(np.float32)


def op_outputs(graph: Path) -> dict[int, np.ndarray]:
    """The node's outputs at accuracy level 4 (int8 products) and 0 (float products)."""
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    node, packed, scales = node_weights(graph)
    k, n = packed.shape[1] * packed.shape[2], packed.shape[0]
    outputs = {}
    for level in (4, 0):
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attributes["accuracy_level"] = level
        single = helper.make_node(
            "MatMulNBits", ["A", "B", "S"], ["Y"], domain="com.microsoft", **attributes
        )
        one = helper.make_graph(
            [single],
            "one",
            [helper.make_tensor_value_info("A", TensorProto.FLOAT, [None, k])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, n])],
            [numpy_helper.from_array(packed, "B"), numpy_helper.from_array(scales, "S")],
        )
        opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
        model = helper.make_model(one, opset_imports=opsets, ir_version=8)
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        outputs[level] = session.run(None, {"A": op_activations(packed)})[0]
    return outputs


def _relative(y: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(y - reference).max() / np.abs(reference).max())


def op(args: argparse.Namespace) -> None:
    graph = int8_graph(args.model, args.model_cache)
    outputs = op_outputs(graph)
    args.out.mkdir(parents=True, exist_ok=True)
    for level, y in outputs.items():
        np.save(args.out / f"level{level}.npy", y)
    (args.out / "cpuid.json").write_text(json.dumps(cpu_features()), encoding="utf-8")


def op_check(args: argparse.Namespace) -> None:
    _, packed, scales = node_weights(int8_graph(args.model, args.model_cache))
    exact, floating = op_references(packed, scales)
    first = np.load(args.runs[0] / "level4.npy")
    for run in args.runs:
        cpu = json.loads((run / "cpuid.json").read_text(encoding="utf-8"))
        print(f"{run}: cpuid {', '.join(k for k, v in cpu.items() if v)}")
        for level in (4, 0):
            y = np.load(run / f"level{level}.npy")
            kind = "int8" if _relative(y, exact) < _relative(y, floating) else "float"
            print(
                f"  accuracy level {level}: max relative difference to exact int8 "
                f"{_relative(y, exact):.1e}, to float {_relative(y, floating):.1e}: {kind}"
            )
        y = np.load(run / "level4.npy")
        print(
            f"  level 4 against {args.runs[0]}: bitwise equal {np.array_equal(y, first)}, "
            f"max |difference| {np.abs(y - first).max():.1e}"
        )


# Whole-model embeddings of fixed samples.


def sample_texts(name: str, scifact: Path, squad: Path) -> tuple[list[str], bool]:
    """The texts of a sample, and whether they are queries (embedded one at a time)."""
    if name == "squad-questions":
        return list(load_squad(squad, questions=300).queries.values()), True
    if name == "squad-paragraphs":
        documents = load_squad(squad).documents
        return [documents[d] for d in sorted(documents)[:500]], False
    train, test = load_beir(scifact, "train"), load_beir(scifact, "test")
    if name == "scifact-queries":
        return sorted({*test.queries.values(), *train.queries.values()}), True
    if name == "scifact-corpus":
        return list(test.documents.values()), False
    raise ValueError(f"unknown sample {name!r}; one of {', '.join(SAMPLES)}")


def dump(args: argparse.Namespace) -> None:
    embedder = OnnxEmbedder(
        args.model, cache_dir=args.model_cache, precision=args.precision, threads=args.threads
    )
    features = cpu_features()
    print(f"cpuid in this process: {features}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.samples:
        texts, queries = sample_texts(name, args.scifact, args.squad)
        texts = texts[: args.limit] if args.limit else texts
        started = time.perf_counter()
        # Queries one at a time, as a service sees them; documents in batches, as indexed.
        vectors = benchmark.embed_each(embedder, texts) if queries else embedder.embed(texts)
        seconds = time.perf_counter() - started
        meta = {
            "sample": name,
            "texts": len(texts),
            "digest": hashlib.sha256("\0".join(texts).encode()).hexdigest(),
            "precision": args.precision,
            "graph": embedder.precision,
            "cpuid": features,
            "seconds": round(seconds, 1),
        }
        np.savez(
            args.out / f"{name}.npz", vectors=vectors, texts=np.array(texts), meta=json.dumps(meta)
        )
        print(f"{name}: {len(texts)} texts in {seconds:.1f} s", file=sys.stderr)


def _load(directory: Path, name: str) -> tuple[Vectors, list[str], dict[str, Any]]:
    with np.load(directory / f"{name}.npz") as data:
        meta: dict[str, Any] = json.loads(str(data["meta"]))
        return data["vectors"], [str(t) for t in data["texts"]], meta


def compare(args: argparse.Namespace) -> None:
    for name in SAMPLES:
        if not ((args.a / f"{name}.npz").is_file() and (args.b / f"{name}.npz").is_file()):
            continue
        a, texts_a, _ = _load(args.a, name)
        b, texts_b, _ = _load(args.b, name)
        # A shorter dump embeds a prefix of the sample.
        n = min(len(texts_a), len(texts_b), args.limit or len(texts_a))
        if texts_a[:n] != texts_b[:n]:
            raise SystemExit(f"{name}: the two dumps embed different texts")
        cosine = np.sum(a[:n] * b[:n], axis=1)
        print(
            f"{name:16s} {n:5d} texts: cosine mean {cosine.mean():.6f}, min {cosine.min():.6f}; "
            f"max |difference| {np.abs(a[:n] - b[:n]).max():.1e}; "
            f"bitwise equal {int(np.all(a[:n] == b[:n], axis=1).sum())}"
        )


class ReplayEmbedder:
    """The vectors of a dump, by text: a text it does not hold is an error, never embedded."""

    model_id = DEFAULT_MODEL
    max_tokens = 254

    def __init__(self, directory: Path, names: Sequence[str]) -> None:
        self._vectors: dict[str, np.ndarray] = {}
        for name in names:
            vectors, texts, meta = _load(directory, name)
            self._precision = str(meta["graph"])
            self._vectors.update(zip(texts, vectors, strict=True))

    @property
    def dimension(self) -> int:
        return int(next(iter(self._vectors.values())).shape[0])

    @property
    def precision(self) -> str:
        return self._precision

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return np.vstack([self._vectors[t] for t in texts]).astype(np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        raise NotImplementedError("a replay of vectors has no tokenizer")


def score(args: argparse.Namespace) -> None:
    from service.settings import Settings

    config = Settings().index_config()
    embedder = ReplayEmbedder(args.vectors, ["scifact-corpus", "scifact-queries"])
    index = benchmark.BenchmarkIndex(load_beir(args.scifact, "test"), embedder, config.bm25)
    for split in args.splits:
        results = benchmark.evaluate(
            load_beir(args.scifact, split), index, embedder, list(Mode), config.search.fusion
        )
        ndcg = {m.value: round(r.metrics["ndcg@10"], 4) for m, r in results.items()}
        print(json.dumps({"split": split, "ndcg@10": ndcg}))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.int8_kernels", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--model-cache", type=Path, default=Path("data/models"))
    commands = parser.add_subparsers(required=True)
    p = commands.add_parser("op", help="run one MatMulNBits node alone; save its outputs")
    p.add_argument("out", type=Path)
    p.set_defaults(run=op)
    p = commands.add_parser("op-check", help="which products each `op` run computed")
    p.add_argument("runs", type=Path, nargs="+")
    p.set_defaults(run=op_check)
    p = commands.add_parser("dump", help="embed the samples, one .npz each")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--precision", choices=["fp32", "int8"], required=True)
    p.add_argument("--samples", nargs="+", choices=SAMPLES, default=list(SAMPLES))
    p.add_argument("--limit", type=int, default=0, help="only the first N texts of each")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--scifact", type=Path, default=Path("../shared/benchmarks/scifact"))
    p.add_argument(
        "--squad", type=Path, default=Path("../shared/benchmarks/squad-dev/dev-v1.1.json.gz")
    )
    p.set_defaults(run=dump)
    p = commands.add_parser("compare", help="cosine between two dumps")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--limit", type=int, default=0, help="only the first N texts of each")
    p.set_defaults(run=compare)
    p = commands.add_parser("score", help="SciFact nDCG@10 with a dump's vectors")
    p.add_argument("vectors", type=Path)
    p.add_argument("--splits", nargs="+", default=["test", "train"])
    p.add_argument("--scifact", type=Path, default=Path("../shared/benchmarks/scifact"))
    p.set_defaults(run=score)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
