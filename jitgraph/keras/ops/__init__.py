"""jg.keras.ops: Keras 3's backend-agnostic ops namespace (``keras.ops``) on jitgraph, so
layers, losses and metrics written with ``from keras import ops`` run with
``from jitgraph.keras import ops``, eagerly and inside ``jg.function``. Every function is a
composition of jg ops (no compiler ops of its own), follows keras.ops' names, arguments and
dtype rules (Python ints are int32, floats float32; int + float32 tensors give float32; sqrt,
mean, ... of ints give float32; argmax gives int32), and is differentiable where the math is.

In a functional model the ``ops.*`` functions also take KerasTensors (``jg.keras.Input``
and layer outputs), as Keras 3 allows: the call becomes a Lambda layer of the model (the
submodules ``ops.numpy`` etc. keep the plain functions).

>>> from jitgraph.keras import ops
>>> def loss(y_true, y_pred):
...     return ops.mean(ops.square(y_true - y_pred), axis=-1)

Covered (submodules mirror keras.ops'):

- numpy (``ops.numpy``): abs absolute add all allclose amax amin angle any append arange
  arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin argpartition argsort array
  array_split average bartlett bincount blackman broadcast_to cbrt cdist ceil clip concatenate
  conj conjugate copy corrcoef correlate cos cosh count_nonzero cross cumprod cumsum deg2rad
  diag diagflat diagonal diff digitize divide divide_no_nan dot dsplit dstack einsum empty
  empty_like equal exp exp2 expand_dims expm1 eye fabs flip fliplr flipud floor floor_divide
  fmax fmin fmod full full_like gcd geomspace get_item greater greater_equal hamming hanning
  heaviside histogram hsplit hstack hypot i0 identity imag inner isclose isfinite isin isinf
  isnan isneginf isposinf isreal kaiser kron lcm ldexp less less_equal linspace log log10 log1p
  log2 logaddexp logaddexp2 logical_and logical_not logical_or logical_xor logspace matmul max
  maximum mean median meshgrid min minimum mod moveaxis multiply nan_to_num nanargmax nanargmin
  nancumprod nancumsum nanmax nanmean nanmedian nanmin nanpercentile nanprod nanquantile
  nanstd nansum nanvar ndim negative nextafter nonzero not_equal ones ones_like outer pad
  percentile power prod ptp quantile rad2deg ravel real reciprocal repeat reshape roll rot90
  round searchsorted select sign signbit sin sinc sinh size sort split sqrt square squeeze
  stack std subtract sum swapaxes take take_along_axis tan tanh tensordot tile trace
  transpose trapezoid tri tril triu true_divide trunc unique unravel_index vander var vdot
  vsplit vstack where zeros zeros_like
- nn (``ops.nn``): adaptive_average_pool adaptive_max_pool average_pool batch_normalization
  binary_crossentropy categorical_crossentropy celu conv conv_transpose depth_to_space
  depthwise_conv (1-D, 2-D) dot_product_attention elu gelu glu hard_shrink hard_sigmoid
  hard_silu hard_swish hard_tanh layer_normalization leaky_relu log_sigmoid log_softmax max_pool
  moments multi_hot normalize one_hot psnr relu relu6 rms_normalization selu separable_conv
  sigmoid silu soft_shrink softmax softplus softsign space_to_depth
  sparse_categorical_crossentropy sparse_plus sparse_sigmoid sparsemax squareplus swish
  tanh_shrink threshold unfold fold ctc_loss ctc_decode (greedy)
- core: associative_scan cast cond convert_to_numpy convert_to_tensor custom_gradient dtype
  fori_loop is_tensor map saturate_cast scan scatter scatter_update shape slice slice_update
  stop_gradient switch unstack vectorize vectorized_map while_loop
- einops: rearrange
- bitwise (bitwise.py, by arithmetic): bitwise_and bitwise_or bitwise_xor bitwise_invert
  bitwise_not left_shift right_shift bitwise_left_shift bitwise_right_shift
- math: erf erfc erfinv extract_sequences in_top_k logdet logsumexp qr rsqrt segment_max
  segment_min segment_prod segment_sum top_k
- linalg (``ops.linalg``): cholesky cholesky_inverse det eigh inv lstsq lu_factor
  matrix_rank norm pinv qr slogdet solve solve_triangular svd jvp (forward mode by two reverse
  passes)

Not supported (each raises ``UnimplementedError`` saying why and what to do instead; see
``UNSUPPORTED``): the FFT family and complex views (jitgraph has no complex dtype), eig of
general matrices, view; ctc_decode's beam search.

Limits inside ``jg.function`` (each a clear error): sizes a result's shape depends on must
be known when tracing, so scan/map/vectorized_map need a known leading length, segment_* need
num_segments, unique needs size, bincount and nonzero run eagerly only; svd with
full_matrices=True (Keras' default) and qr "complete" need square (qr: wide) matrices, as
jg.linalg computes reduced factors.

``ops.image`` (image.py): resize crop_images pad_images rgb_to_grayscale rgb_to_hsv hsv_to_rgb
affine_transform extract_patches gaussian_blur; its other names raise UnimplementedError.
"""

