"""jg.train.Checkpoint, CheckpointManager and the checkpoint readers: round trips through
the object graph, deferred restoration (optimizer slots, models built later) giving the
same training as an uninterrupted run, rotation, partial restores and their errors."""

import json
import os

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import checkpoint_format, errors
from jitgraph.checkpoint import InitializationOnlyStatus

keras = jg.keras


class Net(jg.Module):
    def __init__(self, seed=0):
        super().__init__()
        r = np.random.RandomState(seed)
        self.w = jg.Variable(r.randn(3, 4).astype(np.float32), name="w")
        self.blocks = [jg.Variable(r.randn(4).astype(np.float32)),
                       {"scale": jg.Variable(np.float32(r.rand()))}]

    def __call__(self, x):
        return jg.tanh(x @ self.w + self.blocks[0]) * self.blocks[1]["scale"]


def _values(objs):
    return [np.asarray(v.numpy()) for v in objs]


def test_round_trip_of_variables_modules_lists_dicts_and_nested_checkpoints(tmp_path):
    net, step = Net(0), jg.Variable(7, dtype=jg.int64)
    inner = jg.train.Checkpoint(counter=jg.Variable(2.5, dtype=jg.float64))
    ckpt = jg.train.Checkpoint(net=net, step=step, inner=inner)
    path = ckpt.save(str(tmp_path / "ck"))
    assert path == str(tmp_path / "ck-1") and int(ckpt.save_counter.numpy()) == 1
    want = _values(net.variables)
    net2 = Net(1)
    ckpt2 = jg.train.Checkpoint(net=net2, step=jg.Variable(0, dtype=jg.int64),
                                inner=jg.train.Checkpoint(counter=jg.Variable(0.0,
                                                                              dtype=jg.float64)))
    status = ckpt2.restore(path)
    status.assert_consumed().assert_existing_objects_matched().assert_nontrivial_match()
    for a, b in zip(want, _values(net2.variables)):
        np.testing.assert_array_equal(a, b)
    assert int(ckpt2.step.numpy()) == 7 and float(ckpt2.inner.counter.numpy()) == 2.5
    assert int(ckpt2.save_counter.numpy()) == 1
    assert ckpt2.save(str(tmp_path / "ck")).endswith("ck-2")  # numbering continues


def test_save_writes_the_state_file_and_latest_checkpoint_finds_it(tmp_path):
    ckpt = jg.train.Checkpoint(v=jg.Variable([1.0, 2.0]))
    assert jg.train.latest_checkpoint(str(tmp_path)) is None
    ckpt.save(str(tmp_path / "a"))
    p2 = ckpt.save(str(tmp_path / "a"))
    assert jg.train.latest_checkpoint(str(tmp_path)) == p2
    text = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "a-2"' in text
    index = json.loads((tmp_path / "a-2.index").read_text())
    assert index["format"] == "jitgraph.checkpoint" and index["nodes"][0]["kind"] == \
        "checkpoint"
    assert (tmp_path / index["data"]).exists()
    ckpt.v.assign([0.0, 0.0])
    ckpt.restore(str(tmp_path)).assert_consumed()  # a directory: its latest checkpoint
    np.testing.assert_array_equal(ckpt.v.numpy(), [1.0, 2.0])


def test_write_and_read_use_the_exact_path(tmp_path):
    ckpt = jg.train.Checkpoint(v=jg.Variable(3.0))
    assert ckpt.write(str(tmp_path / "exact")) == str(tmp_path / "exact")
    ckpt.v.assign(0.0)
    ckpt.read(str(tmp_path / "exact")).assert_consumed()
    assert float(ckpt.v.numpy()) == 3.0
    ckpt.write(str(tmp_path / "exact"))  # overwriting leaves one data file
    assert len([f for f in os.listdir(tmp_path) if ".data-" in f]) == 1


