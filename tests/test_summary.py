"""jg.summary and the TensorBoard callback: the event files read back with jitgraph's own
reader (always) and with TensorFlow / TensorBoard (skipped where they are not installed),
compared with the files tf.summary writes for the same calls; summaries inside jg.function
on every backend (eager == interpreter == cpu)."""

import os
import re
import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph as jg
from jitgraph import errors
from jitgraph.summary import events, plugins, png, protowire, reader, records

BACKENDS = ["interpreter", "cpu"]


def _summaries(path):
    """(step, tag, plugin, tensor) of every summary value in ``path``, in order."""
    out = []
    for ev in reader.read_events(path):
        for v in ev.get("values", ()):
            out.append((ev["step"], v["tag"], (v["metadata"] or {}).get("plugin_name"),
                        v["tensor"]))
    return out


def _same(a, b):
    assert [(s, t, p) for s, t, p, _ in a] == [(s, t, p) for s, t, p, _ in b]
    for (_, tag, _, x), (_, _, _, y) in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape, tag
        assert (x == y).all(), tag


# ----------------------------------------------------------------------------- wire format


@given(st.integers(-(1 << 63), (1 << 64) - 1))
def test_varint_round_trip(n):
    value, pos = protowire.read_varint(protowire.varint(n), 0)
    assert value == n % (1 << 64)
    assert protowire.as_int64(value) == (n if n < 1 << 63 else n - (1 << 64))
    assert pos == len(protowire.varint(n))


def test_fields_parse_back_in_order():
    msg = (protowire.varint_field(2, 7) + protowire.bytes_field(1, "tag")
           + protowire.double_field(3, 0.25) + protowire.bytes_field(1, b"\x00\xff"))
    f = protowire.parse(msg)
    assert f[1] == [b"tag", b"\x00\xff"] and f[2] == [7]
    assert protowire.as_double(f[3][0]) == 0.25
    with pytest.raises(ValueError, match="runs past the end"):
        protowire.parse(protowire.bytes_field(1, b"abcdef")[:-2])


def test_crc32c_known_values():
    assert records.crc32c(b"123456789") == 0xE3069283
    assert records.crc32c(bytes(32)) == 0x8A9136AA
    assert records.crc32c(b"\xff" * 32) == 0x62A8AB43
    assert records.crc32c(b"") == 0


@pytest.mark.parametrize("n", [4095, 4096, 4097, 5000, 3 * 1024 + 4096 + 17, 70001])
def test_crc32c_long_path_matches_the_byte_loop(n):
    data = np.random.RandomState(n).randint(0, 256, n).astype(np.uint8).tobytes()
    assert records.crc32c(data) == records._crc_loop(data) ^ 0xFFFFFFFF


def test_tfrecord_framing_round_trip_and_corruption():
    payloads = [b"", b"x", os.urandom(300), os.urandom(9000)]
    blob = b"".join(records.frame(p) for p in payloads)
    assert list(records.read_records(blob)) == payloads
    assert list(records.read_records(blob[:-3])) == payloads[:-1]  # a record being written
    bad = bytearray(blob)
    bad[16 + 12] ^= 1  # the second record's data (the first, empty, is 16 bytes)
    with pytest.raises(records.CorruptRecordError, match="data's CRC"):
        list(records.read_records(bytes(bad)))
    bad = bytearray(blob)
    bad[0] ^= 1  # the first record's length
    with pytest.raises(records.CorruptRecordError, match="length's CRC"):
        list(records.read_records(bytes(bad)))


def _filtered_png(img, kinds):
    """A PNG whose rows use the given filter types (None, Sub, Up, Average, Paeth)."""
    h, w, c = img.shape
    rows, prev = [], np.zeros(w * c, np.int32)
    for r in range(h):
        line = img[r].reshape(-1).astype(np.int32)
        left = np.concatenate([np.zeros(c, np.int32), line[:-c]])
        upleft = np.concatenate([np.zeros(c, np.int32), prev[:-c]])
        kind = kinds[r % len(kinds)]
        if kind == 0:
            pred = np.zeros_like(line)
        elif kind == 1:
            pred = left
        elif kind == 2:
            pred = prev
        elif kind == 3:
            pred = (left + prev) // 2
        else:
            pred = np.array([png._paeth(a, b, d) for a, b, d in zip(left, prev, upleft)])
        rows.append(bytes([kind]) + ((line - pred) % 256).astype(np.uint8).tobytes())
        prev = line
    head = struct.pack(">IIBBBBB", w, h, 8, png._COLOR_TYPE[c], 0, 0, 0)
    return (png.SIGNATURE + png._chunk(b"IHDR", head)
            + png._chunk(b"IDAT", zlib.compress(b"".join(rows))) + png._chunk(b"IEND", b""))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png_round_trip_and_every_row_filter(channels):
    img = np.random.RandomState(channels).randint(0, 256, (5, 7, channels)).astype(np.uint8)
    data = png.encode(img)
    assert data.startswith(png.SIGNATURE)
    assert struct.unpack(">II", data[16:24]) == (7, 5)  # IHDR width, height
    np.testing.assert_array_equal(png.decode(data), img)
    np.testing.assert_array_equal(png.decode(_filtered_png(img, [0, 1, 2, 3, 4])), img)
    with pytest.raises(ValueError, match="uint8"):
        png.encode(img.astype(np.float32))


