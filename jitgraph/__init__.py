"""jitgraph: a graph-tracing JIT compiler for Python numeric code, with TensorFlow's API.

>>> import jitgraph as jg
>>> @jg.function
... def f(x):
...     return jg.tanh(x * 2.0) + 1.0
>>> f(jg.constant([1.0, 2.0]))
"""

__version__ = "0.1.0"

from . import dtypes, errors
from .dtypes import as_dtype, bool_ as bool, float16, float32, float64, int32, int64  # noqa: A004
from .dtypes import float16 as half, float64 as double  # noqa: F401 - TensorFlow's aliases
if dtypes.bfloat16 is not None:  # with ml_dtypes (see dtypes.py)
    bfloat16 = dtypes.bfloat16
from .tensor import Tensor, TensorShape, TensorSpec, constant, convert_to_tensor, is_tensor
from .ops import *  # noqa: F401,F403
from .ops import abs, pow, round, divide, truediv, where, cast  # noqa: F401,A004
from .ops import nn, random  # noqa: F401
from .variables import Variable
from .module import Module
from .autodiff import GradientTape, custom_gradient
from .tracing import init_scope
from .autodiff import UnconnectedGradients
from .tracing import executing_eagerly
from .ops.static import get_static_value
from .tensor_array import TensorArray

newaxis = None

# -- tracing, jg.function, interpreter, control flow (function.py, ops/control.py)
from . import config  # noqa: E402,F401
from .function import function  # noqa: E402,F401
# -- AutoGraph (autograph/)
from . import autograph  # noqa: E402,F401
# -- graph autodiff (autodiff/transform.py)
from .autodiff import grad, value_and_grad  # noqa: E402,F401
from .autodiff.control import attach as _attach  # noqa: E402

_attach()  # control ops register after the tape is imported: attach their rules now
# -- namespaces
from . import math, linalg  # noqa: E402,F401
from . import nest  # noqa: E402,F401
from . import debugging  # noqa: E402,F401
from .debugging import Assert, assert_equal, assert_greater, assert_less, assert_rank  # noqa: E402,F401
# -- more of TensorFlow's top level (ops/arrays_more.py, api_more.py, ops/tfmath.py)
from .ops.arrays_more import *  # noqa: E402,F401,F403
from .api_more import *  # noqa: E402,F401,F403
from .ops.tfmath import scalar_mul  # noqa: E402,F401


# -- lazy namespaces: `import jitgraph` stays fast
#    jg.keras: the Keras API; jg.cuda: device placement for backend="cuda" (DeviceTensor,
#    to_device, device_function, resident_variables; see codegen/cuda_device.py)
_LAZY = {"keras": ".keras", "cuda": ".codegen.cuda_device"}
_LAZY["data"] = ".data"  # jg.data: input pipelines (data/)
_LAZY.update({"train": ".train", "saved_model": ".saved_model"})  # checkpoints, saved graphs
_LAZY["image"] = ".image"  # jg.image: resizing, colour, augmentation (image/)
_LAZY["summary"] = ".summary"  # jg.summary: TensorBoard event files (summary/)
# jg.initializers, jg.optimizers, jg.losses, jg.metrics: TensorFlow's aliases of the Keras ones
_LAZY.update({n: f".keras.{n}" for n in ("initializers", "optimizers", "losses", "metrics")})


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return importlib.import_module(_LAZY[name], __name__)
    import importlib  # ragged/sparse/strings, narrow dtypes: a clear error (unsupported.py)

    stand_in = importlib.import_module(".unsupported", __name__).lookup(name)
    if stand_in is not None:
        return stand_in
    raise AttributeError(f"module 'jitgraph' has no attribute {name!r}")
