"""Shared benchmark helpers: timing, the environment header, peers, result tables.

Every workload script (bench_w*.py) builds a list of ``Row``s measured in one
process, one after another, and prints them with ratios to a baseline. Timing:
``measure(fn)`` warms up, picks an inner loop count so one sample lasts at
least ``min_sample`` seconds (microsecond calls are timed in batches), takes
``repeat`` samples and reports the median and the spread (IQR / median) as
noise. These machines are shared: the header records the load average, and a
spread above ~10% means the figure is not trustworthy.
"""

import contextlib
import datetime
import importlib
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a source checkout

import jitgraph as jg  # noqa: E402

PEERS = ("numba", "jax", "tensorflow")


@dataclass
class Timing:
    median: float  # seconds per call
    best: float
    noise: float  # interquartile range / median
    calls: int


@dataclass
class Row:
    impl: str
    timing: Timing | None  # None: not available (see note)
    work: float = 0.0  # bytes (unit "GB/s") or flops (unit "GFLOP/s") per call
    unit: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    def rate(self):
        if self.timing is None or not self.work:
            return None
        return self.work / self.timing.median / 1e9


def measure(fn, repeat=15, warmup=2, min_sample=0.02, max_time=20.0):
    """Median seconds per call of fn() (after `warmup` calls), with spread.

    Example: ``measure(lambda: np.sin(x)).median``.
    """
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_sample / once))
    repeat = max(3, min(repeat, int(max_time / (once * inner)) or 3))
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    q = statistics.quantiles(samples, n=4) if len(samples) >= 4 else [min(samples), 0, max(samples)]
    med = statistics.median(samples)
    return Timing(med, min(samples), (q[2] - q[0]) / med, repeat * inner)


def first_call(make_and_call):
    """Seconds of one call of make_and_call() (trace + compile + run, nothing warmed up)."""
    t0 = time.perf_counter()
    make_and_call()
    return time.perf_counter() - t0


# ---------------------------------------------------------------- peers and backends
@contextlib.contextmanager
def empty_compile_cache():
    """An empty on-disk jitgraph compile cache for the block, so first calls compile from
    scratch."""
    old = os.environ.get("JITGRAPH_CACHE_DIR")
    with tempfile.TemporaryDirectory() as d:
        os.environ["JITGRAPH_CACHE_DIR"] = d
        try:
            yield
        finally:
            if old is None:
                del os.environ["JITGRAPH_CACHE_DIR"]
            else:
                os.environ["JITGRAPH_CACHE_DIR"] = old


def peer(name):
    """The imported peer module, or None when it is not installed."""
    try:
        if name == "tensorflow":
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        return importlib.import_module(name)
    except Exception:  # a broken install counts as absent
        return None


def cpu_backend():
    """True when jitgraph's compiled 'cpu' backend is available."""
    try:
        jg.backends.get("cpu")
        return True
    except Exception:
        return False


def jg_backends():
    """Backends to measure jg.function with: 'cpu' when present, and the interpreter."""
    return (["cpu"] if cpu_backend() else []) + ["interpreter"]


def unavailable(impl, why):
    return Row(impl, None, note=why)


def guarded(impl, fn, work=0.0, unit="", **measure_kw):
    """Row for measure(fn), or an unavailable row with the error when fn fails."""
    try:
        return Row(impl, measure(fn, **measure_kw), work, unit)
    except Exception as e:  # a failing implementation is reported, not fatal
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return unavailable(impl, "%s: %s" % (type(e).__name__, msg[:160]))


# ---------------------------------------------------------------- environment
def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(mod):
    m = peer(mod)
    return getattr(m, "__version__", "?") if m else "not installed"


def env_header():
    """Markdown lines: date, machine, load, versions, BLAS threads, installed peers."""
    import llvmlite

    lines = [
        "- date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "- machine: %s, %d cores, load average %s" % (
            _cpu_model(), os.cpu_count(), " ".join("%.2f" % v for v in os.getloadavg())),
        "- python %s, numpy %s, llvmlite %s, jitgraph %s" % (
            platform.python_version(), np.__version__, llvmlite.__version__, jg.__version__),
        "- peers: " + ", ".join("%s %s" % (p, _version(p)) for p in PEERS),
        "- jitgraph cpu backend: %s" % ("available" if cpu_backend() else "not available"),
    ]
    try:
        from threadpoolctl import threadpool_info

        blas = ["%s %s (%s, %d threads)" % (i.get("internal_api"), i.get("version"),
                                            i.get("architecture"), i.get("num_threads"))
                for i in threadpool_info() if i.get("user_api") == "blas"]
        lines.append("- BLAS: " + "; ".join(blas))
    except ImportError:
        pass
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "JITGRAPH"))}
    if env:
        lines.append("- environment: " + " ".join("%s=%s" % kv for kv in sorted(env.items())))
    return lines


