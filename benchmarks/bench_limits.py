"""Machine limits the workloads are compared with: STREAM-like triad bandwidth (main memory
and in cache, 2 threads, Numba) and the best float32 GEMM rate (numpy.matmul).

    python benchmarks/bench_limits.py [--quick]
"""

import numpy as np
from common import Row, guarded, main_for, measure, peer, table

TITLE = "Machine limits"


def triad_numba(nb):
    @nb.njit(parallel=True, fastmath=True)
    def triad(a, b, c, s):
        for i in nb.prange(a.size):
            a[i] = b[i] + s * c[i]

    return triad


def run(quick=False):
    rows = []
    nb = peer("numba")
    sizes = {"triad main memory (3 x 160 MB f64)": 20_000_000,
             "triad in cache (3 x 128 KB f64)": 16_384}
    if quick:
        sizes = {k: v // 4 for k, v in sizes.items()}
    for label, n in sizes.items():
        a, b, c = (np.random.default_rng(i).random(n) for i in range(3))
        work = 3 * 8 * n  # STREAM convention: read b, c; write a
        if nb is not None:
            triad = triad_numba(nb)
            rows.append(guarded("%s, numba 2 threads" % label,
                                lambda t=triad, a=a, b=b, c=c: t(a, b, c, 3.0), work, "GB/s",
                                repeat=25))
        rows.append(guarded("%s, numpy (2 passes)" % label,
                            lambda a=a, b=b, c=c: np.add(b, np.multiply(c, 3.0, out=a), out=a),
                            work, "GB/s", repeat=25))
    for n in (2048, 4096) if not quick else (1024,):
        x = np.random.default_rng(n).standard_normal((n, n)).astype(np.float32)
        t = measure(lambda x=x: x @ x, repeat=5, min_sample=0.1)
        rows.append(Row("sgemm %d^3 numpy.matmul" % n, t, 2.0 * n**3, "GFLOP/s"))
    return table(TITLE, rows)


if __name__ == "__main__":
    main_for(run)
