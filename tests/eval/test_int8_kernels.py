from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import numpy as np
import pytest

from eval.int8_kernels import (
    ReplayEmbedder,
    cpu_features,
    node_weights,
    op_outputs,
    op_references,
)
from index.embedding import DEFAULT_MODEL
from index.onnx_embedding import ensure_export

x86_only = pytest.mark.skipif(platform.machine() != "x86_64", reason="CPUID is x86")


@x86_only
def test_cpuid_read_in_process_agrees_with_proc_cpuinfo_natively() -> None:
    match = re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    assert match is not None
    flags = set(match.group(1).split())
    features = cpu_features()
    for name in ("avx", "fma", "f16c", "avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni"):
        assert features[name] == (name in flags), name


@x86_only
def test_this_cpus_kernel_for_int8_recipe_3_multiplies_integers() -> None:
    """Level 4 gives exact int8 block products, with no int16 saturation, where MLAS has an
    integer kernel (AVX2 and up); level 0 the float products of the dequantized weights."""
    graph = ensure_export(DEFAULT_MODEL, Path(os.environ["BYLINE_MODEL_CACHE"]), "int8")
    _, packed, scales = node_weights(graph)
    exact, floating = op_references(packed, scales)
    outputs = op_outputs(graph)
    assert np.abs(exact - floating).max() > 1e-3 * np.abs(exact).max()  # they tell apart
    integer = exact if cpu_features()["avx2"] else floating
    np.testing.assert_allclose(outputs[4], integer, rtol=0, atol=1e-6 * np.abs(exact).max())
    np.testing.assert_allclose(outputs[0], floating, rtol=0, atol=1e-6 * np.abs(exact).max())


def test_a_replay_gives_the_dumped_vectors_and_refuses_other_texts(tmp_path: Path) -> None:
    vectors = np.eye(3, 384, dtype=np.float32)
    texts = ["a claim", "another claim", "an abstract"]
    np.savez(
        tmp_path / "scifact-queries.npz",
        vectors=vectors,
        texts=np.array(texts),
        meta='{"graph": "int8r3-avx2"}',
    )
    replay = ReplayEmbedder(tmp_path, ["scifact-queries"])
    assert replay.precision == "int8r3-avx2"
    assert replay.dimension == 384
    np.testing.assert_array_equal(replay.embed([texts[2], texts[0]]), vectors[[2, 0]])
    with pytest.raises(KeyError):
        replay.embed(["never dumped"])
