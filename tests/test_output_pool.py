"""The output pool (codegen/outputs.py): large outputs of compiled calls are fresh to the
caller but reuse memory the caller has dropped."""

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.codegen import outputs


@pytest.fixture(autouse=True)
def _empty_pool():
    outputs.release()
    yield
    outputs.release()


def _addr(t):
    return np.asarray(t).__array_interface__["data"][0]


def test_live_outputs_never_share_memory():
    f = jg.function(lambda x: x * 2.0)
    x = np.arange(1 << 19, dtype=np.float32)  # 2 MiB: pooled
    a = f(x)
    b = f(x + 1)
    assert _addr(a) != _addr(b)
    np.testing.assert_array_equal(a.numpy(), x * 2)
    np.testing.assert_array_equal(b.numpy(), (x + 1) * 2)


def test_dropped_output_memory_is_reused_and_aligned():
    f = jg.function(lambda x: x + 1.0)
    x = np.zeros(1 << 19, np.float32)
    a = f(x)
    first = _addr(a)
    assert first % 64 == 0
    del a
    assert outputs.stats()["free_blocks"] == 1
    b = f(x)
    assert _addr(b) == first
    np.testing.assert_array_equal(b.numpy(), 1.0)


def test_a_view_keeps_the_block_in_use():
    f = jg.function(lambda x: x + 1.0)
    x = np.zeros((1024, 512), np.float32)
    a = np.asarray(f(x))
    view = a[10:]
    first = _addr(a)
    del a
    b = f(x + 5)
    assert _addr(b) != first
    np.testing.assert_array_equal(view, 1.0)  # not overwritten by the second call


def test_dynamic_shapes_and_small_outputs():
    f = jg.function(lambda x: x * x, input_signature=[jg.TensorSpec([None], jg.float32)])
    for n in (3, 1 << 18, 1 << 20, 5):
        x = np.full(n, 3.0, np.float32)
        np.testing.assert_array_equal(f(x).numpy(), 9.0)


def test_free_bytes_are_bounded(monkeypatch):
    monkeypatch.setattr(outputs, "_limit", 3 << 20)
    f = jg.function(lambda x: x + 1.0, input_signature=[jg.TensorSpec([None], jg.float32)])
    for n in (1 << 18, 1 << 19, 3 << 18):  # 1, 2 and 3 MiB outputs, each dropped at once
        f(np.zeros(n, np.float32))
    assert outputs.stats()["free_bytes"] <= (3 << 20) + 4096


def test_pool_switched_off(monkeypatch):
    monkeypatch.setattr(outputs, "_limit", 0)
    a = outputs.empty((1 << 20,), np.float32)
    assert a.base is None and outputs.stats()["blocks"] == 0
