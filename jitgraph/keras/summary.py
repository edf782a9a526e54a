"""model.summary(): a table of layers, output shapes and parameter counts."""

import numpy as np


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list) and shape and not isinstance(shape[0], (int, type(None))):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in tuple(shape)) + (
        ",)" if len(tuple(shape)) == 1 else ")")


def _params(variables):
    return int(sum(int(np.prod(tuple(v.shape))) for v in variables))


def summary_text(model, line_length=80):
    """The summary table as a string (what ``model.summary()`` prints)."""
    if not model.built:
        raise ValueError(f"model {model.name!r} has not been built yet, so its weights and "
                         "output shapes are unknown: call it on a batch of data, call "
                         "model.build(input_shape), or give the first layer an input_shape")
    cols = (int(line_length * 0.4), int(line_length * 0.3), line_length - int(line_length * 0.7))
    rule = "_" * line_length

    def row(a, b, c):
        return f"{a:<{cols[0]}}{b:<{cols[1]}}{c:>{cols[2]}}"

    lines = [f'Model: "{model.name}"', rule, row(" Layer (type)", "Output Shape", "Param #"),
             "=" * line_length]
    for i, layer in enumerate(model.layers):
        name = f" {layer.name} ({type(layer).__name__})"
        lines.append(row(name[:cols[0] - 1], _shape_text(layer._output_shape),
                         f"{layer.count_params():,}"))
        if i < len(model.layers) - 1:
            lines.append("")
    trainable = _params(model.trainable_weights)
    non_trainable = _params(model.non_trainable_weights)
    lines += ["=" * line_length, f"Total params: {trainable + non_trainable:,}",
              f"Trainable params: {trainable:,}", f"Non-trainable params: {non_trainable:,}",
              rule]
    return "\n".join(lines)
