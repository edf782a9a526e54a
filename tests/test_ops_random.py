"""jg.random (Philox4x32-10, TensorFlow seed semantics) and jg.print."""

import subprocess
import sys

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.ops.random import philox


def test_philox_known_answers():
    # Random123's known-answer vectors for Philox4x32-10
    assert [int(v) for v in philox(0, 0, 0, 0, (0, 0))] == [
        0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    m = 0xFFFFFFFF
    assert [int(v) for v in philox(m, m, m, m, (m, m))] == [
        0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]


def test_set_seed_repeats_the_sequence():
    jg.random.set_seed(7)
    a = [jg.random.uniform([4]).numpy(), jg.random.normal([2, 3]).numpy()]
    jg.random.set_seed(7)
    b = [jg.random.uniform([4]).numpy(), jg.random.normal([2, 3]).numpy()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], jg.random.uniform([4]).numpy())


def test_same_sequence_in_a_new_process():
    code = ("import jitgraph as jg; jg.random.set_seed(5); "
            "print(jg.random.normal([3], dtype=jg.float64).numpy().tolist())")
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    jg.random.set_seed(5)
    assert outs[0] == outs[1] == str(jg.random.normal([3], dtype=jg.float64).numpy().tolist()) \
        + "\n"


def test_op_seed_without_global_seed_repeats_across_processes():
    """TensorFlow: an op seed without a global seed uses a default global seed, so the
    sequence is the same in every run; without either it differs."""
    code = ("import jitgraph as jg; print(jg.random.normal([3], seed=7).numpy().tolist(), "
            "jg.random.uniform([3]).numpy().tolist())")
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.split("] [") for _ in range(2)]
    assert outs[0][0] == outs[1][0]
    assert outs[0][1] != outs[1][1]


def test_op_seed_gives_fresh_numbers_per_call():
    jg.random.set_seed(1)
    a = jg.random.uniform([3], seed=4).numpy()
    b = jg.random.uniform([3], seed=4).numpy()
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("dtype", [jg.float32, jg.float64])
def test_distributions(dtype):
    jg.random.set_seed(0)
    u = jg.random.uniform([20000], minval=-2.0, maxval=3.0, dtype=dtype).numpy()
    assert u.dtype == dtype.np and u.min() >= -2.0 and u.max() < 3.0
    assert abs(u.mean() - 0.5) < 0.05
    n = jg.random.normal([20000], mean=1.0, stddev=2.0, dtype=dtype).numpy()
    assert abs(n.mean() - 1.0) < 0.05 and abs(n.std() - 2.0) < 0.05
    t = jg.random.truncated_normal([20000], dtype=dtype).numpy()
    assert np.abs(t).max() < 2.0 and 0.85 < t.std() < 0.9


def test_integer_uniform():
    v = jg.random.uniform([1000], minval=3, maxval=7, dtype=jg.int32).numpy()
    assert v.dtype == np.int32 and set(np.unique(v)) == {3, 4, 5, 6}
    with pytest.raises(jg.errors.InvalidArgumentError, match="maxval"):
        jg.random.uniform([2], dtype=jg.int32)


def test_traced_calls_draw_fresh_numbers_and_repeat_with_seed():
    def run():
        jg.random.set_seed(11)

        @jg.function
        def f():
            return jg.random.uniform([3]) + jg.random.normal([3])

        return [f().numpy() for _ in range(3)]

    a, b = run(), run()
    assert not np.array_equal(a[0], a[1])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_random_ops_are_stateful_in_the_graph():
    @jg.function
    def f():
        return jg.random.uniform([2])

    g = f.get_concrete_function().graph
    types = [op.type for op in g.get_operations()]
    assert "random_uniform" in types and "assign_variable" in types
    from jitgraph.ops.core import REGISTRY

    assert REGISTRY["random_uniform"].stateful


