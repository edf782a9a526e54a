"""AUC, top-k accuracies, MeanIoU, confusion-cell counts, CosineSimilarity, LogCoshError and
MSLE metrics; the MSLE, Poisson, SquaredHinge, CategoricalHinge and CosineSimilarity losses:
NumPy references, tf.keras where installed, compiled updates, configs, compile by name."""

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
RNG = np.random.default_rng(5)


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


def binary_data(n=300):
    y = (RNG.random(n) > 0.6).astype(np.float32)
    p = np.clip(RNG.random(n) * 0.7 + y * 0.3, 0, 1).astype(np.float32)
    return y, p, RNG.random(n).astype(np.float32)


# ----------------------------------------------------------------------------------- AUC

def np_roc_auc(y, p, w, n=200):
    th = np.array([-1e-7] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + 1e-7])
    pos = p[None] > th[:, None]
    tp, fp = (pos * y * w).sum(1), (pos * (1 - y) * w).sum(1)
    fn, tn = (y * w).sum() - tp, ((1 - y) * w).sum() - fp
    tpr, fpr = tp / (tp + fn), fp / (fp + tn)
    return np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)


def test_auc_roc_matches_numpy_and_streams_over_batches():
    y, p, w = binary_data()
    auc = keras.metrics.AUC()
    auc.update_state(y[:100], p[:100], sample_weight=w[:100])
    auc.update_state(y[100:], p[100:], sample_weight=w[100:])
    close(auc.result(), np_roc_auc(y.astype(np.float64), p.astype(np.float64), w), 1e-5)
    assert [v.name.split(":")[0].split("/")[-1] for v in auc.variables] == [
        "true_positives", "false_positives", "true_negatives", "false_negatives"]
    assert tuple(auc.true_positives.shape) == (200,)
    auc.reset_state()
    close(auc.result(), 0.0)
    close(keras.metrics.AUC()([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9]), 0.75, 1e-6)


def test_auc_compiled_update_equals_eager():
    y, p, w = binary_data(64)
    eager, compiled = keras.metrics.AUC(curve="PR"), keras.metrics.AUC(curve="PR")
    step = jg.function(lambda y, p, w: compiled.update_state(y, p, sample_weight=w))
    for lo in (0, 32):
        eager.update_state(y[lo:lo + 32], p[lo:lo + 32], sample_weight=w[lo:lo + 32])
        step(y[lo:lo + 32], p[lo:lo + 32], w[lo:lo + 32])
    close(compiled.result(), eager.result(), 1e-6)


AUC_CASES = [dict(), dict(curve="PR"), dict(curve="PR", summation_method="minoring"),
             dict(summation_method="majoring", num_thresholds=17),
             dict(thresholds=[0.1, 0.35, 0.5, 0.8]), dict(curve="PRGAIN"),
             dict(from_logits=True)]


@pytest.mark.parametrize("kwargs", AUC_CASES, ids=[str(k) for k in AUC_CASES])
def test_auc_equals_tf_keras(kwargs):
    tf = pytest.importorskip("tensorflow")
    y, p, w = binary_data()
    if kwargs.get("from_logits"):
        p = (p - 0.5) * 6
    ref, auc = tf.keras.metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs)
    for m in (ref, auc):
        m.update_state(y, p, sample_weight=w)
        m.update_state(y[:50], p[:50])
    assert abs(float(ref.result()) - float(auc.result())) <= 1e-6


@pytest.mark.parametrize("kwargs", [dict(multi_label=True),
                                    dict(multi_label=True, curve="PR", label_weights=[1, 2, .5]),
                                    dict(label_weights=[1, 2, 0.5]),
                                    dict(multi_label=True, num_labels=3,
                                         thresholds=[0.2, 0.7])])
def test_auc_multi_label_equals_tf_keras(kwargs):
    tf = pytest.importorskip("tensorflow")
    y = (RNG.random((40, 3)) > 0.5).astype(np.float32)
    p = RNG.random((40, 3)).astype(np.float32)
    ref, auc = tf.keras.metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs)
    ref.update_state(y, p)
    auc.update_state(y, p)
    assert abs(float(ref.result()) - float(auc.result())) <= 1e-6