def test_readers_list_and_load_values(tmp_path):
    net = Net(0)
    path = jg.train.Checkpoint(model=net).write(str(tmp_path / "r"))
    names = dict(jg.train.list_variables(path))
    assert names["model/w/.ATTRIBUTES/VARIABLE_VALUE"] == [3, 4]
    assert names["model/blocks/1/scale/.ATTRIBUTES/VARIABLE_VALUE"] == []
    np.testing.assert_array_equal(jg.train.load_variable(path, "model/w"), net.w.numpy())
    reader = jg.train.load_checkpoint(path)
    assert reader.get_variable_to_dtype_map()["model/w/.ATTRIBUTES/VARIABLE_VALUE"] is \
        jg.float32
    with pytest.raises(errors.NotFoundError, match="has no value named 'nope'"):
        reader.get_tensor("nope")


# ----------------------------------------------------------------------------- training


def _model(seed):
    jg.random.set_seed(seed)
    return keras.Sequential([keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(1)])


X = np.random.RandomState(0).randn(16, 3).astype(np.float32)
Y = (X.sum(1, keepdims=True) ** 2).astype(np.float32)


def _step_fn(model, opt, compiled):
    def step():
        with jg.GradientTape() as tape:
            loss = jg.reduce_mean((model(X) - Y) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return jg.function(step) if compiled else step


@pytest.mark.parametrize("make_opt", [lambda: keras.optimizers.Adam(0.05),
                                      lambda: keras.optimizers.SGD(0.01, momentum=0.9)],
                         ids=["adam", "sgd_momentum"])
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_deferred_restore_of_slots_continues_training_exactly(tmp_path, make_opt, compiled):
    model, opt = _model(1), make_opt()
    step = _step_fn(model, opt, compiled)
    for _ in range(3):
        step()
    ckpt = jg.train.Checkpoint(model=model, optimizer=opt, step=jg.Variable(3))
    path = ckpt.save(str(tmp_path / "ckpt"))
    uninterrupted = [float(step()) for _ in range(3)]

    model2, opt2 = _model(2), make_opt()  # unbuilt model, optimizer without slots
    ckpt2 = jg.train.Checkpoint(model=model2, optimizer=opt2, step=jg.Variable(0))
    status = ckpt2.restore(path)
    status.assert_existing_objects_matched()
    with pytest.raises(AssertionError, match="not matched to objects of the program: "
                                             "'model/_layers/0/kernel'"):
        status.assert_consumed()
    assert int(opt2.iterations.numpy()) == 3 and int(ckpt2.step.numpy()) == 3
    step2 = _step_fn(model2, opt2, compiled)
    resumed = [float(step2()) for _ in range(3)]
    np.testing.assert_allclose(resumed, uninterrupted, rtol=1e-6)
    status.assert_consumed()  # the weights and slots were applied when created


def test_restore_takes_effect_in_a_step_traced_before(tmp_path):
    v = jg.Variable([1.0, 2.0])

    @jg.function
    def f(x):
        return x * v

    ckpt = jg.train.Checkpoint(v=v)
    path = ckpt.write(str(tmp_path / "c"))
    assert f(jg.constant([1.0, 1.0])).numpy().tolist() == [1.0, 2.0]
    for _ in range(3):
        f(jg.constant([1.0, 1.0]))  # the hot path (native dispatcher) is in use
    v.assign([5.0, 6.0])
    assert f(jg.constant([1.0, 1.0])).numpy().tolist() == [5.0, 6.0]
    ckpt.restore(path).assert_consumed()
    assert f(jg.constant([1.0, 1.0])).numpy().tolist() == [1.0, 2.0]


def test_keras_fit_resumes_from_a_checkpoint(tmp_path):
    def compiled(seed):
        m = _model(seed)
        m.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
        return m

    a = compiled(3)
    a.fit(X, Y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    path = jg.train.Checkpoint(model=a, optimizer=a.optimizer).save(str(tmp_path / "k"))
    a.fit(X, Y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    b = compiled(4)
    jg.train.Checkpoint(model=b, optimizer=b.optimizer).restore(path)
    b.fit(X, Y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(b.predict(X, verbose=0), a.predict(X, verbose=0), rtol=1e-5,
                               atol=1e-6)


# ----------------------------------------------------------------------------- manager


def test_manager_numbers_rotates_and_recovers_from_the_directory(tmp_path):
    ckpt = jg.train.Checkpoint(step=jg.Variable(0))
    manager = jg.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2)
    assert manager.latest_checkpoint is None
    assert isinstance(ckpt.restore(manager.latest_checkpoint),
                      InitializationOnlyStatus)
    paths = []
    for _ in range(4):
        ckpt.step.assign_add(1)
        paths.append(manager.save())
    assert paths == [str(tmp_path / f"ckpt-{i}") for i in range(1, 5)]
    assert manager.checkpoints == paths[2:]
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".index")) == \
        ["ckpt-3.index", "ckpt-4.index"]
    assert len([f for f in os.listdir(tmp_path) if ".data-" in f]) == 2
    # a restarted program: the list comes back from the state file and rotation goes on
    ckpt2 = jg.train.Checkpoint(step=jg.Variable(0))
    manager2 = jg.train.CheckpointManager(ckpt2, str(tmp_path), max_to_keep=2)
    assert manager2.checkpoints == paths[2:] and manager2.latest_checkpoint == paths[3]
    ckpt2.restore(manager2.latest_checkpoint).assert_consumed()
    assert int(ckpt2.step.numpy()) == 4 and int(ckpt2.save_counter.numpy()) == 4
    assert manager2.save() == str(tmp_path / "ckpt-5")
    assert manager2.checkpoints == [paths[3], str(tmp_path / "ckpt-5")]
    assert not os.path.exists(tmp_path / "ckpt-3.index")


def test_manager_explicit_numbers_and_keep_every_n_hours(tmp_path):
    ckpt = jg.train.Checkpoint(v=jg.Variable(1.0))
    manager = jg.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=1,
                                         keep_checkpoint_every_n_hours=0.0,
                                         checkpoint_name="model")
    assert manager.save(checkpoint_number=100).endswith("model-100")
    assert manager.save(checkpoint_number=jg.Variable(200, dtype=jg.int64)).endswith(
        "model-200")
    # every checkpoint is old enough to be preserved (0 hours): dropped from rotation, kept
    assert manager.checkpoints == [str(tmp_path / "model-200")]
    assert os.path.exists(tmp_path / "model-100.index")


