"""Every native op has its five files named alike, and the op map (bindings/README.md) lists them.

For an op <op> (one header csrc/include/lucid_fast/<op>.h; lf_*.h are shared, not ops): the CPU driver
csrc/cpu/<op>_cpu.cpp with its prototypes in <op>_cpu.h, the CUDA kernels csrc/cuda/<op>.cu (included by
kernels.cu), the Cython binding bindings/<op>.pxi (included by cpu_ops.pxi), the Python wrapper
bindings/op_<op>.py (imported as lucid_fast._bindings.op_<op>), and the tests tests/cpp/test_<op>.cpp and
tests/ops/test_<op>.py. Runs on the repository checkout.
"""
import importlib
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADERS = os.path.join(ROOT, "csrc", "include", "lucid_fast")
OPS = sorted(name[:-2] for name in os.listdir(HEADERS) if name.endswith(".h") and not name.startswith("lf_"))


def _read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def test_the_ops():
    assert OPS == ["adam", "color", "sample", "spectrum", "tv", "upsample", "warp"]


@pytest.mark.parametrize("op", OPS)
def test_op_files_are_named_alike(op):
    files = [f"csrc/include/lucid_fast/{op}.h", f"csrc/cpu/{op}_cpu.h", f"csrc/cpu/{op}_cpu.cpp",
             f"csrc/cuda/{op}.cu", f"bindings/{op}.pxi", f"bindings/op_{op}.py", f"tests/cpp/test_{op}.cpp",
             f"tests/ops/test_{op}.py"]
    missing = [f for f in files if not os.path.isfile(os.path.join(ROOT, f))]
    assert not missing, f"{op}: missing {missing}"
    assert f'#include "{op}.cu"' in _read("csrc", "cuda", "kernels.cu")
    assert f'include "{op}.pxi"' in _read("bindings", "cpu_ops.pxi")
    assert f'cdef extern from "{op}_cpu.h"' in _read("bindings", f"{op}.pxi")
    assert f'#include "lucid_fast/{op}.h"' in _read("csrc", "cuda", f"{op}.cu")
    assert f'#include "lucid_fast/{op}.h"' in _read("csrc", "cpu", f"{op}_cpu.h")
    module = importlib.import_module(f"lucid_fast._bindings.op_{op}")
    assert os.path.basename(module.__file__) == f"op_{op}.py"
    assert f"lucid_fast._bindings.op_{op}" in module.__doc__


@pytest.mark.parametrize("op", OPS)
def test_op_map_lists_the_op(op):
    readme = _read("bindings", "README.md")
    row = re.search(rf"^\| {op} \|.*$", readme, re.M)
    assert row, f"bindings/README.md has no row for {op}"
    assert f"tests/cpp/test_{op}.cpp" in row.group(0) and f"tests/ops/test_{op}.py" in row.group(0)
    ops_py = _read("lucid_fast", "ops.py")
    assert f"from lucid_fast._bindings.op_{op} import" in ops_py
    for public in re.findall(r"`(\w+)`", row.group(0).split("|")[2]):
        assert re.search(rf"\b{public}\b", ops_py), f"{public} is not in lucid_fast/ops.py"
