"""jg.keras.dtype_policies: Keras 3's names for the dtype policies of
``jg.keras.mixed_precision`` (``DTypePolicy`` and ``FloatDTypePolicy`` are its ``Policy``;
quantized policies are not supported).

>>> policy = jg.keras.dtype_policies.get("mixed_float16")
>>> policy.compute_dtype, policy.variable_dtype
('float16', 'float32')
"""

from .mixed_precision import DTypePolicy, Policy, get_policy

FloatDTypePolicy = DTypePolicy


def get(identifier):
    """A policy from None (the global policy), a name, a config dict or a policy."""
    if isinstance(identifier, dict) and "Quantized" in str(identifier.get("class_name", "")):
        raise ValueError(f"dtype_policies.get: quantized policies "
                         f"({identifier['class_name']}) are not supported by jitgraph; use a "
                         "float policy such as 'float32' or 'mixed_float16'")
    return get_policy(identifier)


def serialize(policy):
    """``{"class_name": "DTypePolicy", "config": {"name": ...}}``, as Keras writes it."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(),
            "registered_name": None}


def deserialize(config, custom_objects=None):
    return get(config)


__all__ = ["DTypePolicy", "FloatDTypePolicy", "Policy", "get", "serialize", "deserialize"]