def test_auc_config_and_errors():
    auc = keras.metrics.AUC(num_thresholds=50, curve="pr", summation_method="minoring",
                            name="prauc")
    cfg = auc.get_config()
    assert cfg["curve"] == "PR" and cfg["num_thresholds"] == 50 and cfg["name"] == "prauc"
    assert keras.metrics.AUC.from_config(cfg).get_config() == cfg
    with pytest.raises(ValueError, match="curve must be one of"):
        keras.metrics.AUC(curve="DET")
    with pytest.raises(ValueError, match="num_thresholds must be an integer > 1"):
        keras.metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match=r"multi_label=True y_pred must have rank 2.*\(4,\)"):
        keras.metrics.AUC(multi_label=True).update_state([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4])


# ------------------------------------------------------------------------------- top k

def test_in_top_k_tie_rule_and_non_finite():
    scores = np.array([[0.1, 0.3, 0.3, 0.2],   # class 1 or 2 tie for first
                       [0.5, 0.2, 0.2, 0.2],   # classes 1, 2, 3 tie for second
                       [0.5, np.nan, 0.2, 0.2],
                       [np.inf, 0.1, 0.2, 0.3]], np.float32)
    targets = np.array([2, 3, 1, 0])
    assert np.asarray(jg.math.in_top_k(targets, scores, 1)).tolist() == [
        True, False, False, False]
    assert np.asarray(jg.math.in_top_k(targets, scores, 2)).tolist() == [
        True, True, False, False]


def test_in_top_k_matches_tf():
    tf = pytest.importorskip("tensorflow")
    scores = np.round(RNG.random((200, 6)) * 4).astype(np.float32) / 4  # many ties
    targets = RNG.integers(0, 6, 200).astype(np.int32)
    for k in (1, 2, 3, 6):
        want = tf.math.in_top_k(targets, scores, k).numpy()
        assert np.array_equal(np.asarray(jg.math.in_top_k(targets, scores, k)), want)


def test_top_k_accuracies_match_numpy_and_tf():
    scores = RNG.random((50, 7)).astype(np.float32)
    labels = RNG.integers(0, 7, 50)
    onehot = np.eye(7, dtype=np.float32)[labels]
    rank = (scores > scores[np.arange(50), labels][:, None]).sum(1)
    for k in (1, 3):
        want = np.mean(rank < k)
        close(keras.metrics.TopKCategoricalAccuracy(k=k)(onehot, scores), want)
        close(keras.metrics.SparseTopKCategoricalAccuracy(k=k)(labels, scores), want)
        close(keras.metrics.SparseTopKCategoricalAccuracy(k=k)(labels[:, None], scores), want)
    assert keras.metrics.TopKCategoricalAccuracy().name == "top_k_categorical_accuracy"
    tf = pytest.importorskip("tensorflow")
    for cls, y in (("TopKCategoricalAccuracy", onehot), ("SparseTopKCategoricalAccuracy",
                                                         labels[:, None])):
        ref, ours = getattr(tf.keras.metrics, cls)(k=3), getattr(keras.metrics, cls)(k=3)
        sw = RNG.random(50).astype(np.float32)
        close(ours(y, scores, sample_weight=sw), ref(y, scores, sample_weight=sw).numpy())


