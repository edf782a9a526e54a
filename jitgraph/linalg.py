"""``jg.linalg``: linear algebra under TensorFlow's ``tf.linalg`` names."""

from .ops import (  # noqa: F401
    diag_part,
    einsum,
    eye,
    global_norm,
    l2_normalize,
    matmul,
    norm,
    set_diag,
    tensordot,
    transpose,
)
from .ops import expand_dims as _expand_dims
from .ops import matrix_band_part as band_part
from .ops import reduce_sum as _reduce_sum
from .ops import squeeze as _squeeze
from .ops.core import as_tensor as _as_tensor
from .ops.linalg_decomp import matrix_rank, pinv, qr, svd  # noqa: F401
from .ops.linalg_eig import eigh, eigvalsh  # noqa: F401
from .ops.linalg_ops import (  # noqa: F401
    adjoint,
    cholesky,
    cholesky_solve,
    det,
    diag,
    inv,
    logdet,
    lstsq,
    lu,
    lu_matrix_inverse,
    lu_reconstruct,
    lu_solve,
    matrix_transpose,
    slogdet,
    solve,
    triangular_solve,
)


def matvec(a, b, transpose_a=False, name=None):
    """``jg.linalg.matvec(m, v)``: matrix times vector over the last axes."""
    return _squeeze(matmul(a, _expand_dims(b, -1), transpose_a=transpose_a), axis=-1)


def trace(x, name=None):
    """Sum of the diagonal of the last two axes."""
    x = _as_tensor(x, "trace")
    return _reduce_sum(x * eye(x.shape[-2], x.shape[-1], dtype=x.dtype), axis=[-2, -1])


__all__ = ["matmul", "matvec", "norm", "eye", "transpose", "l2_normalize", "trace", "einsum",
           "tensordot", "global_norm", "band_part", "diag_part", "set_diag", "cholesky",
           "triangular_solve", "cholesky_solve", "solve", "inv", "det", "slogdet", "logdet",
           "lstsq", "diag", "lu", "lu_solve", "lu_reconstruct", "lu_matrix_inverse",
           "matrix_transpose", "adjoint", "eigh", "eigvalsh", "qr", "svd", "pinv",
           "matrix_rank"]
from .ops.linalg_more import *  # noqa: E402,F401,F403 - cross, expm, sqrtm, ... (ops/linalg_more.py)
from .ops.linalg_more import __all__ as _more  # noqa: E402

__all__ += _more
