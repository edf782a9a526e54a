"""A short jg.keras training run for ``python -m jitgraph demo``: fit on scikit-learn's
digits set when it is installed (else on a synthetic task), printing the final metrics."""

import numpy as np

import jitgraph as jg


def _data():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(1500, 16)).astype(np.float32)
        y = (X[:, :4].sum(1) > 0).astype(np.int32) + 2 * (X[:, 4] > 0).astype(np.int32)
        return X, y, 4, "synthetic 4-class data (install scikit-learn for the digits set)"
    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(np.int32), 10, "digits"


def run(epochs=3, verbose=2):
    """Trains a small MLP with the compiled train step; returns the validation metrics."""
    keras = jg.keras
    X, y, classes, name = _data()
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    cut = int(0.8 * len(X))
    jg.random.set_seed(0)
    model = keras.Sequential([keras.Input(shape=(X.shape[1],)),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(classes, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"])
    print(f"jg.keras fit on {name}: {cut} training samples, {len(X) - cut} validation")
    model.fit(X[:cut], y[:cut], epochs=epochs, batch_size=64, verbose=verbose,
              validation_data=(X[cut:], y[cut:]))
    val = model.evaluate(X[cut:], y[cut:], verbose=0, return_dict=True)
    print(f"final validation loss {val['loss']:.4f}, accuracy {val['accuracy']:.4f}")
    return val


def part_keras():
    """The demo part (jitgraph/demo.py PARTS): passes when the model learned something."""
    print("\n== jg.keras: fit with a compiled train step ==")
    val = run()
    return val["accuracy"] > 0.8
