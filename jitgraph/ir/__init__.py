"""The graph IR: Value, Operation, Graph, the printer, the verifier, copies and Graphviz."""

from .clone import copy_graph, free_values
from .dot import to_dot
from .graph import Graph, Operation, Value
from .printer import format_graph
from .verify import VerificationError, verify

__all__ = ["Graph", "Operation", "Value", "format_graph", "verify", "VerificationError",
           "copy_graph", "free_values", "to_dot"]
