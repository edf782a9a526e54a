"""jitgraph.codegen.cache: round trip, corrupt/truncated/stale entries miss, atomic writes."""

import multiprocessing
import os

import pytest

from jitgraph.codegen import cache


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("JITGRAPH_CACHE_DIR", str(tmp_path))
    return tmp_path


GRAPH = "graph f(a: f32[?]) -> f32[?]\n  b: f32[?] = exp a\n  return b\n"


def test_round_trip_with_metadata():
    k = cache.key(GRAPH)
    assert cache.get(k) is None
    path = cache.put(k, b"\x7fELF object bytes", {"entry": "jg_main", "n_outputs": 1})
    assert os.path.exists(path)
    assert cache.get(k) == b"\x7fELF object bytes"
    assert cache.get_entry(k)[1] == {"entry": "jg_main", "n_outputs": 1}
    cache.put(k, b"")  # empty payloads are valid entries too
    assert cache.get(k) == b""


def test_key_depends_on_graph_target_and_versions(monkeypatch):
    k = cache.key(GRAPH)
    assert k == cache.key(GRAPH) and len(k) == 64
    assert cache.key(GRAPH.replace("exp", "log")) != k
    assert cache.key(GRAPH, "x86_64;skylake;+avx2") != k
    assert cache.key(GRAPH, "ab") != cache.key(GRAPH + "a", "b")  # parts are length-framed
    monkeypatch.setattr(cache, "versions", lambda: {"llvmlite": "0.0"})
    assert cache.key(GRAPH) != k


def test_default_directory(monkeypatch):
    monkeypatch.delenv("JITGRAPH_CACHE_DIR")
    assert cache.cache_dir() == os.path.join(os.path.expanduser("~"), ".cache", "jitgraph")


def _corrupt_flip(blob):
    return blob[:-3] + bytes([blob[-3] ^ 0x40]) + blob[-2:]


def _corrupt_header(blob):
    return blob[:12] + b"}" + blob[13:]


@pytest.mark.parametrize(
    "damage",
    [
        _corrupt_flip,
        _corrupt_header,
        lambda b: b[: len(b) // 2],
        lambda b: b[:6],
        lambda b: b"",
        lambda b: b"JGC2" + b[4:],
        lambda b: b + b"extra",
    ],
)
def test_damaged_entry_is_a_miss_and_removed(damage):
    k = cache.key(GRAPH)
    path = cache.put(k, bytes(range(256)) * 8)
    with open(path, "rb") as f:
        blob = f.read()
    with open(path, "wb") as f:
        f.write(damage(blob))
    assert cache.get(k) is None
    assert not os.path.exists(path)
    cache.put(k, b"rebuilt")
    assert cache.get(k) == b"rebuilt"


def test_entry_from_other_versions_is_a_miss(monkeypatch):
    k = cache.key(GRAPH)
    cache.put(k, b"old object")
    newer = dict(cache.versions(), llvmlite="99.0")
    monkeypatch.setattr(cache, "versions", lambda: newer)
    assert cache.get(k) is None


def test_entry_renamed_to_another_key_is_a_miss():
    k1, k2 = cache.key(GRAPH), cache.key(GRAPH + " ")
    os.makedirs(os.path.dirname(cache._path(k2)), exist_ok=True)
    os.replace(cache.put(k1, b"for k1"), cache._path(k2))
    assert cache.get(k2) is None


def test_bad_key_is_rejected():
    with pytest.raises(ValueError, match="hex sha256"):
        cache.get("../../etc/passwd")


def _writer(args):
    d, k, seed = args
    os.environ["JITGRAPH_CACHE_DIR"] = d
    for i in range(30):
        cache.put(k, bytes([(seed + i) % 256]) * 200_000)
    return True


def test_concurrent_writers_never_expose_partial_entries(cache_dir):
    k = cache.key(GRAPH)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(3) as pool:
        result = pool.map_async(_writer, [(str(cache_dir), k, s) for s in (1, 50, 100)])
        seen = 0
        while not result.ready():
            data = cache.get(k)
            if data is not None:
                assert len(data) == 200_000 and data == data[:1] * 200_000
                seen += 1
        assert result.get() == [True] * 3
    data = cache.get(k)
    assert data is not None and len(data) == 200_000 and len(set(data)) == 1
    leftovers = [n for _, _, files in os.walk(cache_dir) for n in files if n.startswith(".tmp")]
    assert leftovers == []


def test_least_recently_used_entries_are_evicted_past_the_size_limit(monkeypatch):
    monkeypatch.setenv("JITGRAPH_CACHE_MAX_MB", str(10_000 / (1 << 20)))  # 10 kB
    keys = [cache.key(f"graph {i}") for i in range(6)]
    for i, k in enumerate(keys[:4]):
        cache.put(k, bytes(2_000))
        os.utime(cache._path(k), (1000 + i, 1000 + i))  # written in order, oldest first
    assert cache.get(keys[0]) is not None  # a hit makes the oldest the most recent
    cache.put(keys[4], bytes(2_000))  # 5 entries > 10 kB: trim to 7.5 kB
    assert cache.get(keys[1]) is None and cache.get(keys[2]) is None
    assert all(cache.get(k) is not None for k in (keys[0], keys[3], keys[4]))
    assert cache.evict() == 0  # under the limit: nothing to do
