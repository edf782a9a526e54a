"""Reverse-mode automatic differentiation: the eager/graph tape and functional transforms."""

from .tape import GradientTape, custom_gradient

__all__ = ["GradientTape", "custom_gradient"]
