"""The attribution benchmark: lucid_fast.attribution's batched gradients against the loops Lucid's notebooks ran,
timed in alternation in the same process.

    python -m lucid_fast.bench attribution [--reps 3] [--cases fer-path fer-s2s vgg-path vgg-s2s]

The peer is Lucid's notebook code ported to TF2 as directly as it goes: AttrChannel's ``channel_attr_path`` runs
one gradient per path point (``t_grad.eval({T(layer): acts * n / N})`` for n < N), AttrSpatial's
``raw_spatial_spatial_attr`` one gradient per position of the later layer. Here each of those gradients is one
call of a ``tf.function`` traced once (batch 1), on the same model code (the adapter's ``spliced_fn``) as
lucid_fast's batched version, so the ratio measures batching alone: path points as one batch, and for spatial
attribution one forward pass and one vectorized backward pass over all positions. Both variants include the
activations of the image (one forward pass) and compute the same numbers (checked before timing).
"""
import sys

import numpy as np

from lucid_fast.bench.harness import interleaved_median_ms

CASES = {
    # name: (model, size, layer, score or later layer, kind, steps)
    "fer-path": ("fer_emotion", 64, "add_3", ("happy", "neutral"), "path", 100),
    "fer-s2s": ("fer_emotion", 64, "activation_5", "add_4", "s2s", None),
    "vgg-path": ("vgg16_hed", 128, "block4_pool", "block5_conv3:100", "path", 100),
    "vgg-s2s": ("vgg16_hed", 128, "block4_conv3", "block5_conv3", "s2s", None),
}


def _image(model_name, size):
    from PIL import Image

    rng = np.random.default_rng(0)
    try:
        from skimage import data

        if model_name == "fer_emotion":
            from lucid_fast.modelzoo import fer_emotion

            return fer_emotion.face_input(data.astronaut()[fer_emotion.ASTRONAUT_FACE], size)
        return np.asarray(Image.fromarray(data.chelsea()).resize((size, size), Image.BILINEAR), np.float32) / 255
    except ImportError:  # scikit-image is a test dependency; a random image times the same work
        channels = 1 if model_name == "fer_emotion" else 3
        return rng.uniform(size=(size, size, channels)).astype(np.float32)


def loop_path(adapter, image, layer, the_score, steps, offset=0.0):
    """AttrChannel's ``channel_attr_path`` loop: one batch-1 gradient per path point ``(n + offset) / steps``
    (Lucid's left Riemann sum: offset 0); returns the (H, W, C) attribution."""
    import tensorflow as tf

    from lucid_fast import attribution

    key = ("bench-loop-path", layer, the_score.key)
    cache = attribution.function_cache(adapter)
    if key not in cache:
        spliced = adapter.spliced_fn(layer, list(the_score.layers))

        @tf.function(autograph=False)
        def grad_at(x_t, acts_t):
            with tf.GradientTape() as tape:
                tape.watch(acts_t)
                out = spliced(x_t, acts_t)
                total = tf.reduce_sum(the_score(lambda n: out[adapter.resolve(n)]))
            return tape.gradient(total, acts_t)
        cache[key] = grad_at
    grad_at = cache[key]
    x_t = tf.constant(image[None])
    acts = attribution.activations(adapter, image, [layer])[layer]
    total = np.zeros(acts.shape[1:], np.float64)
    for n in range(steps):
        total += grad_at(x_t, tf.constant(acts * ((n + offset) / steps))).numpy()[0]
    return acts[0] * (total / steps)


def loop_s2s(adapter, image, layer1, layer2):
    """AttrSpatial's ``raw_spatial_spatial_attr`` loop: one batch-1 gradient per position of ``layer2``."""
    import tensorflow as tf

    from lucid_fast import attribution

    key = ("bench-loop-s2s", layer1, layer2)
    cache = attribution.function_cache(adapter)
    if key not in cache:
        spliced = adapter.spliced_fn(layer1, [layer2])

        @tf.function(autograph=False)
        def grad_pos(x_t, acts_t, i, j):
            with tf.GradientTape() as tape:
                tape.watch(acts_t)
                v = spliced(x_t, acts_t)[layer2][0, i, j]
                n = tf.sqrt(tf.maximum(tf.reduce_sum(v * v), attribution.NORM_FLOOR))
            return tf.reduce_sum(tape.gradient(n, acts_t) * acts_t, -1)[0]
        cache[key] = grad_pos
    grad_pos = cache[key]
    x_t = tf.constant(image[None])
    acts1 = attribution.activations(adapter, image, [layer1, layer2])
    a1 = tf.constant(acts1[layer1])
    h2, w2 = acts1[layer2].shape[1:3]
    return np.array([[grad_pos(x_t, a1, tf.constant(i), tf.constant(j)).numpy() for j in range(w2)]
                     for i in range(h2)])


def bench_attribution(cases=tuple(CASES), reps=3, out=sys.stdout):
    from lucid_fast import attribution, modelzoo

    print("# attribution: lucid_fast batched vs Lucid's per-step / per-position loop (batch-1 tf.function calls, "
          f"same model code); median seconds of {reps}, timed in alternation", file=out)
    print(f"{'case':>9} {'model':>12} {'size':>5} {'layers':>34} {'calls':>6} {'batched s':>10} {'loop s':>8} "
          f"{'speedup':>8}", file=out, flush=True)
    rows = []
    for case in cases:
        model_name, size, layer, other, kind, steps = CASES[case]
        adapter = modelzoo.load(model_name)
        image = _image(model_name, size)
        if kind == "path":
            the_score = attribution.score(adapter, other)

            def batched():
                return attribution.attribute(adapter, image, layer, the_score, method="path", steps=steps).attr

            def loop():
                return loop_path(adapter, image, layer, the_score, steps)
            calls, what = steps, f"{layer} <- {the_score.description}"
            # the same numbers on the same points (lucid_fast integrates at midpoints, Lucid's loop at left ends)
            check = attribution.attribute(adapter, image, layer, the_score, method="path", steps=8).attr
            np.testing.assert_allclose(check, loop_path(adapter, image, layer, the_score, 8, offset=0.5),
                                       rtol=1e-3, atol=1e-5 * np.abs(check).max())
        else:
            def batched():
                return attribution.spatial_to_spatial(adapter, image, layer, other)

            def loop():
                return loop_s2s(adapter, image, layer, other)
            first = batched()
            calls, what = first.shape[0] * first.shape[1], f"{layer} -> {other}"
            np.testing.assert_allclose(first, loop(), rtol=1e-3, atol=1e-5 * np.abs(first).max())
        t_batched, t_loop = interleaved_median_ms([batched, loop], reps, warmup=1)
        rows.append((case, t_batched / 1000, t_loop / 1000))
        print(f"{case:>9} {model_name:>12} {size:>5} {what[-34:]:>34} {calls:>6} {t_batched / 1000:>10.3f} "
              f"{t_loop / 1000:>8.3f} {t_loop / t_batched:>7.1f}x", file=out, flush=True)
    return rows


def add_arguments(p):
    p.add_argument("--cases", nargs="+", default=None, help="fer-path fer-s2s vgg-path vgg-s2s")
    p.add_argument("--reps", type=int, default=3)


def run(args):
    bench_attribution(args.cases or tuple(CASES), args.reps)