def test_manager_max_to_keep_none_keeps_everything(tmp_path):
    ckpt = jg.train.Checkpoint(v=jg.Variable(1.0))
    manager = jg.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=None)
    for _ in range(3):
        manager.save()
    assert len(manager.checkpoints) == 3


def test_a_crash_mid_save_leaves_the_previous_checkpoint_as_latest(tmp_path, monkeypatch):
    ckpt = jg.train.Checkpoint(v=jg.Variable(1.0))
    manager = jg.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=3)
    first = manager.save()

    def crash(f, arrays):  # half the bytes reach the disk, then the write fails
        f.write(b"\1" * 3)
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_format, "_write_values", crash)
    with pytest.raises(OSError, match="disk full"):
        manager.save()
    monkeypatch.undo()
    assert jg.train.latest_checkpoint(str(tmp_path)) == first
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["checkpoint", "ckpt-1.index", os.path.basename(
            json.loads((tmp_path / "ckpt-1.index").read_text())["data"])])
    jg.train.Checkpoint(v=jg.Variable(0.0)).restore(first).assert_consumed()


# ----------------------------------------------------------------------------- errors


def test_partial_restores_and_their_assertions(tmp_path):
    path = jg.train.Checkpoint(a=jg.Variable(1.0), b=jg.Variable(2.0)).write(
        str(tmp_path / "p"))
    only_a = jg.train.Checkpoint(a=jg.Variable(0.0))
    status = only_a.restore(path)
    status.assert_existing_objects_matched()
    with pytest.raises(AssertionError, match=r"1 saved object\(s\) were not matched.*'b'.*"
                                             "expect_partial"):
        status.assert_consumed()
    assert status.expect_partial() is status
    extra = jg.train.Checkpoint(a=jg.Variable(0.0), c=jg.Variable(0.0))
    status = extra.restore(path)
    with pytest.raises(AssertionError, match=r"existing variable\(s\) were not found in the "
                                             r"checkpoint: 'c'"):
        status.assert_existing_objects_matched()
    with pytest.raises(AssertionError, match="no checkpoint was restored"):
        extra.restore(None).assert_consumed()


