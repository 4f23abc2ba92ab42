"""The attribution benchmark runs (small: fer_emotion, one repetition), checks that its batched and loop variants
compute the same numbers before timing them, and prints a ratio. No timing is asserted."""
import io

import pytest


def test_attribution_benchmark_prints_ratios():
    pytest.importorskip("skimage", reason="scikit-image is a test dependency")
    from lucid_fast.bench.attribution import bench_attribution

    out = io.StringIO()
    rows = bench_attribution(["fer-s2s"], reps=1, out=out)
    text = out.getvalue()
    assert [r[0] for r in rows] == ["fer-s2s"]
    assert all(r[1] > 0 and r[2] > 0 for r in rows)
    assert text.count("x\n") == 1 and "speedup" in text


def test_loop_baseline_is_lucids_left_sum():
    """The baseline is Lucid's loop: the gradient at acts * n / N for n < N, averaged, times acts."""
    import numpy as np
    import tensorflow as tf

    from lucid_fast import attribution, modelzoo
    from lucid_fast.attribution.core import _splice_grad_fn
    from lucid_fast.bench.attribution import _image, loop_path

    fer = modelzoo.load("fer_emotion")
    face = _image("fer_emotion", 64)
    s = attribution.score(fer, ("happy", "neutral"))
    acts = attribution.activations(fer, face, "add_3")["add_3"]
    grad_fn = _splice_grad_fn(fer, "add_3", s, None)
    grads = [grad_fn(None, tf.constant(acts * (n / 4)))[1].numpy()[0] for n in range(4)]
    np.testing.assert_allclose(loop_path(fer, face, "add_3", s, 4), acts[0] * np.mean(grads, 0), rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_allclose(loop_path(fer, face, "add_3", s, 4, offset=0.5),
                               attribution.attribute(fer, face, "add_3", s, method="path", steps=4).attr,
                               rtol=1e-4, atol=1e-6)
