"""Reverse-mode automatic differentiation: the eager/graph tape and functional transforms."""

from . import control as _control
from .tape import GradientTape, UnconnectedGradients, custom_gradient
from .transform import grad, value_and_grad

_control.attach()

__all__ = ["GradientTape", "UnconnectedGradients", "custom_gradient", "grad", "value_and_grad"]
