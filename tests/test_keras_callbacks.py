"""fit's callbacks beyond History and EarlyStopping: ModelCheckpoint (every epoch, best
only, weights only, formatted paths), LearningRateScheduler, ReduceLROnPlateau,
TerminateOnNaN (stops within the epoch) and CSVLogger."""

import csv
import os

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
cb = keras.callbacks


def _data(n=64):
    rng = np.random.RandomState(0)
    x = rng.randn(n, 3).astype(np.float32)
    return x, x @ np.array([[1.0], [-1.0], [2.0]], np.float32)


def _model(lr=0.05):
    m = keras.Sequential([keras.layers.Dense(1)])
    m.compile(keras.optimizers.SGD(lr), "mse")
    return m


def test_model_checkpoint_every_epoch_and_best_only(tmp_path):
    x, y = _data()
    m = _model()
    every = os.path.join(tmp_path, "e{epoch:02d}-{loss:.2f}.keras")
    best = os.path.join(tmp_path, "best.weights.npz")
    calls = []
    m.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_data=(x, y),
          callbacks=[cb.ModelCheckpoint(every),
                     cb.ModelCheckpoint(best, save_best_only=True, save_weights_only=True),
                     cb.LambdaCallback(on_epoch_end=lambda e, logs: calls.append(logs))])
    names = sorted(os.listdir(tmp_path))
    assert [n[:3] for n in names if n.startswith("e")] == ["e01", "e02", "e03"]
    assert f"e03-{calls[-1]['loss']:.2f}.keras" in names
    loaded = keras.models.load_model(os.path.join(tmp_path, [n for n in names
                                                             if n.startswith("e03")][0]))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0),
                               rtol=1e-6)
    fresh = _model()
    fresh.build((None, 3))
    fresh.load_weights(best)  # val_loss falls every epoch here: the last is the best
    np.testing.assert_allclose(fresh.predict(x, verbose=0), m.predict(x, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="mode must be"):
        cb.ModelCheckpoint(best, mode="up")


def test_learning_rate_scheduler_and_reduce_on_plateau():
    x, y = _data()
    m = _model()
    seen = []
    m.fit(x, y, epochs=3, verbose=0, callbacks=[
        cb.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1)),
        cb.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(
            float(m.optimizer.learning_rate.numpy())))])
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.1 / 3], rtol=1e-6)
    m = _model(lr=1e-9)  # no progress: the loss plateaus at once
    lrs = []
    m.fit(x, y, epochs=5, verbose=0, callbacks=[
        cb.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_lr=2e-10,
                             min_delta=1.0),
        cb.LambdaCallback(on_epoch_end=lambda e, logs: lrs.append(
            float(m.optimizer.learning_rate.numpy())))])
    np.testing.assert_allclose(lrs, [1e-9, 5e-10, 2.5e-10, 2e-10, 2e-10], rtol=1e-5)


def test_terminate_on_nan_stops_within_the_epoch():
    x, y = _data()
    y[20:] = np.nan
    m = _model()
    batches = []
    h = m.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False, callbacks=[
        cb.TerminateOnNaN(),
        cb.LambdaCallback(on_batch_end=lambda b, logs: batches.append(b))])
    assert batches == [0, 1, 2] and len(h.history["loss"]) == 1


def test_csv_logger(tmp_path):
    x, y = _data()
    path = os.path.join(tmp_path, "log.csv")
    _model().fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
                 callbacks=[cb.CSVLogger(path)])
    _model().fit(x, y, epochs=1, verbose=0, validation_data=(x, y),
                 callbacks=[cb.CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]
    assert all(float(r[1]) > 0 for r in rows[1:])
