"""jg.saved_model: traced graphs and variables saved without the Python code. Loaded objects
run in a fresh process that never imports the defining module, dispatch over the saved
traces, give the original's numbers and gradients, and compile with the backends."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import errors
from jitgraph.ir.parser import SerializationError

keras = jg.keras
S = jg.TensorSpec
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class MLP(jg.Module):
    def __init__(self, seed=0):
        super().__init__()
        r = np.random.RandomState(seed)
        self.w1 = jg.Variable(r.randn(3, 8).astype(np.float32), name="w1")
        self.b1 = jg.Variable(np.zeros(8, np.float32), name="b1")
        self.w2 = jg.Variable(r.randn(8, 2).astype(np.float32), name="w2")
        self.steps = jg.Variable(0, trainable=False, name="steps")

    @jg.function(input_signature=[S([None, 3], jg.float32, name="features")])
    def __call__(self, x):
        return jg.nn.relu(x @ self.w1 + self.b1) @ self.w2

    @jg.function
    def loop(self, x, n, scale=2.0):
        i = jg.constant(0)
        while i < n:
            x = jg.tanh(x @ self.w1[:, :3]) + 0.5
            i += 1
        if jg.reduce_sum(x) > 0:
            x = x * scale
        else:
            x = -x
        return {"y": x, "total": jg.reduce_sum(x)}


def _x(n=5, seed=1):
    return np.random.RandomState(seed).randn(n, 3).astype(np.float32)


def _saved_mlp(path):
    m = MLP()
    m.loop(_x(), jg.constant(3))
    m.loop(_x(7), jg.constant(2), scale=-1.0)
    jg.saved_model.save(m, str(path), signatures={
        "serving_default": m.__call__,
        "loop": m.loop.get_concrete_function(S([None, 3]), S([], jg.int32))})
    return m


def test_mlp_and_control_flow_in_a_fresh_process(tmp_path):
    m = _saved_mlp(tmp_path / "model")
    x, x7 = _x(4, seed=3), _x(7, seed=4)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "x7.npy", x7)
    script = textwrap.dedent(f"""
        import sys, numpy as np, jitgraph as jg
        loaded = jg.saved_model.load({str(tmp_path / "model")!r})
        x = np.load({str(tmp_path / "x.npy")!r})
        x7 = np.load({str(tmp_path / "x7.npy")!r})
        out = {{"mlp": loaded(x).numpy(),
               "loop": loaded.loop(x, jg.constant(3))["y"].numpy(),
               "loop_neg": loaded.loop(x7, jg.constant(2), scale=-1.0)["total"].numpy(),
               "sig": loaded.signatures["serving_default"](features=x)["output_0"].numpy(),
               "sig_loop": loaded.signatures["loop"](x=x, n=np.int32(3))["y"].numpy()}}
        np.savez({str(tmp_path / "out.npz")!r}, **out)
        assert not any("test_saved_model" in k for k in sys.modules), "imported the module"
    """)
    env = {**os.environ, "PYTHONPATH": ROOT}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       cwd=str(tmp_path), env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    out = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(out["mlp"], m(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["sig"], m(x).numpy(), rtol=1e-5, atol=1e-6)
    want = m.loop(x, jg.constant(3))["y"].numpy()
    np.testing.assert_allclose(out["loop"], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["sig_loop"], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["loop_neg"],
                               m.loop(x7, jg.constant(2), scale=-1.0)["total"].numpy(),
                               rtol=1e-5)


def test_the_saved_files_hold_graphs_not_code(tmp_path):
    _saved_mlp(tmp_path)
    meta = json.loads((tmp_path / "saved_model.json").read_text())
    assert meta["format"] == "jitgraph.saved_model"
    names = sorted(f["name"] for f in meta["functions"])
    assert names == ["__call__", "loop"]
    texts = [p.read_text() for p in (tmp_path / "functions" / meta["token"]).glob("*.jgir")]
    assert any("while_loop" in t and "cond %" in t for t in texts)
    assert all(t.startswith("graph ") and "def " not in t for t in texts)
    assert (tmp_path / "variables" / f"{meta['token']}.index").exists()


def test_saving_again_replaces_the_earlier_save_and_a_failed_save_keeps_it(tmp_path,
                                                                            monkeypatch):
    m = _saved_mlp(tmp_path)
    m.b1.assign(np.full(8, 0.5, np.float32))
    jg.saved_model.save(m, str(tmp_path))
    assert len(os.listdir(tmp_path / "functions")) == 1
    assert len([f for f in os.listdir(tmp_path / "variables") if f.endswith(".index")]) == 1
    x = _x()
    np.testing.assert_allclose(jg.saved_model.load(str(tmp_path))(x).numpy(), m(x).numpy(),
                               rtol=1e-6)
    save_module = sys.modules["jitgraph.saved_model.save"]  # the module, not the function

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(save_module, "write_checkpoint", crash)
    m.b1.assign(np.zeros(8, np.float32))
    with pytest.raises(OSError, match="disk full"):
        jg.saved_model.save(m, str(tmp_path))
    monkeypatch.undo()
    loaded = jg.saved_model.load(str(tmp_path))  # the previous save, complete
    np.testing.assert_allclose(loaded.b1.numpy(), np.full(8, 0.5, np.float32))


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
def test_loaded_functions_dispatch_by_signature_on_each_backend(tmp_path, backend):
    m = _saved_mlp(tmp_path)
    loaded = jg.saved_model.load(str(tmp_path), backend=backend)
    x5, x7 = _x(5), _x(7)
    np.testing.assert_allclose(loaded.loop(x5, jg.constant(3))["total"].numpy(),
                               m.loop(x5, jg.constant(3))["total"].numpy(), rtol=1e-5)
    np.testing.assert_allclose(loaded.loop(x7, jg.constant(2), scale=-1.0)["y"].numpy(),
                               m.loop(x7, jg.constant(2), scale=-1.0)["y"].numpy(), rtol=1e-5,
                               atol=1e-6)
    # the signature's general trace ([None, 3]) serves other batch sizes too
    x9 = _x(9)
    np.testing.assert_allclose(loaded.loop(x9, jg.constant(1))["y"].numpy(),
                               m.loop(x9, jg.constant(1))["y"].numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(errors.InvalidArgumentError, match=r"no saved graph for arguments .*"
                                                          r"scale.*|saved signatures are"):
        loaded.loop(x5, jg.constant(3), scale=5.0)
    with pytest.raises(errors.InvalidArgumentError, match="does not match the input_signature"):
        loaded(np.ones((2, 4), np.float32))


def test_loaded_variables_are_variables_and_assignments_change_results(tmp_path):
    _saved_mlp(tmp_path)
    loaded = jg.saved_model.load(str(tmp_path))
    assert all(isinstance(v, jg.Variable) for v in loaded.variables)
    assert sorted(v.name for v in loaded.trainable_variables) == ["b1:0", "w1:0", "w2:0"]
    assert [v.name for v in loaded.non_trainable_variables] == ["steps:0"]
    x = _x()
    before = loaded(x).numpy()
    loaded.b1.assign(np.ones(8, np.float32))
    after = loaded(x).numpy()
    assert not np.allclose(before, after)
    ref = MLP()
    ref.b1.assign(np.ones(8, np.float32))
    np.testing.assert_allclose(after, ref(x).numpy(), rtol=1e-5, atol=1e-6)


def test_gradients_through_a_loaded_function(tmp_path):
    m = _saved_mlp(tmp_path)
    loaded = jg.saved_model.load(str(tmp_path))
    x = jg.constant(_x())
    results = []
    for obj in (m, loaded):
        with jg.GradientTape() as tape:
            tape.watch(x)
            y = jg.reduce_sum(obj(x) ** 2) + obj.loop(x, jg.constant(3))["total"]
        vs = sorted(obj.trainable_variables, key=lambda v: v.name)
        results.append(tape.gradient(y, [x] + vs))
    for a, b in zip(*results):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5)


def test_loaded_gradient_matches_finite_differences_in_float64(tmp_path):
    class Poly(jg.Module):
        def __init__(self):
            super().__init__()
            self.c = jg.Variable(np.array([0.5, -1.0, 2.0]), name="c")

        @jg.function(input_signature=[S([3], jg.float64)])
        def f(self, x):
            i, acc = jg.constant(0), jg.zeros([3], jg.float64)
            while i < 3:
                acc = acc * x + self.c
                i += 1
            return jg.reduce_sum(jg.sin(acc))

    jg.saved_model.save(Poly(), str(tmp_path))
    loaded = jg.saved_model.load(str(tmp_path))
    x = np.array([0.3, -0.7, 1.1])
    with jg.GradientTape() as tape:
        tx = jg.constant(x)
        tape.watch(tx)
        y = loaded.f(tx)
    gx, gc = tape.gradient(y, [tx, loaded.c])
    rng = np.random.RandomState(0)
    for value, grad, set_ in ((x, gx, None), (loaded.c.numpy(), gc, loaded.c)):
        d = rng.randn(3)
        eps = 1e-6

        def at(v, set_=set_):
            if set_ is None:
                return float(loaded.f(jg.constant(v)))
            set_.assign(v)
            return float(loaded.f(jg.constant(x)))

        fd = (at(value + eps * d) - at(value - eps * d)) / (2 * eps)
        if set_ is not None:
            set_.assign(value)
        np.testing.assert_allclose(np.dot(grad.numpy(), d), fd, rtol=1e-6)


def test_a_loaded_function_inlines_into_another_trace(tmp_path):
    m = _saved_mlp(tmp_path)
    loaded = jg.saved_model.load(str(tmp_path))

    @jg.function
    def twice(x):
        return loaded(x) * 2.0 + loaded.loop(x, jg.constant(3))["total"]

    x = _x()
    want = m(x).numpy() * 2.0 + m.loop(x, jg.constant(3))["total"].numpy()
    np.testing.assert_allclose(twice(x).numpy(), want, rtol=1e-5, atol=1e-5)
    graph = twice.get_concrete_function(x).graph
    assert any(op.type == "while_loop" for op in graph.ops)


def test_a_loaded_object_saves_again(tmp_path):
    m = _saved_mlp(tmp_path / "a")
    loaded = jg.saved_model.load(str(tmp_path / "a"))
    jg.saved_model.save(loaded, str(tmp_path / "b"), signatures=loaded.signatures["loop"]._cf)
    again = jg.saved_model.load(str(tmp_path / "b"))
    x = _x()
    np.testing.assert_allclose(again(x).numpy(), m(x).numpy(), rtol=1e-5, atol=1e-6)
    out = again.signatures["serving_default"](x=x, n=jg.constant(3))
    np.testing.assert_allclose(out["total"].numpy(), m.loop(x, jg.constant(3))["total"].numpy(),
                               rtol=1e-5)


def test_nested_modules_and_plain_function_attributes(tmp_path):
    class Inner(jg.Module):
        def __init__(self):
            super().__init__()
            self.k = jg.Variable(3.0)

        @jg.function(input_signature=[S([], jg.float32)])
        def mul(self, x):
            return x * self.k

    class Outer(jg.Module):
        def __init__(self):
            super().__init__()
            self.inner = [Inner()]
            self.add_one = jg.function(lambda x: x + 1.0, input_signature=[S([2])])

    jg.saved_model.save(Outer(), str(tmp_path))
    loaded = jg.saved_model.load(str(tmp_path))
    assert float(loaded.inner[0].mul(jg.constant(2.0))) == 6.0
    assert loaded.add_one(jg.constant([1.0, 2.0])).numpy().tolist() == [2.0, 3.0]
    assert loaded.signatures == {}


# ----------------------------------------------------------------------------- keras


def _keras_model():
    jg.random.set_seed(0)
    return keras.Sequential([keras.layers.Dense(8, activation="relu"),
                             keras.layers.LayerNormalization(), keras.layers.Dense(2)])


@pytest.mark.parametrize("how", ["export", "save"])
def test_keras_model_export_and_load(tmp_path, how):
    model = _keras_model()
    x = _x(6)
    want = model(x).numpy()
    if how == "export":
        model.export(str(tmp_path))
    else:
        jg.saved_model.save(model, str(tmp_path))
    loaded = jg.saved_model.load(str(tmp_path))
    np.testing.assert_allclose(loaded.serve(x).numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded(_x(3)).numpy(), model(_x(3)).numpy(), rtol=1e-5,
                               atol=1e-6)
    out = loaded.signatures["serving_default"](inputs=x)
    np.testing.assert_allclose(out["output_0"].numpy(), want, rtol=1e-5, atol=1e-6)
    assert len(loaded.trainable_variables) == len(model.trainable_variables)


def test_functional_models_export_one_argument_per_input(tmp_path):
    left, right = keras.Input((3,), name="left"), keras.Input((2,), name="right")
    h = keras.layers.Concatenate()([left, keras.layers.Dense(3)(right)])
    model = keras.Model([left, right], keras.layers.Dense(1)(h))
    xa, xb = _x(4)[:, :3], _x(4)[:, :2].copy()
    model.export(str(tmp_path))
    loaded = jg.saved_model.load(str(tmp_path))
    want = model([xa, xb]).numpy()
    np.testing.assert_allclose(loaded.serve(xa, xb).numpy(), want, rtol=1e-6)
    out = loaded.signatures["serving_default"](left=xa, right=xb)["output_0"]
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)


def test_keras_load_model_keeps_its_own_format(tmp_path):
    model = _keras_model()
    model(_x())
    model.save(str(tmp_path / "m.keras"))
    again = keras.models.load_model(str(tmp_path / "m.keras"))
    np.testing.assert_allclose(again(_x()).numpy(), model(_x()).numpy(), rtol=1e-6)


def test_an_unbuilt_keras_model_cannot_be_exported(tmp_path):
    with pytest.raises(ValueError, match="is not built; call it on data"):
        _keras_model().export(str(tmp_path))


# ----------------------------------------------------------------------------- errors


def test_a_function_never_traced_without_input_signature_is_named(tmp_path):
    class M(jg.Module):
        def __init__(self):
            super().__init__()
            self.v = jg.Variable(1.0)

        @jg.function
        def scale(self, x):
            return x * self.v

    with pytest.raises(ValueError, match="jg.function 'scale' was never traced and has no "
                                         "input_signature.*get_concrete_function"):
        jg.saved_model.save(M(), str(tmp_path))
    assert not (tmp_path / "saved_model.json").exists()


def test_an_untracked_variable_is_named(tmp_path):
    hidden = jg.Variable(2.0, name="hidden")

    class M(jg.Module):
        @jg.function(input_signature=[S([])])
        def f(self, x):
            return x * hidden

    with pytest.raises(ValueError, match="uses the variable 'hidden:0', which the saved object "
                                         "does not track"):
        jg.saved_model.save(M(), str(tmp_path))


def test_py_function_cannot_be_saved(tmp_path):
    class M(jg.Module):
        @jg.function(input_signature=[S([3])])
        def f(self, x):
            return jg.py_function(np.sin, [x], jg.float32)

    with pytest.raises(errors.UnimplementedError, match=r"py_function\(sin\)"):
        jg.saved_model.save(M(), str(tmp_path))


def test_an_op_holding_a_python_object_is_named(tmp_path):
    class M(jg.Module):
        @jg.function(input_signature=[S([3])])
        def f(self, x):
            return jg.tanh(x)

    m = M()
    cf = m.f.get_concrete_function()
    op = next(op for op in cf.graph.ops if op.type == "tanh")
    op.attrs["callback"] = print  # what an op carrying Python would look like
    with pytest.raises(SerializationError, match=r"jg.function 'f': op 'tanh' \(tanh\) .*"
                                                 r"attribute 'callback' holds a "
                                                 r"builtin_function_or_method"):
        jg.saved_model.save(m, str(tmp_path))


def test_signature_errors(tmp_path):
    m = _saved_mlp(tmp_path)
    loaded = jg.saved_model.load(str(tmp_path))
    sig = loaded.signatures["serving_default"]
    with pytest.raises(TypeError, match="keyword arguments only: features"):
        sig(_x())
    with pytest.raises(TypeError, match=r"missing \['features'\], unexpected \['x'\]"):
        sig(x=_x())
    with pytest.raises(errors.InvalidArgumentError, match="'features' expected float32"):
        sig(features=np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match="without an input_signature"):
        jg.saved_model.save(m, str(tmp_path / "b"), signatures=m.loop)
    with pytest.raises(errors.NotFoundError, match="holds no saved model"):
        jg.saved_model.load(str(tmp_path / "nothing"))


def test_loaded_functions_compile_for_the_cuda_backend_on_the_emulator(tmp_path):
    from jitgraph.codegen import cuda_driver

    m = _saved_mlp(tmp_path)
    before = cuda_driver.use("emulator")
    try:
        loaded = jg.saved_model.load(str(tmp_path), backend="cuda")
        x = _x(4)
        np.testing.assert_allclose(loaded(x).numpy(), m(x).numpy(), rtol=1e-5, atol=1e-5)
    finally:
        cuda_driver.use(before)


def test_random_draws_continue_their_stream_after_loading(tmp_path):
    class Noisy(jg.Module):
        @jg.function(input_signature=[S([3])])
        def f(self, x):
            return x + jg.random.normal([3], seed=1)

    m = Noisy()
    x = np.zeros(3, np.float32)
    m.f(x)
    jg.saved_model.save(m, str(tmp_path))
    loaded = jg.saved_model.load(str(tmp_path))
    for _ in range(2):  # the counter was saved: the loaded object draws what m draws next
        np.testing.assert_array_equal(loaded.f(x).numpy(), m.f(x).numpy())


def test_a_loaded_model_fine_tunes_in_a_compiled_step(tmp_path):
    m = _saved_mlp(tmp_path)
    loaded = jg.saved_model.load(str(tmp_path))
    x, y = _x(), np.ones((5, 2), np.float32)

    def make(obj):
        @jg.function
        def step():
            with jg.GradientTape() as tape:
                loss = jg.reduce_mean((obj(x) - y) ** 2)
            vs = sorted(obj.trainable_variables, key=lambda v: v.name)
            for g, v in zip(tape.gradient(loss, vs), vs):
                v.assign_sub(0.05 * g)
            return loss

        return step

    original, resumed = make(m), make(loaded)
    np.testing.assert_allclose([float(resumed()) for _ in range(3)],
                               [float(original()) for _ in range(3)], rtol=1e-5)


def test_keras_load_model_points_at_saved_model_load(tmp_path):
    model = _keras_model()
    model(_x())
    model.export(str(tmp_path))
    with pytest.raises(ValueError, match="jg.saved_model.load"):
        keras.models.load_model(str(tmp_path))


def test_jg_grad_of_a_loaded_function(tmp_path):
    class Energy(jg.Module):
        def __init__(self):
            super().__init__()
            self.w = jg.Variable(np.array([[1.0, -2.0], [0.5, 3.0]]))

        @jg.function(input_signature=[S([2], jg.float64)])
        def f(self, x):
            y = jg.reshape(self.w @ jg.reshape(x, [2, 1]), [2])
            return jg.cond(jg.reduce_sum(y) > 0, lambda: jg.reduce_sum(jg.tanh(y)),
                           lambda: jg.reduce_sum(y ** 2))

    m = Energy()
    jg.saved_model.save(m, str(tmp_path))
    loaded = jg.saved_model.load(str(tmp_path))
    for x in (np.array([0.3, 0.4]), np.array([-1.0, -0.2])):  # both branches
        want = jg.grad(lambda x: m.f(x))(jg.constant(x)).numpy()
        np.testing.assert_allclose(jg.grad(loaded.f)(x).numpy(), want, rtol=1e-12)
        outer = jg.function(lambda x: loaded.f(x) * 3.0)
        np.testing.assert_allclose(jg.grad(outer)(x).numpy(), 3 * want, rtol=1e-12)


def test_second_derivatives_through_a_loaded_function_with_a_cond(tmp_path):
    class Curve(jg.Module):
        @jg.function(input_signature=[S([2], jg.float64)])
        def f(self, x):
            return jg.cond(jg.reduce_sum(x) > 0, lambda: jg.reduce_sum(jg.sin(x) * x),
                           lambda: jg.reduce_sum(x ** 3))

    m = Curve()
    jg.saved_model.save(m, str(tmp_path))
    loaded = jg.saved_model.load(str(tmp_path))
    for value in ([0.3, 0.5], [-0.3, -0.5]):
        x = jg.constant(value, jg.float64)
        results = []
        for obj in (m, loaded):
            with jg.GradientTape() as outer:
                outer.watch(x)
                with jg.GradientTape() as inner:
                    inner.watch(x)
                    y = obj.f(x)
                g = inner.gradient(y, x)
            results.append(outer.gradient(g, x).numpy())
        np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


def test_decorated_methods_of_a_keras_model_are_saved(tmp_path):
    class Scorer(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        @jg.function(input_signature=[S([None, 3])])
        def score(self, x):
            return jg.reduce_sum(self(x), axis=1)

    model = Scorer()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(_x(8), np.ones((8, 1), np.float32), epochs=1, verbose=0)  # its own steps: not saved
    jg.saved_model.save(model, str(tmp_path))
    loaded = jg.saved_model.load(str(tmp_path))
    np.testing.assert_allclose(loaded.score(_x()).numpy(), model.score(_x()).numpy(), rtol=1e-6)
