"""The engine's device-generic step on a CUDA GPU (issue 22): parameters, moments, transforms and gradients stay
on the device, the step moves no image-sized data between host and device, and the result matches the host's.

No TensorFlow (the GPU machines have none). Skipped, with the reason, where CuPy sees no GPU (tests/gpu_harness.py;
bench/gpu_check.sh makes that an error on the GPU machine).
"""
import numpy as np
import pytest

from lucid_fast import ops
from lucid_fast.bench.gpu_copies import CopyCounter
from lucid_fast.bench.gpu_render import _Objective, synthetic_adapter
from lucid_fast.optvis import param, transform
from lucid_fast.optvis.engine import Engine
from lucid_fast.optvis.optimizers import Adam

pytestmark = pytest.mark.gpu
MAX_COPY_BYTES = 1024  # a loss, a flag, per-image values, warp matrices (24 bytes per image): nothing image-sized


def _engine(adapter, node=None, seed=5, per_item=False):
    node = node if node is not None else param.image(48, batch=3)
    return Engine(adapter, _Objective(), param.ParamGraph(node), transform.make_chain(None), Adam(0.05), seed=seed,
                  per_item=per_item)


def test_state_lives_on_the_device_and_matches_the_host():
    import cupy

    gpu, cpu = _engine(synthetic_adapter("cuda:0")), _engine(synthetic_adapter("cpu"))
    assert gpu.device == ops.device("cuda:0")
    for _ in range(20):
        lg, lc = gpu.step(), cpu.step()
        assert abs(lg - lc) <= 1e-4 * max(1.0, abs(lc))
    assert all(isinstance(p.value, cupy.ndarray) for p in gpu.graph.params)
    assert all(isinstance(m, cupy.ndarray) for pair in gpu._moments.values() for m in pair)
    img = gpu.image()
    assert isinstance(img, np.ndarray)
    np.testing.assert_allclose(img, cpu.image(), atol=2e-3)


@pytest.mark.parametrize("node", [lambda: param.image(48, batch=2), lambda: param.image(48, fft=False, batch=2),
                                  lambda: param.lowres_tensor((2, 48, 48, 3), (2, 12, 12, 3)) * 0.5 + 0.5])
def test_no_image_sized_copies_in_a_step(node):
    eng = _engine(synthetic_adapter("cuda:0"), node=node(), per_item=True)
    for _ in range(2):
        eng.step()
    with CopyCounter() as c:
        for _ in range(20):  # steps 2..21: across the end of the redirected-ReLU steps (16)
            eng.step()
    big = [e for e in c.events if e[3] > MAX_COPY_BYTES]
    assert not big, big
    # per step: the loss (and per-image values) from the model side, the finite check, the dead-image check in
    # the redirected-ReLU steps; one upload: the warp matrices
    assert c.count("h2d") <= 20, c.summary()
    assert c.count("d2h") <= 4 * 20, c.summary()


def test_scope_runs_cupy_on_the_given_stream():
    import cupy

    dev = ops.device("cuda:0")
    stream = cupy.cuda.Stream(non_blocking=True)
    with dev.scope(stream.ptr):
        assert cupy.cuda.get_current_stream().ptr == stream.ptr
        x = dev.zeros((1, 8, 8, 3))
        y = dev.ops.to_valid_rgb(x)
    stream.synchronize()
    np.testing.assert_allclose(cupy.asnumpy(y), 0.5)


def test_host_array_in_a_cuda_step_is_refused():
    dev = ops.device("cuda:0")
    with pytest.raises(ops.DeviceError, match="on the host"):
        dev.ops.to_valid_rgb(np.zeros((1, 4, 4, 3), np.float32))


def test_torch_model_on_cuda_renders_without_image_sized_copies():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip(f"PyTorch {torch.__version__} sees no CUDA device (a CPU build): the torch step on CUDA is "
                    f"not tested here")
    from lucid_fast.models.torch_adapter import TorchAdapter
    from lucid_fast.optvis import objectives

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 6, 3, padding=1), torch.nn.ReLU()).eval()
    results = {}
    for where in ("cpu", "cuda:0"):
        adapter = TorchAdapter(net.to(where), image_shape=(48, 48, 3), name="tiny")
        layer = [i.name for i in adapter.layers() if i.channels == 6][-1]
        eng = Engine(adapter, objectives.channel(layer, 2), param.ParamGraph(param.image(48)),
                     transform.make_chain(None), Adam(0.05), seed=1)
        assert eng.device.name == where and (where == "cpu") == (eng.stream is None)
        for _ in range(3):
            eng.step()
        with CopyCounter() as c:
            losses = [eng.step() for _ in range(5)]
        assert not [e for e in c.events if e[3] > MAX_COPY_BYTES], c.summary()
        results[where] = (losses, eng.image())
    np.testing.assert_allclose(results["cuda:0"][0], results["cpu"][0], rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(results["cuda:0"][1], results["cpu"][1], atol=2e-2)
