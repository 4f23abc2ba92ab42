"""Bilinear texture sampling (Lucid's bilinearly_sampled_image): forward vs the TF gather reference and a float64
numpy loop, wrapping and the v flip on known values, batched textures, dot-product identity, gradient vs
tf.GradientTape, finite differences, bad inputs, GPU parity."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close, dot_product_test, finite_difference_test
from lucid_fast import ops
from lucid_fast.bench.sample import tf_sample_bilinear as bench_tf_sample_bilinear
from tf_reference import sample_bilinear_reference as tf_sample_bilinear

# (texture shape, uv shape): unbatched textures with any UV layout, batched ones with per-item or shared UVs
CASES = [
    ((8, 8, 3), (5, 7, 2)),
    ((5, 9, 1), (13, 2)),            # odd texture, C = 1, a flat list of UVs
    ((6, 4, 4), (3, 4, 5, 2)),       # C = 4, UVs with two leading axes
    ((7, 3, 2), (6, 6, 2)),          # run-time channel count
    ((2, 6, 5, 3), (2, 4, 4, 2)),    # batch of 2, one set of UVs per item
    ((3, 4, 4, 3), (1, 9, 2)),       # batch of 3 sharing one set of UVs
]


def _uv(rng, shape, lo=-1.5, hi=2.5):
    """UVs far outside [0, 1] too (the texture repeats), kept away from exact texel boundaries."""
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def numpy_reference(tex, uv):
    """float64 loop over the definition: taps around (u W - 0.5, (1 - v) H - 0.5), wrapped, bilinear weights."""
    h, w, c = tex.shape
    flat = uv.reshape(-1, 2).astype(np.float64)
    out = np.zeros((flat.shape[0], c))
    for k, (u, v) in enumerate(flat):
        x, y = u * w - 0.5, (1.0 - v) * h - 0.5
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                out[k] += wy * wx * tex[(y0 + dy) % h, (x0 + dx) % w]
    return out.reshape(uv.shape[:-1] + (c,))


def reference_t(tex_t, uv_t):
    """The TF reference for either layout (a batched texture: item by item)."""
    if len(tex_t.shape) == 3:
        return tf_sample_bilinear(tex_t, uv_t)
    n = tex_t.shape[0]
    uvs = [uv_t[0]] * n if uv_t.shape[0] == 1 else [uv_t[b] for b in range(n)]
    return tf.stack([tf_sample_bilinear(tex_t[b], uvs[b]) for b in range(n)])


def _batch(tex_shape):
    return tex_shape[0] if len(tex_shape) == 4 else None


@pytest.mark.parametrize("tex_shape, uv_shape", CASES)
def test_sample_fwd_matches_tf(tex_shape, uv_shape, rng):
    tex = rng.normal(size=tex_shape).astype(np.float32)
    uv = _uv(rng, uv_shape)
    got = ops.sample_bilinear(tex, uv)
    ref = reference_t(tf.constant(tex), tf.constant(uv)).numpy()
    assert_close(got, ref, "fwd", f"sample {tex_shape} at {uv_shape}")
    assert got.ctypes.data % 64 == 0 and got.dtype == np.float32
    if len(tex_shape) == 3:
        assert_close(got, numpy_reference(tex, uv), "fwd", "sample vs float64 loop")


def test_sample_known_values():
    # 2x2 texture, rows top to bottom [0, 1], [2, 3]; v = 0 is the bottom edge (OpenGL), texel centres at +0.5
    tex = np.arange(4, dtype=np.float32).reshape(2, 2, 1)
    uv = np.float32([[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75],  # the four texel centres
                     [0.5, 0.75],                                          # halfway between 0 and 1
                     [0.0, 0.75],                                          # u = 0: halfway between 1 and 0 (repeat)
                     [1.25, -0.75], [-0.75, 2.25]])                        # whole periods away
    want = [2.0, 3.0, 0.0, 1.0, 0.5, 0.5, 2.0, 2.0]
    np.testing.assert_allclose(ops.sample_bilinear(tex, uv)[:, 0], want, atol=1e-6)


def test_sample_identity_at_texel_centres(rng):
    """Sampling exactly at every texel centre, rows in reading order, gives the texture back."""
    h, w = 5, 7
    tex = rng.normal(size=(h, w, 3)).astype(np.float32)
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    uv = np.stack([(xx + 0.5) / w, 1.0 - (yy + 0.5) / h], -1).astype(np.float32)
    np.testing.assert_allclose(ops.sample_bilinear(tex, uv), tex, atol=1e-6)


@pytest.mark.parametrize("tex_shape, uv_shape", CASES)
def test_sample_adj_dot_product(tex_shape, uv_shape, rng):
    tex = rng.normal(size=tex_shape).astype(np.float32)
    uv = _uv(rng, uv_shape)
    y = rng.normal(size=ops.sample_bilinear(tex, uv).shape).astype(np.float32)
    dot_product_test(lambda t: ops.sample_bilinear(t, uv),
                     lambda g: ops.sample_bilinear_adjoint(g, uv, tex_shape[-3:-1], batch=_batch(tex_shape)),
                     tex, y, what=f"sample {tex_shape} at {uv_shape}")


@pytest.mark.parametrize("tex_shape, uv_shape", CASES)
def test_sample_grad_matches_tf(tex_shape, uv_shape, rng):
    tex = rng.normal(size=tex_shape).astype(np.float32)
    uv = _uv(rng, uv_shape)
    tex_t = tf.constant(tex)
    g = rng.normal(size=reference_t(tex_t, tf.constant(uv)).shape).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(tex_t)
        loss_t = tf.reduce_sum(reference_t(tex_t, tf.constant(uv)) * g)
    ref = tf.convert_to_tensor(tape.gradient(loss_t, tex_t)).numpy()
    got = ops.sample_bilinear_adjoint(g, uv, tex_shape[-3:-1], batch=_batch(tex_shape))
    assert got.shape == tex_shape and got.ctypes.data % 64 == 0
    assert_close(got, ref, "grad", f"sample grad {tex_shape} at {uv_shape}")


def test_sample_finite_difference(rng):
    """The scalar <sample(tex, uv), w> along a random texture direction, in float64 from float32 samples."""
    tex = rng.normal(size=(9, 11, 3)).astype(np.float32)
    uv = _uv(rng, (40, 2))
    w = rng.normal(size=(40, 3))
    f = lambda t: float(np.sum(ops.sample_bilinear(t, uv).astype(np.float64) * w))
    grad = ops.sample_bilinear_adjoint(w.astype(np.float32), uv, (9, 11))
    finite_difference_test(f, grad, tex, rng.normal(size=tex.shape).astype(np.float32), eps=1e-2, what="sample")


def test_sample_adjoint_skips_nothing_it_should_not(rng):
    """Zero cotangents are skipped by the scatter; pixels with a cotangent in one channel only still count."""
    tex_hw = (4, 4)
    uv = _uv(rng, (30, 2))
    g = np.zeros((30, 3), np.float32)
    g[::3, 2] = 1.0
    got = ops.sample_bilinear_adjoint(g, uv, tex_hw)
    assert got[..., :2].max() == 0.0 and got[..., 2].sum() == pytest.approx(10.0, rel=1e-5)


def test_sample_many_threads_large(rng):
    """A frame and texture big enough for several scheduling blocks and private per-thread buffers."""
    tex = rng.normal(size=(64, 48, 3)).astype(np.float32)
    uv = _uv(rng, (70, 90, 2))
    y = rng.normal(size=(70, 90, 3)).astype(np.float32)
    dot_product_test(lambda t: ops.sample_bilinear(t, uv), lambda g: ops.sample_bilinear_adjoint(g, uv, (64, 48)),
                     tex, y, what="large")
    assert_close(ops.sample_bilinear(tex, uv), tf_sample_bilinear(tf.constant(tex), tf.constant(uv)).numpy(),
                 "fwd", "large")


def test_benchmark_baseline_is_the_reference(rng):
    """The benchmark's TF baseline (in the package) computes what the test oracle does."""
    tex = rng.normal(size=(9, 7, 3)).astype(np.float32)
    uv = _uv(rng, (20, 2))
    np.testing.assert_allclose(bench_tf_sample_bilinear(tf.constant(tex), tf.constant(uv)).numpy(),
                               tf_sample_bilinear(tf.constant(tex), tf.constant(uv)).numpy(), atol=1e-6)


