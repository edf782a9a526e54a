#!/usr/bin/env bash
# GPU checks of the cuda backend in one call on a GPU machine (see ../shared/gpu/README.md):
# installs the carried wheels (.whl/: pycuda built here with
# ../shared/gpu/build-pycuda-wheel.sh .whl, plus pytest and hypothesis in case the device
# lacks them: pip download --only-binary=:all: --python-version 3.12 --implementation cp
# --platform manylinux2014_x86_64 -d .whl pytest hypothesis), prints the device, runs the gpu-marked tests and
# the GPU benchmarks, and writes logs under $OUT (default ./gpu-logs).
#
#   run(command="bash scripts/gpu_check.sh", carry=[".whl"], timeout_s=590)
#
# The benchmarks (the figures the CUDA issue asks for) run first, then the 715 gpu-marked
# tests (their emulator halves take ~140 s on 2 cores here), then the Python 3.12 checks; each
# stage has its own time limit, so a slow stage cannot starve the next.
set -uo pipefail
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
py=${PYTHON:-python3}
if ls .whl/*.whl >/dev/null 2>&1; then
  $py -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
else
  echo "no .whl/ wheels carried: pycuda must already be importable"
fi
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi -L
$py -c "import pycuda.driver as d; d.init(); print('pycuda', d.get_version(), d.Device(0).name())"
$py -c "from jitgraph.codegen import cuda; print('cuda backend available:', cuda.is_available(), cuda.cuda_driver.missing())"
rc=0
timeout 180 $py benchmarks/bench_cuda.py 2>&1 | tee "$OUT/bench_cuda.log" || rc=1
timeout 330 $py -m pytest -q -m gpu -p no:cacheprovider tests/test_cuda_run.py \
  --junitxml="$OUT/gpu_tests.xml" 2>&1 | tee "$OUT/gpu_tests.log" | tail -40 || rc=1
# that machine's Python (3.12) is the only other CPython the cpu backend's native dispatcher
# and output pool meet: their object-layout probes and reference counting, ~5 s
timeout 60 $py -m pytest -q -p no:cacheprovider tests/test_native_dispatch.py \
  tests/test_output_pool.py tests/test_vector_math.py 2>&1 | tee "$OUT/cpu_py312.log" | \
  tail -5 || rc=1
echo "gpu_check done (rc=$rc)"
exit $rc
