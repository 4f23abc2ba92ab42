"""Batch-axis parameterization stages and Lucid's multi_interpolation_basis: shapes, exact backward, sharing."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close, dot_product_test, graph_finite_difference_test
from lucid_fast.optvis import objectives, param, render
from lucid_fast.recipes import batch_nodes as bn
from lucid_fast.recipes import image_interpolation_params as ip


def _graph(node, seed=0, scale=0.5):
    g = param.ParamGraph(node)
    g.initialize(np.random.default_rng(seed))
    r = np.random.default_rng(seed + 1)
    for p in g.params:  # non-trivial values (the 0.01 init makes every term nearly zero)
        p.value[...] = r.normal(0, scale, p.shape)
    return g


# ---- linear_weights / interpolate_batch --------------------------------------------------------------------

@pytest.mark.parametrize("n_in,n_out", [(1, 4), (2, 5), (2, 6), (3, 3), (3, 7), (4, 9)])
def test_linear_weights_match_tf_resize(n_in, n_out, rng):
    x = rng.normal(size=(n_in, 6)).astype(np.float32)
    # the batch axis as the height of a 1-image batch: TF2 bilinear resize (half-pixel centres) along it
    ref = tf.image.resize(x[None, :, :, None], (n_out, 6), method="bilinear").numpy()[0, :, :, 0]
    assert_close(ip_w(n_in, n_out) @ x, ref, "fwd", f"linear_weights {n_in}->{n_out}")
    w = bn.linear_weights(n_in, n_out)
    assert np.allclose(w.sum(axis=1), 1.0), "rows must sum to one (an interpolation)"
    assert np.allclose(w[::-1, ::-1], w), "the weights must be mirror-symmetric"


def ip_w(n_in, n_out):
    return bn.linear_weights(n_in, n_out).astype(np.float64)


@pytest.mark.parametrize("b,B", [(2, 5), (3, 4), (1, 3)])
def test_interpolate_batch_forward_and_adjoint(b, B, rng):
    x = rng.normal(size=(b, 5, 4, 3)).astype(np.float32)
    node = bn.interpolate_batch(param.pixel_image(x.shape, init_val=x), B)
    g = param.ParamGraph(node)
    g.initialize(rng)
    out = g.forward()
    assert out.shape == (B, 5, 4, 3)
    assert_close(out[0], x[0], "fwd", "first item")
    assert_close(out[-1], x[-1], "fwd", "last item")
    stage = node
    y = rng.normal(size=out.shape).astype(np.float32)
    dot_product_test(lambda v: stage.forward(v), lambda v: stage.backward(v, x)[0], x, y, what="interpolate_batch")


def test_take_reverse_stop_gradient(rng):
    x = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)
    leaf = param.pixel_image(x.shape, init_val=x)
    t = bn.take(leaf, [3, 1, 1, -4])
    assert t.shape == (4, 3, 3, 2)
    assert np.array_equal(t.forward(x), x[[3, 1, 1, 0]])
    y = rng.normal(size=t.shape).astype(np.float32)
    dot_product_test(t.forward, lambda v: t.backward(v, x)[0], x, y, what="take")
    assert bn.take(leaf, 2).shape == (1, 3, 3, 2)
    r = bn.reverse_batch(leaf)
    assert np.array_equal(r.forward(x), x[::-1])
    s = bn.stop_gradient(leaf)
    assert np.array_equal(s.forward(x), x) and s.backward(y, x) == (None,)
    # through a graph: the stopped branch contributes nothing, the other branch everything
    g = param.ParamGraph(bn.stop_gradient(leaf) + 3.0 * leaf)
    g.initialize(rng)
    g.forward()
    assert_close(g.backward(np.ones(x.shape, np.float32))[leaf], np.full(x.shape, 3.0), "fwd", "stop_gradient")
    with pytest.raises(ValueError, match="take"):
        bn.take(leaf, [4])
    with pytest.raises(ValueError, match="take"):
        bn.take(leaf, [])


def test_lowres_tensor_interpolates_the_batch(rng):
    shape, low = (5, 8, 6, 3), (2, 4, 3, 3)
    node = bn.lowres_tensor(shape, low)
    g = _graph(node)
    out = g.forward()
    (leaf,) = g.params
    # reference: Lucid's n-d bilinear resize, written with TF2 resizes: spatial, then the batch as an image axis
    ref = tf.image.resize(leaf.value, shape[1:3], method="bilinear").numpy()
    ref = tf.image.resize(ref.reshape(2, -1)[None, :, :, None], (5, ref[0].size)).numpy()[0, :, :, 0]
    assert_close(out, ref.reshape(shape), "fwd", "lowres_tensor with batch interpolation")
    graph_finite_difference_test(g, rng)  # TOL["fd"]
    # batch 1 and full batch are param.lowres_tensor's cases
    assert bn.lowres_tensor(shape, (1, 4, 3, 3)).shape == shape
    assert bn.lowres_tensor(shape, (5, 4, 3, 3), offset=True).shape == shape
    for bad, match in [((6, 4, 3, 3), "larger"), ((2, 4, 3, 1), "channels")]:
        with pytest.raises(ValueError, match=match):
            bn.lowres_tensor(shape, bad)
    # Lucid's offset applies after the batch interpolation too (a symmetric shift of every axis)
    shifted = _graph(bn.lowres_tensor(shape, low, offset=[0, 1, 1, 0]))
    (leaf2,) = shifted.params
    leaf2.value[...] = leaf.value
    expect = np.pad(out, [(0, 0), (1, 0), (1, 0), (0, 0)], mode="symmetric")[:, :shape[1], :shape[2]]
    assert_close(shifted.forward(), expect, "fwd", "lowres_tensor offset after batch interpolation")


# ---- multi_interpolation_basis -----------------------------------------------------------------------------

N, M, W = 3, 4, 16


@pytest.fixture(scope="module")
def basis_graph():
    return _graph(ip.multi_interpolation_basis(N, M, W))


def test_basis_shape_and_symmetries(basis_graph):
    assert basis_graph.output.shape == (N * N * M, W, W, 3)
    t = basis_graph.forward()
    assert np.isfinite(t).all() and t.std() > 0.1
    for a in range(N):
        for b in range(N):
            fwd = ip.pair_frames(t, a, b, N, M)
            back = ip.pair_frames(t, b, a, N, M)[::-1]
            assert_close(fwd, back, "fwd", f"t[{a},{b}] must be t[{b},{a}] reversed")
    # different pairs are different pictures
    assert not np.allclose(ip.pair_frames(t, 0, 1, N, M), ip.pair_frames(t, 0, 2, N, M), atol=1e-3)


def _frames_moved_by(g, p, base):
    saved = p.value.copy()
    p.value[...] += 1.0
    moved = np.abs(g.forward() - base).reshape(N * N * M, -1).max(axis=1) > 1e-4
    p.value[...] = saved
    return moved


def test_basis_sharing_structure(basis_graph):
    """Which frames each parameter reaches: all (shared), rows/columns of one objective, or one pair."""
    g = basis_graph
    base = g.forward()
    pair_of = [((i // M) // N, (i // M) % N) for i in range(N * N * M)]
    kinds = {"all": 0, "objective": 0, "pair": 0}
    for p in g.params:
        moved = _frames_moved_by(g, p, base)
        pairs = {pair_of[i] for i in np.flatnonzero(moved)}
        if moved.all():
            kinds["all"] += 1
        elif len(pairs) == 2 * N - 1 and len({x for ab in pairs for x in ab if all(x in q for q in pairs)}) == 1:
            kinds["objective"] += 1  # every pair involving one objective a: (a, *) and (*, a)
        elif len(pairs) == 2 and all((b, a) in pairs for a, b in pairs) and all(a != b for a, b in pairs):
            kinds["pair"] += 1  # one unordered pair, both directions
        else:
            raise AssertionError(f"{p.name} {p.shape} reaches an unexpected set of pairs: {sorted(pairs)}")
    n_scales = len(ip.SCALES)
    assert kinds == {"all": n_scales, "objective": n_scales * N, "pair": len(ip.PAIR_SCALES) * N * (N - 1) // 2}


def test_basis_gradients_reach_the_shared_parameters(basis_graph, rng):
    g = basis_graph
    base = g.forward()
    f = ip.frame_index(1, 2, 1, N, M)
    grad_out = np.zeros(base.shape, np.float32)
    grad_out[f] = rng.normal(size=base.shape[1:])
    grads = g.backward(grad_out)
    for p in g.params:
        moved = _frames_moved_by(g, p, base)
        got = p in grads and np.abs(grads[p]).max() > 0
        assert got == bool(moved[f]), f"{p.name} {p.shape}: gradient {'present' if got else 'absent'} but " \
                                      f"the parameter {'moves' if moved[f] else 'does not move'} frame {f}"
    g.forward()


def test_basis_backward_is_the_gradient(rng):
    g = _graph(ip.multi_interpolation_basis(2, 3, 8))
    graph_finite_difference_test(g, rng)  # TOL["fd"]


def _item_weights(n, m):
    """(w_a, w_b, a, b) per batch item of the basis: frame i of (a, b) weighs a by 1 - i/(M-1), b by i/(M-1)."""
    rows = []
    for a in range(n):
        for b in range(n):
            for i in range(m):
                rows.append((1 - i / (m - 1), i / (m - 1), a, b))
    return rows


def test_multi_interpolation_objective_value(rng):
    n, m, chans = 3, 4, (2, 5, 1)
    acts = tf.constant(rng.normal(size=(n * n * m, 3, 3, 6)).astype(np.float32))
    fs = [lambda i, c=c: objectives.channel("layer", c, batch=i) for c in chans]
    got = float(ip.multi_interpolation_objective(fs, m)(lambda name: acts))
    means = acts.numpy().mean(axis=(1, 2))
    want = sum(wa * means[k, chans[a]] + wb * means[k, chans[b]] for k, (wa, wb, a, b) in enumerate(_item_weights(n, m)))
    assert abs(got - want) <= 1e-4 * max(1.0, abs(want)), f"{got} != {want}"
    with pytest.raises(ValueError):
        ip.multi_interpolation_objective(fs, 1)


def test_basis_renders(tiny_model):
    """A render through the basis raises the interpolation objective, and every parameter learns."""
    n, m, w = 2, 3, 24
    weights = np.array([r[:2] for r in _item_weights(n, m)], np.float32)
    chans = np.array([[(3, 7)[r[2]], (3, 7)[r[3]]] for r in _item_weights(n, m)])

    def interp(T):  # the same objective as multi_interpolation_objective, with one T call (quick to trace)
        means = tf.reduce_mean(T("conv2"), axis=(1, 2))
        picked = tf.gather(means, chans, batch_dims=1)
        return tf.reduce_sum(weights * picked)

    vis = render.make_vis_T(tiny_model, interp, param_f=lambda: param.to_valid_rgb(
        ip.multi_interpolation_basis(n, m, w), decorrelate=True), seed=0, relu_gradient_override=False)
    before = {id(p): p.value.copy() for p in vis.graph.params}
    losses = [vis.step() for _ in range(25)]
    assert losses[-1] > losses[0] + 1e-3, f"objective {losses[0]:.4g} -> {losses[-1]:.4g}"
    assert all(not np.array_equal(before[id(p)], p.value) for p in vis.graph.params), "every parameter must learn"
    img = vis.image()
    assert img.shape == (n * n * m, w, w, 3)
    acts = vis.activations("conv2")
    # frame 0 of (0, 1) is all objective 0, its last frame all objective 1: each is higher where it is maximized
    first, last = ip.frame_index(0, 1, 0, n, m), ip.frame_index(0, 1, m - 1, n, m)
    assert acts[first, ..., 3].mean() > acts[last, ..., 3].mean()
    assert acts[last, ..., 7].mean() > acts[first, ..., 7].mean()


def test_basis_bad_arguments():
    with pytest.raises(ValueError, match="n_interp_steps"):
        ip.multi_interpolation_basis(2, 1, 8)
    with pytest.raises(ValueError, match="n_objectives"):
        ip.multi_interpolation_basis(0, 3, 8)
    with pytest.raises(ValueError, match="frame_index"):
        ip.frame_index(2, 0, 0, 2, 3)
    assert ip.frame_index(1, 0, 2, 2, 3) == 8
