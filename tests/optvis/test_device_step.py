"""The engine's device-generic step on the host, and its refusals for devices it cannot use (no GPU needed).

The host path through the generic code keeps its bytes: tests/engine/test_reference_bytes.py (8 recorded
hashes) runs every way the library optimizes an image through it. Here: the engine takes its device from the
adapter, refuses an unknown or unusable one with a clear error before any step, and a parameterization stage
without a CUDA implementation is refused by name instead of running on the host.
"""
import numpy as np
import pytest

from lucid_fast import ops
from lucid_fast._bindings.device import Device, DeviceError
from lucid_fast.bench.gpu_render import _Objective, synthetic_adapter
from lucid_fast.optvis import param, transform
from lucid_fast.optvis.device_batch import UNMEASURED_BYTES_PER_IMAGE_PIXEL, channels_per_optimization
from lucid_fast.optvis.engine import Engine
from lucid_fast.optvis.optimizers import Adam


def _engine(adapter, node=None, seed=3, **kw):
    node = node if node is not None else param.image(32, batch=2)
    return Engine(adapter, _Objective(), param.ParamGraph(node), transform.make_chain(None), Adam(0.05), seed=seed,
                  **kw)


def test_host_engine_runs_on_numpy_and_is_deterministic():
    a, b = _engine(synthetic_adapter("cpu")), _engine(synthetic_adapter("cpu"))
    assert a.device is ops.device("cpu") and a.stream is None
    for _ in range(4):
        la, lb = a.step(), b.step()
        assert la == lb
    assert all(isinstance(p.value, np.ndarray) and p.value.ctypes.data % 64 == 0 for p in a.graph.params)
    assert all(isinstance(m, np.ndarray) for pair in a._moments.values() for m in pair)
    img = a.image()
    assert isinstance(img, np.ndarray) and img.shape == (2, 32, 32, 3)
    assert np.array_equal(img, b.image())
    assert not np.array_equal(img, _engine(synthetic_adapter("cpu"), seed=4).image())  # the seed matters


@pytest.mark.parametrize("spec", ["tpu", "cuda:x"])
def test_unknown_device_from_the_adapter_is_a_clear_error(spec):
    adapter = synthetic_adapter("cpu")
    adapter.device = lambda: spec
    with pytest.raises(DeviceError, match="unknown device"):
        _engine(adapter)


def test_cuda_adapter_without_a_gpu_fails_before_any_step():
    import cupy

    if cupy.cuda.is_available():
        pytest.skip("a CUDA GPU is visible to CuPy here: tests/gpu/test_gpu_engine.py runs the CUDA engine")
    adapter = synthetic_adapter("cpu")
    adapter.device = lambda: "cuda:0"
    with pytest.raises(DeviceError, match="cuda:0"):
        _engine(adapter)


def test_place_refuses_a_host_only_stage_by_name():
    node = param.lowres_tensor((4, 16, 16, 3), (2, 8, 8, 3))  # InterpolateBatch: host only
    graph = param.ParamGraph(param.to_valid_rgb(node))
    with pytest.raises(NotImplementedError, match=r"InterpolateBatch.*runs on cpu only, not on cuda:0"):
        graph.place(Device("cuda", 0))
    tf_graph = param.ParamGraph(param.TFParam((1, 8, 8, 3), build=lambda rng: ([], lambda: None)))
    with pytest.raises(NotImplementedError, match=r"TFParam"):
        tf_graph.place(Device("cuda", 0))


def test_place_accepts_the_render_parameterizations_and_leaves_the_host_as_it_was():
    cuda = Device("cuda", 0)  # placing allocates nothing: parameters are made at initialize
    for node in (param.image(16, batch=2), param.image(16, fft=False), param.grayscale_image_rgb(16),
                 param.lowres_tensor((2, 16, 16, 3), (2, 8, 8, 3)), param.image(16) * 0.5 + param.image(16),
                 param.concat([param.image(16, channels=1), param.image(16, channels=2)], -1)[..., :3]):
        graph = param.ParamGraph(node)
        graph.place(cuda)
        assert all(p.device is cuda for p in graph.params)
        graph.place("cpu")
        assert all(p.device is None for p in graph.params) and graph.device.is_host


