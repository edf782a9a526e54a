"""vecmath through vector variants (llvm_cpu.vector_math): loops call one vector function
per math function instead of inlining its code at every use; results are the same."""

import re

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.codegen import llvm_cpu


def _calls(fn, *args):
    text = jg.function(fn).get_concrete_function(*args).explain("llvm")
    return set(re.findall(r"call [^@]*@(jg\.math\.\w+\.\w+)", text))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vector_loops_call_vector_variants(dtype):
    x = np.linspace(-3, 3, 4099).astype(dtype)  # a vector loop and a scalar remainder

    def fn(t):  # 8 call sites: enough for variants (llvm_cpu.VECTOR_MATH_MIN_CALLS)
        a = jg.exp(t) * jg.sin(t) + jg.math.erf(t) + jg.pow(jg.abs(t), 1.5)
        return a + jg.exp(-t) * jg.sin(t * 2.0) + jg.math.erf(t * 0.5) + jg.pow(jg.abs(t), 2.5)

    ty = "f32" if dtype == np.float32 else "f64"
    calls = _calls(fn, x)
    for name in ("exp", "sin", "erf", "pow"):
        assert f"jg.math.{name}.{ty}" in calls  # the remainder's scalar calls
        assert any(c.startswith(f"jg.math.{name}.v") for c in calls), calls
    got = jg.function(fn)(x).numpy()
    want = jg.function(fn, backend="interpreter")(x).numpy()
    np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-12)


def test_light_kernels_keep_math_inlined():
    x = np.linspace(-3, 3, 4099, dtype=np.float32)
    assert not _calls(lambda t: jg.tanh(t * 2.0 + 1.0) + jg.exp(-t), x)


def test_same_results_with_and_without_vector_variants(monkeypatch):
    x = np.linspace(-5, 5, 1000, dtype=np.float32)

    def fn(t):
        a = jg.tanh(t) * jg.sigmoid(t) + jg.math.log1p(jg.abs(t)) + jg.exp(-t * t)
        return a * jg.tanh(t * 0.5) + jg.sigmoid(-t) + jg.math.log1p(t * t) + jg.exp(t * 0.1)

    assert any(".v" in c for c in _calls(fn, x))
    got = jg.function(fn)(x).numpy()
    monkeypatch.setattr(llvm_cpu, "VECTOR_MATH", False)
    assert not any(".v" in c for c in _calls(fn, x))
    inlined = jg.function(fn)(x).numpy()
    np.testing.assert_array_equal(got, inlined)


def test_math_code_is_generated_once_per_process(monkeypatch):
    """vecmath's function bodies and vector variants are built and printed once and their
    text reused by later modules; the module text is the same as when built afresh."""
    from jitgraph.codegen import scalar, vecmath

    def fn(t):
        return jg.exp(t) * jg.sin(t) + jg.math.erf(t) + jg.exp(-t) * jg.sin(t * 2.0) + \
            jg.math.erf(t * 0.5) + jg.exp(t * 3.0) * jg.sin(t * 3.0)

    x = np.linspace(-3, 3, 64, dtype=np.float32)
    scalar._MATH_TEXT.clear()
    llvm_cpu._VARIANTS.clear()
    fresh = jg.function(fn).get_concrete_function(x).explain("llvm")
    calls = []
    real = vecmath.emit
    monkeypatch.setattr(vecmath, "emit", lambda *a: calls.append(a[1]) or real(*a))
    again = jg.function(fn).get_concrete_function(x).explain("llvm")
    assert calls == [] and again == fresh
    text, names = llvm_cpu.vector_math(jg.function(fn).get_concrete_function(x)
                                       .explain("llvm-unoptimized"))
    assert calls == [] and any(".v" in n for n in names)
    for n in names:  # each function defined once
        assert len(re.findall(r'define [^@\n]*@"%s"\(' % re.escape(n), text)) == 1, n
