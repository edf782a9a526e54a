"""jg.data: element sequences against tf.data (where the order is deterministic), shuffle by
its properties, counts against a plain-Python reference (hypothesis), errors, and Keras fit
on datasets against fit on arrays."""

import collections
import io
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph as jg

D = jg.data.Dataset


@pytest.fixture(scope="module")
def tf():
    tf = pytest.importorskip("tensorflow")
    return tf


def _flat(element, nest):
    return [np.asarray(a) for a in nest.flatten(element)]


def _sequence(ds, nest):
    return [_flat(e, nest) for e in ds.as_numpy_iterator()]


def assert_same_elements(jds, tds, tf):
    got, want = _sequence(jds, jg.nest), _sequence(tds, tf.nest)
    assert len(got) == len(want), (len(got), len(want))
    for k, (g, w) in enumerate(zip(got, want)):
        assert len(g) == len(w), k
        for a, b in zip(g, w):
            assert a.dtype == b.dtype, (k, a.dtype, b.dtype)
            assert a.shape == b.shape, (k, a.shape, b.shape)
            np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=f"element {k}")
    jspec, tspec = jg.nest.flatten(jds.element_spec), tf.nest.flatten(tds.element_spec)
    assert [(s.dtype.name, s.shape.as_list()) for s in jspec] == \
        [(s.dtype.name, s.shape.as_list()) for s in tspec]
    assert int(jds.cardinality()) == int(tds.cardinality())


_X = np.arange(24, dtype=np.float64).reshape(12, 2) / 7.0
_Y = np.arange(12, dtype=np.int64) % 5
_Point = collections.namedtuple("Point", "a b")


def _gen():
    for i in range(6):
        yield np.arange(i, dtype=np.int32) + 1, i


def _sig(m):
    return (m.TensorSpec([None], m.int32), m.TensorSpec([], m.int64))


