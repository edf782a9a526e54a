"""``jg.debugging``: TensorFlow's assertions and ``check_numerics`` (ops/check.py). Eagerly a
failed check raises ``jg.errors.InvalidArgumentError``; inside a ``jg.function`` value checks
run each time the function runs and raise the same error, naming the check and the line."""

from .config import set_log_device_placement  # noqa: F401 - tf.debugging's name for it
from .ops.check import (  # noqa: F401
    Assert,
    assert_all_finite,
    assert_equal,
    assert_greater,
    assert_greater_equal,
    assert_less,
    assert_less_equal,
    assert_negative,
    assert_non_negative,
    assert_non_positive,
    assert_none_equal,
    assert_positive,
    assert_rank,
    assert_rank_at_least,
    assert_rank_in,
    assert_scalar,
    assert_shapes,
    check_numerics,
)
