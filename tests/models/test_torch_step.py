"""The PyTorch side of the step (``TorchObjectiveStep``): the whole input gradient against the same pipeline
written in plain torch, finite differences, Lucid's redirected ReLU gradient (nn.ReLU, in place, F.relu,
nn.ReLU6, forced), and a render that raises its objective."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402,N812

from lucid_fast import ops  # noqa: E402
from lucid_fast.models.torch_adapter import TorchAdapter  # noqa: E402
from lucid_fast.optvis import objectives, param  # noqa: E402
from lucid_fast.optvis.render import render_vis  # noqa: E402

RANGE = (-1.0, 2.0)
MEAN, STD = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.5, 0.25, 2.0])


def _net(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential()
    net.add_module("conv1", nn.Conv2d(3, 8, 3, padding=1))
    net.add_module("relu1", nn.ReLU(inplace=True))
    net.add_module("conv2", nn.Conv2d(8, 6, 3, padding=1))
    net.add_module("bn2", nn.BatchNorm2d(6))
    net.add_module("relu2", nn.ReLU())
    net.bn2.running_mean.uniform_(-0.2, 0.2)
    net.bn2.running_var.uniform_(0.5, 2.0)
    return net.eval()


def _normalize(x_nchw):
    return (x_nchw - MEAN[:, None, None]) / STD[:, None, None]


def _aligned(a):
    out = ops.empty_aligned(a.shape)
    out[...] = a
    return out


def _images(shape=(2, 10, 12, 3), seed=1):
    rng = np.random.default_rng(seed)
    return _aligned(rng.uniform(0, 1, shape).astype(np.float32)), _aligned(rng.uniform(0, 1, shape).astype(
        np.float32))


WEIGHTS = torch.from_numpy(np.random.default_rng(5).normal(size=(2, 10, 12, 6)).astype(np.float32))


def _objective_fn(T):
    return (T("relu2") * WEIGHTS).sum() + 0.5 * T("conv1")[..., 2].mean() + 0.3 * (T("input") ** 2).sum()


def _reference(net, x, x_raw):
    """The same objective and gradients in plain torch: mapping, NCHW, normalization, the modules."""
    x_t = torch.from_numpy(np.array(x)).requires_grad_(True)
    x_raw_t = torch.from_numpy(np.array(x_raw)).requires_grad_(True)
    lo, hi = RANGE
    inp = _normalize((lo + x_t * (hi - lo)).permute(0, 3, 1, 2))
    conv1 = net.conv1(inp)
    conv1_nhwc = conv1.permute(0, 2, 3, 1).clone()
    relu2 = net.relu2(net.bn2(net.conv2(F.relu(conv1))))
    loss = (relu2.permute(0, 2, 3, 1) * WEIGHTS).sum() + 0.5 * conv1_nhwc[..., 2].mean() + \
        0.3 * (x_raw_t ** 2).sum()
    gx, graw = torch.autograd.grad(loss, [x_t, x_raw_t])
    return loss.item(), gx.numpy(), graw.numpy()


def _step(net, objective, shape=(2, 10, 12, 3)):
    adapter = TorchAdapter(net, image_shape=(16, 16, 3), image_value_range=RANGE, preprocess=_normalize)
    return adapter.objective_step(objective, shape)


def test_step_gradients_match_plain_torch():
    net = _net()
    x, x_raw = _images()
    loss, gx, graw = _reference(net, x, x_raw)
    step = _step(net, objectives.Objective(_objective_fn))
    out = step(x, x_raw, False, None)
    assert out.loss == pytest.approx(loss, rel=1e-5)
    assert np.abs(gx).max() > 1e-3 and np.abs(graw).max() > 1e-3
    np.testing.assert_allclose(out.grad_x, gx, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out.grad_raw, graw, rtol=1e-4, atol=1e-6)
    assert step.layers == ("relu2", "conv1")


def test_step_gradient_matches_finite_differences():
    net = _net()
    x, x_raw = _images()
    obj = objectives.Objective(lambda T: T("conv2")[..., 4].mean() * 10)
    step = _step(net, obj)
    grad = np.array(step(x, x_raw, False, None).grad_x)
    eps = 2e-3
    for index in [(0, 3, 4, 0), (1, 5, 7, 2), (0, 0, 11, 1), (1, 9, 0, 0)]:
        plus, minus = np.array(x), np.array(x)
        plus[index] += eps
        minus[index] -= eps
        numeric = (step(_aligned(plus), x_raw, False, None).loss - step(_aligned(minus), x_raw, False, None).loss) \
            / (2 * eps)
        assert grad[index] == pytest.approx(numeric, rel=2e-2, abs=3e-4)


def test_step_with_alpha_and_feeds_and_per_item():
    net = _net()
    x, x_raw = _images(shape=(2, 10, 12, 3))
    xa = _aligned(np.concatenate([x, x[..., :1] * 0.5], -1))
    seen = {}

    def fn(T):
        seen["alpha"], seen["target"] = T("alpha_transformed"), T("target")
        return (T("conv1")[..., :3] * T("alpha_transformed") * T("target")).mean(dim=(1, 2, 3))

    obj = objectives.PerImageObjective(fn)
    adapter = TorchAdapter(net, image_shape=(16, 16, 3))
    step = adapter.objective_step(obj, (2, 10, 12, 3), on_alpha=lambda: None, per_item=True,
                                  feeds={"target": ((3,), np.float32)})
    assert step.wants_alpha
    target = np.array([1.0, -2.0, 0.5], np.float32)
    out = step(xa, x_raw, False, {"target": target})
    assert isinstance(seen["target"], torch.Tensor) and seen["alpha"].shape == (2, 10, 12, 1)
    x_t = torch.from_numpy(np.array(xa)).requires_grad_(True)
    conv1 = net.conv1(x_t[..., :3].permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    per = (conv1[..., :3] * x_t[..., 3:] * torch.from_numpy(target)).mean(dim=(1, 2, 3))
    (gx,) = torch.autograd.grad(per.sum(), [x_t])
    np.testing.assert_allclose(out.per_item, per.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(out.grad_x, gx.numpy(), rtol=1e-4, atol=1e-7)


def test_custom_objective_gets_nhwc_torch_tensors():
    net = _net()
    got = []

    def fn(T):
        got.append((T("relu2"), T("input"), T("conv1")))
        return T("relu2")[..., 3].mean()

    step = _step(net, objectives.Objective(fn))
    x, x_raw = _images()
    step(x, x_raw, False, None)
    relu2, inp, conv1 = got[-1]
    assert all(isinstance(t, torch.Tensor) for t in (relu2, inp, conv1))
    assert tuple(relu2.shape) == (2, 10, 12, 6) and tuple(conv1.shape) == (2, 10, 12, 8)
    assert tuple(inp.shape) == (2, 10, 12, 3)


# ---- Lucid's redirected ReLU gradient -----------------------------------------------------------------------------

class _Functional(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.conv, self.out, self.how = nn.Conv2d(3, 3, 1, bias=False), nn.Identity(), how

    def forward(self, x):
        y = self.conv(x)
        y = {"F.relu": F.relu, "torch.relu": torch.relu, "method": lambda t: t.relu(),
             "F.relu_inplace": lambda t: F.relu(t, inplace=True)}[self.how](y)
        return self.out(y)


def _identity_relu_net(kind):
    """conv (1x1, identity) -> a ReLU of ``kind``, read at ``"out"``: the ReLU's input is the mapped image."""
    if kind in ("relu", "relu_inplace", "relu6"):
        act = {"relu": nn.ReLU(), "relu_inplace": nn.ReLU(inplace=True), "relu6": nn.ReLU6()}[kind]
        net = nn.Sequential()
        net.add_module("conv", nn.Conv2d(3, 3, 1, bias=False))
        net.add_module("out", act)
    else:
        net = _Functional(kind)
    with torch.no_grad():
        net.conv.weight.copy_(torch.eye(3)[:, :, None, None])
    return net.eval()


