"""model.save / load_model in an open format: ``config.json`` (the architecture, the compile
settings, the weight names) and ``weights.npz`` (NumPy arrays), in a folder or in one zip file
(paths ending with .keras or .zip). No code is pickled: custom classes and functions are
found by name when loading (``custom_objects``).
"""

import io
import json
import os
import zipfile

import numpy as np

from . import losses, optimizers, serialization
from . import metrics as metrics_mod
from .base_layer import flatten, map_structure
from .compile_utils import map_specs

FORMAT = "jitgraph.keras"
VERSION = 1


def _is_zip_path(path):
    return str(path).endswith((".keras", ".zip"))


def _shape_json(shape):
    if shape is None:
        return None
    return map_structure(lambda s: None if s is None else list(s), shape) \
        if isinstance(shape, (list, tuple)) and shape and not isinstance(
            shape[0], (int, type(None))) else list(shape)


def _save_model(model, path, overwrite=True, include_optimizer=True):
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"save: {path} exists and overwrite=False")
    weights = model.weights
    arrays = {f"w{i}": np.asarray(v.numpy()) for i, v in enumerate(weights)}
    opt = model.optimizer if include_optimizer else None
    opt_vars = opt.variables if opt is not None else []
    arrays.update({f"o{i}": np.asarray(v.numpy()) for i, v in enumerate(opt_vars)})
    config = {
        "format": FORMAT, "version": VERSION,
        "model": serialization.serialize(model),
        "build_input_shape": _shape_json(model._build_input_shape),
        "build_input_dtype": getattr(model, "_build_input_dtype", None),
        "compile_config": model.get_compile_config() if include_optimizer else None,
        "weight_names": [v.name for v in weights],
        "optimizer_weight_names": [v.name for v in opt_vars],
    }
    text = json.dumps(config, indent=2)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    if _is_zip_path(path):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("config.json", text)
            z.writestr("weights.npz", buf.getvalue())
        return
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        f.write(text)
    with open(os.path.join(path, "weights.npz"), "wb") as f:
        f.write(buf.getvalue())


def _read(path):
    """(config text, weights bytes) from a folder or a zip file, with clear errors."""
    path = os.fspath(path)
    if os.path.isdir(path):
        files = {}
        for name in ("config.json", "weights.npz"):
            p = os.path.join(path, name)
            if not os.path.exists(p):
                hint = ""
                if os.path.exists(os.path.join(path, "saved_model.json")):
                    hint = (" (it is a saved model, from model.export or jg.saved_model.save: "
                            "load it with jg.saved_model.load)")
                raise ValueError(f"load_model: {path} is not a saved jitgraph.keras model: "
                                 f"{name} is missing{hint}")
            with open(p, "rb") as f:
                files[name] = f.read()
        return files["config.json"], files["weights.npz"]
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_model: no file or folder at {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load_model: {path} is corrupt or not a saved jitgraph.keras model "
                         "(expected a folder or a zip file holding config.json and "
                         "weights.npz)")
    try:
        with zipfile.ZipFile(path) as z:
            return z.read("config.json"), z.read("weights.npz")
    except (KeyError, zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"load_model: {path} is corrupt: {e}") from e


def _parse(path, text, blob):
    try:
        config = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"load_model: {path}: config.json is corrupt ({e})") from e
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"load_model: {path}: config.json is not a jitgraph.keras model "
                         f"config (no \"format\": \"{FORMAT}\")")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # numpy raises several types for damaged archives
        raise ValueError(f"load_model: {path}: weights.npz is corrupt ({e})") from e
    return config, arrays


