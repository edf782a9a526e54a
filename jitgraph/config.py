"""Run-time switches, in one place: eager debugging of jg.functions, the default backend and
the stages dumped while compiling.

Environment variables (read when first needed):
  JITGRAPH_BACKEND   default backend of jg.function ("interpreter", "cpu", "cuda")
  JITGRAPH_DUMP      comma-separated stages printed to stderr when a function is traced or
                     compiled, e.g. ``JITGRAPH_DUMP=traced,optimized,llvm``
"""

import os
import sys

# The backend jg.function uses when neither backend= nor $JITGRAPH_BACKEND says otherwise.
DEFAULT_BACKEND = "cpu"

_run_eagerly = False


def run_functions_eagerly(run_eagerly):
    """Makes every ``jg.function`` run its Python function directly (for debugging).

    >>> jg.config.run_functions_eagerly(True)
    """
    global _run_eagerly
    _run_eagerly = bool(run_eagerly)


def functions_run_eagerly():
    """True after ``jg.config.run_functions_eagerly(True)``."""
    return _run_eagerly


class PhysicalDevice:
    """A device jitgraph can run on: ``name`` ("/physical_device:CPU:0") and
    ``device_type`` ("CPU" or "GPU"), as TensorFlow's ``tf.config.PhysicalDevice``."""

    __slots__ = ("name", "device_type")

    def __init__(self, name, device_type):
        self.name, self.device_type = name, device_type

    def __repr__(self):
        return f"PhysicalDevice(name={self.name!r}, device_type={self.device_type!r})"

    def __eq__(self, other):
        return isinstance(other, PhysicalDevice) and (self.name, self.device_type) == (
            other.name, other.device_type)

    def __hash__(self):
        return hash((self.name, self.device_type))


def _gpu_count():
    try:
        from .codegen import cuda_driver

        return 0 if cuda_driver.missing() else 1
    except Exception:  # no pycuda / no driver: no GPU to list
        return 0


def list_physical_devices(device_type=None):
    """The CPU, and the GPU when backend="cuda" can use one: ``jg.config.
    list_physical_devices("GPU")`` is empty on a machine without one."""
    devices = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    devices += [PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(_gpu_count())]
    return [d for d in devices if device_type is None or d.device_type == device_type.upper()]


def list_logical_devices(device_type=None):
    """Like ``list_physical_devices``, named "/device:CPU:0" (jitgraph does not split
    devices into logical ones)."""
    return [PhysicalDevice(d.name.replace("/physical_device:", "/device:"), d.device_type)
            for d in list_physical_devices(device_type)]


_log_placement = False


def set_log_device_placement(enabled):
    """When on, each jg.function prints the device it is compiled for when it first runs
    (``jg.debugging.set_log_device_placement(True)``). Eager ops always run on the CPU."""
    global _log_placement
    _log_placement = bool(enabled)


def log_placement(name, backend):
    if _log_placement:
        device = "/device:GPU:0" if backend == "cuda" else "/device:CPU:0"
        print(f"jg.function {name}: compiled for {device} (backend {backend!r})")


def default_backend():
    """The backend name jg.function uses by default: ``$JITGRAPH_BACKEND`` or DEFAULT_BACKEND."""
    return os.environ.get("JITGRAPH_BACKEND") or DEFAULT_BACKEND


def dump_stages():
    """The set of stage names listed in ``$JITGRAPH_DUMP``."""
    raw = os.environ.get("JITGRAPH_DUMP", "")
    return {s.strip() for s in raw.split(",") if s.strip()}


def dump(stage, name, text):
    """Prints ``text`` to stderr when ``stage`` is listed in ``$JITGRAPH_DUMP``."""
    if stage in dump_stages():
        print(f"==== {stage}: {name} ====\n{text}", file=sys.stderr)


__all__ = ["run_functions_eagerly", "functions_run_eagerly", "default_backend",
           "dump_stages", "dump", "list_physical_devices", "list_logical_devices",
           "PhysicalDevice", "set_log_device_placement"]
