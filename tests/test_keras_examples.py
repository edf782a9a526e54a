"""The jg.keras examples run and reach their stated results."""

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_custom_training_loop_eager_equals_compiled(capsys):
    mod = load("custom_training_loop")
    eager = mod.main(epochs=2)
    compiled = mod.main(epochs=2, compiled=True)
    assert "final: loss" in capsys.readouterr().out
    for k in eager:
        assert compiled[k] == pytest.approx(eager[k], rel=1e-4)
    assert eager["val_mae"] < 0.8


def test_digits_fit_example(capsys):
    pytest.importorskip("sklearn", reason="scikit-learn (the `test` extra) provides the "
                                          "digits data set")
    val = load("digits_fit").main(epochs=4, verbose=0)
    assert "validation accuracy" in capsys.readouterr().out
    assert val["accuracy"] >= 0.93
