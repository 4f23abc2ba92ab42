"""The GPU kernels against TensorFlow, on a machine without TensorFlow: every op on the inputs of
tests/gpu/tf_reference_data.npz (made by tests/gpu_reference.py on a CPU machine with TF; the CPU suite checks
the file against a fresh TF run and the CPU kernels against it) must reproduce TF's outputs and tape gradients.

Tolerance: TOL["gpu"] (the CPU kernels reach TOL["fwd"] / TOL["grad"] against the same data; the GPU adds FMA
contraction and flushed denormals, which TOL["gpu"] allows for).
"""
import numpy as np
import pytest

import gpu_reference
from tolerances import TOL

pytestmark = pytest.mark.gpu


def test_gpu_matches_tensorflow_reference_data():
    import cupy

    data = gpu_reference.load()
    rtol, atol = TOL["gpu"]
    results = gpu_reference.compare_ops(data, cupy)
    assert len(results) == 27
    for name, got, ref, _ in results:
        if np.ndim(ref) == 0:
            assert isinstance(got, float), f"{name}: the GPU path returned {type(got).__name__}"
            assert abs(got - float(ref)) <= atol + rtol * abs(float(ref)), (name, got, float(ref))
            continue
        assert isinstance(got, cupy.ndarray), f"{name}: the GPU path returned {type(got).__name__}, not cupy"
        np.testing.assert_allclose(cupy.asnumpy(got), ref, rtol=rtol, atol=atol, err_msg=f"{name}: GPU vs TF")
