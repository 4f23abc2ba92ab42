"""``python -m lucid_fast.bench kernels`` and ``kernels-gpu``: the image-side step with lucid_fast's kernels.

    python -m lucid_fast.bench kernels [--sizes 128 224] [--batches 1 4 16] [--reps 40]
    python -m lucid_fast.bench kernels-gpu [--sizes 128 224] [--batches 1 4 16] [--reps 50]
                                           (on a GPU machine, CuPy; no TensorFlow needed)

kernels: one full image-side step — fft_image -> to_valid_rgb -> standard transforms (one warp) forward, then
    the warp adjoint + total variation + colour and FFT adjoints + Adam — with lucid_fast's kernels, versus the
    same computation written the Lucid way in TensorFlow (autodiff, inside one tf.function, Keras Adam); then
    the texture-sampling benchmark (:mod:`lucid_fast.bench.sample`).
kernels-gpu: the same native step on the GPU (CuPy arrays), against the CPU kernels in the same process.
"""
import math
import os
import sys

import numpy as np

from lucid_fast.bench.harness import cpu_build, interleaved_median_ms, median_ms

LUCID_TRANSFORM_SCALE = 1.0  # the benchmark fixes the scale so every step has the same shape (both sides)
LUCID_TRANSFORM_ANGLE_DEG = 5.0


# ---------------------------------------------------------------------------------------------------------
# kernels


def chain_params(rng, h, w):
    """Draws Lucid's standard chain with the scale and angle fixed (offsets random): returns the matrix and
    everything the TF reference needs to reproduce the same geometry."""
    from lucid_fast._bindings import warp_matrices as wm

    size = (h, w)
    m_pad, size = wm.pad(size, 12)
    m_j1, size = wm.jitter(size, 8, rng)
    m_s, size = wm.scale(size, LUCID_TRANSFORM_SCALE)
    m_r, size = wm.rotate(size, math.radians(LUCID_TRANSFORM_ANGLE_DEG))
    m_j2, size = wm.jitter(size, 4, rng)
    total = wm.compose_affine(m_pad, m_j1, m_s, m_r, m_j2)
    return total, size


def tf_image_side(b, h, w, c, total_m, out_hw, tv_weight):
    """The Lucid-way TF step: variables, autodiff, Keras Adam, in one tf.function (single resampling, the same
    geometry as the native warp, via ImageProjectiveTransformV3)."""
    import tensorflow as tf

    from lucid_fast import ops

    freqs = ops.rfft2d_freqs(h, w)
    wf = freqs.shape[1]
    scale = (1.0 / np.maximum(freqs, 1.0 / max(h, w)) * np.sqrt(h * w)).astype(np.float32)
    cmat = tf.constant(ops.COLOR_CORRELATION_SVD_SQRT.T, tf.float32)
    spec_v = tf.Variable(np.random.default_rng(0).normal(0, 0.01, (2, b, c, h, wf)).astype(np.float32))
    opt = tf.keras.optimizers.Adam(0.05)
    # edge-convention output->input matrix to TF's index convention
    shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1.0]])
    m_idx = np.linalg.inv(shift) @ total_m @ shift
    transform = tf.constant(np.tile(np.concatenate([m_idx[0], m_idx[1, :], [0, 0]])[None], (b, 1)), tf.float32)
    w_prime = 2 * (wf - 1)

    @tf.function
    def step(cot_t):
        with tf.GradientTape() as tape:
            z = tf.complex(spec_v[0], spec_v[1]) * tf.cast(scale, tf.complex64)
            img = tf.signal.irfft2d(z, fft_length=[h, w_prime])
            img = tf.transpose(img, (0, 2, 3, 1))[:, :h, :w, :] / 4.0
            rgb = tf.sigmoid(tf.reshape(tf.matmul(tf.reshape(img, [-1, 3]), cmat), tf.shape(img)))
            x = tf.raw_ops.ImageProjectiveTransformV3(images=rgb, transforms=transform, output_shape=list(out_hw),
                                                      fill_value=0.5, interpolation="BILINEAR", fill_mode="CONSTANT")
            loss = tf.reduce_sum(x * cot_t) - tv_weight * tf.reduce_sum(tf.image.total_variation(rgb))
        g = tape.gradient(loss, spec_v)
        opt.apply_gradients([(-g, spec_v)])
        return loss

    return step


