"""``python -m lucid_fast.bench render``: lucid_fast's render step against two baselines measured in the same
process, the three timed in alternation:

    python -m lucid_fast.bench render [--model vgg16_hed] [--layer block4_conv3] [--channel 100]
                                      [--configs 128x1 224x4] [--steps 30]

(a) lucid_fast's render step (``make_vis_T(...).step()``, standard transforms);
(b) Lucid's whole algorithm as a straightforward TF2 port would write it: tf.Variable spectrum, Fourier
    parameterization, decorrelated colour, standard_transforms (pad, random crop, random resize, random
    rotation, crop) as TF ops, the model with Lucid's redirected-ReLU gradient for the first 16 steps, the
    objective, and Keras Adam(0.05) — all inside one tf.function per step;
(c) the floor: only the model, forward to the layer plus the input gradient, on an input of the size the
    model sees after the transforms (what no implementation of the step can go below).
"""
import math
import sys

import numpy as np

from lucid_fast.bench.harness import interleaved_median_ms, peak_rss_mb


# Steps run before timing: past Lucid's 16 redirected-ReLU steps, so every variant is timed in its steady state
# (a 512-step render spends 3% of its steps there), and long enough that the random scale has drawn each of
# its 11 sizes (missed with probability 11 * (10/11)**40 = 2.4%): the first step at a new input size builds
# oneDNN primitives for it, which costs about as much as a whole step and is shared by every variant.
WARMUP_STEPS = 40


def make_tf_lucid_step(adapter, layer, channel, size, batch, seed=0):
    """Returns step(i) running one step of Lucid's algorithm in pure TF2 (one tf.function per override mode)."""
    import tensorflow as tf

    from lucid_fast import ops
    from lucid_fast._bindings import warp_matrices as wm

    h = w = size
    freqs = ops.rfft2d_freqs(h, w)
    wf = freqs.shape[1]
    scale = (1.0 / np.maximum(freqs, 1.0 / max(h, w)) * np.sqrt(h * w)).astype(np.float32)
    cmat = tf.constant(ops.COLOR_CORRELATION_SVD_SQRT.T, tf.float32)
    rng = np.random.default_rng(seed)
    spec_v = tf.Variable(rng.normal(0, 0.01, (2, batch, 3, h, wf)).astype(np.float32))
    opt = tf.keras.optimizers.Adam(0.05)
    scales = tf.constant(np.asarray(wm.STANDARD_SCALES, np.float32))
    angles = tf.constant(np.asarray(wm.STANDARD_ANGLES_DEG, np.float32) * math.pi / 180.0)
    gen = tf.random.Generator.from_seed(seed)
    fns = {o: adapter.activation_fn([layer], relu_override=o) for o in (True, False)}
    w_prime = 2 * (wf - 1)

    def transforms(x):
        x = tf.pad(x, [[0, 0], [12, 12], [12, 12], [0, 0]], constant_values=0.5)
        s = tf.shape(x)
        x = tf.image.random_crop(x, [s[0], s[1] - 8, s[2] - 8, s[3]], seed=None)
        s = tf.shape(x)
        k = gen.uniform([], 0, len(wm.STANDARD_SCALES), tf.int32)
        new = tf.cast(tf.cast(s[1:3], tf.float32) * scales[k], tf.int32)
        x = tf.image.resize(x, new, "bilinear")
        a = angles[gen.uniform([], 0, len(wm.STANDARD_ANGLES_DEG), tf.int32)]
        hh, ww = tf.cast(new[0], tf.float32), tf.cast(new[1], tf.float32)
        c, sn = tf.cos(a), tf.sin(a)
        x_off = ((ww - 1) - (c * (ww - 1) - sn * (hh - 1))) / 2.0
        y_off = ((hh - 1) - (sn * (ww - 1) + c * (hh - 1))) / 2.0
        tr = tf.tile(tf.reshape(tf.stack([c, -sn, x_off, sn, c, y_off, 0.0, 0.0]), [1, 8]), [batch, 1])
        x = tf.raw_ops.ImageProjectiveTransformV3(images=x, transforms=tr, output_shape=new, fill_value=0.0,
                                                  interpolation="BILINEAR", fill_mode="CONSTANT")
        s = tf.shape(x)
        return tf.image.random_crop(x, [s[0], s[1] - 4, s[2] - 4, s[3]])

    def build(override):
        act_fn = fns[override]

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                z = tf.complex(spec_v[0], spec_v[1]) * tf.cast(scale, tf.complex64)
                img = tf.transpose(tf.signal.irfft2d(z, fft_length=[h, w_prime]), (0, 2, 3, 1))[:, :h, :w, :] / 4.0
                rgb = tf.sigmoid(tf.reshape(tf.matmul(tf.reshape(img, [-1, 3]), cmat), tf.shape(img)))
                acts = act_fn(transforms(rgb))[layer]
                loss = tf.reduce_mean(acts[..., channel])
            g = tape.gradient(loss, spec_v)
            opt.apply_gradients([(-g, spec_v)])
            return loss

        return step

    steps = {o: build(o) for o in (True, False)}
    return lambda i: steps[i < 16]()


