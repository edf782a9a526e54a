"""jg.keras: the parts of the Keras API that custom models and training need (layers, models,
losses, metrics, optimizers, fit), written against jitgraph's public API only.

>>> model = jg.keras.Sequential([jg.keras.layers.Dense(10, activation="softmax")])
>>> model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
...               metrics=["accuracy"])
>>> model.fit(X, y, epochs=5)
"""

from . import (
               activations,
               backend,
               callbacks,
               constraints,
               initializers,
               layers,
               losses,
               metrics,
               mixed_precision,
               models,
               optimizers,
               regularizers,
               saving,
               utils,
)
from .functional import Input
from .models import Model, Sequential

__all__ = ["activations", "backend", "callbacks", "constraints", "initializers", "layers",
           "losses", "metrics", "models", "optimizers", "regularizers", "saving", "utils", "Input",
           "Model", "Sequential", "mixed_precision"]

# Keras 3's top-level modules and aliases
from . import config, dtype_policies, random, tree  # noqa: E402
from .base_layer import Layer  # noqa: E402
from .dtype_policies import DTypePolicy, FloatDTypePolicy  # noqa: E402
from .functional import KerasTensor  # noqa: E402
from .initializers import Initializer  # noqa: E402
from .input_spec import InputSpec  # noqa: E402
from .losses import Loss  # noqa: E402
from .metrics import Metric  # noqa: E402
from .optimizers import Optimizer  # noqa: E402
from .regularizers import Regularizer  # noqa: E402
from .variable import Variable  # noqa: E402

__all__ += ["config", "dtype_policies", "random", "tree", "Layer", "DTypePolicy",
            "FloatDTypePolicy", "KerasTensor", "Initializer", "InputSpec", "Loss", "Metric",
            "Optimizer", "Regularizer", "Variable"]

from . import ops  # noqa: E402 - keras.ops, after the modules it builds on

__all__ += ["ops"]
