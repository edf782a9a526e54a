#!/usr/bin/env bash
# GPU checks of the cuda backend in one call on a GPU machine (see ../shared/gpu/README.md):
# installs the carried wheels (.whl/: pycuda built here with
# ../shared/gpu/build-pycuda-wheel.sh .whl, with its pure-Python dependencies; pytest and
# hypothesis wheels there too are installed only where the device lacks them), prints the
# device, runs the GPU benchmarks and the gpu-marked tests, and writes logs under $OUT
# (default ./gpu-logs).
#
#   run(command="bash scripts/gpu_check.sh", carry=[".whl"], timeout_s=380)
#
# The benchmarks (the figures the CUDA issue asks for) run first, then the gpu-marked tests
# (in parallel with pytest-xdist where the device has it), then the Python 3.12 checks of the
# cpu backend; each stage has its own time limit, so a slow stage cannot starve the next.
# GPU_TESTS (default tests/test_cuda_run.py) and BENCH=0 narrow a rerun.
set -uo pipefail
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
test_pkgs='^(pytest|pluggy|iniconfig|hypothesis|pygments|packaging|sortedcontainers)-'
if $py -c "import pytest, hypothesis" 2>/dev/null; then
  wheels=$(ls .whl/*.whl 2>/dev/null | grep -v -E "/${test_pkgs#^}")
else
  wheels=$(ls .whl/*.whl 2>/dev/null)
fi
if [ -n "$wheels" ]; then
  $py -m pip install -q --no-index --no-deps --no-compile --target /tmp/site $wheels
else
  echo "no .whl/ wheels carried: pycuda must already be importable"
fi
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi -L
$py -c "import sys, numpy, llvmlite, pytest, hypothesis; print(sys.version.split()[0], 'numpy', numpy.__version__, 'llvmlite', llvmlite.__version__, 'pytest', pytest.__version__, 'hypothesis', hypothesis.__version__)"
$py -c "import pycuda.driver as d; d.init(); print('pycuda', d.get_version(), d.Device(0).name(), d.Device(0).compute_capability())"
$py -c "from jitgraph.codegen import cuda; print('cuda backend available:', cuda.is_available(), cuda.cuda_driver.missing())"
rc=0
if [ "${BENCH:-1}" != 0 ]; then
  timeout 120 $py benchmarks/bench_cuda.py 2>&1 | tee "$OUT/bench_cuda.log" || rc=1
fi
par=""
$py -c "import xdist" 2>/dev/null && par="-n 12"
$py -c "import pytest_timeout" 2>/dev/null && par="$par --timeout 90 --timeout-method thread"
timeout ${TEST_LIMIT:-200} $py -m pytest -q -m gpu -p no:cacheprovider $par -rf \
  ${GPU_TESTS:-tests/test_cuda_run.py} --junitxml="$OUT/gpu_tests.xml" 2>&1 \
  | tee "$OUT/gpu_tests.log" | grep -v -E '^[.sFEx]+ *\[ *[0-9]+%\]$' | tail -150 || rc=1
# that machine's Python (3.12) is the only other CPython the cpu backend's native dispatcher
# and output pool meet: their object-layout probes and reference counting, ~5 s
timeout 40 $py -m pytest -q -p no:cacheprovider tests/test_native_dispatch.py \
  tests/test_output_pool.py tests/test_vector_math.py 2>&1 | tee "$OUT/cpu_py312.log" | \
  tail -5 || rc=1
echo "gpu_check done (rc=$rc)"
exit $rc
