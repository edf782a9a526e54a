"""Device placement for the cuda backend: tensors and variables that live in GPU memory.

- ``DeviceTensor``: an array in GPU memory (``shape``, ``dtype``, ``.numpy()`` copies it
  back, ``np.asarray(t)`` works). Results of ``device_function`` calls are DeviceTensors
  and feed the next call without a round trip through the host.
- ``to_device(x)``: a NumPy array / Tensor / DeviceTensor as a DeviceTensor.
- ``device_function(f)``: wraps a ``jg.function`` (any backend) so that its traced graphs
  run with the cuda backend on DeviceTensors (NumPy arrays are uploaded) and return
  DeviceTensors in the function's output structure. ``jg.function(backend="cuda")``
  itself keeps the backend contract: NumPy in, NumPy out (jg.Tensors to the user).
- Variables: by default a cuda call uploads every variable it reads and copies back every
  variable it writes, so host and device never disagree (and cpu/cuda functions can be
  mixed). Inside ``with resident_variables():`` the device copy is authoritative: each
  variable is uploaded on first use, stays on the device across calls (a compiled
  training step runs end to end there) and is copied back to the host when the block
  exits. Do not read or assign such variables from the host inside the block.

    step = device_function(train_step)           # train_step: a jg.function
    x = to_device(batch_x)
    with resident_variables():
        for _ in range(100):
            loss = step(x, batch_y)               # a DeviceTensor
    print(loss.numpy(), w.numpy())

Tested by tests/test_cuda_run.py on the CPU emulator (every test run) and on a GPU
(``gpu``).
"""

import contextlib

import numpy as np

from . import cuda_driver


class DeviceTensor:
    """An immutable array in GPU memory.

    >>> t = to_device(np.arange(3, dtype=np.float32)); t.numpy()
    array([0., 1., 2.], dtype=float32)
    """

    __array_priority__ = 200

    def __init__(self, alloc, shape, dtype):
        self._alloc = alloc  # pycuda DeviceAllocation (freed with this object)
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)

    @property
    def ptr(self):
        return int(self._alloc)

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def ndim(self):
        return len(self.shape)

    def numpy(self):
        """A host copy (NumPy array)."""
        out = np.empty(self.shape, self.dtype)
        return cuda_driver.get().dtoh(out, self.ptr)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        return f"DeviceTensor(shape={self.shape}, dtype={self.dtype.name})"


def to_device(x, dtype=None):
    """``x`` (array, Tensor, nested list, DeviceTensor) as a DeviceTensor."""
    if isinstance(x, DeviceTensor):
        return x
    a = np.asarray(x, dtype=dtype, order="C")
    drv = cuda_driver.get()
    buf = drv.alloc(a.nbytes)
    drv.htod(buf, a)
    return DeviceTensor(buf, a.shape, a.dtype)


# ----------------------------------------------------------------------------- variables


class _Mirrors:
    """Device copies of Variables: id(var) -> [var, allocation]."""

    def __init__(self):
        self.resident = 0  # depth of resident_variables() blocks
        self.copies = {}
        self.fresh = set()  # ids uploaded during the current resident block

    def pointer(self, var, upload):
        """Device address of ``var``'s copy, uploading the host value when ``upload``."""
        drv = cuda_driver.get()
        entry = self.copies.get(id(var))
        if entry is None or entry[0] is not var:
            entry = self.copies[id(var)] = [var, drv.alloc(var._value.nbytes)]
            upload = True
        if self.resident:
            if id(var) in self.fresh:
                return int(entry[1])
            self.fresh.add(id(var))
            upload = True
        if upload:
            drv.htod(entry[1], var._value)
        return int(entry[1])

    def write_back(self, var):
        drv = cuda_driver.get()
        drv.dtoh(var._buffer_for_write(), self.copies[id(var)][1])

    def end_resident(self):
        for vid in self.fresh:
            var = self.copies[vid][0]
            self.write_back(var)
        self.fresh.clear()


MIRRORS = _Mirrors()


@contextlib.contextmanager
def resident_variables():
    """Keeps variables used by cuda calls on the device until the block exits (see the
    module docstring)."""
    MIRRORS.resident += 1
    try:
        yield
    finally:
        MIRRORS.resident -= 1
        if not MIRRORS.resident:
            MIRRORS.end_resident()


# ----------------------------------------------------------------------------- functions


class DeviceFunction:
    """A ``jg.function`` whose graphs run with the cuda backend on device tensors."""

    def __init__(self, function):
        self.function = function
        self._compiled = {}  # id(concrete) -> (concrete, executable)

    def __call__(self, *args):
        from .. import backends, dtypes
        from ..concrete import _map_struct
        from ..ir import copy_graph
        from ..tensor import TensorSpec

        specs = [TensorSpec(np.shape(a), dtypes.as_dtype(np.dtype(a.dtype)))
                 if isinstance(a, DeviceTensor) else a for a in args]
        cf = self.function.get_concrete_function(*specs)
        hit = self._compiled.get(id(cf))
        if hit is None or hit[0] is not cf:
            exe = backends.get("cuda").compile(copy_graph(cf.graph))
            hit = self._compiled[id(cf)] = (cf, exe)
        arrays = [a if isinstance(a, DeviceTensor) else np.asarray(getattr(a, "_value", a))
                  for a in args]
        outs = hit[1].run_device(arrays)
        return _map_struct(cf._out, lambda i: outs[i])


def device_function(function):
    """Wraps a ``jg.function`` so it runs on the GPU with DeviceTensor results.

    >>> f = device_function(jg.function(lambda x: jg.exp(x) * 2))
    >>> y = f(to_device(np.ones(4, np.float32))); y.numpy()
    """
    return DeviceFunction(function)


__all__ = ["DeviceTensor", "to_device", "device_function", "resident_variables", "MIRRORS"]
