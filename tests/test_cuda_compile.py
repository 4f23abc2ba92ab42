"""Every CUDA source compiles for sm_90 — checked here with NVRTC, which needs no GPU or driver."""
import re

import pytest

from lucid_fast._bindings import cupy_module


def test_nvrtc_compiles_all_kernels_for_sm90():
    pytest.importorskip("cupy_backends.cuda.libs.nvrtc", reason="CuPy's NVRTC binding is a test dependency")
    cubin, log = cupy_module.compile_with_nvrtc("sm_90")
    assert len(cubin) > 1000
    assert "warning" not in log.lower(), log
    # Every op's kernels made it into the module: each op file defines extern "C" kernels.
    names = set(re.findall(r'extern "C" __global__ void (lf_\w+)', cupy_module.inlined_source()))
    for op in ("tv", "spectrum", "color", "warp", "upsample", "sample", "adam"):
        assert any(n.startswith(f"lf_{op}") for n in names), f"no CUDA kernel for {op} in {sorted(names)}"


def test_inlined_source_hash_changes_with_a_header(tmp_path):
    """CuPy caches on the source text: an edited header must change the inlined text (and its hash)."""
    root = tmp_path / "csrc"
    (root / "include" / "lucid_fast").mkdir(parents=True)
    (root / "cuda").mkdir()
    header = root / "include" / "lucid_fast" / "h.h"
    header.write_text("#pragma once\n#define LF_X 1\n")
    (root / "cuda" / "kernels.cu").write_text('#include "lucid_fast/h.h"\nextern "C" __global__ void k() {}\n')
    first = cupy_module.inlined_source(root=str(root))
    header.write_text("#pragma once\n#define LF_X 2\n")
    second = cupy_module.inlined_source(root=str(root))
    assert first.splitlines()[0] != second.splitlines()[0]
    assert "#define LF_X 2" in second and "#include" not in second.split("\n", 1)[1]


def test_missing_include_is_a_clear_error(tmp_path):
    root = tmp_path / "csrc"
    (root / "cuda").mkdir(parents=True)
    (root / "include").mkdir()
    (root / "cuda" / "kernels.cu").write_text('#include "lucid_fast/nope.h"\n')
    with pytest.raises(FileNotFoundError, match="nope.h"):
        cupy_module.inlined_source(root=str(root))
