"""lucid_fast.attribution against TF autodiff on a small classifier the tests build (Keras and frozen GraphDef),
the per-position / per-step loops Lucid's notebooks ran, completeness of the path methods, scores and errors.
All gradients inside tf.function."""
import numpy as np
import pytest
import tensorflow as tf

from lucid_fast import attribution
from lucid_fast.models import load_model, smooth_maxpool_grad

LABELS = ["cat", "dog", "bird"]


def _weights():
    r = np.random.default_rng(11)
    return {"c1": ((r.normal(size=(3, 3, 3, 6)) * 0.6).astype(np.float32), (r.normal(size=6) * 0.1).astype(np.float32)),
            "c2": ((r.normal(size=(3, 3, 6, 8)) * 0.4).astype(np.float32), (r.normal(size=8) * 0.1).astype(np.float32)),
            "logits": ((r.normal(size=(8, 3))).astype(np.float32), (r.normal(size=3) * 0.1).astype(np.float32))}


W = _weights()


def _keras_model():
    import keras

    inputs = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="p1")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(3, name="logits")(x)
    model = keras.Model(inputs, x)
    for name, (k, b) in W.items():
        model.get_layer(name).set_weights([k, b])
    return model


def _graph_def():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, None, None, 3), name="image")
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, tf.constant(W["c1"][0]), 1, "SAME"), tf.constant(W["c1"][1])),
                       name="c1")
        h = tf.nn.max_pool2d(h, 2, 2, "VALID", name="p1")
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, tf.constant(W["c2"][0]), 1, "SAME"), tf.constant(W["c2"][1])),
                       name="c2")
        h = tf.reduce_mean(h, axis=[1, 2], name="gap")
        tf.nn.bias_add(tf.matmul(h, tf.constant(W["logits"][0])), tf.constant(W["logits"][1]), name="logits")
    return graph.as_graph_def()


def _from_c1(c1, pool=None):
    """The model from c1 on, in plain TF: (c2, logits)."""
    p = tf.nn.max_pool2d(c1, 2, 2, "VALID") if pool is None else pool(c1)
    c2 = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(p, W["c2"][0], 1, "SAME"), W["c2"][1]))
    logits = tf.nn.bias_add(tf.matmul(tf.reduce_mean(c2, axis=[1, 2]), W["logits"][0]), W["logits"][1])
    return c2, logits


def _labelled(adapter):
    adapter.labels = list(LABELS)
    adapter.logits_layer = "logits"
    return adapter


@pytest.fixture(scope="module")
def models():
    return {"keras": _labelled(load_model(_keras_model())), "graphdef": _labelled(load_model(_graph_def()))}


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(5).uniform(size=(12, 12, 3)).astype(np.float32)


def _c1(image):
    return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(image[None], W["c1"][0], 1, "SAME"), W["c1"][1])).numpy()


def _ref_grad(c1_np, weight, pool=None):
    """d(weight . logits)/d c1 at c1_np, by TF autodiff on the plain-TF model (inside tf.function)."""
    @tf.function(autograph=False)
    def run(c1_t):
        with tf.GradientTape() as tape:
            tape.watch(c1_t)
            total = tf.reduce_sum(_from_c1(c1_t, pool)[1] * weight)
        return tape.gradient(total, c1_t)
    return run(tf.constant(c1_np)).numpy()