# Each pipeline is written once against a namespace m (tf or jg): m.data.Dataset, m ops.
PIPELINES = {
    "slices_tuple": lambda m: m.data.Dataset.from_tensor_slices((_X, _Y)),
    "slices_dict": lambda m: m.data.Dataset.from_tensor_slices({"y": _Y, "x": _X}),
    "slices_namedtuple": lambda m: m.data.Dataset.from_tensor_slices(_Point(_X, _Y)),
    "slices_list_values": lambda m: m.data.Dataset.from_tensor_slices([[1.5, 2.0], [3.0, 4]]),
    "slices_python_ints": lambda m: m.data.Dataset.from_tensor_slices([1, 2, 3]),
    "from_tensors": lambda m: m.data.Dataset.from_tensors((_X, 3.0)),
    "range": lambda m: m.data.Dataset.range(2, 20, 3),
    "range_negative_step": lambda m: m.data.Dataset.range(10, 1, -2),
    "batch": lambda m: m.data.Dataset.from_tensor_slices((_X, _Y)).batch(5),
    "batch_drop": lambda m: m.data.Dataset.from_tensor_slices((_X, _Y)).batch(5, True),
    "map_then_batch": lambda m: m.data.Dataset.from_tensor_slices((_X, _Y)).map(
        lambda x, y: (x * 2.0 + 1.0, y + 1)).batch(4),
    "batch_then_map": lambda m: m.data.Dataset.from_tensor_slices((_X, _Y)).batch(5).map(
        lambda x, y: (m.reduce_sum(x, axis=1), m.cast(y, m.float32) / 2.0)),
    "map_dict": lambda m: m.data.Dataset.from_tensor_slices({"y": _Y, "x": _X}).map(
        lambda d: {"x2": d["x"] * d["x"], "y": d["y"]}),
    "map_tensor_if": lambda m: m.data.Dataset.range(8).map(_signed),
    "map_returns_list": lambda m: m.data.Dataset.range(4).map(lambda v: [v, v * 2]),
    "filter": lambda m: m.data.Dataset.range(20).filter(lambda v: v % 3 == 1),
    "flat_map": lambda m: m.data.Dataset.range(5).flat_map(
        lambda v: m.data.Dataset.range(v)),
    "interleave_2_1": lambda m: m.data.Dataset.range(1, 6).interleave(
        lambda v: m.data.Dataset.from_tensors(v).repeat(v), cycle_length=2, block_length=1),
    "interleave_3_2": lambda m: m.data.Dataset.range(1, 7).interleave(
        lambda v: m.data.Dataset.range(v * 10, v * 10 + v), cycle_length=3, block_length=2),
    "zip": lambda m: m.data.Dataset.zip((m.data.Dataset.range(7),
                                         m.data.Dataset.from_tensor_slices(_X))),
    "zip_dict": lambda m: m.data.Dataset.zip({"a": m.data.Dataset.range(3),
                                              "b": m.data.Dataset.range(5, 9)}),
    "concatenate": lambda m: m.data.Dataset.range(3).concatenate(m.data.Dataset.range(7, 9)),
    "repeat_take_skip": lambda m: m.data.Dataset.range(5).repeat(3).skip(2).take(9),
    "take_all": lambda m: m.data.Dataset.range(5).take(-1),
    "skip_all": lambda m: m.data.Dataset.range(5).skip(-1),
    "shard": lambda m: m.data.Dataset.range(11).shard(3, 1),
    "cache": lambda m: m.data.Dataset.range(6).cache().repeat(2),
    "enumerate": lambda m: m.data.Dataset.from_tensor_slices(_Y).enumerate(start=3),
    "unbatch": lambda m: m.data.Dataset.from_tensor_slices((_X, _Y)).batch(5).unbatch(),
    "unbatch_drop": lambda m: m.data.Dataset.range(10).batch(3, True).unbatch(),
    "rebatch": lambda m: m.data.Dataset.range(10).batch(4).rebatch(3),
    "padded_batch": lambda m: m.data.Dataset.from_generator(
        _gen, output_signature=_sig(m)).padded_batch(4),
    "padded_batch_shapes": lambda m: m.data.Dataset.from_generator(
        _gen, output_signature=_sig(m)).padded_batch(
        2, padded_shapes=([7], []), padding_values=(m.constant(-1, m.int32),
                                                    m.constant(0, m.int64))),
    "from_generator": lambda m: m.data.Dataset.from_generator(_gen, output_signature=_sig(m)),
    "from_generator_types": lambda m: m.data.Dataset.from_generator(
        _gen, output_types=(m.int32, m.int64), output_shapes=([None], [])),
    "scan": lambda m: m.data.Dataset.range(6).scan(
        m.constant(0, m.int64), lambda s, v: (s + v, s * 10)),
    "take_while": lambda m: m.data.Dataset.range(10).take_while(lambda v: v < 4),
    "unique": lambda m: m.data.Dataset.from_tensor_slices(
        np.array([3, 1, 3, 2, 1, 5], np.int64)).unique(),
    "repeat_batch_plan": lambda m: m.data.Dataset.from_tensor_slices(_Y).repeat(3).batch(7),
    "shard_take_batch": lambda m: m.data.Dataset.from_tensor_slices((_X, _Y)).shard(
        2, 0).skip(1).take(4).batch(3),
    "filter_batch_map": lambda m: m.data.Dataset.from_tensor_slices((_X, _Y)).filter(
        lambda x, y: y > 1).batch(3).map(lambda x, y: (x - 1.0, y)),
    "window": lambda m: m.data.Dataset.range(7).window(3).flat_map(lambda w: w.batch(3)),
    "window_shift_stride_drop": lambda m: m.data.Dataset.range(9).window(
        3, 2, 2, drop_remainder=True).flat_map(lambda w: w.batch(3)),
    "window_shift_past_size": lambda m: m.data.Dataset.range(8).window(2, 3).flat_map(
        lambda w: w.batch(2)),
    "window_zip": lambda m: m.data.Dataset.from_tensor_slices((_X, _Y)).window(4, 3).flat_map(
        lambda a, b: m.data.Dataset.zip((a.batch(4), b.batch(4)))),
    "choose_from_datasets": lambda m: m.data.Dataset.choose_from_datasets(
        [m.data.Dataset.range(3), m.data.Dataset.range(10, 11), m.data.Dataset.range(20, 25)],
        m.data.Dataset.from_tensor_slices(np.array([0, 1, 1, 0, 2, 2, 0], np.int64))),
    "choose_skip_empty": lambda m: m.data.Dataset.choose_from_datasets(
        [m.data.Dataset.range(3), m.data.Dataset.range(10, 11)],
        m.data.Dataset.from_tensor_slices(np.array([1, 1, 0, 1, 0], np.int64)),
        stop_on_empty_dataset=False),
    "prefetch": lambda m: m.data.Dataset.range(5).batch(2).prefetch(m.data.AUTOTUNE),
    "apply": lambda m: m.data.Dataset.range(5).apply(lambda d: d.map(lambda v: v + 1)),
}


