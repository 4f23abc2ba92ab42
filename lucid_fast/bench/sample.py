"""The texture-sampling benchmark of ``python -m lucid_fast.bench kernels`` (and ``... bench sample``):
``ops.sample_bilinear`` forward + adjoint against Lucid's gather-based TF version, in the same process.

    python -m lucid_fast.bench sample [--tex 1024] [--frame 512] [--reps 20]

Lucid sampled a mesh texture with ``optvis.param.spatial.bilinearly_sampled_image``: four ``tf.gather_nd`` taps
and their weights, differentiated by TF's autodiff (a scatter of each tap into a dense texture-sized gradient).
:func:`tf_sample_bilinear` is that computation written for TF2 (it is also the tests' reference).
"""
import numpy as np

from lucid_fast.bench.harness import cpu_build, interleaved_median_ms


def tf_sample_bilinear(texture_t, uv_t):
    """Lucid's bilinear texture lookup in TensorFlow: (H, W, C) texture, (..., 2) UVs -> (..., C).

    GL_REPEAT + GL_LINEAR with v flipped: taps around (u * W - 0.5, (1 - v) * H - 0.5), wrapped modulo the size.
    """
    import tensorflow as tf

    h, w = tf.shape(texture_t)[0], tf.shape(texture_t)[1]
    u, v = uv_t[..., 0:1], 1.0 - uv_t[..., 1:2]
    x = u * tf.cast(w, tf.float32) - 0.5
    y = v * tf.cast(h, tf.float32) - 0.5
    x0f, y0f = tf.floor(x), tf.floor(y)
    fx, fy = x - x0f, y - y0f
    x0, y0 = tf.cast(x0f, tf.int32), tf.cast(y0f, tf.int32)

    def tap(yy, xx):
        return tf.gather_nd(texture_t, tf.concat([yy % h, xx % w], -1))

    top = tap(y0, x0) * (1.0 - fx) + tap(y0, x0 + 1) * fx
    bottom = tap(y0 + 1, x0) * (1.0 - fx) + tap(y0 + 1, x0 + 1) * fx
    return top * (1.0 - fy) + bottom * fy


def view_uv(rng, frame, coverage=0.6):
    """UVs like a rendered view's: a smooth, locally coherent field over the texture (a warped grid covering
    about ``coverage`` of the frame), background pixels elsewhere marked by alpha 0. Returns (uv, alpha)."""
    yy, xx = np.meshgrid(np.linspace(-1, 1, frame), np.linspace(-1, 1, frame), indexing="ij")
    r = np.sqrt(xx ** 2 + yy ** 2)
    alpha = (r < np.sqrt(coverage * 4 / np.pi)).astype(np.float32)
    a, b = rng.uniform(0.2, 0.8, 2)
    u = (a + 0.45 * xx + 0.05 * np.sin(3 * yy)) % 1.0
    v = (b + 0.45 * yy + 0.05 * np.cos(2 * xx)) % 1.0
    return np.ascontiguousarray(np.stack([u, v], -1), dtype=np.float32), alpha[..., None]


def bench_sample(tex_size=1024, frame=512, channels=3, reps=20, out=None):
    """Forward + adjoint of one rendered view: lucid_fast's kernels vs the TF gather version (a tf.function
    with a GradientTape), timed in alternation; returns (native ms, TF ms)."""
    import sys

    import tensorflow as tf

    from lucid_fast import ops

    out = out or sys.stdout
    rng = np.random.default_rng(0)
    tex = ops.empty_aligned((tex_size, tex_size, channels))
    tex[...] = rng.uniform(size=tex.shape)
    uv, alpha = view_uv(rng, frame)
    cot = ops.empty_aligned((frame, frame, channels))
    cot[...] = rng.normal(size=cot.shape) * alpha
    tex_v = tf.Variable(np.array(tex))
    uv_t, cot_t = tf.constant(uv), tf.constant(np.array(cot))

    @tf.function
    def tf_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf_sample_bilinear(tex_v, uv_t) * cot_t)
        return tf.convert_to_tensor(tape.gradient(loss, tex_v))

    def native_step():
        ops.sample_bilinear(tex, uv)
        return ops.sample_bilinear_adjoint(cot, uv, (tex_size, tex_size))

    t_native, t_tf = interleaved_median_ms([native_step, lambda: tf_step().numpy()], reps, block=5)
    print(f"# sample_bilinear fwd + adjoint: {tex_size}x{tex_size}x{channels} texture, {frame}x{frame} view "
          f"({alpha.mean():.0%} covered), median of {reps}, {cpu_build()}", file=out)
    print(f"{'op':>16} {'lucid_fast ms':>14} {'TF ms':>9} {'speedup':>8}", file=out)
    print(f"{'sample_bilinear':>16} {t_native:>14.2f} {t_tf:>9.2f} {t_tf / t_native:>7.2f}x", file=out, flush=True)
    return t_native, t_tf


def add_arguments(p):
    p.add_argument("--tex", type=int, default=1024)
    p.add_argument("--frame", type=int, default=512)
    p.add_argument("--reps", type=int, default=20)


def run(args):
    bench_sample(args.tex, args.frame, reps=args.reps)