# ---------------------------------------------------------------- reporting
def fmt_time(t):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if t >= scale:
            return "%.3g %s" % (t / scale, unit)
    return "%.3g ns" % (t * 1e9)


def table(title, rows, baseline=None, target=""):
    """Markdown table; speedup = baseline time / row time (>1: faster than the baseline),
    from medians and from best samples (the best sample is the one least disturbed by other
    processes on a shared machine); the rate column uses the best sample."""
    base = next((r for r in rows if r.impl == baseline and r.timing), None)
    out = ["### " + title, ""]
    if target:
        out += ["Target: " + target, ""]
    unit = next((r.unit for r in rows if r.unit), "")
    out.append("| implementation | median | best | noise | %s (best) | speedup vs %s "
               "(median / best) |" % (unit or "rate", baseline or "-"))
    out.append("|---|---|---|---|---|---|")
    for r in rows:
        if r.timing is None:
            out.append("| %s | n/a | | | | %s |" % (r.impl, r.note))
            continue
        t = r.timing
        rate = r.work / t.best / 1e9 if r.work else None
        speed = ("%.2fx / %.2fx" % (base.timing.median / t.median, base.timing.best / t.best)
                 if base else "")
        out.append("| %s | %s | %s | %.0f%% | %s | %s%s |" % (
            r.impl, fmt_time(t.median), fmt_time(t.best), 100 * t.noise,
            "%.3g" % rate if rate is not None else "", speed,
            " " + r.note if r.note else ""))
    return "\n".join(out) + "\n"


def ratio(rows, a, b, best=False):
    """time(b) / time(a): how many times faster `a` is than `b` (None if either is missing)."""
    ra = next((r for r in rows if r.impl == a and r.timing), None)
    rb = next((r for r in rows if r.impl == b and r.timing), None)
    if not (ra and rb):
        return None
    return rb.timing.best / ra.timing.best if best else rb.timing.median / ra.timing.median


def check(rows, results, close=1e-4):
    """Assert every available row computed the same numbers as the first one."""
    ref = None
    for impl, value in results.items():
        if value is None:
            continue
        v = [np.asarray(x, np.float64) for x in (value if isinstance(value, tuple) else (value,))]
        if ref is None:
            ref = v
            continue
        for a, b in zip(ref, v, strict=True):
            err = np.max(np.abs(a - b) / (np.abs(a) + 1)) if a.size else 0.0
            if not err <= close:
                for r in rows:
                    if r.impl == impl:
                        r.note = "WRONG RESULT (rel. error %.2g)" % err


def main_for(run):
    """Entry point for a workload script: run(quick) -> markdown text."""
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = p.parse_args()
    print("\n".join(env_header()) + "\n")
    print(run(quick=args.quick))


# ---------------------------------------------------------------- the usual rows
def add_jitgraph(rows, results, body, args, work=0.0, unit="", **kw):
    """Rows 'jitgraph eager' and 'jg.function[<backend>]' for body(*tensors)."""
    tensors = [jg.constant(a) for a in args]
    fns = {"jitgraph eager": lambda: body(*tensors)}
    for b in jg_backends():
        fns["jg.function[%s]" % b] = _call_numpy(jg.function(body, backend=b), tensors)
    for impl, fn in fns.items():
        try:
            results[impl] = _to_numpy(fn())
        except Exception as e:
            rows.append(unavailable(impl, "%s: %s" % (type(e).__name__, str(e)[:160])))
            results[impl] = None
            continue
        rows.append(guarded(impl, fn, work, unit, **kw))


def _call_numpy(f, args):
    return lambda: f(*args)


def _to_numpy(v):
    if isinstance(v, (tuple, list)):
        return tuple(_to_numpy(x) for x in v)
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v)


def add_peers(rows, results, makers, args, work=0.0, unit="", **kw):
    """Rows for the installed peers. makers: {"numba": f(numba) -> callable(*np arrays),
    "jax": f(jax) -> jitted fn, "tensorflow": f(tf) -> tf.function}; each is called
    with the peer's own array type, converted once outside the timed region."""
    for impl, (mod, make) in makers.items():
        m = peer(mod)
        if m is None:
            rows.append(unavailable(impl, "%s not installed" % mod))
            continue
        try:
            fn = make(m)
            conv = _converter(mod, m)
            margs = [conv(a) for a in args]
            call = _syncing(mod, fn, margs)
            results[impl] = _to_numpy(call())
        except Exception as e:
            rows.append(unavailable(impl, "%s: %s" % (type(e).__name__, str(e)[:160])))
            results[impl] = None
            continue
        rows.append(guarded(impl, call, work, unit, **kw))


def _converter(mod, m):
    if mod == "jax":
        return lambda a: m.device_put(a)
    if mod == "tensorflow":
        return lambda a: m.constant(a)
    return lambda a: a


def _syncing(mod, fn, args):
    if mod == "jax":
        import jax

        return lambda: jax.block_until_ready(fn(*args))
    return lambda: fn(*args)
