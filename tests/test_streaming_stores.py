"""Streaming (non-temporal) stores for large elementwise outputs (codegen/loops.py,
STREAM_MIN_BYTES): the twin kernel runs the aligned middle, plain stores the rest."""

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.codegen import loops, outputs

N = (8 << 20) // 4 + 37  # just over the threshold for 4-byte elements, not a multiple of 16


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float64])
def test_streamed_outputs_are_exact(dtype):
    f = jg.function(lambda x, y: x * y + x - y)
    x = (np.arange(N) % 1000).astype(dtype)
    y = (np.arange(N) % 7).astype(dtype)
    assert "vmovnt" in f.get_concrete_function(x, y).explain("asm")
    for _ in range(2):  # the second call reuses the pool's (aligned) block
        np.testing.assert_array_equal(f(x, y).numpy(), x * y + x - y)


def test_unaligned_output_takes_the_plain_path(monkeypatch):
    monkeypatch.setattr(outputs, "_limit", 0)  # outputs from np.empty: any alignment
    f = jg.function(lambda x: x + 1.0)
    x = np.arange(N, dtype=np.float32)
    for off in range(0, 16, 5):  # inputs at various offsets from an aligned address
        xs = np.arange(N + off, dtype=np.float32)[off:]
        np.testing.assert_array_equal(f(xs).numpy(), xs + 1)
    np.testing.assert_array_equal(f(x).numpy(), x + 1)


def test_threshold():
    small = np.ones(1000, np.float32)
    big = np.ones(N, np.float32)
    assert "vmovnt" not in jg.function(lambda x: x + 1.0).get_concrete_function(
        small).explain("asm")
    f = jg.function(lambda x: jg.exp(x) + 1.0)
    assert "vmovnt" in f.get_concrete_function(big).explain("asm")
    np.testing.assert_allclose(f(big).numpy(), np.e + 1, rtol=1e-6)
    assert loops.STREAM_MIN_BYTES == 8 << 20


def test_only_marked_vector_loop_stores_stream():
    from jitgraph.codegen.llvm_cpu import stream_stores

    text = "\n".join([
        "define internal void @kernel_k_ntstore(ptr %p) {",
        "vector.body:",
        "  store <16 x float> %a, ptr %p, align 4, !alias.scope !3",
        "  store <16 x float> %u, ptr %p, align 4",
        "d0.body:",
        "  store <8 x float> %b, ptr %q, align 4, !alias.scope !3",
        "  store float %c, ptr %r, align 4, !alias.scope !3",
        "}",
        "define internal void @kernel_k(ptr %p) {",
        "vector.body:",
        "  store <16 x float> %a, ptr %p, align 4, !alias.scope !3",
        "}",
        "!1 = !{!\"jg.stream.domain\"}",
        '!2 = !{!"jg.stream", !1}',
        "!3 = !{!2}",
    ])
    out = stream_stores(text).split("\n")
    assert out[2] == "  store <16 x float> %a, ptr %p, align 64, !alias.scope !3, !nontemporal !4"
    assert out[3] == "  store <16 x float> %u, ptr %p, align 4"  # not an output store
    assert out[5] == "  store <8 x float> %b, ptr %q, align 4, !alias.scope !3"  # may be unaligned
    assert out[10] == "  store <16 x float> %a, ptr %p, align 4, !alias.scope !3"  # not a twin
    assert out[-2] == "!4 = !{i32 1}"