def _signed(v):
    if v % 2 == 0:  # a tensor condition: AutoGraph turns it into a cond
        r = -v
    else:
        r = v * 100
    return r


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_same_elements_as_tf_data(name, tf):
    assert_same_elements(PIPELINES[name](jg), PIPELINES[name](tf), tf)


def test_reduce_matches_tf(tf):
    def pipe(m):
        ds = m.data.Dataset.from_tensor_slices((_X, _Y))
        return ds.reduce((m.constant(0.0, m.float64), m.constant(0, m.int64)),
                         lambda s, e: (s[0] + m.reduce_sum(e[0]), s[1] + e[1]))

    got, want = pipe(jg), pipe(tf)
    for a, b in zip(got, want):
        assert a.dtype.name == b.dtype.name
        np.testing.assert_allclose(a.numpy(), b.numpy())


def test_cardinality_matches_tf(tf):
    def cases(m):
        r = m.data.Dataset.range(10)
        return [r.repeat(), r.repeat().take(4), r.repeat().skip(3), r.filter(lambda v: v > 2),
                r.filter(lambda v: v > 2).repeat(), r.batch(3), r.batch(3, True),
                r.repeat(0), r.take(0).repeat(), r.shard(4, 3), r.repeat().batch(2),
                m.data.Dataset.zip((r, r.repeat())), r.concatenate(r.repeat()),
                r.skip(20), r.take(20), m.data.Dataset.range(0)]

    for a, b in zip(cases(jg), cases(tf)):
        assert int(a.cardinality()) == int(b.cardinality()), a
    assert jg.data.INFINITE_CARDINALITY == tf.data.INFINITE_CARDINALITY
    assert jg.data.UNKNOWN_CARDINALITY == tf.data.UNKNOWN_CARDINALITY


def test_float_and_int_conversion_follow_tf():
    ds = D.from_tensor_slices((np.zeros((2, 3)), [1.0, 2.0], np.array([1, 2], np.int64)))
    assert [s.dtype for s in ds.element_spec] == [jg.float64, jg.float32, jg.int64]
    x, y, z = next(iter(ds))
    assert isinstance(x, jg.Tensor) and x.dtype == jg.float64 and x.shape == (3,)
    assert y.dtype == jg.float32 and z.dtype == jg.int64


def test_datasets_copy_their_arrays_and_widen_narrow_ints_per_batch():
    x = np.arange(12, dtype=np.uint8).reshape(6, 2)
    a = np.ones(3)
    ds, single = D.from_tensor_slices(x), D.from_tensors(a)
    assert ds.element_spec == jg.TensorSpec([2], jg.int64)  # as jg.constant converts uint8
    x[0, 0] = 99
    list(single)
    a[0] = 5.0  # still writable: the dataset holds its own copy
    first = next(iter(ds.batch(4)))
    assert first.dtype == jg.int64 and first.numpy()[0, 0] == 0
    assert next(iter(single)).numpy()[0] == 1.0


def test_len_and_iterator_protocol():
    ds = D.range(5)
    assert len(ds) == 5 and len(ds.batch(2)) == 3
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(ds.filter(lambda v: v > 1))
    it = iter(ds.take(1))
    assert int(it.get_next()) == 0
    with pytest.raises(jg.errors.OutOfRangeError):
        it.get_next()
    assert int(ds.skip(4).get_single_element()) == 4
    with pytest.raises(jg.errors.InvalidArgumentError, match="more than one"):
        ds.get_single_element()
    assert jg.data.experimental.AUTOTUNE == jg.data.AUTOTUNE
    opts = jg.data.Options()
    opts.experimental_deterministic = True
    assert ds.with_options(opts).options().experimental_deterministic is True


def test_map_is_traced_once_per_signature_and_after_batch_once():
    calls = []

    def f(x, y):
        calls.append(1)  # runs while tracing only
        return x + 1.0, y

    ds = D.from_tensor_slices((_X, _Y)).map(f)
    assert len(calls) == 1
    assert len(list(ds)) == 12 and len(list(ds)) == 12
    assert len(calls) == 1
    batched = D.from_tensor_slices((_X, _Y)).batch(5).map(f)  # last batch has 2 rows
    assert [b[0].shape[0] for b in batched] == [5, 5, 2]
    assert len(calls) == 2