def _hand_redirected(x, g, upper=None, mode=True):
    """The redirected gradient by hand (numpy), per batch item."""
    blocked = (x < 0) | ((x > upper) if upper is not None else False)
    ordinary = np.where(blocked, 0.0, g)
    wrong = ((x < 0) & (g < 0)) | (((x > upper) & (g > 0)) if upper is not None else False)
    redirected = np.where(wrong, 0.0, g)
    if mode == "force":
        return redirected
    if not mode:
        return np.where(blocked | (x == 0), 0.0, g)
    out = ordinary.copy()
    for b in range(x.shape[0]):
        if not ordinary[b].any():
            out[b] = redirected[b]
    return out


@pytest.mark.parametrize("kind", ["relu", "relu_inplace", "F.relu", "F.relu_inplace", "torch.relu", "method",
                                  "relu6"])
@pytest.mark.parametrize("mode", [False, True, "force"])
def test_redirected_relu_gradient(kind, mode):
    lo, hi = (-1.0, 0.2) if kind != "relu6" else (-1.0, 8.0)
    net = _identity_relu_net(kind)
    adapter = TorchAdapter(net, image_shape=(8, 8, 3), image_value_range=(lo, hi))
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (3, 6, 6, 3)).astype(np.float32)
    x[1] = rng.uniform(0, 0.7 if kind != "relu6" else 0.1, (6, 6, 3))  # item 1: every input below 0
    if kind == "relu6":
        x[2] = rng.uniform(0.8, 1.0, (6, 6, 3))  # item 2: every input above 6
    w = rng.normal(size=(3, 6, 6, 3)).astype(np.float32)
    step = adapter.objective_step(objectives.Objective(lambda T: (T("out") * torch.from_numpy(w)).sum()),
                                  x.shape)
    x = _aligned(x)
    out = step(x, x, mode, None)
    pre = lo + np.array(x) * (hi - lo)
    want = (hi - lo) * _hand_redirected(pre, w, 6.0 if kind == "relu6" else None, mode)
    np.testing.assert_allclose(out.grad_x, want, rtol=1e-5, atol=1e-6)
    assert np.abs(want[1]).max() > 0 or not mode  # the redirection shows on item 1
    if mode is False:
        assert not np.array(out.grad_x)[1].any()