def test_mismatched_shapes_dtypes_and_kinds_name_the_path(tmp_path):
    path = jg.train.Checkpoint(net=Net(0)).write(str(tmp_path / "m"))
    bad = Net(0)
    bad.w = jg.Variable(np.zeros((2, 2), np.float32))
    with pytest.raises(errors.InvalidArgumentError, match=r"'net/w' with shape \[3, 4\] but "
                                                          r"the variable .* has shape \[2, 2\]"):
        jg.train.Checkpoint(net=bad).restore(path)
    bad.w = jg.Variable(np.zeros((3, 4), np.float64))
    with pytest.raises(errors.InvalidArgumentError, match="'net/w' as float32 .* is float64"):
        jg.train.Checkpoint(net=bad).restore(path)
    bad.w = Net(3)
    with pytest.raises(errors.InvalidArgumentError, match="a variable at 'net/w' but the "
                                                          "program has a Net"):
        jg.train.Checkpoint(net=bad).restore(path)


def test_a_truncated_data_file_is_reported(tmp_path):
    path = jg.train.Checkpoint(v=jg.Variable(np.ones(100, np.float32))).write(
        str(tmp_path / "t"))
    data = checkpoint_format.checkpoint_files(path)[0]
    with open(data, "r+b") as f:
        f.truncate(40)
    with pytest.raises(errors.DataLossError, match="is missing or corrupt .*has 40 bytes"):
        jg.train.Checkpoint(v=jg.Variable(np.zeros(100, np.float32))).restore(path)


def test_missing_or_foreign_files_and_untrackable_values(tmp_path):
    ckpt = jg.train.Checkpoint(v=jg.Variable(1.0))
    with pytest.raises(errors.NotFoundError, match="no checkpoint at .*nothing"):
        ckpt.restore(str(tmp_path / "nothing"))
    (tmp_path / "x.index").write_text("{}")
    with pytest.raises(errors.DataLossError, match="not a jitgraph checkpoint"):
        ckpt.restore(str(tmp_path / "x"))
    with pytest.raises(ValueError, match="lr=float is not trackable"):
        jg.train.Checkpoint(lr=0.1)
    with pytest.raises(AttributeError, match="dependencies are \\['v'\\]"):
        ckpt.nope  # noqa: B018


def test_a_module_creating_its_variables_later_gets_their_values(tmp_path):
    class Lazy(jg.Module):
        def __init__(self):
            super().__init__()
            self.w = None

        def __call__(self, x):
            if self.w is None:
                self.w = jg.Variable(jg.ones([x.shape[-1], 2]))
            return x @ self.w

    a = Lazy()
    a(jg.ones([1, 3]))
    a.w.assign(np.arange(6, dtype=np.float32).reshape(3, 2))
    path = jg.train.Checkpoint(m=a).write(str(tmp_path / "lazy"))
    b = Lazy()
    status = jg.train.Checkpoint(m=b).restore(path)
    b(jg.ones([1, 3]))
    np.testing.assert_array_equal(b.w.numpy(), a.w.numpy())
    status.assert_consumed()


def test_optimizer_state_is_named_as_in_keras(tmp_path):
    opt = keras.optimizers.Adam(0.5)
    path = jg.train.Checkpoint(optimizer=opt).write(str(tmp_path / "o"))
    assert float(jg.train.load_variable(path, "optimizer/learning_rate")) == 0.5
    assert int(jg.train.load_variable(path, "optimizer/iterations")) == 0