def test_map_needing_static_shapes_is_traced_per_batch_shape():
    ds = D.from_tensor_slices(np.ones((10, 3), np.float32)).batch(4)
    noisy = ds.map(lambda x: (x + jg.random.uniform(x.shape), x[:1]))
    assert noisy.element_spec == (jg.TensorSpec([None, 3], jg.float32),
                                  jg.TensorSpec([1, 3], jg.float32))
    got = [(a.shape, b.shape) for a, b in noisy]
    assert got == [((4, 3), (1, 3)), ((4, 3), (1, 3)), ((2, 3), (1, 3))]
    drop = jg.keras.layers.Dropout(0.5)
    out = np.concatenate([b.numpy() for b in ds.map(lambda x: drop(x, training=True))])
    assert out.shape == (10, 3) and set(np.unique(out)) <= {0.0, 2.0}


def test_map_accepts_a_jg_function():
    @jg.function
    def scale(v):
        return jg.cast(v, jg.float32) * 0.5

    assert list(D.range(3).map(scale).as_numpy_iterator()) == [0.0, 0.5, 1.0]


# -- shuffle ------------------------------------------------------------------------------

def _shuffled(n, buffer, seed, planned=True, reshuffle=True):
    src = D.range(n) if planned else D.from_generator(
        lambda: iter(range(n)), output_signature=jg.TensorSpec([], jg.int64))
    return src.shuffle(buffer, seed=seed, reshuffle_each_iteration=reshuffle)


@pytest.mark.parametrize("planned", [True, False])
@pytest.mark.parametrize("n,buffer", [(50, 1), (50, 7), (50, 50), (50, 200), (1, 3)])
def test_shuffle_is_a_permutation_within_the_buffer_window(n, buffer, planned):
    order = [int(v) for v in _shuffled(n, buffer, 3, planned).as_numpy_iterator()]
    assert sorted(order) == list(range(n))
    for k, v in enumerate(order):  # output k comes from input positions < k + buffer
        assert v < k + buffer
    if buffer == 1:
        assert order == list(range(n))


def test_shuffle_seed_reproducible_and_reshuffled_each_epoch():
    a, b = _shuffled(40, 10, seed=7), _shuffled(40, 10, seed=7)
    first = list(a.as_numpy_iterator())
    assert first == list(b.as_numpy_iterator())  # same seed: same order
    second = list(a.as_numpy_iterator())
    assert second != first and sorted(second) == sorted(first)  # next epoch: reshuffled
    assert second == list(b.as_numpy_iterator())
    fixed = _shuffled(40, 10, seed=7, reshuffle=False)
    assert list(fixed.as_numpy_iterator()) == list(fixed.as_numpy_iterator())
    assert list(_shuffled(40, 10, seed=8).as_numpy_iterator()) != first
    # inside repeat every pass reshuffles; the element-wise path keeps the same semantics
    rep = list(_shuffled(30, 30, seed=1).repeat(2).as_numpy_iterator())
    assert sorted(rep[:30]) == sorted(rep[30:]) == list(range(30)) and rep[:30] != rep[30:]
    gen = list(_shuffled(30, 30, seed=1, planned=False).repeat(2).as_numpy_iterator())
    assert sorted(gen[:30]) == list(range(30)) and gen[:30] != gen[30:]


def test_shuffle_global_seed():
    jg.random.set_seed(5)
    a = list(D.range(30).shuffle(30).as_numpy_iterator())
    jg.random.set_seed(5)
    b = list(D.range(30).shuffle(30).as_numpy_iterator())
    jg.random.set_seed(None)
    assert sorted(a) == list(range(30)) and a == b


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 40), buffer=st.integers(1, 12), cuts=st.lists(st.integers(0, 40)),
       seed=st.integers(0, 2**31))
