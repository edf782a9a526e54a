"""Run every workload (W1..W9 of the performance issue) plus the machine limits, print
markdown tables and write them to benchmarks/results_latest.md.

    python benchmarks/run_all.py [--quick] [--only W1,W7,limits] [--out FILE]

Each workload runs in its own process so that one peer's threads or memory cannot
disturb the next workload. benchmarks/RESULTS.md is the analysed record of a full run.
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = {
    "limits": "bench_limits.py", "W1": "bench_w1_elementwise.py", "W2": "bench_w2_softmax.py",
    "W3": "bench_w3_mlp.py", "W4": "bench_w4_newton.py", "W5": "bench_w5_dispatch.py",
    "W6": "bench_w6_fifty_ops.py", "W7": "bench_w7_matmul.py", "W8": "bench_w8_huber.py",
    "W9": "bench_w9_sumsq.py",
}


def run_one(script, quick):
    cmd = [sys.executable, os.path.join(HERE, script)] + (["--quick"] if quick else [])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    body = p.stdout.split("\n\n", 1)[1] if "\n\n" in p.stdout else p.stdout
    if p.returncode != 0:
        body += "\n%s failed (exit %d):\n```\n%s\n```\n" % (script, p.returncode,
                                                            p.stderr[-2000:])
    return body, p.stdout.split("\n\n", 1)[0], time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated: limits,W1,...,W9")
    ap.add_argument("--out", default=os.path.join(HERE, "results_latest.md"))
    args = ap.parse_args()
    chosen = [w.strip() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown:
        ap.error("unknown workload(s) %s; choose from %s" % (unknown, ", ".join(WORKLOADS)))
    parts, header = [], ""
    for w in chosen:
        body, head, secs = run_one(WORKLOADS[w], args.quick)
        header = header or head
        parts.append(body.strip() + "\n\n_(%s: %.0f s)_\n" % (WORKLOADS[w], secs))
        print(parts[-1], flush=True)
    text = "# jitgraph benchmarks\n\nCommand: `python benchmarks/run_all.py%s%s`\n\n%s\n\n%s" % (
        " --quick" if args.quick else "", " --only " + args.only if args.only else "", header,
        "\n".join(parts))
    with open(args.out, "w") as f:
        f.write(text)
    print("written to", args.out)


if __name__ == "__main__":
    main()
