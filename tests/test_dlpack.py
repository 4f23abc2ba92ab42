"""The DLPack seam: zero-copy both ways, and an unaligned buffer is refused instead of aborting TF."""
import numpy as np
import pytest

from lucid_fast import ops
from lucid_fast._bindings import dlpack


def test_numpy_to_tf_is_zero_copy_and_aligned():
    x = ops.empty_aligned((2, 5, 7, 3))
    x[...] = np.arange(x.size, dtype=np.float32).reshape(x.shape)
    x_t = dlpack.to_tf(x)
    back = dlpack.from_tf(x_t)
    assert back.ctypes.data == x.ctypes.data  # the same buffer, both ways
    x[0, 0, 0, 0] = -7.0
    assert float(x_t[0, 0, 0, 0]) == -7.0
    assert float((x_t * 2.0)[1, 4, 6, 2]) == 2 * x[1, 4, 6, 2]  # TF ops run on it without aborting


def test_unaligned_array_is_refused():
    raw = ops.empty_aligned((1000,))
    unaligned = raw[1:1 + 4 * 4 * 3].reshape(1, 4, 4, 3)  # 4 bytes past a 64-byte boundary
    with pytest.raises(ValueError, match="64-byte aligned"):
        dlpack.to_tf(unaligned)


def test_non_contiguous_is_refused():
    x = ops.empty_aligned((2, 8, 8, 3))
    with pytest.raises(ValueError, match="C-contiguous"):
        dlpack.to_tf(x[:, ::2])


def test_every_op_output_is_aligned(rng):
    for shape in [(1, 7, 5, 3), (3, 9, 11, 4), (2, 6, 6, 1)]:
        x = rng.normal(size=shape).astype(np.float32)
        assert ops.total_variation(x)[1].ctypes.data % 64 == 0
        for _ in range(5):  # allocation offsets vary: check several
            assert ops.empty_aligned(shape).ctypes.data % 64 == 0
