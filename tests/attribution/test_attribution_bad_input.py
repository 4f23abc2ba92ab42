"""Issue 23 (bad input and faults), attribution: every bad argument raises a ValueError naming the argument and
what is accepted, before the model runs; nothing is silently rounded, dropped or counted from the end. Each test
failed on the former behaviour (noted per test)."""
import numpy as np
import pytest

from lucid_fast import attribution, modelzoo
from lucid_fast.models import load_model
from test_attribution import _keras_model, _labelled


@pytest.fixture(scope="module")
def m():
    return _labelled(load_model(_keras_model()))


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(5).uniform(size=(12, 12, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def fer():
    return modelzoo.load_model("fer_emotion")


@pytest.mark.parametrize("size", [1, 4])
def test_an_image_too_small_for_the_layer_names_the_image_size_and_the_layer(fer, size):
    # was: Keras's "Exception encountered when calling Conv2D.call() ... Negative dimension size ..." (or TF's
    # InvalidArgumentError), naming neither the image size nor the layer asked for
    tiny = np.zeros((size, size, 1), np.float32)
    with pytest.raises(ValueError, match=rf"attribution\.attribute: model 'fer_emotion' cannot compute layer\(s\) "
                                         rf"'add_3' on a {size}x{size} image.*Negative dimension size.*made for "
                                         r"64x64 images: the image is probably too small") as info:
        attribution.attribute(fer, tiny, "add_3", "happy")
    assert "\x1b[" not in str(info.value) and "{{node" not in str(info.value)
    with pytest.raises(ValueError, match=r"attribution\.activations: .* on a 1x1 image"):
        attribution.activations(fer, np.zeros((1, 1, 1), np.float32), "add_3")
    with pytest.raises(ValueError, match=r"attribution\.spatial_to_spatial: .*'add_1' on a 1x1 image"):
        attribution.spatial_to_spatial(fer, np.zeros((1, 1, 1), np.float32), "add_1", "add_3")


def test_an_image_large_enough_for_the_layer_still_works(fer):
    a = attribution.attribute(fer, np.full((8, 8, 1), 0.5, np.float32), "add_3", "happy")
    assert a.acts.shape == (1, 1, 64)


@pytest.mark.parametrize("vectors", [np.full((2, 8), np.nan), np.array([[np.inf] * 8])])
def test_group_refuses_non_finite_channel_directions(m, image, vectors):
    # was: the (G, C) form returned NaN / inf attributions; only the (G, H, W, C) form was checked
    with pytest.raises(ValueError, match="group_vectors contain NaN or infinite values"):
        attribution.group(m, image, "c2", "cat", vectors)


@pytest.mark.parametrize("vectors, match", [
    (np.ones((2, 8), np.complex64), "group_vectors must be an array of real numbers, got dtype complex64"),
    ([["a"] * 8], "group_vectors must be an array of real numbers"),
    (np.ones(8), r"group_vectors must be \(G, H, W, C\) or \(G, C\)"),
])
def test_group_refuses_vectors_that_are_not_real_arrays(m, image, vectors, match):
    # was: complex parts dropped with a ComplexWarning; strings: numpy's error naming no argument
    with pytest.raises(ValueError, match=match):
        attribution.group(m, image, "c2", "cat", vectors)


def test_a_complex_image_is_refused(m, image):
    # was: the imaginary part dropped (a ComplexWarning) and the real part attributed
    with pytest.raises(ValueError, match=r"image must be a real numeric array.*complex"):
        attribution.attribute(m, image.astype(np.complex64) + 0.1j, "c1", "cat")


@pytest.mark.parametrize("method", ["linear", "path", "stochastic_path"])
@pytest.mark.parametrize("steps", [0, -5, 2.0, True])
def test_steps_must_be_a_positive_int_for_every_method(m, image, method, steps):
    # was: accepted for "linear" (steps ignored); -5 / 0 for the path methods raised only after loading the model
    with pytest.raises(ValueError, match=rf"steps must be an int >= 1, got {steps!r}"):
        attribution.attribute(m, image, "c1", "cat", method=method, steps=steps)


@pytest.mark.parametrize("method", ["linear", "path", "stochastic_path"])
@pytest.mark.parametrize("seed", ["abc", -1, 1.5])
def test_seed_is_checked_for_every_method(m, image, method, seed):
    # was: ignored by "linear" / "path"; "stochastic_path" raised numpy's TypeError / ValueError naming no argument
    with pytest.raises(ValueError, match=r"attribution\.attribute: seed must be None, an integer >= 0"):
        attribution.attribute(m, image, "c1", "cat", method=method, steps=2, seed=seed)


def test_seeds_that_work_are_unchanged(m, image):
    a = attribution.attribute(m, image, "c1", "cat", method="stochastic_path", steps=4, seed=3)
    b = attribution.attribute(m, image, "c1", "cat", method="stochastic_path", steps=4,
                              seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a.attr, b.attr)
    assert attribution.attribute(m, image, "c1", "cat", steps=1).steps == 1


@pytest.mark.parametrize("spec", [-1, -3, np.int64(-1)])
def test_a_negative_class_index_is_refused(m, image, spec):
    # was: Python's negative indexing, -1 silently explained the last class ("bird")
    with pytest.raises(ValueError, match=r"negative class index; a class index must be an int >= 0"):
        attribution.attribute(m, image, "c1", spec)
    with pytest.raises(ValueError, match="negative class index"):
        attribution.score(m, spec)


def test_a_negative_channel_in_a_layer_channel_score_is_refused(m, image):
    # was: "c2:-1" explained channel 7, the last one
    with pytest.raises(ValueError, match=r"integer channel >= 0 written in digits, got '-1'"):
        attribution.attribute(m, image, "c1", "c2:-1")
    with pytest.raises(ValueError, match="integer channel"):
        attribution.score(m, "c2:+1")


def test_class_indices_in_range_are_still_explained(m, image):
    assert attribution.attribute(m, image, "c1", 2).score_value == pytest.approx(
        attribution.attribute(m, image, "c1", "bird").score_value)
    with pytest.raises(ValueError, match=r"class index 3 is out of range for the 3 logits of 'logits' \(0\.\.2\)"):
        attribution.attribute(m, image, "c1", 3)


def test_score_with_refuses_complex_or_non_finite_acts(m, image):
    acts = attribution.activations(m, image, "c2")["c2"][0]
    with pytest.raises(ValueError, match="acts must be an array of real numbers, got dtype complex"):
        attribution.score_with(m, image, "c2", "cat", acts.astype(np.complex64))
    bad = acts.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="acts contain NaN or infinite values"):
        attribution.score_with(m, image, "c2", "cat", bad)


def test_neuron_groups_refuses_complex_acts():
    with pytest.raises(ValueError, match="neuron_groups: acts must be an array of real numbers"):
        attribution.neuron_groups(np.ones((4, 4, 3), np.complex64), 2)


def test_score_algebra_errors_are_value_errors_and_still_type_errors(m):
    # was: Python's bare "unsupported operand type(s)" TypeError for a number or a product of scores
    dog, cat = attribution.score(m, "dog"), attribution.score(m, "cat")
    for bad, match in [(lambda: dog + 1, "cannot add the number 1"), (lambda: 1 - dog, "cannot subtract the number 1"),
                       (lambda: dog - 2.5, "cannot subtract the number 2.5"), (lambda: 3 + dog, "cannot add"),
                       (lambda: dog * cat, "cannot multiply the scores 'dog' and 'cat'"),
                       (lambda: dog / cat, "can only be divided by a number"), (lambda: 2 / dog, "cannot divide int")]:
        with pytest.raises(ValueError, match=match) as info:
            bad()
        assert isinstance(info.value, TypeError)
    assert sum([dog, cat]).description == "dog + cat" and (2 * dog - cat / 4).layers == dog.layers
