from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from index.archive import check_compatible
from index.config import IndexConfig
from index.documents import Document
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.errors import IndexMismatchError
from index.models import load_embedder
from index.onnx_embedding import (
    INT8_BLOCK,
    QUANTIZATION_RECIPE,
    OnnxEmbedder,
    _quantize,
    auto_precision,
    cache_directory,
    detect_int8_variant,
    int8_variant,
    precision_tag,
)
from tests.conftest import IndexFactory
from tests.cpuinfo import CPUINFO_AVX2, CPUINFO_VNNI

TEXTS = [
    "Zakharova",
    "What did Maria Zakharova say about peace talks?",
    # Longer than the model's window: both runtimes must truncate it the same way.
    "Ukrainian troops advanced into the Kursk region. " * 60,
    "Peskov: there will be no negotiations while the incursion continues.",
    "x",
]


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def int8_embedder() -> Embedder:
    return load_embedder(precision="int8", cache_dir=Path(os.environ["BYLINE_MODEL_CACHE"]))


def test_the_default_embedder_is_onnx(embedder: Embedder) -> None:
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder.precision == "fp32"


def test_onnx_gives_the_vectors_of_sentence_transformers(
    embedder: Embedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    batched = embedder.embed(TEXTS)
    expected = torch_embedder.embed(TEXTS)
    assert batched.shape == expected.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(batched, expected, atol=1e-5)
    # One at a time (no padding) gives the same rows as the padded batch.
    one_by_one = np.vstack([embedder.embed([t]) for t in TEXTS])
    np.testing.assert_allclose(one_by_one, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_onnx_counts_tokens_like_sentence_transformers(
    embedder: Embedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    assert embedder.count_tokens(TEXTS) == torch_embedder.count_tokens(TEXTS)
    assert embedder.max_tokens == torch_embedder.max_tokens == 254
    assert embedder.model_id == torch_embedder.model_id
    assert embedder.embed([]).shape == (0, 384)


def test_the_export_is_reused_not_redone(embedder: Embedder) -> None:
    cache = Path(os.environ["BYLINE_MODEL_CACHE"])
    graph = cache_directory(embedder.model_id, cache) / "model-fp32.onnx"
    before = graph.stat().st_mtime_ns
    again = OnnxEmbedder(embedder.model_id, cache_dir=cache)
    assert graph.stat().st_mtime_ns == before
    np.testing.assert_array_equal(again.embed(TEXTS[:2]), embedder.embed(TEXTS[:2]))


def test_an_unfinished_export_is_done_again(tmp_path: Path, embedder: Embedder) -> None:
    first = OnnxEmbedder(embedder.model_id, cache_dir=tmp_path)
    directory = cache_directory(embedder.model_id, tmp_path)
    # A crash after the graph was written but before the meta file that completes it.
    (directory / "byline-onnx.json").unlink()
    (directory / "model-fp32.onnx").write_bytes(b"truncated")
    second = OnnxEmbedder(embedder.model_id, cache_dir=tmp_path)
    np.testing.assert_allclose(second.embed(TEXTS[:2]), first.embed(TEXTS[:2]), atol=1e-6)


def test_int8_is_close_to_fp32_and_named_for_this_cpu(
    embedder: Embedder, int8_embedder: Embedder
) -> None:
    assert int8_embedder.precision == precision_tag("int8")
    assert int8_embedder.precision == f"int8r{QUANTIZATION_RECIPE}-{int8_variant()}"
    cosines = (int8_embedder.embed(TEXTS) * embedder.embed(TEXTS)).sum(axis=1)
    # 0.9 with recipe 1 (one scale per matrix), 0.98 with recipe 2 (per output channel).
    assert cosines.min() > 0.998, cosines
    assert not np.allclose(cosines, 1.0, atol=1e-6)  # it really is another model


def test_int8_multiplies_every_matmul_in_blocks_of_int8(int8_embedder: Embedder) -> None:
    import onnx

    cache = Path(os.environ["BYLINE_MODEL_CACHE"])
    graph = cache_directory(int8_embedder.model_id, cache) / f"model-{precision_tag('int8')}.onnx"
    model = onnx.load(str(graph))
    nodes = model.graph.node
    blocked = [n for n in nodes if n.op_type == "MatMulNBits"]
    # Six layers of query, key, value, attention output and two feed-forward projections.
    assert len(blocked) == 36
    for node in blocked:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert (attributes["bits"], attributes["block_size"]) == (8, INT8_BLOCK)
        assert attributes["accuracy_level"] == 4  # integer products, not dequantized weights
    # What remains in float multiplies activations by activations (attention scores).
    weights = {i.name for i in model.graph.initializer}
    assert not [n.name for n in nodes if n.op_type == "MatMul" and n.input[1] in weights]


def test_quantizing_logs_one_line_not_one_per_node(
    embedder: Embedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = Path(os.environ["BYLINE_MODEL_CACHE"])
    fp32 = cache_directory(embedder.model_id, cache) / "model-fp32.onnx"
    with caplog.at_level(logging.INFO):
        _quantize(fp32, tmp_path / "model-int8.onnx", "vnni")
    assert (tmp_path / "model-int8.onnx").is_file()
    assert [r.name for r in caplog.records] == ["index.onnx_embedding"]


def test_an_index_refuses_queries_of_another_precision(
    tmp_path: Path,
    int8_embedder: Embedder,
    make_index: IndexFactory,
    seed_documents: list[Document],
) -> None:
    index = make_index(index_dir=tmp_path / "index")
    index.upsert(seed_documents[:1])
    index.close()
    with pytest.raises(IndexMismatchError, match="BYLINE_EMBED_PRECISION=fp32"):
        make_index(int8_embedder, index_dir=tmp_path / "index")


def test_the_cpu_kind_is_read_from_cpuinfo(tmp_path: Path) -> None:
    assert detect_int8_variant(CPUINFO_VNNI, "x86_64") == "vnni"
    assert detect_int8_variant(CPUINFO_AVX2, "x86_64") == "avx2"
    # Alder Lake and later: VNNI on 256-bit registers, without AVX-512, another kernel.
    alder_lake = CPUINFO_AVX2.replace("avx2", "avx2 avx_vnni")
    assert detect_int8_variant(alder_lake, "x86_64") == "avxvnni"
    assert detect_int8_variant(CPUINFO_VNNI.replace("avx2", "avx2 avx_vnni"), "x86_64") == "vnni"
    # A flag's name elsewhere ("bugs", "model name") is not a flag.
    assert detect_int8_variant(CPUINFO_AVX2 + "bugs\t\t: avx512_vnni\n", "x86_64") == "avx2"
    assert detect_int8_variant("", "x86_64") == "avx2"
    assert detect_int8_variant(CPUINFO_AVX2, "aarch64") == "arm64"
    faked = tmp_path / "cpuinfo"
    faked.write_text(CPUINFO_VNNI, encoding="utf-8")
    assert int8_variant(faked) == "vnni"
    assert int8_variant(tmp_path / "missing") in {"avx2", "arm64"}


def test_auto_is_int8_only_where_int8_was_measured_lossless() -> None:
    # Measured: recipe 3 with VNNI; the other kinds' integer kernels were not measured.
    assert auto_precision("vnni") == "int8"
    assert auto_precision("avx2") == auto_precision("arm64") == "fp32"
    assert auto_precision("avxvnni") == "fp32"
    assert auto_precision("vnni", frozenset({"vnni"})) == "int8"
    assert auto_precision("avx2", frozenset({"vnni"})) == "fp32"


def test_an_index_of_an_earlier_int8_recipe_is_refused(
    embedder: Embedder, index_config: IndexConfig
) -> None:
    configured = index_config.archive_info(embedder).model_copy(
        update={"precision": precision_tag("int8")}
    )
    other_cpu = configured.model_copy(update={"precision": f"int8r{QUANTIZATION_RECIPE}-avx2"})
    check_compatible(other_cpu, configured, "here")
    for earlier in ("int8-avx2", "int8-vnni", "int8r2-vnni", "int8r2-avx2"):
        stored = configured.model_copy(update={"precision": earlier})
        with pytest.raises(IndexMismatchError, match=r"another int8 quantization.*--rebuild"):
            check_compatible(stored, configured, "here")