def test_chunked_shuffle_is_the_buffer_algorithm(n, buffer, cuts, seed):
    """The NumPy form over index chunks outputs exactly what the one-item-at-a-time buffer
    does with the same slot draws (the final drain of both is a uniform permutation)."""
    from jitgraph.data import streams

    bounds = sorted({0, n} | {c for c in cuts if c <= n})
    chunks = [np.arange(a, b, dtype=np.int64) for a, b in zip(bounds, bounds[1:])]
    got = list(streams.shuffle_chunks(iter(chunks), buffer, np.random.default_rng(seed)))
    rng = np.random.default_rng(seed)  # replay the same draws with a plain loop
    buf, want, pos = [], [], 0
    for c in chunks:
        for v in c.tolist():
            if len(buf) < buffer:
                buf.append(v)
                continue
        take = max(0, min(len(c), buffer - pos))
        rest = c[take:].tolist()
        pos += len(c)
        for v, j in zip(rest, rng.integers(0, buffer, len(rest)).tolist() if rest else []):
            want.append(buf[j])
            buf[j] = v
    flat = np.concatenate(got).tolist() if got else []
    assert flat[:len(want)] == want
    assert sorted(flat[len(want):]) == sorted(buf)
    assert sorted(flat) == list(range(n))


def test_sample_from_datasets():
    def sample(seed, weights=None, stop=False):
        return D.sample_from_datasets([D.range(5), D.range(100, 103)], weights=weights,
                                      seed=seed, stop_on_empty_dataset=stop)

    a = list(sample(4).as_numpy_iterator())
    assert sorted(a) == [0, 1, 2, 3, 4, 100, 101, 102]
    assert [v for v in a if v < 100] == [0, 1, 2, 3, 4]  # each input keeps its order
    assert list(sample(4).as_numpy_iterator()) == a
    # a dataset of weight 0 is never drawn (as in tf.data)
    assert list(sample(4, weights=[0.0, 1.0]).as_numpy_iterator()) == [100, 101, 102]
    stopped = list(sample(4, stop=True).as_numpy_iterator())
    assert stopped == a[:len(stopped)] and len(stopped) >= 3  # ends at the first empty draw
    with pytest.raises(ValueError, match="weights"):
        sample(1, weights=[1.0])


def test_shuffle_then_batch_keeps_rows_together():
    ds = D.from_tensor_slices((_X, _Y)).shuffle(12, seed=0).batch(5)
    rows = [(tuple(x), y) for xb, yb in ds.as_numpy_iterator() for x, y in zip(xb, yb)]
    assert sorted(rows) == sorted((tuple(x), y) for x, y in zip(_X, _Y))


# -- counts against plain Python (hypothesis) -----------------------------------------------

def _reference(n, ops):
    seq = list(range(n))
    for op, a, b in ops:
        if op == "take":
            seq = seq if a < 0 else seq[:a]
        elif op == "skip":
            seq = [] if a < 0 else seq[a:]
        elif op == "repeat":
            seq = seq * a
        elif op == "shard":
            seq = seq[b % a::a]
        elif op == "batch":
            seq = [seq[i:i + a] for i in range(0, len(seq), a)
                   if not b or len(seq[i:i + a]) == a]
        elif op == "unbatch":
            seq = [v for batch in seq for v in batch]
    return seq


_op = st.one_of(
    st.tuples(st.just("take"), st.integers(-1, 12), st.just(0)),
    st.tuples(st.just("skip"), st.integers(-1, 12), st.just(0)),
    st.tuples(st.just("repeat"), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("shard"), st.integers(1, 4), st.integers(0, 3)),
)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 20), ops=st.lists(_op, max_size=4), planned=st.booleans(),
       batch=st.integers(1, 6), drop=st.booleans(), unbatch=st.booleans())
def test_counts_match_python_reference(n, ops, planned, batch, drop, unbatch):
    ds = D.range(n) if planned else D.from_generator(
        lambda: iter(range(n)), output_signature=jg.TensorSpec([], jg.int64))
    for op, a, b in ops:
        ds = ds.shard(a, b % a) if op == "shard" else getattr(ds, op)(a)
    ops = list(ops) + [("batch", batch, drop)] + ([("unbatch", 0, 0)] if unbatch else [])
    ds = ds.batch(batch, drop_remainder=drop)
    if unbatch:
        ds = ds.unbatch()
    got = [v.tolist() for v in ds.as_numpy_iterator()]
    want = _reference(n, ops)
    assert got == want
    c = int(ds.cardinality())
    assert c == len(want) or c == jg.data.UNKNOWN_CARDINALITY


