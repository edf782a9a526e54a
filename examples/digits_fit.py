"""Train a small classifier on scikit-learn's bundled digits set with jg.keras' fit.

    pip install -e ".[examples]"     # scikit-learn
    python examples/digits_fit.py [--epochs 10] [--eager]

Prints a progress line per epoch and the final validation accuracy.
"""

import argparse

import numpy as np

import jitgraph as jg

keras = jg.keras


def load_digits_split(seed=0, n_train=1400):
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise SystemExit("this example needs scikit-learn: pip install -e \".[examples]\"") \
            from e
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)  # pixel values 0..16 scaled to 0..1
    y = digits.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(X))
    X, y = X[order], y[order]
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


def build_model():
    return keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(10, activation="softmax"),
    ])


def main(epochs=10, eager=False, verbose=1):
    """Trains the model; returns the final validation metrics as a dict."""
    jg.random.set_seed(42)
    (X_train, y_train), (X_val, y_val) = load_digits_split()
    model = build_model()
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  metrics=["accuracy"], run_eagerly=eager)
    if verbose:
        model.summary()
    model.fit(X_train, y_train, epochs=epochs, batch_size=64, verbose=verbose,
              validation_data=(X_val, y_val))
    val = model.evaluate(X_val, y_val, verbose=0, return_dict=True)
    print(f"digits: validation loss {val['loss']:.4f}, "
          f"validation accuracy {val['accuracy']:.4f}")
    return val


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--eager", action="store_true", help="run_eagerly=True")
    args = parser.parse_args()
    main(args.epochs, args.eager)
