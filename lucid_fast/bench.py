"""Benchmarks, each timed against a baseline run in the same process (medians; ratios are what to quote).

    python -m lucid_fast.bench kernels [--sizes 128 224] [--batches 1 4 16] [--reps 20]
    python -m lucid_fast.bench kernels-gpu                 (on a GPU machine, CuPy; no TensorFlow needed)
    python -m lucid_fast.bench sample  [--tex 1024] [--frame 512]  (also run at the end of `kernels`)
    python -m lucid_fast.bench render  [--model vgg16_hed] [--layer block4_conv3] [--configs 128x1 224x4]
    python -m lucid_fast.bench lucid   [--configs 128x1 224x4] [--renders 1]  (the original Lucid 0.3.10, in
                                       processes of its own: see lucid_fast/bench_lucid.py)
    python -m lucid_fast.bench attribution [--cases fer-path fer-s2s vgg-path vgg-s2s] [--reps 3]
    python -m lucid_fast.bench gallery [--layer block3_conv1] [--steps 64] [--workers 2] [--rounds 2]
                                       (channels/hour: Lucid's loop, ours, ours on Dask; see bench_gallery.py)

kernels: one full image-side step — fft_image -> to_valid_rgb -> standard transforms (one warp) forward, then
    the warp adjoint + total variation + colour and FFT adjoints + Adam — with lucid_fast's kernels, versus the
    same computation written the Lucid way in TensorFlow (autodiff, inside one tf.function, Keras Adam).
render: (a) lucid_fast render steps/s; (b) Lucid's whole algorithm in pure TF2 inside one tf.function (what a
    TF2 port would do, ReLU override included); (c) the floor: the model alone, forward to the layer plus the
    input gradient, at the size the model really sees.
attribution: lucid_fast.attribution's batched path integration and spatial attribution versus the per-step /
    per-position loops of Lucid's notebooks (see lucid_fast/bench_attribution.py).
"""
import argparse
import math
import os
import resource
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

LUCID_TRANSFORM_SCALE = 1.0  # the benchmark fixes the scale so every step has the same shape (both sides)
LUCID_TRANSFORM_ANGLE_DEG = 5.0