def make_floor_step(adapter, layer, channel, seen_hw, batch):
    import tensorflow as tf

    act_fn = adapter.activation_fn([layer], relu_override=False)
    x_t = tf.constant(np.random.default_rng(0).uniform(0, 1, (batch,) + tuple(seen_hw) + (3,)).astype(np.float32))

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean(act_fn(x)[layer][..., channel])
        return tape.gradient(loss, x)

    return lambda: step(x_t).numpy()


def bench(model_name, layer, channel, configs, steps, out):
    from lucid_fast import modelzoo
    from lucid_fast.optvis import objectives, param, render, transform

    adapter = modelzoo.load_model(model_name)
    layer = adapter.resolve(layer)
    print(f"# render on {adapter.name}, objective {layer}:{channel}, median step time over {steps} steps "
          f"(after {WARMUP_STEPS} warm-up steps each), the three timed in alternation; "
          f"rss = process high-water mark", file=out)
    print(f"{'size':>5} {'batch':>5} {'lucid_fast ms':>14} {'TF2 Lucid ms':>13} {'floor ms':>9} "
          f"{'vs TF2':>7} {'vs floor':>9} {'rss MB':>7}", file=out)
    rows = []
    for size, batch in configs:
        vis = render.make_vis_T(adapter, objectives.channel(layer, channel),
                                param_f=lambda: param.image(size, batch=batch),
                                transforms=transform.standard_transforms, seed=0)
        tf_step = make_tf_lucid_step(adapter, layer, channel, size, batch)
        counter = {"i": 0}

        def run_tf():
            tf_step(counter["i"]).numpy()
            counter["i"] += 1

        # the size the model sees after pad 12, jitter 8, scale 1.0 (the median scale), jitter 4
        seen = (size + 24 - 8 - 4,) * 2
        floor_step = make_floor_step(adapter, layer, channel, seen, batch)
        ms_lf, ms_tf, ms_floor = interleaved_median_ms([vis.step, run_tf, floor_step], steps, warmup=WARMUP_STEPS)
        t_lf, t_tf, t_floor = ms_lf / 1000.0, ms_tf / 1000.0, ms_floor / 1000.0
        rss = peak_rss_mb()
        rows.append(dict(size=size, batch=batch, lucid_fast_ms=1e3 * t_lf, tf2_ms=1e3 * t_tf,
                         floor_ms=1e3 * t_floor, rss_mb=rss))
        print(f"{size:>5} {batch:>5} {1e3 * t_lf:>14.1f} {1e3 * t_tf:>13.1f} {1e3 * t_floor:>9.1f} "
              f"{t_tf / t_lf:>6.2f}x {t_lf / t_floor:>8.3f}x {rss:>7.0f}", file=out, flush=True)
    return rows


def bench_render(model_name="vgg16_hed", layer="block4_conv3", channel=100, configs=((128, 1), (224, 4)),
                 steps=30, out=sys.stdout):
    return bench(model_name, layer, channel, configs, steps, out)


def add_arguments(p):
    p.add_argument("--model", default="vgg16_hed")
    p.add_argument("--layer", default="block4_conv3")
    p.add_argument("--channel", type=int, default=100)
    p.add_argument("--configs", nargs="+", default=["128x1", "224x4"], help="SIZExBATCH")
    p.add_argument("--steps", type=int, default=30)


def run(args):
    configs = [tuple(int(v) for v in c.split("x")) for c in args.configs]
    bench_render(args.model, args.layer, args.channel, configs, args.steps)