# ----------------------------------------------------------------------------- eager writing


@pytest.fixture
def writer(tmp_path):
    w = jg.summary.create_file_writer(str(tmp_path / "run"))
    yield w
    w.close()


def test_file_name_and_first_event(tmp_path):
    w = jg.summary.create_file_writer(str(tmp_path / "logs"), filename_suffix=".x")
    name = os.path.basename(w.path)
    assert re.fullmatch(r"events\.out\.tfevents\.\d{10}\.[^.]+.*\.\d+\.\d+\.x", name), name
    w.close()
    (first,) = list(reader.read_events(w.path))
    assert first["file_version"] == "brain.Event:2" and first["step"] == 0
    assert first["source_writer"] == "tensorflow.core.util.events_writer"
    w2 = jg.summary.create_file_writer(str(tmp_path / "logs"))
    assert w2.path != w.path  # two writers in one second get two files
    w2.close()


def test_scalar_histogram_image_text_eagerly(writer):
    imgs = np.random.RandomState(0).rand(4, 3, 5, 3).astype(np.float32)
    with writer.as_default():
        assert bool(jg.summary.scalar("loss", 0.5, step=3, description="the loss"))
        jg.summary.scalar("int", jg.constant(7), step=4)
        jg.summary.histogram("h", np.array([1.0, 2.0, 2.0, 5.0]), step=3, buckets=4)
        jg.summary.image("img", imgs, step=5, max_outputs=2)
        jg.summary.text("t", ["a", "bc"], step=6)
    got = _summaries(writer.path)
    assert [(s, t, p) for s, t, p, _ in got] == [
        (3, "loss", "scalars"), (4, "int", "scalars"), (3, "h", "histograms"),
        (5, "img", "images"), (6, "t", "text")]
    assert got[0][3].dtype == np.float32 and got[0][3].shape == () and got[0][3] == 0.5
    assert got[1][3] == 7.0 and got[1][3].dtype == np.float32
    np.testing.assert_array_equal(got[2][3], [[1, 2, 1], [2, 3, 2], [3, 4, 0], [4, 5, 1]])
    width, height, pics = reader.images(got[3][3])
    assert (width, height, len(pics)) == (5, 3, 2)
    np.testing.assert_array_equal(pics[1], np.clip(imgs[1] * 255.5, 0, 255).astype(np.uint8))
    assert list(got[4][3]) == [b"a", b"bc"]
    values = [v for ev in reader.read_events(writer.path) for v in ev.get("values", ())]
    assert values[0]["metadata"]["description"] == "the loss"
    assert reader.scalars(writer.path) == {"loss": [(3, 0.5)], "int": [(4, 7.0)]}


def test_histogram_bucketing_rules():
    h = plugins.histogram_tensor
    np.testing.assert_array_equal(h(np.array([2.0, 2.0]), buckets=3),
                                  [[2, 2, 0], [2, 2, 0], [2, 2, 2]])
    np.testing.assert_array_equal(h(np.zeros(0), buckets=3), np.zeros((3, 3)))
    assert h(np.array([1.0, 3.0]), buckets=0).shape == (0, 3)
    assert h(np.array([1.0, 3.0]), buckets=-2).shape == (0, 3)
    assert h(np.arange(10.0)).shape == (30, 3)
    with np.errstate(invalid="raise"):
        for bad in ([1.0, np.nan, 3.0], [1.0, np.inf], [-np.inf, np.inf]):
            assert h(np.array(bad), buckets=4).shape == (4, 3)  # no crash, as in tf


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60), st.integers(1, 12))
def test_histogram_counts_every_value_once(values, k):
    data = np.array(values)
    out = plugins.histogram_tensor(data, buckets=k)
    assert out.shape == (k, 3) and out[:, 2].sum() == data.size
    if data.min() < data.max():
        assert out[0, 0] == data.min() and out[-1, 1] == data.max()
        assert (np.diff(out[:, 0]) >= 0).all()
        np.testing.assert_array_equal(out[:-1, 1], out[1:, 0])


