"""``jg.saved_model``: objects saved as traced graphs plus variables (save.py writes them,
load.py rebuilds them without the defining Python code)."""

from .load import LoadedFunction, SignatureFunction, load
from .save import save

__all__ = ["save", "load", "LoadedFunction", "SignatureFunction"]