@pytest.mark.parametrize("kind", ["keras", "graphdef"])
def test_linear_is_gradient_times_activation(models, image, kind):
    c1 = _c1(image)
    a = attribution.attribute(models[kind], image, "c1", ("dog", "cat"))
    grad = _ref_grad(c1, np.array([-1.0, 1.0, 0.0], np.float32))
    np.testing.assert_allclose(a.acts, c1[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.grad, grad[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(a.attr, c1[0] * grad[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(a.channel(), (c1[0] * grad[0]).sum((0, 1)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.spatial(), (c1[0] * grad[0]).sum(-1), rtol=1e-4, atol=1e-5)
    logits = _from_c1(c1)[1].numpy()[0]
    assert a.score_value == pytest.approx(logits[1] - logits[0], rel=1e-5)
    np.testing.assert_allclose(attribution.channel(models[kind], image, "c1", "dog - cat"), a.channel(), rtol=1e-6)


@pytest.mark.parametrize("kind", ["keras", "graphdef"])
def test_path_equals_the_per_step_loop_and_is_complete(models, image, kind):
    c1 = _c1(image)
    steps = 40
    a = attribution.attribute(models[kind], image, "c1", "bird", method="path", steps=steps, batch_size=16)
    weight = np.array([0.0, 0.0, 1.0], np.float32)
    loop = np.mean([_ref_grad(c1 * ((k + 0.5) / steps), weight) for k in range(steps)], axis=0)  # Lucid's loop
    np.testing.assert_allclose(a.grad, loop[0], rtol=1e-4, atol=1e-6)
    base = _from_c1(np.zeros_like(c1))[1].numpy()[0, 2]
    assert a.score_baseline == pytest.approx(base, rel=1e-5, abs=1e-6)
    errors = [attribution.attribute(models[kind], image, "c1", "bird", method="path", steps=s).completeness_error
              for s in (4, 256)]
    diff = abs(a.score_value - a.score_baseline)
    assert errors[1] < errors[0] and errors[1] < 0.01 * diff, (errors, diff)


def test_stochastic_path_is_complete_seeded_and_different(models, image):
    m = models["keras"]
    kw = dict(method="stochastic_path", steps=256)
    a = attribution.attribute(m, image, "c1", "bird", seed=1, **kw)
    b = attribution.attribute(m, image, "c1", "bird", seed=1, **kw)
    c = attribution.attribute(m, image, "c1", "bird", seed=2, **kw)
    p = attribution.attribute(m, image, "c1", "bird", method="path", steps=256)
    np.testing.assert_array_equal(a.attr, b.attr)
    assert np.abs(a.attr - c.attr).max() > 1e-4 and np.abs(a.attr - p.attr).max() > 1e-4
    diff = abs(a.score_value - a.score_baseline)
    # Correct code reaches 0.003 % (seed 1) and 0.0012 % (seed 2) of the score difference here (the path method
    # 0.006 %); a schedule whose speed weight is dropped gives 0.105 % and 0.57 %, under the old 1 % bound
    # (issue 23). 0.03 %: 10x above what correct code reaches, 3.5x and 19x below the dropped-speed errors.
    assert a.completeness_error < 3e-4 * diff, (a.completeness_error / diff, "seed 1")
    assert c.completeness_error < 3e-4 * diff, (c.completeness_error / diff, "seed 2")


def test_spatial_to_spatial_equals_the_per_position_loop(models, image):
    c1 = _c1(image)
    for kind in ("keras", "graphdef"):
        got = attribution.spatial_to_spatial(models[kind], image, "c1", "c2", batch_size=7)
        assert got.shape == (6, 6, 12, 12)
        c2 = _from_c1(c1)[0].numpy()
        for (i, j) in [(0, 0), (2, 3), (5, 5)]:
            @tf.function(autograph=False)
            def norm_grad(c1_t, i=i, j=j):
                with tf.GradientTape() as tape:
                    tape.watch(c1_t)
                    v = _from_c1(c1_t)[0][0, i, j]
                    n = tf.sqrt(tf.reduce_sum(v * v))
                return tape.gradient(n, c1_t)
            if np.linalg.norm(c2[0, i, j]) == 0:
                np.testing.assert_array_equal(got[i, j], 0.0)
                continue
            expected = (c1 * norm_grad(tf.constant(c1)).numpy()).sum(-1)[0]
            np.testing.assert_allclose(got[i, j], expected, rtol=1e-4, atol=1e-6)
        # a c2 position only depends on c1 positions within its receptive field
        assert np.all(got[0, 0, 8:, :] == 0) and np.all(got[0, 0, :, 8:] == 0)


def test_maxpool_override_in_attribution(models, image):
    c1 = _c1(image)
    m = models["keras"]
    a = attribution.attribute(m, image, "c1", "cat", maxpool_grad="smooth")
    weight = np.array([1.0, 0.0, 0.0], np.float32)
    grad = _ref_grad(c1, weight, pool=lambda t: _smooth_pool(t))
    np.testing.assert_allclose(a.grad, grad[0], rtol=1e-4, atol=1e-6)
    plain = attribution.attribute(m, image, "c1", "cat")
    assert np.count_nonzero(a.spatial()) > np.count_nonzero(plain.spatial())
    blurred = attribution.attribute(models["graphdef"], image, "c1", "cat", maxpool_grad="smooth_blur")
    assert np.abs(blurred.grad - a.grad).max() > 1e-5


@tf.custom_gradient
def _smooth_pool(x):
    def grad(g):
        return smooth_maxpool_grad(x, g, 2, 2, "VALID")
    return tf.nn.max_pool2d(x, 2, 2, "VALID"), grad


def test_group_attribution(models, image):
    m = models["keras"]
    a = attribution.attribute(m, image, "c1", "dog")
    spatial, channels = attribution.neuron_groups(a.acts, 3)
    assert spatial.shape == (3, 12, 12) and channels.shape == (3, 6)
    assert list(np.argmax(spatial.max(1), 1)) == sorted(np.argmax(spatial.max(1), 1))  # left to right
    vecs = spatial[..., None] * channels[:, None, None, :]
    got = attribution.group(m, image, "c1", "dog", vecs)
    np.testing.assert_allclose(got, (vecs * a.grad).reshape(3, -1).sum(1), rtol=1e-4, atol=1e-6)
    # groups reconstruct the activations, so their attributions add up to about the linear total
    assert got.sum() == pytest.approx(a.total(), rel=0.1, abs=0.05)
    per_channel = attribution.group(m, image, "c1", "dog", channels)
    np.testing.assert_allclose(per_channel, channels @ a.grad.sum((0, 1)), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="group_vectors must have shape"):
        attribution.group(m, image, "c1", "dog", vecs[:, :5])


def test_score_with_replaced_activations(models, image):
    c1 = _c1(image)
    m = models["graphdef"]
    batch = np.stack([c1[0], 0.5 * c1[0], np.zeros_like(c1[0])])
    got = attribution.score_with(m, image, "c1", "dog - cat", batch)
    logits = _from_c1(batch)[1].numpy()
    np.testing.assert_allclose(got, logits[:, 1] - logits[:, 0], rtol=1e-5, atol=1e-6)
    one = attribution.score_with(m, image, "c1", "dog - cat", c1[0])
    assert one.shape == (1,) and one[0] == pytest.approx(got[0], rel=1e-6)
    with pytest.raises(ValueError, match="must have the shape"):
        attribution.score_with(m, image, "c1", "cat", c1[0, :5])
    with pytest.raises(ValueError, match="NaN"):
        attribution.score_with(m, image, "c1", "cat", np.full_like(c1, np.nan))


def test_scores(models, image):
    m = models["keras"]
    c1 = _c1(image)
    logits = _from_c1(c1)[1].numpy()[0]
    values = {
        "cat": logits[0], 2: logits[2], "logsumexp": np.log(np.exp(logits).sum()),
        ("bird", "dog"): logits[2] - logits[1], "c2:3": None,
    }
    c2 = _from_c1(c1)[0].numpy()
    values["c2:3"] = c2[0, ..., 3].mean()
    for spec, value in values.items():
        assert attribution.attribute(m, image, "c1", spec).score_value == pytest.approx(value, rel=1e-5, abs=1e-6)
    s = attribution.score(m, "dog") - 0.5 * attribution.score(m, "cat")
    assert attribution.attribute(m, image, "c1", s).score_value == pytest.approx(logits[1] - 0.5 * logits[0],
                                                                                 rel=1e-5)

    def my_score(T):
        return T("logits")[:, 1] * 2.0 + tf.reduce_sum(T("c2")[..., 0], axis=[1, 2])
    got = attribution.attribute(m, image, "c1", my_score).score_value
    assert got == pytest.approx(2 * logits[1] + c2[0, ..., 0].sum(), rel=1e-5)



def test_scores_are_objectives(models, image):
    """A Score is an optvis Objective: its value on a batch is the sum of the images' scores (tf_per_item), and
    -, +, negation, * and / by numbers are the objectives' algebra, giving Scores (layers and cache key added)."""
    from lucid_fast.optvis import objectives

    m = models["keras"]
    dog, cat, c23 = attribution.score(m, "dog"), attribution.score(m, "cat"), attribution.score(m, "c2:3")
    s = 2 * (dog - 0.5 * c23) + -cat / 4
    assert isinstance(s, attribution.Score) and isinstance(s, objectives.Objective)
    assert s.description == "2 * (dog - 0.5 * (c2:3)) + (-(cat)) / 4" and repr(dog - cat) == "Score('dog - cat')"
    assert set(s.layers) == {m.resolve("logits"), m.resolve("c2")} and hash(s.key) is not None
    assert s.key != (2 * (dog - 0.5 * c23) - cat / 4).key
    assert sum([dog, cat]).description == "dog + cat"
    batch = np.stack([image, image[::-1], image[:, ::-1]])
    acts = attribution.activations(m, batch, ["c2", "logits"])
    c1 = np.stack([_c1(x)[0] for x in batch])
    c2, logits = (t.numpy() for t in _from_c1(c1))
    want = 2 * (logits[:, 1] - 0.5 * c2[..., 3].mean((1, 2))) - logits[:, 0] / 4

    def T(name):  # noqa: N802
        return tf.constant(acts[m.resolve(name)])
    np.testing.assert_allclose(s.tf_per_item(T).numpy(), want, rtol=1e-5)
    assert float(s(T)) == pytest.approx(want.sum(), rel=1e-5)
    np.testing.assert_allclose(attribution.score_with(m, image, "c1", s, c1), want, rtol=1e-5)
    for bad in (lambda: dog * cat, lambda: dog + 1, lambda: 1 - dog, lambda: dog / cat):
        with pytest.raises(TypeError):
            bad()
    mixed = dog + objectives.channel("c2", 1)  # with a plain objective: a plain objective
    assert type(mixed) is objectives.Objective

def test_score_errors(models, image):
    m = models["keras"]
    with pytest.raises(ValueError, match=r"unknown class label 'dgo'.*Closest: \['dog'"):
        attribution.score(m, "dgo")
    with pytest.raises(ValueError, match=r"unknown layer 'c3'.*Closest names"):
        attribution.score(m, "c3:1")
    with pytest.raises(ValueError, match="out of range"):
        attribution.attribute(m, image, "c1", "c2:8")
    with pytest.raises(ValueError, match="integer channel"):
        attribution.score(m, "c2:x")
    with pytest.raises(ValueError, match="one score per image"):
        attribution.score(m, lambda T: tf.reduce_sum(T("logits")))
    with pytest.raises(ValueError, match="does not depend on"):
        attribution.attribute(m, image, "c2", "c1:0")
    unlabelled = load_model(_keras_model())
    with pytest.raises(ValueError, match="has no class labels"):
        attribution.score(unlabelled, "cat")
    with pytest.raises(ValueError, match="no logits_layer"):
        attribution.score(unlabelled, 1)


def test_bad_images_and_arguments(models, image):
    m = models["keras"]
    with pytest.raises(ValueError, match=r"image has 1 channels.*np.repeat"):
        attribution.channel(m, image[..., :1], "c1", "cat")
    bad = image.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        attribution.channel(m, bad, "c1", "cat")
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        attribution.channel(m, image * 255, "c1", "cat")
    with pytest.raises(ValueError, match="one image at a time"):
        attribution.channel(m, np.stack([image, image]), "c1", "cat")
    with pytest.raises(ValueError, match="method must be one of"):
        attribution.channel(m, image, "c1", "cat", method="integrated")
    with pytest.raises(ValueError, match="steps must be an int"):
        attribution.channel(m, image, "c1", "cat", method="path", steps=0)
    with pytest.raises(ValueError, match="unknown layer"):
        attribution.channel(m, image, "c_1", "cat")
    # uint8 images are accepted and scaled
    as_uint8 = (image * 255).round().astype(np.uint8)
    np.testing.assert_allclose(attribution.channel(m, as_uint8, "c1", "cat"),
                               attribution.channel(m, as_uint8 / 255.0, "c1", "cat"), rtol=1e-5)


def test_activations_batched_any_size(models, image):
    m = models["graphdef"]
    rng = np.random.default_rng(0)
    batch = rng.uniform(size=(5, 10, 14, 3)).astype(np.float32)
    out = attribution.activations(m, batch, ["c1", "logits"], batch_size=2)
    assert out["c1"].shape == (5, 10, 14, 6) and out["logits"].shape == (5, 3)
    one = attribution.activations(m, batch[3], "c2")["c2"]
    np.testing.assert_allclose(out["logits"][3], _from_c1(out["c1"][3:4])[1].numpy()[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(one[0], _from_c1(out["c1"][3:4])[0].numpy()[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="at least one layer"):
        attribution.activations(m, batch, [])


def test_nan_activations_are_an_error():
    """A model that produces NaN on an image: a ValueError naming the layer, not NaN attributions."""
    import keras

    inputs = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(2, 1, name="c")(inputs)
    x = keras.layers.Lambda(lambda t: tf.math.log(t), name="log")(x)  # log of negative values: NaN
    logits = keras.layers.Dense(2, name="logits")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, logits)
    model.get_layer("c").set_weights([-np.ones((1, 1, 3, 2), np.float32), np.zeros(2, np.float32)])
    adapter = load_model(model)
    image = np.full((4, 4, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match="activations of 'log' contain NaN"):
        attribution.activations(adapter, image, "log")
    with pytest.raises(ValueError, match="NaN"):
        attribution.attribute(adapter, image, "log", "logits:0")



# ---- neuron groups on non-square and batched activations (issue 23: with square 12x12 maps only, transposed
# spatial factors passed every test) ---------------------------------------------------------------------------
def _blob(h, w, row, col, sigma=2.0):
    y, x = np.mgrid[0:h, 0:w]
    return np.exp(-((y - row) ** 2 + (x - col) ** 2) / (2 * sigma ** 2))


def _rank3_acts(h=12, w=20, c=8):
    """Exactly rank-3 non-negative activations: three blobs, each with its own channels. Their peak columns
    (2, 9, 17) and peak rows (10, 1, 6) are in different orders, so sorting by rows is not sorting by columns."""
    peaks = [(10, 2), (1, 9), (6, 17)]
    spatial = np.stack([_blob(h, w, r, q) for r, q in peaks]).astype(np.float32)       # (3, h, w), left to right
    channels = np.full((3, c), 0.05, np.float32)
    for g, chans in enumerate([(0, 3), (1, 4, 6), (2, 5, 7)]):
        channels[g, list(chans)] = 1.0
    return spatial, channels, np.einsum("ghw,gc->hwc", spatial, channels)


def _match(got, want):
    """Correlation of each found spatial factor with the true one of the same index."""
    return [np.corrcoef(got[g].ravel(), want[g].ravel())[0, 1] for g in range(len(want))]


@pytest.mark.parametrize("batched", [False, True])
def test_neuron_groups_keep_height_and_width_on_non_square_maps(batched):
    spatial_true, _, acts = _rank3_acts()
    spatial, channels = attribution.neuron_groups(acts[None] if batched else acts, 3)
    assert spatial.shape == (3, 12, 20) and channels.shape == (3, 8)
    # the factors rebuild the activations position by position (a transposed map cannot)
    rebuilt = np.einsum("ghw,gc->hwc", spatial, channels)
    assert np.abs(rebuilt - acts).max() < 0.02 * acts.max(), np.abs(rebuilt - acts).max()
    # sorted left to right by the column of each group's peak, each the true group of that position
    assert [int(np.unravel_index(np.argmax(s), s.shape)[1]) for s in spatial] == [2, 9, 17]
    assert [int(np.unravel_index(np.argmax(s), s.shape)[0]) for s in spatial] == [10, 1, 6]
    assert min(_match(spatial, spatial_true)) > 0.99, _match(spatial, spatial_true)


def test_neuron_groups_sort_none_keeps_the_factorization_order_and_shape():
    _, _, acts = _rank3_acts()
    spatial, channels = attribution.neuron_groups(acts, 3, sort=None)
    assert spatial.shape == (3, 12, 20)
    sorted_spatial, _ = attribution.neuron_groups(acts, 3)
    order = np.argsort([np.argmax(s.max(0)) for s in spatial], kind="stable")
    np.testing.assert_array_equal(spatial[order], sorted_spatial)


@pytest.fixture(scope="module")
def wide_image():
    return np.random.default_rng(6).uniform(size=(12, 20, 3)).astype(np.float32)


def test_group_attribution_on_a_non_square_image(models, wide_image):
    """The test above on a 12x20 image: the groups' vectors have the layer's (H, W, C) and their attributions
    are sum(vector * grad) with the gradient at the same positions."""
    m = models["keras"]
    a = attribution.attribute(m, wide_image, "c1", "dog")
    assert a.acts.shape == (12, 20, 6)
    spatial, channels = attribution.neuron_groups(a.acts, 3)
    assert spatial.shape == (3, 12, 20) and channels.shape == (3, 6)
    cols = [int(np.argmax(s.max(0))) for s in spatial]
    assert cols == sorted(cols)  # left to right: the peak's column, along the 20-wide axis
    rebuilt = np.einsum("ghw,gc->hwc", spatial, channels)
    transposed = np.einsum("gwh,gc->hwc", spatial.reshape(3, 20, 12), channels)  # the same numbers, misread
    err, err_t = np.abs(rebuilt - a.acts).mean(), np.abs(transposed - a.acts).mean()
    assert err < 0.5 * err_t, (err, err_t)
    vecs = spatial[..., None] * channels[:, None, None, :]
    got = attribution.group(m, wide_image, "c1", "dog", vecs)
    np.testing.assert_allclose(got, (vecs * a.grad).reshape(3, -1).sum(1), rtol=1e-4, atol=1e-6)
    assert got.sum() == pytest.approx(a.total(), rel=0.1, abs=0.05)
    with pytest.raises(ValueError, match="group_vectors must have shape"):
        attribution.group(m, wide_image, "c1", "dog", vecs.transpose(0, 2, 1, 3))
