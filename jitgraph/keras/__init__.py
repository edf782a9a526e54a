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
