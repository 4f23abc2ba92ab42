"""The device layer (bindings/device.py, lucid_fast.ops.device): parsing, the op table, placement checks.

No GPU is needed: a CUDA Device object can be made without touching CuPy (only ``ops.device("cuda")`` checks that
CuPy sees a GPU), so the dispatch's refusals are tested here; tests/gpu/test_gpu_engine.py runs it on a GPU.
"""
import numpy as np
import pytest

from lucid_fast import ops
from lucid_fast._bindings import device as device_mod
from lucid_fast._bindings.device import Device, DeviceError


@pytest.mark.parametrize("spec, kind, index", [("cpu", "cpu", None), ("CPU", "cpu", None), ("cuda", "cuda", 0),
                                               ("cuda:3", "cuda", 3), (" cuda:0 ", "cuda", 0)])
def test_parse(spec, kind, index):
    assert device_mod.parse(spec) == (kind, index)


@pytest.mark.parametrize("spec", ["tpu", "rocm", "cuda:x", "cpu:1", "mps", "", 0, None])
def test_unknown_device_is_a_clear_error(spec):
    with pytest.raises(DeviceError, match="unknown device"):
        ops.device(spec)


def test_cuda_without_a_gpu_is_refused_not_a_host_fallback():
    """Here CuPy imports but sees no GPU: asking for CUDA must fail, naming why (never run on the host)."""
    try:
        import cupy

        if cupy.cuda.is_available():
            pytest.skip("a CUDA GPU is visible to CuPy here: covered by tests/gpu")
    except ImportError:
        pass
    with pytest.raises(DeviceError, match="cuda:0"):
        ops.device("cuda")


def test_host_device_is_numpy_and_aligned():
    dev = ops.device("cpu")
    assert dev is ops.device(dev) and dev.is_host and dev.xp is np and dev.name == "cpu"
    a = dev.empty((3, 5, 7, 3))
    assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.ctypes.data % 64 == 0
    assert not dev.zeros((4, 4)).any()
    host = np.arange(6, dtype=np.float64).reshape(2, 3)
    put = dev.put(host)
    assert put.dtype == np.float32 and np.array_equal(put, host) and put.ctypes.data % 64 == 0
    copy = dev.to_host(put)
    assert copy is not put and np.array_equal(copy, put)


def test_all_finite():
    dev = ops.device("cpu")
    a = np.ones((2, 3), np.float32)
    assert dev.all_finite(a, a)
    b = a.copy()
    b[1, 2] = np.nan
    assert not dev.all_finite(a, b)
    b[1, 2] = np.inf
    assert not dev.all_finite(b)


def test_host_ops_give_the_same_bytes_as_the_direct_ops(rng):
    """The generic path on numpy is the numpy path: the same function with the same arguments."""
    dev = ops.device("cpu")
    x = rng.normal(size=(2, 16, 20, 3)).astype(np.float32)
    mats = np.broadcast_to(np.float32([[1.0, 0.1, -2.0], [0.05, 0.9, 1.5]]), (2, 2, 3))
    assert np.array_equal(dev.ops.affine_warp(x, matrices=mats, out_hw=(12, 14)),
                          ops.affine_warp(x, mats, out_hw=(12, 14)))
    assert np.array_equal(dev.ops.to_valid_rgb(x), ops.to_valid_rgb(x))
    assert dev.ops.total_variation(x)[0] == ops.total_variation(x)[0]


def test_every_public_op_is_in_the_table():
    """A public op missing from the table would be unreachable through a device."""
    for name in device_mod.OPS["cpu"] | device_mod.OPS["cuda"]:
        assert callable(getattr(ops, name)), name
    for name in ("adam_update", "fft_image", "fft_image_adjoint", "to_valid_rgb", "to_valid_rgb_adjoint",
                 "affine_warp", "affine_warp_adjoint", "total_variation", "upsample_bilinear",
                 "upsample_bilinear_adjoint", "sample_bilinear", "sample_bilinear_adjoint"):
        assert name in device_mod.OPS["cpu"] and name in device_mod.OPS["cuda"], name


def test_op_without_a_kernel_for_the_device_is_refused_by_name(monkeypatch):
    monkeypatch.setitem(device_mod.OPS, "cuda", device_mod.OPS["cuda"] - {"fft_image"})
    dev = Device("cuda", 0)  # no CuPy call: the refusal comes before any array is touched
    with pytest.raises(NotImplementedError, match=r"fft_image: no CUDA kernel.*cuda:0.*does not copy to the host"):
        dev.ops.fft_image
    with pytest.raises(AttributeError, match="no native op 'not_an_op'"):
        dev.ops.not_an_op


def test_host_array_on_a_cuda_device_is_refused():
    dev = Device("cuda", 0)
    with pytest.raises(DeviceError, match=r"affine_warp on cuda:0: images is an array on the host"):
        dev.check_on("affine_warp", images=np.zeros((1, 2, 2, 3), np.float32))
    with pytest.raises(DeviceError, match=r"argument 0 is an array on the host"):
        dev.ops.to_valid_rgb(np.zeros((1, 2, 2, 3), np.float32))
    dev.check_on("affine_warp", matrices=np.zeros((1, 2, 3), np.float32), out_hw=(2, 2))  # small host data: ok
    assert not dev.owns(np.zeros(3))


def test_host_device_refuses_a_stream_and_device_of_numpy_is_the_host():
    with pytest.raises(DeviceError, match="stream"):
        ops.device("cpu").scope(stream=1234)
    with ops.device("cpu").scope():
        pass
    assert ops.device_of(np.zeros(2), None) is ops.device("cpu")
    assert ops.device_of() is ops.device("cpu")
    with pytest.raises(DeviceError, match="numpy or cupy"):
        ops.device_of([1.0, 2.0])