def test_restoring_into_a_traced_training_step_takes_effect(tmp_path):
    model, opt = _model(5), keras.optimizers.Adam(0.05)
    step = _step_fn(model, opt, compiled=True)
    for _ in range(2):
        step()
    ckpt = jg.train.Checkpoint(model=model, optimizer=opt)
    path = ckpt.write(str(tmp_path / "t"))
    after_save = [float(step()) for _ in range(3)]
    for _ in range(4):  # more training moves weights, slots and the step count
        step()
    ckpt.restore(path).assert_consumed()  # the same objects: the compiled step reads them
    assert int(opt.iterations.numpy()) == 2
    np.testing.assert_allclose([float(step()) for _ in range(3)], after_save, rtol=1e-6)


def test_a_root_object_s_dependencies_are_saved_at_the_top(tmp_path):
    net = Net(0)
    path = jg.train.Checkpoint(root=net, extra=jg.Variable(1.0)).write(str(tmp_path / "r"))
    names = dict(jg.train.list_variables(path))
    assert "w/.ATTRIBUTES/VARIABLE_VALUE" in names and "extra/.ATTRIBUTES/VARIABLE_VALUE" in names
    other = Net(1)
    ckpt = jg.train.Checkpoint(root=other, extra=jg.Variable(0.0))
    ckpt.restore(path).assert_consumed()
    assert ckpt.root is other
    np.testing.assert_array_equal(other.w.numpy(), net.w.numpy())
    # a checkpoint of the module itself reads the same file
    third = Net(2)
    jg.train.Checkpoint(root=third).restore(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(third.w.numpy(), net.w.numpy())


def test_value_names_match_tensorflow_for_the_same_objects(tmp_path):
    tf = pytest.importorskip("tensorflow")

    def build(mod, base):
        class Holder(base):
            def __init__(self):
                super().__init__()
                self.w = mod.Variable(np.ones((3, 4), np.float32))
                self.blocks = [mod.Variable(np.ones(4, np.float32)), {"scale": mod.Variable(1.0)}]

        return Holder()

    theirs = tf.train.Checkpoint(net=build(tf, tf.Module), step=tf.Variable(1)).write(
        str(tmp_path / "tf"))
    ours = jg.train.Checkpoint(net=build(jg, jg.Module), step=jg.Variable(1)).write(
        str(tmp_path / "jg"))
    want = sorted((n, s) for n, s in tf.train.list_variables(theirs)
                  if not n.startswith("_CHECKPOINTABLE_OBJECT_GRAPH"))
    assert jg.train.list_variables(ours) == want


def test_manager_restore_or_initialize_and_checkpoint_interval(tmp_path):
    step = jg.Variable(0, dtype=jg.int64)
    ckpt = jg.train.Checkpoint(step=step)
    calls = []
    manager = jg.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=5, step_counter=step,
                                         checkpoint_interval=10,
                                         init_fn=lambda: calls.append("init"))
    assert manager.restore_or_initialize() is None and calls == ["init"]
    saved = []
    for _ in range(25):
        saved.append(manager.save())
        step.assign_add(1)
    assert [p is not None for p in saved].count(True) == 3  # steps 0, 10 and 20
    step.assign(99)
    again = jg.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=5)
    assert again.restore_or_initialize() == again.latest_checkpoint
    assert int(step.numpy()) == 20


def test_layers_created_inside_build_get_their_values(tmp_path):
    class Tower(keras.Model):
        def build(self, input_shape):
            self.blocks = [keras.layers.Dense(4, activation="tanh") for _ in range(3)]
            self.head = keras.layers.Dense(1)

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    a = Tower()
    a(X)
    path = jg.train.Checkpoint(model=a).write(str(tmp_path / "tower"))
    b = Tower()
    status = jg.train.Checkpoint(model=b).restore(path)
    np.testing.assert_allclose(b(X).numpy(), a(X).numpy(), rtol=1e-6)
    status.assert_consumed()
