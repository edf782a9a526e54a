"""Time per epoch of ``model.fit``: eager train step (``run_eagerly=True``) vs the step
compiled with ``jg.function``, on the same model and data, printed as a ratio.

The model is an MLP (64-128-64-10, relu, softmax) trained with Adam on sparse categorical
cross-entropy with an accuracy metric; the data is scikit-learn's digits set when installed,
else random data of the same shape. Each figure is the median over epochs after the first
(which includes tracing and compilation, reported separately).

    python benchmarks/fit.py [--epochs 6] [--batch 64] [--backend cpu]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jitgraph as jg  # noqa: E402

keras = jg.keras


def load_data():
    try:
        from sklearn.datasets import load_digits

        d = load_digits()
        return (d.data / 16.0).astype(np.float32), d.target.astype(np.int32), "digits"
    except ImportError:
        rng = np.random.default_rng(0)
        return (rng.random((1797, 64), dtype=np.float32), rng.integers(0, 10, 1797)
                .astype(np.int32), "random (scikit-learn not installed)")


def build(seed=0):
    jg.random.set_seed(seed)
    return keras.Sequential([keras.Input(shape=(64,)),
                             keras.layers.Dense(128, activation="relu"),
                             keras.layers.Dense(64, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.t0)

    def on_train_begin(self, logs=None):
        self.times = []


def time_fit(X, y, eager, epochs, batch):
    model = build()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"], run_eagerly=eager)
    timer = EpochTimer()
    t0 = time.perf_counter()
    hist = model.fit(X, y, epochs=epochs, batch_size=batch, verbose=0, callbacks=[timer],
                     shuffle=False)
    total = time.perf_counter() - t0
    return timer.times, total, hist.history["loss"][-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--backend", default=None, help="JITGRAPH_BACKEND for the compiled step")
    args = ap.parse_args()
    if args.backend:
        os.environ["JITGRAPH_BACKEND"] = args.backend
    X, y, name = load_data()
    backend = jg.config.default_backend() if hasattr(jg, "config") else "?"
    print(f"fit benchmark: {name} {X.shape}, batch {args.batch}, {args.epochs} epochs, "
          f"MLP 64-128-64-10, Adam; compiled backend: {backend}")
    rows = {}
    for label, eager in (("eager", True), ("compiled", False)):
        times, total, loss = time_fit(X, y, eager, args.epochs, args.batch)
        steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
        rows[label] = steady
        print(f"  {label:<9} first epoch {times[0] * 1e3:8.1f} ms   per epoch after "
              f"{steady * 1e3:8.1f} ms   final loss {loss:.4f}")
    print(f"  compiled is {rows['eager'] / rows['compiled']:.1f}x faster per epoch than eager")


if __name__ == "__main__":
    main()