def _median_ms(fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def _interleaved_median_ms(fns, reps, warmup=3, block=1):
    """Median ms per call of each function, timed in alternation after ``warmup`` untimed calls of each:
    rounds of ``block`` consecutive calls of each function, the order rotating every round, until each has
    ``reps`` timed calls. On a shared, noisy machine this exposes every variant to the same conditions, and
    no variant pays for caches (e.g. oneDNN's per-shape primitives) that another warmed. A block longer than
    1 keeps each variant's calls back to back, so that a call rarely follows the other variant's (whose
    thread pools may still be spinning on the 2 cores; only the first call of a block does, and the median
    discards it)."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    r = 0
    while min(len(t) for t in times) < reps:
        for j in range(len(fns)):  # the order rotates each round: no variant always runs first
            k = (j + r) % len(fns)
            for _ in range(min(block, reps - len(times[k]))):
                t0 = time.perf_counter()
                fns[k]()
                times[k].append(time.perf_counter() - t0)
        r += 1
    return [1000.0 * statistics.median(t) for t in times]


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------------------------------------------------
# kernels


def _chain_params(rng, h, w):
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


def _tf_image_side(b, h, w, c, total_m, out_hw, tv_weight):
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


def _native_image_side(b, h, w, c, total_m, out_hw, tv_weight, xp=np):
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


def _cpu_build():
    from lucid_fast._bindings import _cpu

    return f"{_cpu.BUILD} CPU build"


def bench_kernels(sizes=(128, 224), batches=(1, 4, 16), reps=40, out=sys.stdout, sample=True):
    import tensorflow as tf

    from lucid_fast import ops

    rng = np.random.default_rng(0)
    tv_weight = 1e-3
    intra = tf.config.threading.get_intra_op_parallelism_threads() or "auto"
    print(f"# image-side step: fft_image -> to_valid_rgb -> standard transforms (fwd) -> adjoints + TV + Adam; "
          f"median of {reps}, timed in alternating blocks of 10, kernels: {_cpu_build()}, "
          f"threads: TF intra={intra}, cpus={os.cpu_count()}", file=out)
    print(f"{'size':>5} {'batch':>5} {'lucid_fast ms':>14} {'TF ms':>9} {'speedup':>8}", file=out)
    rows = []
    for s in sizes:
        for b in batches:
            total_m, out_hw = _chain_params(rng, s, s)
            cot = ops.empty_aligned((b,) + tuple(out_hw) + (3,))
            cot[...] = rng.normal(size=cot.shape)
            cot_t = tf.constant(np.array(cot))
            native = _native_image_side(b, s, s, 3, total_m, out_hw, tv_weight)
            tf_step = _tf_image_side(b, s, s, 3, total_m, out_hw, tv_weight)
            t_native, t_tf = _interleaved_median_ms([lambda: native(cot), lambda: tf_step(cot_t).numpy()], reps,
                                                    block=10)
            rows.append((s, b, t_native, t_tf))
            print(f"{s:>5} {b:>5} {t_native:>14.2f} {t_tf:>9.2f} {t_tf / t_native:>7.2f}x", file=out, flush=True)
    if sample:
        from lucid_fast.bench_sample import bench_sample

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
            total_m, out_hw = _chain_params(rng, s, s)
            cot_np = rng.normal(size=(b,) + tuple(out_hw) + (3,)).astype(np.float32)
            cot = ops.empty_aligned(cot_np.shape)
            cot[...] = cot_np
            cot_cp = cupy.asarray(cot_np)
            gpu = _native_image_side(b, s, s, 3, total_m, out_hw, tv_weight, xp=cupy)
            cpu = _native_image_side(b, s, s, 3, total_m, out_hw, tv_weight)

            def run_gpu():
                gpu(cot_cp)
                cupy.cuda.get_current_stream().synchronize()

            t_gpu = _median_ms(run_gpu, reps)
            t_cpu = _median_ms(lambda: cpu(cot), max(5, reps // 10))
            rows.append((s, b, t_gpu, t_cpu))
            print(f"{s:>5} {b:>5} {t_gpu:>8.3f} {t_cpu:>15.2f} {t_cpu / t_gpu:>10.1f}x", file=out, flush=True)
    return rows


# ---------------------------------------------------------------------------------------------------------
# render


def bench_render(model_name="vgg16_hed", layer="block4_conv3", channel=100, configs=((128, 1), (224, 4)),
                 steps=30, out=sys.stdout):
    from lucid_fast import render_baseline

    return render_baseline.bench(model_name, layer, channel, configs, steps, out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lucid_fast.bench")
    sub = p.add_subparsers(dest="what", required=True)
    k = sub.add_parser("kernels")
    k.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    k.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16])
    k.add_argument("--reps", type=int, default=40)
    g = sub.add_parser("kernels-gpu")
    g.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    g.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16])
    g.add_argument("--reps", type=int, default=50)
    sm = sub.add_parser("sample")
    sm.add_argument("--tex", type=int, default=1024)
    sm.add_argument("--frame", type=int, default=512)
    sm.add_argument("--reps", type=int, default=20)
    r = sub.add_parser("render")
    r.add_argument("--model", default="vgg16_hed")
    r.add_argument("--layer", default="block4_conv3")
    r.add_argument("--channel", type=int, default=100)
    r.add_argument("--configs", nargs="+", default=["128x1", "224x4"], help="SIZExBATCH")
    r.add_argument("--steps", type=int, default=30)
    from lucid_fast import bench_lucid

    bench_lucid.add_arguments(sub.add_parser("lucid", help="against the original Lucid 0.3.10 (see bench_lucid)"))
    a = sub.add_parser("attribution")
    a.add_argument("--cases", nargs="+", default=None, help="fer-path fer-s2s vgg-path vgg-s2s")
    a.add_argument("--reps", type=int, default=3)
    from lucid_fast import bench_gallery

    bench_gallery.add_arguments(sub.add_parser("gallery", help="gallery channels/hour (see bench_gallery)"))
    args = p.parse_args(argv)
    if args.what == "attribution":
        from lucid_fast.bench_attribution import CASES, bench_attribution

        bench_attribution(args.cases or tuple(CASES), args.reps)
        return
    if args.what == "gallery":
        return bench_gallery.main(args)
    if args.what == "kernels":
        bench_kernels(args.sizes, args.batches, args.reps)
    elif args.what == "sample":
        from lucid_fast.bench_sample import bench_sample

        bench_sample(args.tex, args.frame, reps=args.reps)
    elif args.what == "kernels-gpu":
        bench_kernels_gpu(args.sizes, args.batches, args.reps)
    elif args.what == "lucid":
        args.configs = bench_lucid.parse_configs(args.configs)
        bench_lucid.bench_lucid(args)
    else:
        configs = [tuple(int(v) for v in c.split("x")) for c in args.configs]
        bench_render(args.model, args.layer, args.channel, configs, args.steps)


if __name__ == "__main__":
    main()