def test_dropout_scales_kept_values():
    jg.random.set_seed(3)
    y = jg.nn.dropout(jg.ones([1000]), rate=0.25).numpy()
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1 / 0.75)
    assert 0.68 < kept.size / 1000 < 0.82


def test_print_formats_like_tf_print(capsys):
    jg.print("x:", jg.constant([1.5, 2.0]), jg.constant(3), jg.constant(True))
    jg.print(jg.constant(np.arange(20).reshape(2, 10)), sep="|", end="!\n")
    out = capsys.readouterr().out
    assert out == "x: [1.5 2] 3 1\n[[0 1 2 ... 7 8 9]\n [10 11 12 ... 17 18 19]]!\n"


def test_print_to_stderr_and_in_compiled_function(capsys):
    jg.print("err", output_stream=sys.stderr)

    @jg.function
    def f(x):
        jg.print("value", x * 2.0)
        return x

    f(jg.constant(1.0))
    f(jg.constant(4.0))
    cap = capsys.readouterr()
    assert cap.err == "err\n"
    assert cap.out == "value 2\nvalue 8\n"


# ----------------------------------------------------------------------------- shape tensors

_SHAPE_FNS = {
    "uniform": lambda x: jg.random.uniform(jg.shape(x), seed=3),
    "normal": lambda x: jg.random.normal(jg.shape(x), seed=3),
    "stateless": lambda x: jg.random.stateless_uniform(jg.shape(x), seed=[1, 2]),
    "zeros": lambda x: jg.zeros(jg.shape(x)) + x,
    "ones": lambda x: jg.ones(jg.shape(x), jg.int32),
    "fill": lambda x: jg.fill(jg.shape(x), 2.5),
    "fill_tensor": lambda x: jg.fill(jg.shape(x), jg.reduce_sum(x)),
    "stacked": lambda x: jg.random.uniform(jg.stack([jg.shape(x)[0] * 2, jg.size(x)]), seed=3),
    "list": lambda x: jg.random.normal([jg.shape(x)[1] + 1, 2], seed=3),
    "reshape": lambda x: jg.reshape(x, [jg.shape(x)[0], -1]),
    "broadcast_to": lambda x: jg.broadcast_to(x[:1], jg.shape(x)),
}


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
@pytest.mark.parametrize("name", list(_SHAPE_FNS))
def test_shape_tensors_known_when_tracing_are_folded(name, backend):
    fn = _SHAPE_FNS[name]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    want = fn(jg.constant(x)).numpy()
    got = jg.function(fn, backend=backend)(x).numpy()
    assert got.shape == want.shape and got.dtype == want.dtype
    if not name.startswith(("uniform", "normal", "stacked", "list")):  # fresh numbers per call
        np.testing.assert_array_equal(got, want)


def test_zeros_ones_fill_of_a_shape_unknown_when_tracing_run_with_any_size():
    @jg.function(input_signature=[jg.TensorSpec([None, 3], jg.float32)])
    def f(x):
        return jg.zeros(jg.shape(x)) + x, jg.ones(jg.shape(x), jg.bool), jg.fill(jg.shape(x), 7)

    for n in (1, 4):
        z, o, s = f(np.ones((n, 3), np.float32))
        np.testing.assert_array_equal(z.numpy(), np.ones((n, 3)))
        assert o.numpy().all() and o.shape == (n, 3)
        np.testing.assert_array_equal(s.numpy(), np.full((n, 3), 7, np.int32))
    assert f.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("fn, op", [
    (lambda x: jg.random.uniform(jg.shape(x) * 2), "random_uniform"),
    (lambda x: jg.random.normal([jg.shape(x)[0] + 1, 3]), "random_normal"),
    (lambda x: jg.ones(jg.stack([jg.shape(x)[0], 2])), "ones"),
    (lambda x: jg.reshape(x, [jg.shape(x)[0] * 3]), "reshape"),
])
def test_shape_tensors_unknown_when_tracing_are_a_clear_error(fn, op):
    f = jg.function(fn, input_signature=[jg.TensorSpec([None, 3], jg.float32)])
    with pytest.raises(jg.errors.UnimplementedError) as e:
        f(np.ones((2, 3), np.float32))
    msg = str(e.value)
    assert msg.startswith(op) and "known when tracing" in msg and "[?,3]" in msg
    assert "input_signature" in msg and "test_ops_random.py" in msg