# -- errors -------------------------------------------------------------------------------

def test_map_tracing_error_names_the_function():
    def bad_fn(x):
        return np.sin(x) + object()  # neither a jg op nor traceable

    with pytest.raises(Exception, match=r"Dataset\.map: tracing the function 'test_map_"
                                        r"tracing_error_names_the_function.<locals>.bad_fn'"):
        D.range(3).map(bad_fn)


def test_filter_predicate_must_return_scalar_bool():
    with pytest.raises(TypeError, match="filter predicate must return a scalar bool"):
        D.range(3).filter(lambda v: v + 1)


def test_batch_of_different_shapes_says_use_padded_batch():
    ds = D.from_generator(_gen, output_signature=_sig(jg)).batch(3)
    with pytest.raises(ValueError, match="padded_batch"):
        list(ds)


def test_argument_errors():
    with pytest.raises(ValueError, match="same size in their first dimension"):
        D.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="at least one dimension"):
        D.from_tensor_slices(1.0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        D.range(3).batch(0)
    with pytest.raises(ValueError, match="buffer_size must be >= 1"):
        D.range(3).shuffle(0)
    with pytest.raises(NotImplementedError, match="cache"):
        D.range(3).cache("/tmp/x")
    with pytest.raises(TypeError, match="different structures"):
        D.range(3).concatenate(D.zip((D.range(2), D.range(2))))
    with pytest.raises(ValueError, match="shard"):
        D.range(3).shard(2, 2)
    with pytest.raises(TypeError, match="must return a jg.data.Dataset"):
        D.range(3).flat_map(lambda v: v)


def test_window_elements_are_datasets():
    w = D.range(6).window(2, drop_remainder=True)
    assert w.element_spec == jg.data.DatasetSpec(jg.TensorSpec([], jg.int64))
    assert len(w) == 3 and [list(d.as_numpy_iterator()) for d in w] == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(TypeError, match="flat_map"):
        w.map(lambda d: d)
    with pytest.raises(TypeError, match="flat_map"):
        w.batch(2)


def test_from_generator_checks_the_signature():
    def gen():
        yield np.zeros(3, np.float32)
        yield np.zeros(4, np.float32)

    ds = D.from_generator(gen, output_signature=jg.TensorSpec([3], jg.float32))
    with pytest.raises(ValueError, match=r"element 1 of 'gen' has shape \[4\]"):
        list(ds)


def test_dataset_is_not_a_tensor_and_not_iterable_inside_jg_function():
    ds = D.range(3)
    with pytest.raises(TypeError, match="not a tensor"):
        jg.constant(ds)
    with pytest.raises(TypeError, match="Dataset where a tensor"):
        D.from_tensor_slices((ds,))

    @jg.function
    def step(v):
        return v * 2.0

    with pytest.raises(TypeError, match="is a jg.data.Dataset, not a tensor"):
        step(ds)

    @jg.function
    def loop(v):
        for x in ds:
            v = v + x
        return v

    with pytest.raises(TypeError, match="iterate the dataset outside"):
        loop(jg.constant(0, jg.int64))


# -- Keras --------------------------------------------------------------------------------

def _data(n=70):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.int32)
    return x, y


def _model(seed=3):
    jg.random.set_seed(seed)
    m = jg.keras.Sequential([jg.keras.layers.Dense(6, activation="tanh"),
                             jg.keras.layers.Dense(2)])
    m.build((None, 5))  # the same initial weights for every model of a test
    m.compile(optimizer=jg.keras.optimizers.Adam(0.01),
              loss=jg.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


def _max_diff(a, b):
    return max(float(np.abs(u - v).max()) for u, v in zip(a.get_weights(), b.get_weights()))


def test_fit_on_dataset_equals_fit_on_arrays():
    x, y = _data()
    m1, m2 = _model(), _model()
    h1 = m1.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                validation_data=(x[:20], y[:20]))
    ds = D.from_tensor_slices((x, y)).batch(16)  # the last batch has 6 rows
    val = D.from_tensor_slices((x[:20], y[:20])).batch(16)
    h2 = m2.fit(ds.prefetch(jg.data.AUTOTUNE), epochs=2, verbose=0, validation_data=val)
    assert _max_diff(m1, m2) == 0.0
    for k in h1.history:
        np.testing.assert_allclose(h1.history[k], h2.history[k], rtol=1e-6)
    np.testing.assert_allclose(m2.evaluate(ds, verbose=0), m1.evaluate(x, y, verbose=0),
                               rtol=1e-6)
    np.testing.assert_allclose(m2.predict(ds), m1.predict(x), rtol=1e-6)
    np.testing.assert_allclose(m2.predict(D.from_tensor_slices(x).batch(32)), m1.predict(x),
                               rtol=1e-6)


