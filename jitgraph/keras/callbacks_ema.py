"""``SwapEMAWeights``: evaluation (and prediction) with the optimizer's moving averages of
the weights, for optimizers built with ``use_ema=True`` (see ``jg.keras.optimizers``).

>>> model.compile(optimizer=jg.keras.optimizers.SGD(use_ema=True), loss="mse")
>>> model.fit(x, y, validation_data=(vx, vy),
...           callbacks=[jg.keras.callbacks.SwapEMAWeights()])   # val_loss of the averages
"""

from .callbacks import Callback


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's EMA weights before evaluation (fit's
    validation, ``evaluate``) and prediction, and swaps them back after. With
    ``swap_on_epoch=True`` it also swaps them in at each epoch's end (so callbacks after it,
    e.g. ModelCheckpoint, see the averages) and back at the next epoch's beginning; after
    the last epoch the averages stay in the model, as ``fit`` then finalizes the weights
    to them anyway. Unlike Keras 3, ``on_predict_end`` restores the trained weights.
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer(self):
        opt = self.model.optimizer
        opt = getattr(opt, "inner_optimizer", opt)  # LossScaleOptimizer
        if not getattr(opt, "use_ema", False):
            raise ValueError(f"SwapEMAWeights must be used with an optimizer created with "
                             f"use_ema=True; {type(opt).__name__} has "
                             f"use_ema={getattr(opt, 'use_ema', False)}. Create it as e.g. "
                             "jg.keras.optimizers.Adam(use_ema=True)")
        return opt

    def _pairs(self):
        return self._optimizer()._averages()

    def _swap(self):
        for var, average in self._pairs():
            held = var.read_value()
            var.assign(average.read_value())
            average.assign(held)

    def _swap_in(self):
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def _swap_out(self):
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_train_begin(self, logs=None):
        self._optimizer()  # fail early, before any epoch runs

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_in()
            if epoch == self.params["epochs"] - 1:
                # the averages are in the model; keep copies of them in the optimizer, which
                # fit's finalize_variable_values writes back
                for var, average in self._pairs():
                    average.assign(var.read_value())

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        self._swap_out()

    def on_predict_begin(self, logs=None):
        self._swap_in()

    def on_predict_end(self, logs=None):
        self._swap_out()
