"""Parameterizations: every one can fit a photo (Lucid's test), and the graph's backward is the gradient."""
import numpy as np
import pytest

from lucid_fast import ops
from adjoint import graph_finite_difference_test
from lucid_fast.optvis import param


def _target(h=48, w=40):
    from skimage import data
    from skimage.transform import resize

    img = resize(data.astronaut(), (h, w), anti_aliasing=True).astype(np.float32)
    return img[None]


def _fit(node, target, steps, lr=0.05, seed=0):
    graph = param.ParamGraph(node)
    graph.initialize(np.random.default_rng(seed))
    moments = {id(p): (ops.zeros_aligned(p.shape), ops.zeros_aligned(p.shape)) for p in graph.params}
    for t in range(1, steps + 1):
        img = graph.forward()
        grads = graph.backward(-(img - target))  # ascent on -0.5 * ||img - target||^2
        for p in graph.params:
            m, v = moments[id(p)]
            ops.adam_update(p.value, np.ascontiguousarray(grads[p]), m, v, t, learning_rate=lr, maximize=True)
    return graph.forward()


PARAMS = {
    "pixel": lambda s: param.to_valid_rgb(param.pixel_image(s), decorrelate=False),
    "pixel_decorrelated": lambda s: param.to_valid_rgb(param.pixel_image(s), decorrelate=True),
    "fft": lambda s: param.to_valid_rgb(param.fft_image(s), decorrelate=True),
    "image": lambda s: param.image(s[2], h=s[1]),
    "laplacian_pyramid": lambda s: param.to_valid_rgb(param.laplacian_pyramid_image(s), decorrelate=True),
}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_param_can_fit_image(name):
    target = _target()
    start = float(np.mean(np.abs(0.5 - target)))  # a grey image's error
    fitted = _fit(PARAMS[name](target.shape), target, steps=300)
    err = float(np.mean(np.abs(fitted - target)))
    assert err < 0.04, f"{name}: mean abs error {err:.4f} after fitting (start ~{start:.3f})"


def test_graph_backward_matches_finite_differences(rng):
    """A graph mixing every node kind: backward equals central differences of a random linear functional."""
    shape = (2, 9, 8, 4)
    low = param.lowres_tensor(shape, (1, 5, 4, 4), offset=True)
    node = param.to_valid_rgb(param.fft_image(shape) + 0.5 * low - param.pixel_image(shape), decorrelate=True)
    node = param.concat([node[..., :3], node[..., 3:]], axis=-1)
    graph = param.ParamGraph(node)
    graph.initialize(np.random.default_rng(3))
    for p in graph.params:
        p.value[...] = rng.normal(0, 0.5, p.shape)
    graph_finite_difference_test(graph, rng)  # TOL["fd"]


def test_initialization_is_seeded():
    a = param.ParamGraph(param.image(16, batch=2))
    b = param.ParamGraph(param.image(16, batch=2))
    a.initialize(np.random.default_rng(7))
    b.initialize(np.random.default_rng(7))
    assert np.array_equal(a.forward(), b.forward())
    b.initialize(np.random.default_rng(8))
    assert not np.array_equal(a.forward(), b.forward())


def test_image_shapes_and_range():
    g = param.ParamGraph(param.image(20, h=12, batch=3, alpha=True))
    g.initialize(np.random.default_rng(0))
    img = g.forward()
    assert img.shape == (3, 12, 20, 4) and img.min() >= 0 and img.max() <= 1
    assert img.std() > 0  # not flat
    gray = param.ParamGraph(param.grayscale_image_rgb(10))
    gray.initialize(np.random.default_rng(0))
    out = gray.forward()
    assert np.array_equal(out[..., 0], out[..., 2])


@pytest.mark.parametrize("call, match", [
    (lambda: param.fft_image((1, 8, 8)), "shape must be"),
    (lambda: param.pixel_image((1, 0, 8, 3)), "shape must be"),
    (lambda: param.lowres_tensor((2, 8, 8, 3), (3, 4, 4, 3)), "underlying batch"),
    (lambda: param.pixel_image((1, 4, 4, 3), init_val=np.zeros((1, 4, 4, 1))), "init_val must have shape"),
    (lambda: param.image(8)[1], "does not fit"),
    (lambda: param.image(8)[..., 3:3], "selects nothing"),
    (lambda: param.image(8)["red"], "numpy-style indexing"),
    (lambda: param.image(8) + param.image(6), "cannot add parameterizations"),
])
def test_param_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