def native_image_side(b, h, w, c, total_m, out_hw, tv_weight, xp=np):
    from lucid_fast import ops
    from lucid_fast._bindings import warp_matrices as wm

    wf = ops.rfft2d_freqs(h, w).shape[1]
    spec = ops.empty_aligned((2, b, c, h, wf), xp=xp)
    spec[...] = xp.asarray(np.random.default_rng(0).normal(0, 0.01, spec.shape).astype(np.float32))
    m, v = ops.zeros_aligned(spec.shape, xp=xp), ops.zeros_aligned(spec.shape, xp=xp)
    mats = xp.asarray(wm.to_kernel_matrices(np.broadcast_to(total_m, (b, 3, 3))))
    state = {"t": 0}

    def step(cot):
        img = ops.fft_image(spec, h, w)
        rgb = ops.to_valid_rgb(img, decorrelate=True, sigmoid=True)
        ops.affine_warp(rgb, mats, out_hw=out_hw, pad_mode="constant", fill_value=0.5)
        g_rgb = ops.affine_warp_adjoint(cot, mats, in_hw=(h, w), pad_mode="constant")
        ops.total_variation(rgb, weight=-tv_weight, grad_out=g_rgb)
        g_img = ops.to_valid_rgb_adjoint(img, g_rgb, decorrelate=True, sigmoid=True)
        g_spec = ops.fft_image_adjoint(g_img, h, w)
        state["t"] += 1
        ops.adam_update(spec, g_spec, m, v, state["t"], learning_rate=0.05, maximize=True)

    step.spec = spec  # the optimized parameters, for parity checks
    return step


def bench_kernels(sizes=(128, 224), batches=(1, 4, 16), reps=40, out=sys.stdout, sample=True):
    import tensorflow as tf

    from lucid_fast import ops

    rng = np.random.default_rng(0)
    tv_weight = 1e-3
    intra = tf.config.threading.get_intra_op_parallelism_threads() or "auto"
    print(f"# image-side step: fft_image -> to_valid_rgb -> standard transforms (fwd) -> adjoints + TV + Adam; "
          f"median of {reps}, timed in alternating blocks of 10, kernels: {cpu_build()}, "
          f"threads: TF intra={intra}, cpus={os.cpu_count()}", file=out)
    print(f"{'size':>5} {'batch':>5} {'lucid_fast ms':>14} {'TF ms':>9} {'speedup':>8}", file=out)
    rows = []
    for s in sizes:
        for b in batches:
            total_m, out_hw = chain_params(rng, s, s)
            cot = ops.empty_aligned((b,) + tuple(out_hw) + (3,))
            cot[...] = rng.normal(size=cot.shape)
            cot_t = tf.constant(np.array(cot))
            native = native_image_side(b, s, s, 3, total_m, out_hw, tv_weight)
            tf_step = tf_image_side(b, s, s, 3, total_m, out_hw, tv_weight)
            t_native, t_tf = interleaved_median_ms([lambda: native(cot), lambda: tf_step(cot_t).numpy()], reps,
                                                   block=10)
            rows.append((s, b, t_native, t_tf))
            print(f"{s:>5} {b:>5} {t_native:>14.2f} {t_tf:>9.2f} {t_tf / t_native:>7.2f}x", file=out, flush=True)
    if sample:
        from lucid_fast.bench.sample import bench_sample

        bench_sample(reps=max(5, reps // 2), out=out)
    return rows


def bench_kernels_gpu(sizes=(128, 224), batches=(1, 4, 16), reps=50, out=sys.stdout):
    """The same native image-side step on the GPU (CuPy arrays), against the CPU kernels in the same process,
    and against TensorFlow when it is importable there."""
    import cupy

    from lucid_fast import ops

    rng = np.random.default_rng(0)
    tv_weight = 1e-3
    print(f"# GPU image-side step ({cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}), median of {reps}",
          file=out)
    print(f"{'size':>5} {'batch':>5} {'GPU ms':>8} {'CPU kernels ms':>15} {'GPU vs CPU':>11}", file=out)
    rows = []
    for s in sizes:
        for b in batches:
            total_m, out_hw = chain_params(rng, s, s)
            cot_np = rng.normal(size=(b,) + tuple(out_hw) + (3,)).astype(np.float32)
            cot = ops.empty_aligned(cot_np.shape)
            cot[...] = cot_np
            cot_cp = cupy.asarray(cot_np)
            gpu = native_image_side(b, s, s, 3, total_m, out_hw, tv_weight, xp=cupy)
            cpu = native_image_side(b, s, s, 3, total_m, out_hw, tv_weight)

            def run_gpu():
                gpu(cot_cp)
                cupy.cuda.get_current_stream().synchronize()

            t_gpu = median_ms(run_gpu, reps)
            t_cpu = median_ms(lambda: cpu(cot), max(5, reps // 10))
            rows.append((s, b, t_gpu, t_cpu))
            print(f"{s:>5} {b:>5} {t_gpu:>8.3f} {t_cpu:>15.2f} {t_cpu / t_gpu:>10.1f}x", file=out, flush=True)
    return rows


def add_arguments(p):
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--reps", type=int, default=40)


def run(args):
    bench_kernels(args.sizes, args.batches, args.reps)


def add_gpu_arguments(p):
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--reps", type=int, default=50)


def run_gpu(args):
    bench_kernels_gpu(args.sizes, args.batches, args.reps)