def load_model(path, custom_objects=None, compile=True):  # noqa: A002
    from .layers import deserialize as deserialize_layer

    config, arrays = _parse(path, *_read(path))
    with serialization.custom_object_scope(custom_objects or {}):
        model = deserialize_layer(config["model"], custom_objects)
        if not model.built and config.get("build_input_shape") is not None:
            model._run_on_zeros(config["build_input_shape"],
                                _dtype(config.get("build_input_dtype")))
        _assign(path, model.weights, config["weight_names"], arrays, "w", "model")
        cc = config.get("compile_config")
        if compile and cc:
            model.compile(optimizer=optimizers.deserialize(cc["optimizer"]),
                          loss=map_specs(_loss, cc["loss"]),
                          loss_weights=cc.get("loss_weights"),
                          metrics=map_specs(_metric, cc.get("metrics", [])),
                          weighted_metrics=map_specs(_metric, cc.get("weighted_metrics", [])),
                          run_eagerly=cc.get("run_eagerly", False))
            names = config.get("optimizer_weight_names") or []
            if names:
                model.optimizer.build(model.trainable_variables)
                if len(model.optimizer.variables) == len(names):
                    _assign(path, model.optimizer.variables, names, arrays, "o", "optimizer")
    return model


def _dtype(name):
    import jitgraph as jg

    if isinstance(name, list):
        name = name[0] if name else None
    return jg.as_dtype(name or "float32")


def _loss(spec):
    if spec is None:
        return None
    if isinstance(spec, str) and spec in losses._TABLE:
        return spec
    return losses.deserialize(spec)


def _metric(spec):
    if spec is None:
        return None
    if isinstance(spec, str) and spec in ("accuracy", "acc"):
        return spec
    return metrics_mod.get(spec)


def _by_name(variables, names):
    """``variables`` in the order of the saved ``names`` when the names match one to one
    (files written before weights were listed in Keras' order keep loading right); else
    as they are."""
    mine = [v.name for v in variables]
    if len(set(names)) != len(names) or sorted(mine) != sorted(names):
        return variables
    index = {n: v for n, v in zip(mine, variables)}
    return [index[n] for n in names]


def _assign(path, variables, names, arrays, prefix, what):
    variables = _by_name(variables, names)
    if len(variables) != len(names):
        raise ValueError(f"load_model: {path}: the saved {what} has {len(names)} weights but "
                         f"the rebuilt one has {len(variables)}; the architecture (or a custom "
                         "class passed in custom_objects) differs from the one saved")
    for i, (v, name) in enumerate(zip(variables, names)):
        key = f"{prefix}{i}"
        if key not in arrays:
            raise ValueError(f"load_model: {path}: weights.npz lacks {key} ({name})")
        arr = arrays[key]
        if tuple(arr.shape) != tuple(v.shape):
            raise ValueError(f"load_model: {path}: weight {name} was saved with shape "
                             f"{arr.shape} but the rebuilt model's {v.name} has shape "
                             f"{tuple(v.shape)}")
        v.assign(arr.astype(v.dtype.as_numpy_dtype))


def save_weights(model, path):
    weights = model.weights
    np.savez(path, __names__=np.array([v.name for v in weights], dtype=str),
             **{f"w{i}": np.asarray(v.numpy()) for i, v in enumerate(weights)})


