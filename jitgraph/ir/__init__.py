"""The graph IR: Value, Operation, Graph, the printer and the verifier."""

from .graph import Graph, Operation, Value
from .printer import format_graph
from .verify import VerificationError, verify

__all__ = ["Graph", "Operation", "Value", "format_graph", "verify", "VerificationError"]