def test_image_dtypes_and_limits(writer):
    u8 = np.arange(2 * 2 * 3 * 1, dtype=np.uint8).reshape(2, 2, 3, 1) * 10
    i32 = (np.arange(12, dtype=np.int32).reshape(1, 2, 3, 2) - 3) << 27
    with writer.as_default(step=1):
        jg.summary.image("u8", u8, max_outputs=5)
        jg.summary.image("i32", i32)
        jg.summary.image("none", u8, max_outputs=0)
        jg.summary.image("f64", np.array([[[[-0.5], [0.5], [2.0]]]]))
    got = {t: reader.images(x) for _, t, _, x in _summaries(writer.path)}
    assert got["u8"][:2] == (3, 2) and len(got["u8"][2]) == 2
    np.testing.assert_array_equal(got["u8"][2][1], u8[1])
    np.testing.assert_array_equal(got["i32"][2][0], np.clip(i32[0] // (1 << 23), 0, 255))
    assert got["none"][2] == []
    np.testing.assert_array_equal(got["f64"][2][0].ravel(), [0, 127, 255])


def test_write_any_tensor_with_metadata(writer):
    meta = events.summary_metadata("custom", content=b"v1")
    with writer.as_default(step=2):
        jg.summary.write("raw", np.arange(6, dtype=np.int64).reshape(2, 3), metadata=meta)
        jg.summary.write("json", '{"a": 1}', metadata=meta)
    values = [v for ev in reader.read_events(writer.path) for v in ev.get("values", ())]
    assert values[0]["tensor"].dtype == np.int64
    np.testing.assert_array_equal(values[0]["tensor"], np.arange(6).reshape(2, 3))
    assert values[0]["metadata"]["plugin_name"] == "custom"
    assert values[0]["metadata"]["content"] == b"v1"
    assert values[1]["tensor"][()] == b'{"a": 1}'


# ----------------------------------------------------------------------------- state


def test_no_writer_records_nothing_and_returns_false(tmp_path):
    assert not bool(jg.summary.scalar("x", 1.0, step=1))
    assert not bool(jg.summary.should_record_summaries())
    assert not bool(jg.summary.scalar("x", 1.0))  # no step needed when nothing is written


def test_record_if_and_should_record(writer):
    with writer.as_default(step=1):
        assert bool(jg.summary.should_record_summaries())
        with jg.summary.record_if(False):
            assert not bool(jg.summary.should_record_summaries())
            assert not bool(jg.summary.scalar("off", 1.0))
        with jg.summary.record_if(jg.constant(False)):
            assert not bool(jg.summary.scalar("off_tensor", 1.0))
        state = {"n": 0}
        with jg.summary.record_if(lambda: state["n"] % 2 == 0):
            for i in range(4):
                state["n"] = i
                jg.summary.scalar("every_other", float(i), step=i)
        with pytest.raises(ValueError, match="bool scalar"):
            with jg.summary.record_if(jg.constant([True, False])):
                jg.summary.scalar("bad", 1.0)
    assert reader.scalars(writer.path) == {"every_other": [(0, 0.0), (2, 2.0)]}


def test_default_step_writer_nesting_and_noop(tmp_path, writer):
    other = jg.summary.create_file_writer(str(tmp_path / "other"))
    assert jg.summary.experimental.get_step() is None
    with pytest.raises(ValueError, match="No step set"):
        with writer.as_default():
            jg.summary.scalar("x", 1.0)
    with writer.as_default(step=5) as w:
        assert w is writer and jg.summary.experimental.get_step() == 5
        jg.summary.scalar("a", 1.0)
        with other.as_default():
            jg.summary.scalar("b", 2.0)  # the outer step
        with jg.summary.create_noop_writer().as_default():
            jg.summary.scalar("c", 3.0)  # the no-op writer keeps the current one
        jg.summary.experimental.set_step(9)
        jg.summary.scalar("d", 4.0)
    assert jg.summary.experimental.get_step() is None  # restored on exit
    assert reader.scalars(writer.path) == {"a": [(5, 1.0)], "c": [(5, 3.0)], "d": [(9, 4.0)]}
    assert reader.scalars(other.path) == {"b": [(5, 2.0)]}
    other.set_as_default(step=1)
    try:
        jg.summary.scalar("e", 5.0)
        jg.summary.flush()
        assert reader.scalars(other.path)["e"] == [(1, 5.0)]
    finally:
        jg.summary.writer.STATE.writer = None
        jg.summary.experimental.set_step(None)
    other.close()
    with pytest.raises(RuntimeError, match="already closed"):
        other.as_default()


def test_queue_flushes_at_max_queue_and_on_exit_of_as_default(tmp_path):
    w = jg.summary.create_file_writer(str(tmp_path / "q"), max_queue=3)
    w.set_as_default(step=0)
    try:
        jg.summary.scalar("a", 1.0)
        jg.summary.scalar("b", 1.0)
        assert len(_summaries(w.path)) == 0  # queued
        jg.summary.scalar("c", 1.0)
        assert len(_summaries(w.path)) == 3  # the third fills the queue
        jg.summary.scalar("d", 1.0)
        w.flush()
        assert len(_summaries(w.path)) == 4
    finally:
        jg.summary.writer.STATE.writer = None
        jg.summary.experimental.set_step(None)
    with w.as_default(step=1):
        jg.summary.scalar("e", 1.0)
    assert len(_summaries(w.path)) == 5  # leaving as_default flushes
    w.close()
    w.close()  # twice is fine


def test_error_messages_name_the_summary(writer):
    with writer.as_default(step=0):
        with pytest.raises(ValueError, match=r"scalar\('loss'\).*shape \[3\].*reduce_mean"):
            jg.summary.scalar("loss", [1.0, 2.0, 3.0])
        with pytest.raises(TypeError, match=r"step of summary 'loss'.*float32"):
            jg.summary.scalar("loss", 1.0, step=jg.constant(1.5))
        with pytest.raises(ValueError, match=r"image\('im'\).*rank 4.*expand_dims"):
            jg.summary.image("im", np.zeros((3, 4, 1), np.float32))
        with pytest.raises(ValueError, match="1 to 4 channels"):
            jg.summary.image("im", np.zeros((1, 3, 4, 5), np.float32))
        with pytest.raises(TypeError, match="no string tensors"):
            jg.summary.text("t", jg.constant([1.0]))
        with pytest.raises(TypeError, match="must be numeric"):
            jg.summary.scalar("s", "text")
        with pytest.raises(errors.UnimplementedError, match="profiler"):
            jg.summary.trace_on(graph=True)


# ----------------------------------------------------------------------------- jg.function


def _train_like(step):
    def body(x):
        step.assign_add(1)
        jg.summary.scalar("sum", jg.reduce_sum(x), step=step)
        jg.summary.histogram("x", x * 2.0, buckets=5)  # the default step: the Variable
        with jg.summary.record_if(jg.reduce_sum(x) > 0):
            jg.summary.scalar("positive", jg.reduce_max(x), step=step + 100)
        jg.summary.image("img", jg.reshape(jg.sigmoid(x), [1, 2, 3, 1]), step=0)
        jg.summary.text("note", "fixed text")
        return x + 1.0

    return body


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
def test_summaries_in_functions_match_eager(tmp_path, backend):
    """Eager, interpreter and compiled runs write the same summaries."""
    def run(mode, path):
        step = jg.Variable(np.int64(10))
        body = _train_like(step)
        f = body if mode == "eager" else jg.function(body, backend=mode)
        w = jg.summary.create_file_writer(path)
        with w.as_default(step=step):
            for x in ([1.0, -2.0, 3.0, 0.5, 0.0, 1.0], [-1.0, -2.0, -3.0, 0.0, 0.0, -4.0]):
                np.testing.assert_allclose(f(jg.constant(x)).numpy(), np.array(x) + 1.0)
        w.close()
        return _summaries(path)

    got = run(backend, str(tmp_path / backend))
    want = run("eager", str(tmp_path / "reference"))
    _same(got, want)
    assert [(s, t) for s, t, _, _ in got] == [
        (11, "sum"), (11, "x"), (111, "positive"), (0, "img"), (11, "note"),
        (12, "sum"), (12, "x"), (0, "img"), (12, "note")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_writer_and_condition_are_fixed_when_tracing(tmp_path, backend):
    a = jg.summary.create_file_writer(str(tmp_path / "a"))
    b = jg.summary.create_file_writer(str(tmp_path / "b"))

    @jg.function(backend=backend)
    def f(x):
        return jg.summary.scalar("x", x, step=1)

    with a.as_default():
        assert bool(f(jg.constant(1.0)))
    with b.as_default():
        f(jg.constant(2.0))  # still writes to a, as in TensorFlow
    f(jg.constant(3.0))

    @jg.function(backend=backend)
    def g(x):
        return jg.summary.scalar("g", x, step=1)

    assert not bool(g(jg.constant(4.0)))  # traced without a writer: records nothing
    assert "write_summary" not in str(g.get_concrete_function(jg.constant(0.0)).graph)
    with b.as_default():
        g(jg.constant(5.0))
    a.close()
    b.close()
    assert reader.scalars(a.path) == {"x": [(1, 1.0), (1, 2.0), (1, 3.0)]}
    assert reader.scalars(b.path) == {}


def test_graph_text_does_not_depend_on_the_writer(tmp_path):
    """The writer's key is an annotation (not printed): the IR text, and so the compile
    cache's key, is the same under any writer."""
    texts = []
    for run in ("a", "b"):
        w = jg.summary.create_file_writer(str(tmp_path / run))
        with w.as_default():
            f = jg.function(lambda x: jg.summary.scalar("x", x, step=1))
            texts.append(str(f.get_concrete_function(jg.constant(1.0)).graph))
        w.close()
    assert texts[0] == texts[1]
    assert "write_summary %constant_1, %constant, %x {description='', plugin='scalars', " \
           "tag='x'}" in texts[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_summaries_inside_loops_and_branches(tmp_path, backend):
    w = jg.summary.create_file_writer(str(tmp_path / "loop"))

    @jg.function(backend=backend)
    def f(x, n):
        i = jg.constant(0)
        while i < n:
            jg.summary.scalar("loop", jg.cast(i, jg.float32) * x, step=i)
            i += 1
        if x > 0:
            jg.summary.scalar("branch", x, step=100)
        return i

    with w.as_default():
        f(jg.constant(2.0), jg.constant(3))
        f(jg.constant(-1.0), jg.constant(1))
    w.close()
    assert reader.scalars(w.path) == {
        "loop": [(0, 0.0), (1, 2.0), (2, 4.0), (0, -0.0)], "branch": [(100, 2.0)]}


def test_closed_writer_in_a_traced_function_warns_once(tmp_path):
    w = jg.summary.create_file_writer(str(tmp_path / "closed"))

    @jg.function(backend="cpu")
    def f(x):
        jg.summary.scalar("x", x, step=0)
        return x

    with w.as_default():
        f(jg.constant(1.0))
    w.close()
    with pytest.warns(RuntimeWarning, match="has been closed"):
        f(jg.constant(2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f(jg.constant(3.0))
    assert reader.scalars(w.path) == {"x": [(0, 1.0)]}


def test_saved_model_keeps_the_summaries(tmp_path, writer):
    class Counter(jg.Module):
        def __init__(self):
            self.step = jg.Variable(np.int64(0))

        @jg.function(input_signature=[jg.TensorSpec([2], jg.float32)])
        def f(self, x):
            self.step.assign_add(1)
            jg.summary.scalar("sum", jg.reduce_sum(x), step=self.step)
            jg.summary.write("raw", "text", step=self.step, metadata=b"\n\x03\n\x01x")
            return x * 2.0

    m = Counter()
    with writer.as_default():
        m.f(jg.constant([1.0, 2.0]))
    jg.saved_model.save(m, str(tmp_path / "saved"))
    loaded = jg.saved_model.load(str(tmp_path / "saved"))
    loaded.f(jg.constant([3.0, 4.0]))  # the writer is still open in this process
    writer.flush()
    assert reader.scalars(writer.path) == {"sum": [(1, 3.0), (2, 7.0)]}
    raw = reader.values(writer.path)["raw"]
    assert [s for s, _ in raw] == [1, 2] and raw[1][1][()] == b"text"


def test_symbolic_histogram_buckets_raise(tmp_path, writer):
    @jg.function
    def f(x, k):
        jg.summary.histogram("h", x, step=0, buckets=k)
        return x

    with writer.as_default():
        with pytest.raises(TypeError, match="buckets must be known when tracing"):
            f(jg.constant([1.0]), jg.constant(3))


@pytest.fixture
def emulated_device():
    from jitgraph.codegen import cuda_driver

    before = cuda_driver.use("emulator")
    yield
    cuda_driver.use(before)


def test_cuda_backend_runs_summaries_on_the_host(tmp_path, emulated_device):
    """The cuda backend (here on its CPU emulator) copies a host call's inputs back between
    launches: the same summaries as eagerly, loops included."""
    def body(x, n):
        y = jg.reduce_sum(x * 2.0)
        jg.summary.scalar("sum", y, step=3)
        jg.summary.histogram("x", x + y, step=3, buckets=4)
        i = jg.constant(0)
        while i < n:
            jg.summary.scalar("loop", jg.cast(i, jg.float32) * y, step=i)
            i += 1
        return x + 1.0

    def run(f, path):
        w = jg.summary.create_file_writer(path)
        with w.as_default():
            for x, n in (([1.0, -2.0, 4.0], 2), ([0.5, 0.5, 0.0], 1)):
                np.testing.assert_allclose(f(jg.constant(x), jg.constant(n)).numpy(),
                                           np.array(x) + 1.0)
        w.close()
        return _summaries(path)

    want = run(body, str(tmp_path / "eager"))
    _same(run(jg.function(body, backend="cuda"), str(tmp_path / "cuda")), want)
    assert [t for _, t, _, _ in want] == ["sum", "x", "loop", "loop", "sum", "x", "loop"]


def _looped(x, y):
    if jg.reduce_sum(x) > 0:
        z = x * y
    else:
        z = x - 1.0
    i = jg.constant(0)
    while i < 3:
        z = z * 2.0
        i += 1
    return z


def _graph_nodes(blob):
    """(name, op, inputs) of each node of a serialized GraphDef."""
    out = []
    for node in protowire.parse(blob).get(1, []):
        f = protowire.parse(node)
        out.append((f[1][0].decode(), f[2][0].decode(), [i.decode() for i in f.get(3, [])]))
    return out


def test_graph_writes_a_graphdef_of_the_traced_function(writer):
    cf = jg.function(_looped).get_concrete_function(jg.TensorSpec([None], jg.float32),
                                                    jg.constant(2.0))
    assert not bool(jg.summary.graph(cf))  # no default writer
    with writer.as_default():
        assert bool(jg.summary.graph(cf))
        with jg.summary.record_if(False):
            assert not bool(jg.summary.graph(cf.graph))
        with pytest.raises(ValueError, match="ConcreteFunction"):
            jg.summary.graph(42)
    (ev,) = [e for e in reader.read_events(writer.path) if "graph_def" in e]
    assert ev["step"] == 0
    nodes = {name: (op, inputs) for name, op, inputs in _graph_nodes(ev["graph_def"])}
    assert nodes["x"] == ("placeholder", []) and nodes["cond"] == ("cond", ["greater"])
    assert nodes["cond/then/multiply"] == ("multiply", ["x", "y"])  # captures: outer edges
    assert nodes["cond/else/subtract"] == ("subtract", ["x", "cond/else/constant_1"])
    assert nodes["while_loop"] == ("while_loop", ["constant_2", "cond"])
    body = [n for n in nodes if n.startswith("while_loop/body/")]
    assert nodes["while_loop/body/multiply_1"][1][0] in body  # the loop variable's node
    for _, inputs in nodes.values():  # every edge ends at a node
        assert all(i.split(":")[0] in nodes for i in inputs)

    @jg.function
    def inside(x):
        jg.summary.graph(cf)
        return x

    with pytest.raises(ValueError, match="inside a jg.function"):
        inside(jg.constant(1.0))


def test_tensorflow_parses_the_graphdef(tf, writer):
    cf = jg.function(_looped).get_concrete_function(jg.constant([1.0]), jg.constant(2.0))
    with writer.as_default():
        jg.summary.graph(cf)
    (ev,) = [e for e in _tf_events(tf, writer.path) if e.HasField("graph_def")]
    g = tf.compat.v1.GraphDef.FromString(ev.graph_def)
    byname = {n.name: n for n in g.node}
    assert byname["cond/then/multiply"].op == "multiply"
    assert list(byname["while_loop"].input) == ["constant_2", "cond"]
    shapes = byname["while_loop"].attr["_output_shapes"].list.shape
    assert [[d.size for d in s.dim] for s in shapes] == [[], [1]]
    assert byname["reduce_sum"].attr["axis"].s == b"(0,)"
    assert byname["greater"].attr["T"].type == tf.bool.as_datatype_enum


def test_cuda_backend_runs_print_too(capsys, emulated_device):
    @jg.function(backend="cuda")
    def f(x):
        jg.print("x:", x * 2.0)
        return x

    f(jg.constant([1.0, 2.5]))
    assert capsys.readouterr().out == "x: [2 5]\n"


# ----------------------------------------------------------------------------- Keras callback


def _fit(log_dir, n=48, **kwargs):
    rng = np.random.RandomState(0)
    x = rng.rand(n, 3).astype(np.float32)
    y = (x.sum(1, keepdims=True) > 1.5).astype(np.float32)
    model = jg.keras.Sequential([jg.keras.layers.Dense(4, activation="relu", input_shape=(3,),
                                                       name="hidden"),
                                 jg.keras.layers.Dense(1, activation="sigmoid", name="out")],
                                name="net")
    model.compile(optimizer=jg.keras.optimizers.SGD(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    tb = jg.keras.callbacks.TensorBoard(log_dir, **kwargs)
    history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(x[:16], y[:16]),
                        callbacks=[tb], verbose=0)
    return model, history


def test_tensorboard_callback_epoch_batch_and_weights(tmp_path):
    log_dir = str(tmp_path / "logs")
    model, history = _fit(log_dir, histogram_freq=1, update_freq=2, write_images=True,
                          write_steps_per_second=True)
    train = reader.scalars(os.path.join(log_dir, "train"))
    val = reader.scalars(os.path.join(log_dir, "validation"))
    h = history.history
    assert set(train) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate", "batch_loss",
                          "batch_accuracy", "batch_steps_per_second",
                          "epoch_steps_per_second"}
    assert all(v > 0 for _, v in train["epoch_steps_per_second"])
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6]  # 3 batches an epoch, 6 in all
    for name in ("loss", "accuracy"):
        np.testing.assert_allclose([v for _, v in train[f"epoch_{name}"]], h[name], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in val[f"epoch_{name}"]], h[f"val_{name}"],
                                   rtol=1e-6)
        assert [s for s, _ in train[f"epoch_{name}"]] == [0, 1]
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], [0.05, 0.05])
    hists = reader.values(os.path.join(log_dir, "train"), "histograms")
    assert sorted(hists) == ["net/hidden/bias/histogram", "net/hidden/kernel/histogram",
                             "net/out/bias/histogram", "net/out/kernel/histogram"]
    kernel = model.layers[0].weights[0].numpy()
    last = hists["net/hidden/kernel/histogram"][-1]
    assert last[0] == 1 and last[1][:, 2].sum() == kernel.size
    assert last[1][0, 0] == kernel.min() and last[1][-1, 1] == kernel.max()
    imgs = reader.values(os.path.join(log_dir, "train"), "images")
    width, height, pics = reader.images(imgs["net/hidden/kernel/image"][0][1])
    assert (width, height) == (4, 3) and pics[0].shape == (3, 4, 1)
    graph = reader.values(os.path.join(log_dir, "train"), "graph_keras_model")
    assert graph["keras"][0][0] == 0 and b'"class_name": "Sequential"' in graph["keras"][0][1][()]


class _Activations(jg.keras.layers.Layer):
    def call(self, x):
        jg.summary.histogram("activations", x)  # no step: the callback's (the iterations)
        jg.summary.scalar("mean_activation", jg.reduce_mean(x))
        return x


@pytest.mark.parametrize("update_freq", [2, "epoch"])
def test_tensorboard_callback_records_summaries_inside_the_model(tmp_path, update_freq):
    rng = np.random.RandomState(0)
    x = rng.rand(48, 3).astype(np.float32)
    y = x.sum(1, keepdims=True)
    model = jg.keras.Sequential([jg.keras.layers.Dense(4, input_shape=(3,)), _Activations(),
                                 jg.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    tb = jg.keras.callbacks.TensorBoard(str(tmp_path), update_freq=update_freq)
    model.fit(x, y, batch_size=16, epochs=2, validation_data=(x[:16], y[:16]), callbacks=[tb],
              verbose=0)
    train = reader.values(str(tmp_path / "train"))
    if update_freq == "epoch":  # no default writer while the steps run: nothing inside
        assert "activations" not in train and "mean_activation" not in train
        return
    # written in the compiled train step at iterations 0, 2, 4 (before each update)
    assert [s for s, _ in train["activations"]] == [0, 2, 4]
    assert [s for s, _ in train["mean_activation"]] == [0, 2, 4]
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6]
    assert "activations" not in reader.values(str(tmp_path / "validation"))


def test_tensorboard_callback_epoch_only_and_bad_arguments(tmp_path):
    log_dir = str(tmp_path / "logs")
    _fit(log_dir, write_graph=False)
    train = reader.values(os.path.join(log_dir, "train"))
    assert set(train) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    with pytest.raises(ValueError, match="update_freq"):
        jg.keras.callbacks.TensorBoard(log_dir, update_freq=0)
    with pytest.raises(ValueError, match="profile_batch"):
        jg.keras.callbacks.TensorBoard(log_dir, profile_batch=2)
    with pytest.raises(ValueError, match="embeddings_freq"):
        jg.keras.callbacks.TensorBoard(log_dir, embeddings_freq=1)


# ----------------------------------------------------------------------------- TensorFlow


@pytest.fixture(scope="module")
def tf():
    tf = pytest.importorskip("tensorflow")
    return tf


def _tf_events(tf, path):
    return list(tf.compat.v1.train.summary_iterator(path))


def test_tfrecord_bytes_match_tensorflow(tf, tmp_path):
    payloads = [b"", b"abc", os.urandom(5000), os.urandom(70001)]
    path = str(tmp_path / "r.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for p in payloads:
            w.write(p)
    with open(path, "rb") as f:
        assert f.read() == b"".join(records.frame(p) for p in payloads)


def _write_both(tf, tmp_path, calls):
    """Runs ``calls(summary_module)`` under a jg writer and a tf writer; returns the two
    files' events as TensorFlow parses them."""
    jw = jg.summary.create_file_writer(str(tmp_path / "jg"))
    with jw.as_default():
        calls(jg.summary)
    jw.close()
    tw = tf.summary.create_file_writer(str(tmp_path / "tf"))
    with tw.as_default():
        calls(tf.summary)
    tw.close()
    (tpath,) = [os.path.join(tmp_path, "tf", n) for n in os.listdir(tmp_path / "tf")]
    return _tf_events(tf, jw.path), _tf_events(tf, tpath)


def _without_time(e):
    e = type(e).FromString(e.SerializeToString())
    e.wall_time = 0
    return e.SerializeToString()


def test_events_match_tf_summary_byte_for_byte(tf, tmp_path):
    pytest.importorskip("tensorboard")  # tf.summary.scalar & co. live in tensorboard

    def calls(s):
        s.scalar("loss", 0.5, step=3, description="the loss")
        s.scalar("int_step", np.float64(2.25), step=np.int64(1 << 40))
        s.histogram("h", np.array([1.0, 2.0, 2.0, 5.0]), step=3)
        s.histogram("h5", np.arange(17.0) ** 1.5, step=4, buckets=5)
        s.histogram("single", np.array([2.0, 2.0]), step=5, buckets=3)
        s.histogram("empty", np.zeros([0]), step=6, buckets=3)
        s.histogram("ints", np.array([[1, 5], [9, 2]], np.int32), step=7, buckets=4)
        s.text("t", "hello", step=8)
        s.text("t2", [["a", "b"], ["c", "d"]], step=9)

    mine, theirs = _write_both(tf, tmp_path, calls)
    assert len(mine) == len(theirs) == 10
    assert mine[0].file_version == theirs[0].file_version == "brain.Event:2"
    for a, b in zip(mine, theirs):
        assert _without_time(a) == _without_time(b), (a, b)


def test_images_match_tf_summary_pixels(tf, tmp_path):
    pytest.importorskip("tensorboard")
    rng = np.random.RandomState(3)
    floats = rng.rand(4, 5, 6, 3).astype(np.float32) * 1.2 - 0.1  # some out of [0, 1]
    ints = rng.randint(0, 256, (2, 3, 2, 1)).astype(np.uint8)
    rgba = rng.rand(1, 2, 3, 4)

    def calls(s):
        s.image("f", floats, step=1)
        s.image("u8", ints, step=2, max_outputs=5)
        s.image("rgba", rgba, step=3)

    mine, theirs = _write_both(tf, tmp_path, calls)
    for a, b in zip(mine[1:], theirs[1:]):
        va, vb = a.summary.value[0], b.summary.value[0]
        assert (a.step, va.tag, va.metadata) == (b.step, vb.tag, vb.metadata)
        sa, sb = list(va.tensor.string_val), list(vb.tensor.string_val)
        assert sa[:2] == sb[:2] and len(sa) == len(sb)
        for pa, pb in zip(sa[2:], sb[2:]):
            np.testing.assert_array_equal(png.decode(pa), png.decode(pb))  # tf's own filters
            np.testing.assert_array_equal(png.decode(pa), tf.io.decode_png(pb).numpy())


def test_tensorboard_reads_the_files(tmp_path):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    w = jg.summary.create_file_writer(str(tmp_path / "run"))
    with w.as_default():
        for i in range(3):
            jg.summary.scalar("loss", 1.0 / (i + 1), step=i)
        jg.summary.histogram("w", np.arange(10.0), step=2, buckets=4)
        jg.summary.image("img", np.zeros((1, 4, 6, 3), np.float32), step=2)
    w.close()
    acc = accumulator.EventAccumulator(str(tmp_path / "run"), size_guidance={"tensors": 0})
    acc.Reload()
    tags = acc.Tags()["tensors"]
    assert set(tags) == {"loss", "w", "img"}
    loss = acc.Tensors("loss")
    assert [e.step for e in loss] == [0, 1, 2]
    np.testing.assert_allclose([float(np.frombuffer(e.tensor_proto.tensor_content, "<f4")[0])
                                for e in loss], [1.0, 0.5, 1.0 / 3], rtol=1e-6)
    meta = acc.SummaryMetadata("img")
    assert meta.plugin_data.plugin_name == "images"


@pytest.mark.slow
def test_tensorboard_callback_tags_match_tf_keras(tf, tmp_path):
    rng = np.random.RandomState(0)
    x = rng.rand(64, 3).astype(np.float32)  # 4 batches: Keras 3 then keeps epoch summaries
    y = (x.sum(1, keepdims=True) > 1.5).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.Input((3,)),
                                 tf.keras.layers.Dense(4, "relu", name="hidden"),
                                 tf.keras.layers.Dense(1, "sigmoid", name="out")], name="net")
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    tb = tf.keras.callbacks.TensorBoard(str(tmp_path / "tf"), histogram_freq=1, update_freq=2)
    model.fit(x, y, batch_size=16, epochs=2, validation_data=(x[:16], y[:16]), callbacks=[tb],
              verbose=0)
    _fit(str(tmp_path / "jg"), n=64, histogram_freq=1, update_freq=2)
    for run in ("train", "validation"):
        theirs = {t: [s for s, _ in v] for t, v in reader.values(tmp_path / "tf" / run).items()
                  if not t.startswith("evaluation_")}  # fit calls no evaluation hooks here
        mine = {t: [s for s, _ in v] for t, v in reader.values(tmp_path / "jg" / run).items()}
        assert mine == theirs