def test_redirected_relu_leaves_the_forward_unchanged_and_in_place_stays_in_place():
    from lucid_fast.models.torch_overrides import ReluOverrideMode

    x_t = torch.randn(2, 3, 4, 4, requires_grad=True)
    y_t = x_t * 1.0
    with ReluOverrideMode():
        z_t = F.relu(y_t, inplace=True)
        c_t = torch.clamp(x_t, min=0)  # not a ReLU the mode covers: the ordinary gradient
    assert z_t is y_t and torch.equal(z_t, torch.relu(x_t))
    (gc,) = torch.autograd.grad(c_t.sum() - 3 * c_t.sum(), [x_t])
    assert torch.equal(gc, torch.where(x_t > 0, -2.0, 0.0))


# ---- a render --------------------------------------------------------------------------------------------------------

def test_render_vis_raises_the_objective():
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("conv1", nn.Conv2d(3, 8, 3, padding=1))
    net.add_module("relu1", nn.ReLU(inplace=True))
    net.add_module("conv2", nn.Conv2d(8, 6, 3, padding=1))
    net.eval()
    adapter = TorchAdapter(net, image_shape=(32, 32, 3))
    images = render_vis(adapter, "conv2:3", param_f=lambda: param.image(32), thresholds=(0, 32), verbose=False,
                        seed=1)

    def value(img):
        return adapter.activation_fn("conv2")(torch.from_numpy(img))["conv2"][..., 3].mean().item()

    start, end = value(images[0]), value(images[-1])
    assert end > start + 0.015, (start, end)