def load_weights(model, path):
    with np.load(path if str(path).endswith(".npz") else f"{path}.npz",
                 allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    names = [str(n) for n in arrays.pop("__names__")] if "__names__" in arrays \
        else [v.name for v in model.weights]
    _assign(path, model.weights, names, arrays, "w", "model")


# ------------------------------------------------------------------ functional models

def _enc(x, refs):
    from .functional import KerasTensor

    if isinstance(x, KerasTensor):
        return {"__keras_tensor__": list(refs[id(x)])}
    if isinstance(x, (list, tuple)):
        return [_enc(v, refs) for v in x]
    if isinstance(x, dict):
        return {k: _enc(v, refs) for k, v in x.items()}
    return serialization.to_json_value(x)


def functional_config(model):
    refs = {}
    for layer in model.layers:
        for ni, node in enumerate(layer._inbound_nodes):
            for ti, kt in enumerate(flatten(node.outputs)):
                refs[id(kt)] = (layer.name, ni, ti)
    names = [lay.name for lay in model.layers]
    if len(set(names)) != len(names):
        raise ValueError(f"cannot save functional model {model.name!r}: layer names must be "
                         f"unique, got {names}")
    return {
        "name": model.name,
        "layers": [serialization.serialize(lay) for lay in model.layers],
        "nodes": [_node_config(n, refs) for n in model._nodes],
        "inputs": _enc(model.inputs, refs),
        "outputs": _enc(model.outputs, refs),
    }


def _node_config(node, refs):
    from .functional import KerasTensor

    def keep(v):
        return serialization.is_json_value(v) or any(isinstance(t, KerasTensor)
                                                     for t in flatten(v))

    out = {"layer": node.layer.name, "node_index": node.layer._inbound_nodes.index(node),
           "args": _enc(node.args, refs),
           "kwargs": {k: _enc(v, refs) for k, v in node.kwargs.items() if keep(v)}}
    if node.extra_args:  # e.g. the value of MultiHeadAttention()(query, value)
        out["extra_args"] = _enc(list(node.extra_args), refs)
    return out


def functional_from_config(config, custom_objects=None):
    from .functional import InputLayer
    from .layers import deserialize
    from .models import Functional

    layers = {c["config"]["name"]: deserialize(c, custom_objects) for c in config["layers"]}
    tensors = {}
    for name, layer in layers.items():
        if isinstance(layer, InputLayer):
            tensors[(name, 0, 0)] = layer.output

    def dec(x):
        if isinstance(x, dict) and "__keras_tensor__" in x:
            return tensors[tuple(x["__keras_tensor__"])]
        if isinstance(x, list):
            return [dec(v) for v in x]
        if isinstance(x, dict):
            return {k: dec(v) for k, v in x.items()}
        return x

    for node in config["nodes"]:
        out = layers[node["layer"]](dec(node["args"]), *dec(node.get("extra_args", [])),
                                    **dec(node["kwargs"]))
        for ti, kt in enumerate(flatten(out)):
            tensors[(node["layer"], node["node_index"], ti)] = kt
    return Functional(dec(config["inputs"]), dec(config["outputs"]), name=config["name"])


# ------------------------------------------------ keras.saving's public names (as in Keras 3)

from .serialization import (  # noqa: E402,F401 - re-exported under jg.keras.saving
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    register_keras_serializable,
)


def save_model(model, filepath, overwrite=True, **kwargs):
    """``jg.keras.saving.save_model(model, "m.keras")``: the same as ``model.save``."""
    model.save(filepath, overwrite=overwrite, **kwargs)


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class or function registered (or in scope) under ``name``; None if none."""
    return serialization._lookup_custom(name, custom_objects) or \
        (module_objects or {}).get(name)


def get_registered_name(obj):
    for key, value in serialization._REGISTERED.items():
        if value is obj and ">" in key:
            return key
    return getattr(obj, "__name__", type(obj).__name__)


def serialize_keras_object(obj):
    """``{"class_name": ..., "config": ...}`` (or a name, for functions) of a layer, model,
    loss, metric, optimizer, initializer, regularizer or constraint."""
    return serialization.serialize(obj)


def _all_objects():
    from . import (
        activations,
        constraints,
        initializers,
        layers,
        models,
        optimizers,
        regularizers,
        schedules,
    )

    table = {}
    for module_table in (activations._TABLE, constraints._TABLE, initializers._TABLE,
                         regularizers._TABLE, schedules._TABLE, optimizers._TABLE,
                         metrics_mod._TABLE, losses._TABLE, layers.TABLE):
        table.update(module_table)
    table.update({"Sequential": models.Sequential, "Model": models.Model,
                  "Functional": models.Functional})
    return table


def deserialize_keras_object(config, custom_objects=None, **kwargs):
    """Rebuilds what ``serialize_keras_object`` wrote (custom classes from
    ``custom_objects``, the active custom_object_scope or the registered names)."""
    with serialization.custom_object_scope(custom_objects or {}):
        obj = serialization.deserialize(config, _all_objects(), custom_objects, "object")
    return obj() if isinstance(obj, type) and not isinstance(config, dict) else obj
