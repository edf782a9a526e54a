"""``jg.train``: checkpoints (checkpoint.py) and their manager (checkpoint_manager.py)."""

from .checkpoint import (
    Checkpoint,
    CheckpointLoadStatus,
    CheckpointReader,
    list_variables,
    load_checkpoint,
    load_variable,
)
from .checkpoint import notify_created as _notify_created
from .checkpoint_manager import CheckpointManager, latest_checkpoint

__all__ = ["Checkpoint", "CheckpointLoadStatus", "CheckpointManager", "CheckpointReader",
           "latest_checkpoint", "list_variables", "load_checkpoint", "load_variable",
           "_notify_created"]