# ----------------------------------------------------------------------------- dims unknown

def test_dropout_noise_shape_none_dims_come_from_x():
    jg.random.set_seed(4)
    x = np.ones((50, 4, 3), np.float32)
    y = jg.nn.dropout(x, 0.5, noise_shape=[None, 1, None]).numpy()
    assert (y == y[:, :1, :]).all()  # one mask for every step of axis 1
    assert 0.3 < (y[:, 0] != 0).mean() < 0.7
    y = jg.function(lambda x: jg.nn.dropout(x, 0.5, noise_shape=(None, 1, 3)))(x).numpy()
    assert (y == y[:, :1, :]).all() and 0.3 < (y[:, 0] != 0).mean() < 0.7
    with pytest.raises(jg.errors.InvalidArgumentError, match="one entry per dim"):
        jg.nn.dropout(x, 0.5, noise_shape=[None, 1])


@pytest.mark.parametrize("fn", [
    lambda x: jg.random.uniform(x.shape),  # the None dim does not say where it comes from
    lambda x: jg.random.stateless_normal(x.shape, seed=[1, 2]),
])
def test_random_shapes_unknown_when_tracing_are_a_clear_error(fn):
    f = jg.function(fn, input_signature=[jg.TensorSpec([None, 5, 3], jg.float32)])
    with pytest.raises(jg.errors.UnimplementedError) as e:
        f(np.ones((2, 5, 3), np.float32))
    msg = str(e.value)
    assert msg.startswith(("random_", "stateless_")) and "unknown when tracing" in msg
    assert "[None, 5, 3]" in msg and "jg.shape(x)" in msg
    assert "test_ops_random.py" in msg
    with pytest.raises(jg.errors.InvalidArgumentError, match=r"\[-1, 3\] must be fully known"):
        jg.random.uniform([-1, 3])


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
def test_random_shapes_from_dims_unknown_when_tracing_draw_at_run_time(backend):
    @jg.function(input_signature=[jg.TensorSpec([None, 3], jg.float32)], backend=backend)
    def f(x):
        return (jg.random.uniform(jg.shape(x), seed=1),
                jg.random.normal([jg.shape(x)[0], 2], seed=2),
                jg.random.stateless_uniform([3, jg.shape(x)[-2]], seed=[1, 2]),
                jg.nn.dropout(x, 0.5, noise_shape=[None, 1], seed=3),
                jg.nn.dropout(x, 0.5, seed=4))

    for n in (5, 40, 5):
        u, z, s, d1, d2 = (t.numpy() for t in f(np.ones((n, 3), np.float32)))
        assert u.shape == d1.shape == d2.shape == (n, 3) and z.shape == (n, 2)
        assert ((u >= 0) & (u < 1)).all() and np.isfinite(z).all()
        np.testing.assert_array_equal(s, jg.random.stateless_uniform([3, n], seed=[1, 2]))
        assert (d1 == d1[:, :1]).all() and set(np.unique(d2)) <= {0.0, 2.0}
    assert f.experimental_get_tracing_count() == 1


def test_random_shapes_from_dims_unknown_when_tracing_agree_across_backends():
    sig = [jg.TensorSpec([None, 2], jg.float32)]
    fs = [jg.function(lambda x: jg.random.normal(jg.shape(x), seed=5) + x, input_signature=sig,
                      backend=b) for b in ("interpreter", "cpu")]
    x = np.zeros((6, 2), np.float32)
    got = [f(x).numpy() for f in fs]  # each has its own counter: the same first draw
    np.testing.assert_array_equal(got[0], got[1])
