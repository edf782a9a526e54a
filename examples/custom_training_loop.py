"""A custom training loop, as in the "custom models and training" chapter: GradientTape,
Nadam, l2 regularization, streaming metrics, a status bar; on a synthetic regression task
(or scikit-learn's diabetes set with --diabetes).

    python examples/custom_training_loop.py [--epochs 5] [--compiled]

With --compiled the step (forward, loss, gradients, Nadam update) is one jg.function.
"""

import argparse
import sys

import numpy as np

import jitgraph as jg

keras = jg.keras


def load_data(diabetes=False, seed=0):
    if diabetes:
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        y = (y - y.mean()) / y.std()
    else:
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(2000, 8))
        y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=2000)
    X = (X - X.mean(0)) / X.std(0)
    n_train = int(0.8 * len(X))
    X, y = X.astype(np.float32), y.astype(np.float32)[:, None]
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


def random_batch(X, y, rng, batch_size=32):
    idx = rng.integers(len(X), size=batch_size)
    return X[idx], y[idx]


def print_status_bar(iteration, total, loss, metrics=None):
    metrics = " - ".join(f"{m.name}: {float(m.result()):.4f}" for m in [loss] + (metrics or []))
    end = "" if iteration < total else "\n"
    sys.stdout.write(f"\r{iteration}/{total} - " + metrics + end)
    sys.stdout.flush()


def main(epochs=5, compiled=False, diabetes=False, batch_size=32):
    """Trains; returns the final metrics {"loss": ..., "mean_absolute_error": ..., "val_mae"}."""
    jg.random.set_seed(42)
    (X_train, y_train), (X_val, y_val) = load_data(diabetes)
    l2_reg = keras.regularizers.l2(0.05)
    model = keras.models.Sequential([
        keras.layers.Dense(30, activation="elu", kernel_initializer="he_normal",
                           kernel_regularizer=l2_reg),
        keras.layers.Dense(1, kernel_regularizer=l2_reg),
    ])
    n_steps = len(X_train) // batch_size
    optimizer = keras.optimizers.Nadam(learning_rate=0.01)
    loss_fn = keras.losses.mean_squared_error
    mean_loss = keras.metrics.Mean(name="loss")
    metrics = [keras.metrics.MeanAbsoluteError()]

    def train_step(X_batch, y_batch):
        with jg.GradientTape() as tape:
            y_pred = model(X_batch, training=True)
            main_loss = jg.reduce_mean(loss_fn(y_batch, y_pred))
            loss = main_loss + sum(model.losses)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        for variable in model.variables:
            if variable.constraint is not None:
                variable.assign(variable.constraint(variable))
        mean_loss(loss)
        for metric in metrics:
            metric(y_batch, y_pred)

    if compiled:
        model(X_train[:1])  # build the weights before tracing
        train_step = jg.function(train_step)
    rng = np.random.default_rng(0)
    for epoch in range(1, epochs + 1):
        print(f"Epoch {epoch}/{epochs}")
        for step in range(1, n_steps + 1):
            train_step(*random_batch(X_train, y_train, rng, batch_size))
            if step % 10 == 0 or step == n_steps:
                print_status_bar(step * batch_size, n_steps * batch_size, mean_loss, metrics)
        final = {"loss": float(mean_loss.result()),
                 metrics[0].name: float(metrics[0].result())}
        for metric in [mean_loss] + metrics:
            metric.reset_states()
    val_mae = float(np.mean(np.abs(np.asarray(model(X_val)) - y_val)))
    final["val_mae"] = val_mae
    print("final: " + ", ".join(f"{k} {v:.4f}" for k, v in final.items()))
    return final


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--compiled", action="store_true")
    parser.add_argument("--diabetes", action="store_true")
    args = parser.parse_args()
    main(args.epochs, args.compiled, args.diabetes)
