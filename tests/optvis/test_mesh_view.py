"""param.mesh_view: a texture rendered on a mesh from a random view each step, composited over a background.
Forward against its parts (rasterizer, sampling, compositing), backward by finite differences, views drawn from
the run's seed, and a render that raises the objective through the texture."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import graph_finite_difference_test
from lucid_fast import ops
from lucid_fast.misc.gl import glrenderer, meshes, meshutil
from lucid_fast.optvis import objectives, param, render
from lucid_fast.optvis.param.core import ParamGraph

VIEW = (48, 40)  # (width, height)


@pytest.fixture(scope="module")
def renderer():
    r = glrenderer.MeshRenderer(VIEW)
    yield r
    r.release()


@pytest.fixture(scope="module")
def torus():
    return meshes.torus(n_major=32, n_minor=16)


def _graph(node, seed=0):
    g = ParamGraph(node)
    g.initialize(np.random.default_rng(seed))
    return g


def test_forward_is_sample_times_alpha_over_background(renderer, torus):
    tex = param.image(32, 24, batch=2)
    mv = meshutil.lookat([2, 5, 10])
    node = param.mesh_view(tex, torus, renderer, views=[mv], background=[0.2, 0.4, 0.6])
    g = _graph(node)
    out = g.forward()
    assert out.shape == (2, VIEW[1], VIEW[0], 3) and out.ctypes.data % 64 == 0
    frags = renderer.render_mesh(modelview=mv, **torus)
    texture = node.texture()
    assert texture.shape == (2, 24, 32, 3)
    want = np.stack([ops.sample_bilinear(texture[b], np.ascontiguousarray(frags[..., :2])) for b in range(2)])
    alpha = frags[..., 3:]
    want = want * alpha + np.float32([0.2, 0.4, 0.6]) * (1 - alpha)
    np.testing.assert_allclose(out, want, atol=1e-6)
    assert 0.1 < alpha.mean() < 0.9


@pytest.mark.parametrize("background", [0.0, "random"])
def test_backward_finite_differences(renderer, torus, background, rng):
    node = param.mesh_view(param.image(16, 12), torus, renderer, views=[meshutil.lookat([0, 6, 9])],
                           background=background)
    graph_finite_difference_test(_graph(node), rng, rtol=2e-2)


def test_views_come_from_the_seed_and_are_used_once(renderer, torus):
    def views(seed, peek):
        node = param.mesh_view(param.image(16), torus, renderer, background="random")
        g = _graph(node, seed)
        out = []
        for step in range(4):
            if peek:  # looking at the image between steps shows the next view, and changes nothing
                first = g.forward().copy()
            x = g.forward()
            if peek:
                np.testing.assert_array_equal(first, x)
            out.append((node.last_view.copy(), x.copy()))
            g.backward(np.ones_like(x))
        return out

    a, b, c = views(0, False), views(0, True), views(1, False)
    for (va, xa), (vb, xb) in zip(a, b):
        np.testing.assert_array_equal(va, vb)
        np.testing.assert_array_equal(xa, xb)
    assert not np.allclose(a[0][0], a[1][0])  # a new view every step
    assert not np.allclose(a[0][0], c[0][0])  # another seed, other views
    for mv, _ in a:  # cameras at Lucid's default distances, looking at the origin
        eye = -mv[:3, :3].T @ mv[:3, 3]
        assert 10.0 <= np.linalg.norm(eye) <= 12.0 + 1e-4


def test_render_raises_the_objective_through_the_texture(renderer, torus):
    """render_vis on a small conv net sees a new random view each step; the objective, measured on a fixed set of
    other views before and after (single random views vary too much in how much of the object they show), rises,
    and the texture changes from its random start."""
    tf.keras.utils.set_random_seed(0)
    x = tf.keras.Input((None, None, 3))
    y = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    model = tf.keras.Model(x, y)
    node = param.mesh_view(param.image(16), torus, renderer, min_dist=6.0, max_dist=7.0, background="random")
    vis = render.make_vis_T(model, objectives.channel("conv1", 4), node, transforms=[], seed=0)
    held_out = [meshutil.sample_view(6.0, 7.0, rng=np.random.default_rng(100 + k)) for k in range(16)]

    def objective():
        return np.mean([model(node.render(mv, background=0.0))[..., 4].numpy().mean() for mv in held_out])

    before, tex0 = objective(), node.texture()
    for _ in range(30):
        vis.step()
    after, tex1 = objective(), node.texture()
    assert after > 1.1 * before, (before, after)
    assert np.abs(tex1 - tex0).mean() > 0.02
    shown = node.render(held_out[0], background=0.0)
    assert shown.shape == (1, VIEW[1], VIEW[0], 3) and shown.max() > 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(texture=None), "texture must be an NHWC parameterization"),
    (dict(mesh={"position": np.zeros((3, 3))}), "the mesh needs 'uv'"),
    (dict(min_dist=5.0, max_dist=4.0), "0 < min_dist <= max_dist"),
    (dict(background="checker"), "background must be a number, a colour of 3 numbers or 'random'"),
    (dict(background=[0.1, 0.2]), "background must be a number, a colour of 3 numbers"),
])
def test_bad_arguments(renderer, torus, kwargs, match):
    args = dict(texture=param.image(8), mesh=torus, renderer=renderer)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        param.mesh_view(**args)


def test_uninitialized_is_a_clear_error(renderer, torus):
    node = param.mesh_view(param.image(8), torus, renderer)
    with pytest.raises(RuntimeError, match="not initialized"):
        node.forward(np.zeros((1, 8, 8, 3), np.float32))
