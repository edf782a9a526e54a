"""``jg.Module``: TensorFlow's ``tf.Module``, a container that finds its variables.

    class Dense(jg.Module):
        def __init__(self, n_in, n_out, name=None):
            super().__init__(name=name)
            self.w = jg.Variable(jg.random.normal([n_in, n_out]), name="w")
            self.b = jg.Variable(jg.zeros([n_out]), name="b")

        @jg.function
        def __call__(self, x):
            return jg.nn.relu(x @ self.w + self.b)

    class MLP(jg.Module):
        def __init__(self):
            super().__init__()
            self.layers = [Dense(3, 8), Dense(8, 1)]

    MLP().trainable_variables          # the four variables, found through the list

``variables`` walks the module's attributes as TensorFlow does: in sorted name order,
through lists, tuples and dicts (values by sorted key) and keras Layers (their weights),
a module's own variables before those of its nested Modules; each variable appears once.
``submodules`` lists the nested Modules in the same order. Attributes are walked on every
access (no registration), and ``name`` defaults to the class name in snake_case.
"""

import re
import sys

from .variables import Variable


def _snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _is_layer(v):
    return hasattr(v, "_flatten_layers") and hasattr(v, "trainable_weights")


def _leaves(value):
    """``value`` flattened as tf.nest does: lists and tuples in order, dicts by sorted key
    (insertion order when the keys do not sort); anything else is a leaf."""
    if isinstance(value, dict):
        try:
            items = sorted(value.items(), key=lambda kv: kv[0])
        except TypeError:
            items = list(value.items())
        for _, v in items:
            yield from _leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _flatten(module, seen):
    """TensorFlow's walk: each attribute (sorted by name) flattened, yielding the module's
    own variables (and a keras Layer's weights, with their trainable flags) first, then
    each nested Module's, recursively; every object once. Yields (kind, object, trainable)
    with kind "var" or "module"."""
    subs = []
    for _, value in sorted(vars(module).items(), key=lambda kv: kv[0]):
        for leaf in _leaves(value):
            if id(leaf) in seen:
                continue
            seen.add(id(leaf))
            if isinstance(leaf, Variable):
                yield "var", leaf, leaf.trainable
            elif isinstance(leaf, Module):
                subs.append(leaf)
            elif _is_layer(leaf):
                for w, t in [(w, True) for w in leaf.trainable_weights] + \
                        [(w, False) for w in leaf.non_trainable_weights]:
                    if id(w) not in seen:
                        seen.add(id(w))
                        yield "var", w, t
    for sub in subs:
        yield "module", sub, None
        yield from _flatten(sub, seen)


class Module:
    """See the module docstring."""

    def __init__(self, name=None):
        if name is not None and not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
            raise ValueError(f"Module name {name!r} is not a valid name: use letters, digits, "
                             f"'_', '.' and '-', starting with a letter or '_'")
        self._name = name if name is not None else _snake(type(self).__name__)

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        ckpt = sys.modules.get("jitgraph.checkpoint")
        if ckpt is not None and ckpt._ACTIVE:  # a restore waits for objects created later
            ckpt.notify_created(self)

    @property
    def name(self):
        return self._name

    @property
    def name_scope(self):
        """The module's name scope (``"name/"``): variables created in ``with
        self.name_scope:`` are named ``"name/var:0"``."""
        from .variables import NameScope

        return NameScope(self._name + "/")

    def _walk(self):
        """(variables with their trainable flag, submodules), each once."""
        found, modules = [], []
        for kind, obj, trainable in _flatten(self, {id(self)}):
            if kind == "var":
                found.append((obj, trainable))
            else:
                modules.append(obj)
        return found, modules

    @property
    def variables(self):
        return tuple(v for v, _ in self._walk()[0])

    @property
    def trainable_variables(self):
        return tuple(v for v, t in self._walk()[0] if t)

    @property
    def non_trainable_variables(self):
        return tuple(v for v, t in self._walk()[0] if not t)

    @property
    def submodules(self):
        return tuple(self._walk()[1])

    @classmethod
    def with_name_scope(cls, method):
        """Decorator: the method runs inside the module's name scope."""
        import functools

        @functools.wraps(method)
        def wrapped(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)

        return wrapped

    def __repr__(self):
        return f"<{type(self).__name__} name={self._name!r}>"


__all__ = ["Module"]