def test_cuda_engine_refuses_a_tf_optimizer_and_a_host_only_parameterization(monkeypatch):
    """The refusals _place_graph makes, reached with a CUDA Device whose creation is stubbed (no GPU here)."""
    cuda = Device("cuda", 0)
    real = ops.device
    monkeypatch.setattr(ops, "device", lambda spec="cpu": cuda if spec in ("cuda:0", cuda) else real(spec))
    adapter = synthetic_adapter("cpu")
    adapter.device = lambda: "cuda:0"
    node = param.lowres_tensor((4, 16, 16, 3), (2, 8, 8, 3))
    with pytest.raises(NotImplementedError, match="InterpolateBatch"):
        _engine(adapter, node=node)

    class GridLike:  # a parameterization with its own update and no place(): host only
        output_shape = (1, 16, 16, 3)
        params, tf_params = [], []

    with pytest.raises(NotImplementedError, match="GridLike runs on the host only"):
        Engine(adapter, _Objective(), GridLike(), transform.make_chain(None), Adam(0.05), seed=0)


def test_collapse_alpha_runs_through_the_device_layer_on_the_host():
    chain = transform.make_chain([transform.collapse_alpha_random(), transform.jitter(2)])
    chain.check_device(ops.device("cpu"))
    rng = np.random.default_rng(0)
    x = np.random.default_rng(1).uniform(size=(2, 8, 8, 4)).astype(np.float32)
    out, saved = chain.collapse.forward(x, rng)
    assert isinstance(out, np.ndarray) and out.shape == (2, 8, 8, 3) and out.ctypes.data % 64 == 0
    # against the composite written out: a * rgb + (1 - a) * background (same draws from the same generator)
    bg = chain.collapse.background(x.shape, np.random.default_rng(0))
    np.testing.assert_allclose(out, x[..., 3:] * x[..., :3] + (1 - x[..., 3:]) * bg, rtol=1e-5, atol=1e-6)
    g = chain.collapse.backward(np.ones_like(out), saved)
    assert g.shape == x.shape and np.allclose(g[..., :3], x[..., 3:])


# ---- K, the channels per optimization on a GPU ----------------------------------------------------------------

def test_channels_per_optimization():
    gib = 2 ** 30
    per = 1000
    # 80 GiB free, 20% reserved, 128 px at 1000 B/pixel = 16.4 MB per channel -> 5242 channels, capped at 256
    assert channels_per_optimization(80 * gib, 128, per) == 256
    assert channels_per_optimization(80 * gib, 128, per, max_channels=64) == 64
    # 1 GiB free: 0.8 GiB / (16.384 MB) = 52 channels; with negatives half of that
    assert channels_per_optimization(gib, 128, per) == int(0.8 * gib // (per * 128 ** 2))
    assert channels_per_optimization(gib, 128, per, negatives=True) == int(0.8 * gib // (2 * per * 128 ** 2))
    # the unmeasured default is used when no measurement is given
    assert channels_per_optimization(gib, 128) == int(0.8 * gib // (UNMEASURED_BYTES_PER_IMAGE_PIXEL * 128 ** 2))
    with pytest.raises(ValueError, match=r"one channel at 512 px needs about"):
        channels_per_optimization(2 ** 20, 512, per)
    for bad in (dict(free_bytes=0), dict(size=-1), dict(bytes_per_image_pixel=float("nan")),
                dict(reserve_fraction=1.0), dict(max_channels=0)):
        args = dict(free_bytes=gib, size=128, bytes_per_image_pixel=per) | bad
        with pytest.raises(ValueError, match="channels_per_optimization"):
            channels_per_optimization(**args)