TEX = np.zeros((4, 4, 3), np.float32)
UV = np.zeros((5, 5, 2), np.float32)


@pytest.mark.parametrize("args, match", [
    ((TEX.astype(np.float64), UV), "texture must have dtype float32"),
    ((TEX[0, 0], UV), r"texture must be \(H, W, C\) or \(N, H, W, C\)"),
    ((TEX, np.zeros((5, 5, 3), np.float32)), r"uv must hold \(u, v\) pairs on its last axis"),
    ((TEX, np.full((3, 2), np.nan, np.float32)), "uv contains NaN or inf"),
    ((TEX, UV[:, ::2]), "uv must be C-contiguous"),
    ((TEX[None].repeat(2, 0), UV[None].repeat(3, 0)), "must have a leading axis of 1 \\(shared\\) or 2"),
    ((TEX, [[0.5, 0.5]]), "uv must be a numpy or cupy array"),
])
def test_sample_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        ops.sample_bilinear(*args)


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.zeros((5, 5, 3), np.float32), UV, (4,)), {}, r"tex_hw must be a \(height, width\) pair"),
    ((np.zeros((5, 5, 3), np.float32), UV, (4, 0)), {}, r"tex_hw\[1\] must be an integer >= 1"),
    ((np.zeros((5, 4, 3), np.float32), UV, (4, 4)), {}, r"grad_out must have the forward's output shape \(5, 5, 3\)"),
    ((np.zeros((5, 5, 3), np.float32), UV, (4, 4)), dict(batch=0), "batch must be an integer >= 1"),
    ((np.zeros((5, 5, 3), np.float32), UV, (4, 4)), dict(batch=2), "leading axis of 1 \\(shared\\) or 2"),
])
def test_sample_adjoint_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ops.sample_bilinear_adjoint(*args, **kwargs)


