"""Turning Keras objects into JSON-able configs and back, and finding custom classes by name.

Every serializable object (layer, loss, metric, optimizer, initializer, regularizer,
constraint, activation function) is written as ``{"class_name": ..., "config": {...}}``, or as
a plain string for functions and built-ins. Reading it back looks the name up, in order, in the
``custom_objects`` given to ``load_model``, the active ``custom_object_scope``, the names
registered with ``register_keras_serializable``, and the module's own table.
"""

import contextlib
import inspect

_REGISTERED = {}  # "package>Name" and "Name" -> class or function
_SCOPES = []  # stack of dicts from custom_object_scope / load_model


def register_keras_serializable(package="Custom", name=None):
    """Class or function decorator: makes it loadable without ``custom_objects``.

    >>> @jg.keras.utils.register_keras_serializable()
    ... def my_loss(y_true, y_pred): ...
    """

    def decorate(obj):
        key = name or obj.__name__
        _REGISTERED[f"{package}>{key}"] = obj
        _REGISTERED[key] = obj
        return obj

    return decorate


@contextlib.contextmanager
def custom_object_scope(*dicts):
    """``with custom_object_scope({"HuberLoss": HuberLoss}): load_model(...)``."""
    merged = {}
    for d in dicts:
        merged.update(d or {})
    _SCOPES.append(merged)
    try:
        yield merged
    finally:
        _SCOPES.pop()


CustomObjectScope = custom_object_scope


def get_custom_objects():
    """The global name -> object table that ``register_keras_serializable`` fills."""
    return _REGISTERED


def _lookup_custom(name, custom_objects):
    for table in [custom_objects or {}] + _SCOPES[::-1] + [_REGISTERED]:
        if name in table:
            return table[name]
    return None


def serialize(obj):
    """A JSON-able description of ``obj``: a string for functions, else class_name + config."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return obj.__name__
    if not hasattr(obj, "get_config"):
        raise TypeError(f"cannot serialize {obj!r}: it is neither a function nor an object "
                        "with get_config()")
    return {"class_name": type(obj).__name__, "config": to_json_value(obj.get_config())}


def to_json_value(value):
    """Nested configs made JSON-able: tuples become lists, Keras objects their configs."""
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # NumPy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return serialize(value)


def is_json_value(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_value(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(is_json_value(v) for v in value)
    return value is None or isinstance(value, (str, bool, int, float))


def deserialize(config, module_objects, custom_objects=None, kind="object"):
    """Rebuilds what ``serialize`` wrote. ``module_objects`` maps built-in names (and
    aliases such as "mse") to classes or functions; ``kind`` names the thing in errors."""
    if config is None or callable(config):
        return config
    if isinstance(config, str):
        found = _lookup_custom(config, custom_objects) or module_objects.get(config)
        if found is None:
            raise ValueError(unknown_message(kind, config))
        return found
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"cannot read {kind} from {config!r}: expected a name or a dict with "
                         "'class_name' and 'config'")
    name = config["class_name"]
    cls = _lookup_custom(name, custom_objects) or module_objects.get(name)
    if cls is None:
        raise ValueError(unknown_message(kind, name))
    inner = config.get("config", {})
    if inspect.isclass(cls) and hasattr(cls, "from_config"):
        return cls.from_config(inner)
    if inspect.isclass(cls):
        return cls(**inner)
    return cls  # a registered function


def unknown_message(kind, name):
    return (f"Unknown {kind}: '{name}'. If it is a custom class or function, pass it to "
            f"load_model(..., custom_objects={{'{name}': {name}}}), wrap the call in "
            f"jg.keras.utils.custom_object_scope({{'{name}': {name}}}), or decorate it with "
            "@jg.keras.utils.register_keras_serializable()")


def call_with_config(cls, config):
    """``cls(**config)`` that drops the base keys (name, trainable, dtype) a subclass's
    ``__init__`` does not accept, and sets them afterwards."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return cls(**config)
    accepted = {k: v for k, v in config.items() if k in params}
    rest = {k: v for k, v in config.items() if k not in params}
    unknown = set(rest) - {"name", "trainable", "dtype"}
    if unknown:
        raise TypeError(f"{cls.__name__}.from_config: __init__ does not accept "
                        f"{sorted(unknown)}; override from_config or get_config")
    obj = cls(**accepted)
    if "name" in rest and hasattr(obj, "_name"):
        obj._name = rest["name"]
    if "trainable" in rest and hasattr(obj, "trainable"):
        obj.trainable = rest["trainable"]
    return obj
