import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import settings

# every optimize() in the test run verifies the graph after each pass
os.environ.setdefault("JITGRAPH_VERIFY", "1")
# compiled code comes from a cache private to this run (subprocesses inherit it), never from
# the user's ~/.cache/jitgraph
_OWN_CACHE = None
if "JITGRAPH_CACHE_DIR" not in os.environ:
    _OWN_CACHE = os.environ["JITGRAPH_CACHE_DIR"] = tempfile.mkdtemp(prefix="jitgraph-cache-")


def pytest_sessionfinish(session, exitstatus):
    if _OWN_CACHE:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)

settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _gpu_available():
    try:
        from jitgraph.codegen import cuda_driver

        return not cuda_driver.missing()  # a real GPU (the emulator runs unmarked tests)
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if _gpu_available():
        return
    skip = pytest.mark.skip(reason="no NVIDIA GPU with pycuda here")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_seed():
    np.random.seed(0)
    yield