HUGE = [3e38, -3e38, float(np.finfo(np.float32).max), 1e30, -1e20, 2.0 ** 23, -(2.0 ** 23), 2.0 ** 24 + 2,
        1e7 + 0.25]


def _huge_case(rng):
    """(tex, uv, uv with each huge coordinate replaced by 0): every float32 of magnitude >= 2^23 is an integer,
    which the repeating texture reads as 0."""
    tex = rng.normal(size=(8, 6, 3)).astype(np.float32)
    base = _uv(rng, (len(HUGE) * 2, 2))
    uv, same = base.copy(), base.copy()
    for k, h in enumerate(HUGE):
        uv[2 * k, 0], same[2 * k, 0] = h, 0.0        # huge u
        uv[2 * k + 1, 1], same[2 * k + 1, 1] = h, 0.0  # huge v
    return tex, uv.astype(np.float32), same


def test_sample_huge_finite_uv_is_finite_and_wraps(rng):
    """Issue 23: any finite UV is documented as valid; u = 3e38 gave NaN (u * W overflowed to inf)."""
    tex, uv, same = _huge_case(rng)
    got = ops.sample_bilinear(tex, uv)
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got, ops.sample_bilinear(tex, same))
    g = rng.normal(size=got.shape).astype(np.float32)
    adj = ops.sample_bilinear_adjoint(g, uv, (8, 6))
    assert np.isfinite(adj).all()
    np.testing.assert_array_equal(adj, ops.sample_bilinear_adjoint(g, same, (8, 6)))


@pytest.mark.gpu
def test_sample_huge_uv_gpu(rng):
    import cupy

    tex, uv, same = _huge_case(rng)
    got = cupy.asnumpy(ops.sample_bilinear(cupy.asarray(tex), cupy.asarray(uv)))
    np.testing.assert_array_equal(got, ops.sample_bilinear(tex, same))


@pytest.mark.gpu
@pytest.mark.parametrize("tex_shape, uv_shape", CASES)
def test_sample_cpu_gpu_parity(tex_shape, uv_shape, rng):
    import cupy

    tex = rng.normal(size=tex_shape).astype(np.float32)
    uv = _uv(rng, uv_shape)
    y_cpu = ops.sample_bilinear(tex, uv)
    y_gpu = ops.sample_bilinear(cupy.asarray(tex), cupy.asarray(uv))
    assert isinstance(y_gpu, cupy.ndarray)
    assert_close(cupy.asnumpy(y_gpu), y_cpu, "gpu", "sample fwd")
    g = rng.normal(size=y_cpu.shape).astype(np.float32)
    kw = dict(batch=_batch(tex_shape))
    a_cpu = ops.sample_bilinear_adjoint(g, uv, tex_shape[-3:-1], **kw)
    a_gpu = ops.sample_bilinear_adjoint(cupy.asarray(g), cupy.asarray(uv), tex_shape[-3:-1], **kw)
    assert_close(cupy.asnumpy(a_gpu), a_cpu, "gpu", "sample adj")
