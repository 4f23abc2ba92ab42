"""The aligned-buffer pool behind ops.empty_aligned: a buffer is reused once no array uses it, never while
one does (a live array, a view of it, or a TensorFlow tensor sharing it through DLPack)."""
import gc

import numpy as np

from lucid_fast import ops
from lucid_fast._bindings import checks

BIG = (4, 128, 128, 3)  # 786 KB: above the pool's threshold


def test_freed_buffer_is_reused_and_aligned():
    a = ops.empty_aligned(BIG)
    addr = a.ctypes.data
    del a
    gc.collect()
    b = ops.empty_aligned(BIG)
    assert b.ctypes.data == addr
    assert b.ctypes.data % checks.ALIGNMENT == 0


def test_live_arrays_never_share_a_buffer():
    arrays = [ops.empty_aligned(BIG) for _ in range(12)]  # more than the pool keeps per size
    for i, a in enumerate(arrays):
        a[...] = i
    for i, a in enumerate(arrays):
        assert np.all(a == i)
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)


def test_a_live_view_keeps_its_buffer():
    a = ops.empty_aligned(BIG)
    view = a[1:, 5:9]
    view[...] = 3.0
    del a
    gc.collect()
    fresh = [ops.empty_aligned(BIG) for _ in range(3)]
    for f in fresh:
        f[...] = -1.0
        assert not np.shares_memory(f, view)
    assert np.all(view == 3.0)


def test_a_tf_tensor_from_dlpack_keeps_its_buffer():
    from lucid_fast._bindings import dlpack

    a = ops.empty_aligned(BIG)
    a[...] = 2.0
    x_t = dlpack.to_tf(a)
    del a
    gc.collect()
    fresh = [ops.empty_aligned(BIG) for _ in range(3)]
    for f in fresh:
        f[...] = -1.0
    assert float(np.asarray(x_t).min()) == 2.0 and float(np.asarray(x_t).max()) == 2.0


def test_ops_outputs_survive_later_ops():
    """Chained ops (each allocating from the pool) leave earlier outputs intact."""
    rng = np.random.default_rng(0)
    x = ops.empty_aligned(BIG)
    x[...] = rng.normal(size=BIG)
    y1 = ops.to_valid_rgb(x)
    keep = y1.copy()
    for _ in range(5):
        ops.to_valid_rgb_adjoint(x, y1)
        ops.total_variation(y1)
    np.testing.assert_array_equal(y1, keep)


def test_release_buffers_drops_the_pool():
    a = ops.empty_aligned(BIG)
    del a
    checks.release_buffers()
    assert checks._pool_bytes[0] == 0
