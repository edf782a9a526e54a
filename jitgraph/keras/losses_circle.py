"""Circle loss (Sun et al. 2020) with Keras 3's formula: a metric-learning loss on integer
labels and L2-normalized embeddings, registered in ``jg.keras.losses`` as ``Circle`` and
``circle``.

For each query i and reference j the cosine distance is ``d = max(1 - <e_i, r_j>, 0)``;
positives (same label; minus the diagonal when ``remove_diagonal``) weigh ``max(margin +
d, 0)``, negatives ``max(1 + margin - d, 0)``, and the loss of query i is
``softplus(logsumexp_pos(-gamma * w * (margin - d)) + logsumexp_neg(gamma * w * (1 -
margin - d)))``. A query without positives (or negatives) has loss 0 and, as in Keras, the
mean over the batch skips the queries whose loss is 0.

>>> emb = jg.keras.layers.UnitNormalization()(features)
>>> jg.keras.losses.Circle()(labels, emb)
"""

import numpy as np

import jitgraph as jg

from .losses import LossFunctionWrapper, Reduction, _tensor
from .masking import set_mask


def _masked_logsumexp(x, mask):
    """logsumexp over axis 1 of the entries where ``mask`` is set; -inf (with a zero
    gradient) for rows where none is."""
    neg_inf = jg.fill(jg.shape(x), np.array(-np.inf, x.dtype.as_numpy_dtype))
    x = jg.where(mask, x, neg_inf)
    top = jg.stop_gradient(jg.reduce_max(x, axis=1, keepdims=True))
    top = jg.where(jg.math.is_finite(top), top, jg.zeros_like(top))
    total = jg.reduce_sum(jg.where(mask, jg.exp(x - top), jg.zeros_like(x)), axis=1)
    some = total > 0
    safe = jg.where(some, total, jg.ones_like(total))
    return jg.where(some, jg.log(safe) + jg.squeeze(top, 1),
                    jg.fill(jg.shape(total), np.array(-np.inf, x.dtype.as_numpy_dtype)))


def _labels(labels, what):
    labels = jg.cast(_tensor(labels), jg.int32)
    if labels.shape.rank == 2 and labels.shape[-1] == 1:
        labels = jg.squeeze(labels, -1)
    if labels.shape.rank != 1:
        raise ValueError(f"circle: {what} must be integer labels of shape (batch,) or (batch, "
                         f"1), got shape {labels.shape.as_list()}")
    return labels


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80.0, margin=0.4):
    """Per-query Circle loss of integer labels ``y_true`` (batch,) and L2-normalized
    embeddings ``y_pred`` (batch, dim), against ``ref_embeddings``/``ref_labels``
    (default: the batch itself)."""
    y_pred = _tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = jg.cast(y_pred, jg.float32)
    if y_pred.shape.rank != 2:
        raise ValueError(f"circle: y_pred must be embeddings of shape (batch, dim), got "
                         f"shape {y_pred.shape.as_list()}")
    y_true = _labels(y_true, "y_true")
    ref = y_pred if ref_embeddings is None else _tensor(ref_embeddings, y_pred.dtype)
    ref_labels = y_true if ref_labels is None else _labels(ref_labels, "ref_labels")
    distances = jg.maximum(1.0 - jg.matmul(y_pred, ref, transpose_b=True), 0.0)
    positive = jg.equal(y_true[:, None], ref_labels[None, :])
    negative = jg.logical_not(positive)
    if remove_diagonal:
        # positions from cumulative sums: no data-dependent range when the batch is unknown
        rows = jg.math.cumsum(jg.ones_like(y_true), axis=0)[:, None]
        cols = jg.math.cumsum(jg.ones_like(ref_labels), axis=0)[None, :]
        positive = jg.logical_and(positive, jg.not_equal(rows, cols))
    pos_w = jg.maximum((margin + distances) * jg.cast(positive, distances.dtype), 0.0)
    neg_w = jg.maximum((1.0 + margin - distances) * jg.cast(negative, distances.dtype), 0.0)
    p_loss = _masked_logsumexp(-gamma * pos_w * (margin - distances), positive)
    n_loss = _masked_logsumexp(gamma * neg_w * (1.0 - margin - distances), negative)
    loss = jg.nn.softplus(p_loss + n_loss)
    set_mask(loss, loss > 0)  # the batch mean skips queries without positives or negatives
    return loss


class Circle(LossFunctionWrapper):
    """Loss class of ``circle``: ``gamma`` (scale, 80), ``margin`` (relaxation, 0.4),
    ``remove_diagonal`` (True). Use it on embeddings from a Dense layer without activation
    followed by ``UnitNormalization``."""

    _int_labels = True

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction=Reduction.SUM_OVER_BATCH_SIZE, name="circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal

    @classmethod
    def from_config(cls, config):
        return cls(**{k: v for k, v in config.items() if k != "dtype"})


CLASSES = [Circle]
FUNCTIONS = [circle]
__all__ = ["Circle", "circle"]