def test_fit_with_sample_weights_and_float64_data():
    x, y = _data()
    w = np.linspace(0.5, 2.0, len(x)).astype(np.float64)
    m1, m2 = _model(), _model()
    m1.fit(x, y, sample_weight=w, batch_size=32, epochs=1, shuffle=False, verbose=0)
    ds = D.from_tensor_slices((x.astype(np.float64), y.astype(np.int64), w)).batch(32)
    m2.fit(ds, epochs=1, verbose=0)
    assert _max_diff(m1, m2) < 1e-6


def test_fit_steps_per_epoch_on_repeated_dataset_and_generator():
    x, y = _data(64)
    m1, m2, m3 = _model(), _model(), _model()
    m1.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    m2.fit(D.from_tensor_slices((x, y)).batch(16).repeat(), steps_per_epoch=4, epochs=2,
           verbose=0)
    assert _max_diff(m1, m2) == 0.0

    def batches():
        for _ in range(2):
            for i in range(0, 64, 16):
                yield x[i:i + 16], y[i:i + 16]

    m3.fit(batches(), steps_per_epoch=4, epochs=2, verbose=0)
    assert _max_diff(m1, m3) == 0.0


def test_fit_errors_and_unknown_length_progress_bar(capsys):
    x, y = _data()
    m = _model()
    ds = D.from_tensor_slices((x, y)).batch(16)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        m.fit(ds.repeat(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        m.fit(ds, batch_size=16, verbose=0)
    with pytest.raises(ValueError, match="`y` argument"):
        m.fit(ds, y, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        m.fit(ds, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        m.fit(x, y, steps_per_epoch=2, verbose=0)
    m.fit(ds.filter(lambda a, b: jg.reduce_all(b >= 0)), epochs=1, verbose=1)  # length unknown
    assert "5/Unknown" in capsys.readouterr().out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = m.fit(ds, steps_per_epoch=3, epochs=3, verbose=0)  # runs out in epoch 2
    assert any("ran out of data" in str(w.message) for w in caught)
    assert len(h.history["loss"]) == 3  # epoch 3 is a new pass, as in Keras

    def two_batches():
        yield x[:16], y[:16]
        yield x[16:32], y[16:32]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = m.fit(two_batches(), steps_per_epoch=3, epochs=3, verbose=0)
    assert any("ran out of data" in str(w.message) for w in caught)
    assert len(h.history["loss"]) == 1  # a generator cannot start again: training ends
    np.testing.assert_allclose(m.evaluate(ds, steps=2, verbose=0),
                               m.evaluate(x[:32], y[:32], verbose=0), rtol=1e-6)


def test_custom_training_loop_over_dataset():
    x, y = _data(40)
    m = _model()
    opt = jg.keras.optimizers.SGD(0.1)
    loss_fn = jg.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    m(x[:1])

    @jg.function
    def train_step(xb, yb):
        with jg.GradientTape() as tape:
            loss = loss_fn(yb, m(xb, training=True))
        grads = tape.gradient(loss, m.trainable_variables)
        opt.apply_gradients(zip(grads, m.trainable_variables))
        return loss

    ds = D.from_tensor_slices((x, y)).shuffle(40, seed=2).batch(8)
    losses = [float(train_step(xb, yb)) for _ in range(3)
              for step, (xb, yb) in enumerate(ds)]
    assert len(losses) == 15 and losses[-1] < losses[0]
    assert train_step.experimental_get_tracing_count() == 1


def test_repr_and_element_spec_use_tensor_spec():
    ds = D.from_tensor_slices({"a": _X}).batch(3)
    assert ds.element_spec == {"a": jg.TensorSpec([None, 2], jg.float64)}
    assert "TensorSpec" in repr(ds)
    out = io.StringIO()
    print(list(itertools.islice(ds.as_numpy_iterator(), 1)), file=out)
    assert "array" in out.getvalue()