import types as _types

from . import bitwise, core, einops, linalg, math, nn, numpy, numpy_arrays
from . import image as image  # ops.image, its own namespace as in keras.ops
from ._common import unimplemented as _unimplemented

_EXTRA = {"custom_gradient"}


def _public(module):
    return {n: v for n, v in vars(module).items()
            if not n.startswith("_") and callable(v) and not isinstance(v, _types.ModuleType)
            and (getattr(v, "__module__", None) == module.__name__ or n in _EXTRA)
            and n != "promote_types"}


_COMPLEX = ("jitgraph has no complex dtype",
            "keep real and imaginary parts as two float tensors, or compute it with NumPy "
            "outside the jg.function")
_DYNAMIC = ("its output's shape depends on the input's values, which compiled code must know "
            "when tracing", "compute it with NumPy outside the jg.function")
UNSUPPORTED = {
    **{n: _COMPLEX for n in ("fft", "fft2", "ifft2", "rfft", "irfft", "stft", "istft",
                             "view_as_complex", "view_as_real", "polar")},
    "view": ("reinterpreting a tensor's bits as another dtype is not supported",
             "use ops.cast"),
    "eig": ("the eigenvalues of a general real matrix are complex and jitgraph has no "
            "complex dtype", "use ops.eigh for symmetric matrices"),
}



COVERED = {}
for _mod in (numpy, numpy_arrays, bitwise, nn, math, linalg, core, einops):
    COVERED.update(_public(_mod))
globals().update(COVERED)
for _name, (_why, _instead) in UNSUPPORTED.items():
    if _name not in COVERED:
        globals()[_name] = _unimplemented(_name, _why, _instead)

# keras.ops.numpy / .nn / .linalg also hold names that live elsewhere here or are unsupported.
_SUBMODULE_EXTRAS = {
    numpy: ("slogdet", "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not",
            "bitwise_or", "bitwise_right_shift", "bitwise_xor", "left_shift", "right_shift",
            "vectorize", "view"),
    nn: ("polar",),
    linalg: ("eig", "qr"),
}
for _mod, _names in _SUBMODULE_EXTRAS.items():
    for _name in _names:
        setattr(_mod, _name, globals()[_name])


# --- KerasTensors: ops on functional-model placeholders become Lambda layers ----------------

def _has_keras_tensor(value):
    if isinstance(value, _KerasTensor):
        return True
    if isinstance(value, (list, tuple)):
        return _builtins.any(_has_keras_tensor(v) for v in value)  # ops.any shadows any
    if isinstance(value, dict):
        return _builtins.any(_has_keras_tensor(v) for v in value.values())
    return False


def _symbolic_call(fn, args, kwargs):
    """``fn(*args, **kwargs)`` with KerasTensors among the arguments, as Keras 3 allows in a
    functional model (``y = ops.relu(keras.Input((4,)))``): a Lambda layer whose inputs are
    the KerasTensors and which puts the concrete tensors back in their places."""
    from ..layers import Lambda

    flat = _jg.nest.flatten((list(args), kwargs))
    where = [i for i, v in enumerate(flat) if isinstance(v, _KerasTensor)]

    def call(inputs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        values = list(flat)
        for i, t in zip(where, inputs):
            values[i] = t
        a, k = _jg.nest.pack_sequence_as((list(args), kwargs), values)
        return fn(*a, **k)

    layer = Lambda(call, name=f"{fn.__name__}_op_{next(_counter)}")
    symbols = [flat[i] for i in where]
    return layer(symbols if len(symbols) > 1 else symbols[0])


def _accepting_keras_tensors(fn):
    @_functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _has_keras_tensor(args) or _has_keras_tensor(kwargs):
            return _symbolic_call(fn, args, kwargs)
        return fn(*args, **kwargs)
    return wrapper


import builtins as _builtins  # noqa: E402
import functools as _functools  # noqa: E402
import itertools as _itertools  # noqa: E402

import jitgraph as _jg  # noqa: E402

from ..functional import KerasTensor as _KerasTensor  # noqa: E402

_counter = _itertools.count()
for _name, _fn in list(COVERED.items()):
    if _name not in ("is_tensor", "custom_gradient", "vectorize"):
        COVERED[_name] = _accepting_keras_tensors(_fn)
globals().update(COVERED)  # the submodules keep the plain functions, for their own calls
