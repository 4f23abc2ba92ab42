"""Feature inversion / caricature recipe on a tiny Keras model, and the neuron interaction grid recipe."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast.optvis import param, render
from lucid_fast.recipes import caricature as car
from lucid_fast.recipes import neuron_interaction as ni

SIZE = 32


@pytest.fixture(scope="module")
def photo():
    from skimage import data

    return data.astronaut()  # uint8 (512, 512, 3)


def test_dot_compare_value(rng):
    acts = rng.uniform(0, 1, size=(3, 4, 4, 5)).astype(np.float32)
    T = lambda name: tf.constant(acts)  # noqa: E731
    x, y = acts[2].ravel().astype(np.float64), acts[0].ravel().astype(np.float64)
    dot = x @ y
    cos = dot / (np.linalg.norm(x) * np.linalg.norm(y))
    assert abs(float(car.dot_compare("l", batch=2)(T)) - dot) < 1e-4 * dot
    for p in (0.5, 1.0, 3.0):
        want = dot * max(0.1, cos) ** p
        assert abs(float(car.dot_compare("l", batch=2, cossim_pow=p)(T)) - want) < 1e-4 * want
    # anti-aligned activations: the cosine factor is clamped at 0.1
    acts[2] = -acts[0]
    want = -float(np.sum(acts[0] ** 2)) * 0.1 ** 2
    assert abs(float(car.dot_compare("l", batch=2, cossim_pow=2)(T)) - want) < 1e-4 * abs(want)
    with pytest.raises(ValueError, match="cossim_pow"):
        car.dot_compare("l", cossim_pow=-1)
    with pytest.raises(TypeError, match="batch"):
        car.dot_compare("l", batch="1")


def test_fit_image(photo):
    out = car.fit_image(photo, 40)
    assert out.shape == (40, 40, 3) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    ref = tf.image.resize(photo[None].astype(np.float32) / 255, (40, 40), antialias=True)[0].numpy()
    assert_close(out, ref, "fwd", "square photo: a plain resize")
    wide = np.zeros((20, 60), np.uint8)
    wide[:, 20:40] = 255  # centre third white: a square crop of a wide gray image is all white
    sq = car.fit_image(wide, (10, 10))
    assert sq.shape == (10, 10, 3) and sq.min() > 0.99
    assert car.fit_image(np.ones((8, 8, 4), np.float32), 4).shape == (4, 4, 3)
    with pytest.raises(ValueError, match="fit_image"):
        car.fit_image(np.zeros((4, 4, 2)), 4)


def _sims(model, result, layers):
    return [float(car.activation_similarity(model, result[i + 1], result[0], layer)[0])
            for i, layer in enumerate(layers)]


def test_inversion_moves_towards_the_photo(tiny_model, photo):
    layers = ["conv1", "conv2", "conv2"]
    pows = [0.0, 0.0, 2.0]
    start = car.caricature(photo, tiny_model, layers, n_steps=0, cossim_pow=pows, size=SIZE, seed=3)
    assert start.shape == (4, SIZE, SIZE, 3)
    assert_close(start[0], car.fit_image(photo, SIZE), "fwd", "batch item 0 is the photo")
    end = car.feature_inversion(photo, tiny_model, layers, n_steps=24, cossim_pow=pows, size=SIZE, seed=3)
    assert_close(end[0], start[0], "fwd", "the photo is held fixed")
    s0, s1 = _sims(tiny_model, start, layers), _sims(tiny_model, end, layers)
    for layer, a, b in zip(layers, s0, s1):
        assert 1 - b < 0.6 * (1 - a), f"{layer}: cosine similarity to the photo {a:.3f} -> {b:.3f}"
    # a cosine-similarity power keeps the inversion closer to the photo's features than the plain caricature
    assert s1[2] > s1[1], f"conv2: cossim_pow=2 gives {s1[2]:.4f}, cossim_pow=0 {s1[1]:.4f}"
    # same seed, same result
    again = car.feature_inversion(photo, tiny_model, layers, n_steps=24, cossim_pow=pows, size=SIZE, seed=3)
    assert np.array_equal(end, again)


def test_caricature_arguments(tiny_model, photo):
    for bad in (3, [], ["conv1", 2]):
        with pytest.raises(TypeError, match="layer"):
            car.caricature(photo, tiny_model, bad, n_steps=0, size=SIZE)
    with pytest.raises(ValueError, match="cossim_pow"):
        car.caricature(photo, tiny_model, ["conv1", "conv2"], n_steps=0, cossim_pow=[0, 1, 2], size=SIZE)
    with pytest.raises(ValueError, match="n_steps"):
        car.caricature(photo, tiny_model, "conv1", n_steps=-1, size=SIZE)
    with pytest.raises(ValueError, match="param_f"):
        car.caricature(photo, tiny_model, "conv1", n_steps=0, size=SIZE, param_f=lambda b, h, w: param.image(8))
    sims = car.activation_similarity(tiny_model, np.stack([car.fit_image(photo, SIZE)] * 2), car.fit_image(
        photo, SIZE), "conv2")
    assert sims.shape == (2,) and np.allclose(sims, 1.0, atol=1e-5)


# ---- neuron interaction grid ---------------------------------------------------------------------------------

def test_pair_index_is_a_bijection():
    for n in (2, 3, 5):
        got = sorted(ni.pair_index(a, b, n) for a in range(n) for b in range(a + 1, n))
        assert got == list(range(n * (n - 1) // 2))
        assert all(ni.pair_index(a, b, n) == ni.pair_index(b, a, n) for a in range(n) for b in range(n) if a != b)
    with pytest.raises(ValueError):
        ni.pair_index(1, 1, 3)


def test_interaction_grid_param_sharing(rng):
    n, w = 3, 16
    node = ni.interaction_grid_param(n, w)
    assert node.shape == (n * n, w, w, 3)
    g = param.ParamGraph(node)
    g.initialize(rng)
    for p in g.params:
        p.value[...] = rng.normal(0, 0.3, p.shape)
    img = g.forward()
    assert 0 <= img.min() and img.max() <= 1
    assert_close(img[n * 0 + 1], img[n * 1 + 0], "fwd", "(n, m) and (m, n) are the same picture")
    pure = [p for p in g.params if p.shape[1] == n][0]  # the pure images' spectrum (2, N, 3, w, wf)
    pairs = [p for p in g.params if p.shape[1] == n * (n - 1) // 2 and p is not pure][0]
    for item, pure_grad in ((n * 0 + 1, False), (n * 2 + 2, True)):
        grad_out = np.zeros(img.shape, np.float32)
        grad_out[item] = rng.normal(size=img.shape[1:])
        grads = g.backward(grad_out)
        has = {p.name: p in grads and np.abs(grads[p]).max() > 0 for p in g.params}
        got_pure = pure in grads and np.abs(grads[pure]).max() > 0
        assert got_pure == pure_grad, f"item {item}: pure images get a gradient: {got_pure}"
        assert sum(has.values()) >= 2  # the shared terms always learn
        if not pure_grad:
            assert np.abs(grads[pairs]).max() > 0


def test_neuron_interaction_grid_renders(tiny_model):
    neurons = [("conv2", 1), ("conv2", 4)]
    out = ni.neuron_interaction_grid(tiny_model, neurons, width=24, n_steps=12, thresholds=(2, 12), seed=0,
                                     blur=1.0)
    assert len(out) == 2 and out[-1].shape == (4, 24, 24, 3)
    vis_acts = tiny_model(tf.constant(out[-1])).numpy()
    start_acts = tiny_model(tf.constant(out[0])).numpy()
    c = vis_acts.shape[1] // 2
    # the diagonal item of neuron 0 raised its centre activation
    assert vis_acts[0, c, c, 1] > start_acts[0, c, c, 1]
    pic = ni.grid_picture(out[-1], 2, crop=2)
    assert pic.shape == (2 * 20 + 2, 2 * 20 + 2, 3)


def test_interaction_grid_objective_is_lucids_sum(rng):
    """The one-read objective equals Lucid's sum of channel and neuron objectives per item."""
    from lucid_fast.optvis import objectives

    neurons = [("a", 1), ("b", 4), ("a", 3)]
    n = len(neurons)
    acts = {"a": tf.constant(rng.normal(size=(n * n, 5, 4, 6)).astype(np.float32)),
            "b": tf.constant(rng.normal(size=(n * n, 3, 3, 6)).astype(np.float32))}
    T = acts.__getitem__
    lucid = objectives.Objective.sum([
        0.2 * objectives.channel(*neurons[k], batch=n * i + j) + objectives.neuron(*neurons[k], batch=n * i + j)
        for i in range(n) for j in range(n) for k in (i, j)])
    got = float(ni.interaction_grid_objective(neurons, blur=0)(T))
    assert abs(got - float(lucid(T))) < 1e-4 * max(1.0, abs(got))
    with pytest.raises(ValueError):
        ni.interaction_grid_objective([("a", 1, 2)])
