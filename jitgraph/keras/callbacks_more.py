"""``BackupAndRestore``: fault-tolerant training as in Keras 3. The model's weights and the
optimizer's state (``jg.train.Checkpoint``) and the epoch reached are written to
``backup_dir`` after every epoch (or every ``save_freq`` batches); a ``fit`` that starts with
a backup there restores it and resumes at the epoch after the last one completed. The backup
is deleted when training ends normally (``delete_checkpoint``).

>>> backup = jg.keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
>>> model.fit(x, y, epochs=10, callbacks=[backup])   # interrupted at epoch 4...
>>> model.fit(x, y, epochs=10, callbacks=[backup])   # ...resumes at epoch 4
"""

import json
import os
import shutil

import jitgraph as jg

from .callbacks import Callback


class BackupAndRestore(Callback):
    """Backs up training state to ``backup_dir`` and restores it when ``fit`` restarts.
    ``save_freq``: "epoch", an int (every that many batches; a resumed run repeats the
    interrupted epoch from its start) or False (only restore). ``double_checkpoint`` keeps
    the previous backup too and falls back to it when the latest cannot be read."""

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a directory path, got "
                             f"{backup_dir!r}")
        if save_freq != "epoch" and save_freq is not False and (
                not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch', False or a "
                             f"positive int, got {save_freq!r}")
        self.backup_dir = str(backup_dir)
        self.save_freq, self.double_checkpoint = save_freq, bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._current_epoch, self._batches_seen = 0, 0

    def _paths(self, which="latest"):
        base = os.path.join(self.backup_dir, which)
        return os.path.join(base, "ckpt"), os.path.join(base, "training_metadata.json")

    def _checkpoint(self):
        parts = {"model": self.model}
        if getattr(self.model, "optimizer", None) is not None:
            parts["optimizer"] = self.model.optimizer
        return jg.train.Checkpoint(**parts)

    # -- restoring
    def on_train_begin(self, logs=None):
        self._batches_seen = 0
        for which in ("latest", "previous") if self.double_checkpoint else ("latest",):
            if self._restore(which):
                return

    def _restore(self, which):
        ckpt, meta = self._paths(which)
        if not os.path.exists(meta):
            return False
        try:
            self._checkpoint().read(ckpt).expect_partial()
            with open(meta) as f:
                epoch = int(json.load(f)["epoch"])
        except (OSError, ValueError, KeyError, jg.errors.JitgraphError) as e:
            if which == "latest" and self.double_checkpoint:
                return False  # try the previous backup
            raise ValueError(f"BackupAndRestore: the backup in {self.backup_dir!r} cannot "
                             f"be restored into this model ({e}); delete the directory to "
                             f"start afresh") from e
        self._current_epoch = epoch
        self.model._initial_epoch = epoch  # fit resumes here (training.fit reads it once)
        return True

    # -- saving
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(self.save_freq, int) and not isinstance(self.save_freq, bool):
            self._batches_seen += 1
            if self._batches_seen % self.save_freq == 0:
                self._save()

    def _save(self):
        latest = os.path.join(self.backup_dir, "latest")
        if self.double_checkpoint and os.path.isdir(latest):
            previous = os.path.join(self.backup_dir, "previous")
            shutil.rmtree(previous, ignore_errors=True)
            shutil.copytree(latest, previous)
        os.makedirs(latest, exist_ok=True)
        ckpt, meta = self._paths()
        self._checkpoint().write(ckpt)
        tmp = meta + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"epoch": self._current_epoch}, f)
        os.replace(tmp, meta)  # the metadata names a complete checkpoint

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)


CLASSES = [BackupAndRestore]

__all__ = ["BackupAndRestore"]