def test_top_k_in_compile_and_fit():
    x = RNG.normal(size=(64, 5)).astype(np.float32)
    y = RNG.integers(0, 4, 64)
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(5,))])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer="adam", metrics=[
                      "sparse_top_k_categorical_accuracy",
                      keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    history = model.fit(x, y, epochs=1, verbose=0, batch_size=16)
    assert history.history["sparse_top_k_categorical_accuracy"] == [1.0]  # k=5 > 4 classes
    assert 0.0 < history.history["top2"][0] < 1.0
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer="adam",
                  metrics=[keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    history = model.fit(x, y[:, None], epochs=1, verbose=0, batch_size=16)  # labels (n, 1)
    assert 0.0 < history.history["top2"][0] < 1.0
    metric = keras.metrics.SparseTopKCategoricalAccuracy(k=2)
    step = jg.function(lambda y, p: metric.update_state(y, p))
    step(y[:, None], x[:, :4])
    close(metric.result(), keras.metrics.SparseTopKCategoricalAccuracy(k=2)(y, x[:, :4]))


# ------------------------------------------------------------ MeanIoU, confusion counts

def test_mean_iou_matches_numpy_and_tf():
    y = RNG.integers(0, 4, 60)
    p = np.where(RNG.random(60) < 0.6, y, RNG.integers(0, 4, 60))
    cm = np.zeros((4, 4))
    np.add.at(cm, (y, p), 1)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    want = np.sum(tp[denom > 0] / denom[denom > 0]) / np.sum(denom > 0)
    iou = keras.metrics.MeanIoU(num_classes=4)
    iou.update_state(y[:30], p[:30])
    iou.update_state(y[30:], p[30:])
    close(iou.result(), want)
    half = keras.metrics.MeanIoU(num_classes=4)  # fractional weights count as given
    close(half(y, p, sample_weight=np.full(60, 0.5, np.float32)), want)
    out_of_range = keras.metrics.MeanIoU(num_classes=4)
    close(out_of_range(np.append(y, [7, 1]), np.append(p, [1, -1])), want)
    tf = pytest.importorskip("tensorflow")
    sw = RNG.integers(0, 3, 60).astype(np.int32)  # tf.keras truncates float weights
    for kwargs in (dict(num_classes=4), dict(num_classes=4, ignore_class=0)):
        ref, ours = tf.keras.metrics.MeanIoU(**kwargs), keras.metrics.MeanIoU(**kwargs)
        close(ours(y, p, sample_weight=sw), ref(y, p, sample_weight=sw).numpy())
    scores = np.eye(4, dtype=np.float32)[p] + RNG.random((60, 4)).astype(np.float32) * 0.1
    ref = tf.keras.metrics.MeanIoU(num_classes=4, sparse_y_pred=False)
    ours = keras.metrics.MeanIoU(num_classes=4, sparse_y_pred=False)
    close(ours(y, scores), ref(y, scores).numpy())


@pytest.mark.parametrize("name", ["TruePositives", "FalsePositives", "TrueNegatives",
                                  "FalseNegatives"])
def test_confusion_counts_match_tf(name):
    y, p, w = binary_data(80)
    ours = getattr(keras.metrics, name)()
    ours_multi = getattr(keras.metrics, name)(thresholds=[0.2, 0.5, 0.9])
    pos, truth = p > 0.5, y > 0
    want = {"TruePositives": pos & truth, "FalsePositives": pos & ~truth,
            "TrueNegatives": ~pos & ~truth, "FalseNegatives": ~pos & truth}[name]
    close(ours(y, p, sample_weight=w), np.sum(want * w), 1e-5)
    assert tuple(ours_multi(y, p).shape) == (3,)
    tf = pytest.importorskip("tensorflow")
    ref = getattr(tf.keras.metrics, name)(thresholds=[0.2, 0.5, 0.9])
    close(ours_multi.result(), ref(y, p).numpy())


# ------------------------------------------------- regression metrics and the new losses

def np_normalize(x):
    with np.errstate(divide="ignore"):
        return x * np.minimum(1 / np.sqrt((x * x).sum(-1, keepdims=True)), 1e7)


LOSS_REFS = {
    "mean_squared_logarithmic_error": lambda t, p: np.mean(
        (np.log(np.maximum(p, 1e-7) + 1) - np.log(np.maximum(t, 1e-7) + 1)) ** 2, -1),
    "poisson": lambda t, p: np.mean(p - t * np.log(p + 1e-7), -1),
    "squared_hinge": lambda t, p: np.mean(np.maximum(1 - (2 * t - 1) * p, 0) ** 2, -1),
    "categorical_hinge": lambda t, p: np.maximum(
        ((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
    "cosine_similarity": lambda t, p: -(np_normalize(t) * np_normalize(p)).sum(-1),
}
LOSS_CLASSES = {"mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
                "poisson": "Poisson", "squared_hinge": "SquaredHinge",
                "categorical_hinge": "CategoricalHinge",
                "cosine_similarity": "CosineSimilarity"}


def loss_data(name):
    t = (RNG.random((8, 5)) > 0.5).astype(np.float32) if "hinge" in name else \
        RNG.random((8, 5)).astype(np.float32)
    if name == "categorical_hinge":
        t = np.eye(5, dtype=np.float32)[RNG.integers(0, 5, 8)]
    p = RNG.random((8, 5)).astype(np.float32) + 0.05
    if name in ("squared_hinge", "cosine_similarity"):
        p = p - 0.5
    if name == "cosine_similarity":
        t[0] = 0.0  # a zero vector: similarity 0
    return t, p


@pytest.mark.parametrize("name", sorted(LOSS_REFS))
def test_new_losses_match_numpy_eager_and_compiled(name):
    t, p = loss_data(name)
    fn = getattr(keras.losses, name)
    want = LOSS_REFS[name](t.astype(np.float64), p.astype(np.float64))
    close(fn(t, p), want, 1e-5)
    close(jg.function(fn)(t, p), want, 1e-5)
    loss = getattr(keras.losses, LOSS_CLASSES[name])()
    close(loss(t, p), want.mean(), 1e-5)
    sw = RNG.random(8).astype(np.float32)
    close(loss(t, p, sample_weight=sw), (want * sw).mean(), 1e-5)
    assert keras.losses.get(name) is fn
    cfg = keras.losses.serialize(loss)
    assert type(keras.losses.deserialize(cfg)) is type(loss)


@pytest.mark.parametrize("name", sorted(LOSS_REFS))
def test_new_losses_match_tf_keras(name):
    tf = pytest.importorskip("tensorflow")
    t, p = loss_data(name)
    cls = LOSS_CLASSES[name]
    close(getattr(keras.losses, cls)()(t, p), getattr(tf.keras.losses, cls)()(t, p).numpy(),
          1e-6)
    ref_fn = getattr(tf.keras.losses, name, None)  # tf.keras lacks some function forms
    if ref_fn is not None:
        close(getattr(keras.losses, name)(t, p), ref_fn(t, p).numpy(), 1e-6)


def test_squared_hinge_keeps_non_binary_labels():
    t = np.array([[-1.0, 1.0, 1.0]], np.float32)
    p = np.array([[0.3, -0.2, 2.0]], np.float32)
    close(keras.losses.squared_hinge(t, p), np.mean(np.maximum(1 - t * p, 0) ** 2, -1))


def test_regression_metrics_match_tf():
    t, p = RNG.random((10, 4)).astype(np.float32), RNG.random((10, 4)).astype(np.float32)
    cos = keras.metrics.CosineSimilarity()
    close(cos(t, p), np.mean((np_normalize(t) * np_normalize(p)).sum(-1)), 1e-5)
    close(keras.metrics.LogCoshError()(t, p),
          np.mean(np.log(np.cosh(p.astype(np.float64) - t))), 1e-5)
    close(keras.metrics.MeanSquaredLogarithmicError()(t, p),
          LOSS_REFS["mean_squared_logarithmic_error"](t, p).mean(), 1e-5)
    assert keras.metrics.get("msle").name == "msle"
    assert keras.metrics.LogCoshError().name == "logcosh"  # tf.keras's default names
    assert keras.metrics.AUC().name == keras.metrics.get("AUC").name == "auc"
    tf = pytest.importorskip("tensorflow")
    sw = RNG.random(10).astype(np.float32)
    for cls in ("CosineSimilarity", "LogCoshError", "MeanSquaredLogarithmicError"):
        ref, ours = getattr(tf.keras.metrics, cls)(), getattr(keras.metrics, cls)()
        close(ours(t, p, sample_weight=sw), ref(t, p, sample_weight=sw).numpy())


def test_precision_at_recall_matches_numpy_and_tf():
    y, p, w = binary_data(120)
    th = np.array([0.0] + [(i + 1) / 199 for i in range(198)] + [1.0])
    pos = p[None] > th[:, None]
    tp, fp = (pos * y).sum(1), (pos * (1 - y)).sum(1)
    fn = y.sum() - tp
    recall = tp / (tp + fn)
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
    want = np.max(np.where(recall >= 0.8, precision, 0.0))
    metric = keras.metrics.PrecisionAtRecall(0.8)
    close(metric(y, p), want)
    cfg = metric.get_config()
    assert keras.metrics.PrecisionAtRecall.from_config(cfg).get_config() == cfg
    tf = pytest.importorskip("tensorflow")
    scores = RNG.random((50, 3)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, 50)]
    for kwargs, data in ((dict(recall=0.6), (y, p)), (dict(recall=0.5, num_thresholds=7),
                                                      (y, p)),
                         (dict(recall=0.7, class_id=1), (labels, scores))):
        ref, ours = tf.keras.metrics.PrecisionAtRecall(**kwargs), \
            keras.metrics.PrecisionAtRecall(**kwargs)
        close(ours(*data), ref(*data).numpy())
