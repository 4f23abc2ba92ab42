"""Runs the original Lucid 0.3.10 (TF1 code) unchanged under TensorFlow 2's ``tf.compat.v1``: the yardstick of
``python -m lucid_fast.bench lucid`` (and of ``... bench gallery``'s Lucid way). Not part of lucid_fast's API, and
never imported by the library: only by those two benchmarks.

Lucid 0.3.10 writes ``import tensorflow as tf`` and then uses the TF1 API (graphs, sessions,
``tf.train.AdamOptimizer``, ``tf.random_crop``, ``tf.image.resize_bilinear``) plus two pieces of ``tf.contrib``:
``tf.contrib.image.rotate`` (its ``random_rotate`` transform) and ``tf.contrib.slim`` (imported, never called,
by its CPPN parameterization). :func:`import_lucid` imports Lucid's modules while ``import tensorflow`` resolves
to ``tf.compat.v1`` with TF2 behaviour switched off, and with a small ``contrib`` that provides:

* ``contrib.image.rotate(images, angles, interpolation="NEAREST")``: TF 1.x's rotation about the image centre,
  written here on ``ImageProjectiveTransformV3`` (which has a registered gradient), zeros outside, the output
  the size of the input;
* ``contrib.slim``: a placeholder whose use raises, naming what is missing.

Install Lucid for the benchmark with ``pip install --no-deps lucid==0.3.10`` plus the five small packages it
imports (``pip install future decorator six filelock cachetools``): its declared dependencies pin numpy <= 1.19
and TF 1.x, which must not replace the environment's. Everything here affects only the process that calls
:func:`import_lucid` (TF2 behaviour is disabled process-wide), so the benchmark runs Lucid in a process of its own.
"""
import importlib
import sys
import types

LUCID_VERSION = "0.3.10"
LUCID_MODULES = ("lucid.optvis.render", "lucid.optvis.objectives", "lucid.optvis.param", "lucid.optvis.transform",
                 "lucid.modelzoo.vision_base", "lucid.misc.io")
INSTALL_HINT = ("pip install --no-deps lucid==0.3.10 && pip install future decorator six filelock cachetools")


def _rotate(tf):
    def rotate(images, angles, interpolation="NEAREST", name=None):
        """``tf.contrib.image.rotate`` of TF 1.x: rotates NHWC (or HWC) images counter-clockwise by ``angles``
        (radians, a scalar or one per image) about their centres; pixels from outside are 0."""
        with tf.name_scope(name or "rotate"):
            images = tf.convert_to_tensor(images)
            rank = images.shape.ndims
            if rank == 3:
                images = images[None]
            shape = tf.shape(images)
            h = tf.cast(shape[1], tf.float32)
            w = tf.cast(shape[2], tf.float32)
            angles = tf.reshape(tf.cast(tf.convert_to_tensor(angles), tf.float32), [-1])  # [1]: all images
            cos, sin = tf.cos(angles), tf.sin(angles)
            # output pixel (x, y) samples input (cos x - sin y + x_off, sin x + cos y + y_off): the TF 1.x
            # angles_to_projective_transforms, rotation about ((w - 1) / 2, (h - 1) / 2)
            x_off = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2.0
            y_off = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2.0
            zeros = tf.zeros_like(angles)
            transforms = tf.stack([cos, -sin, x_off, sin, cos, y_off, zeros, zeros], axis=1)
            out = tf.raw_ops.ImageProjectiveTransformV3(
                images=images, transforms=transforms, output_shape=shape[1:3], fill_value=0.0,
                interpolation=interpolation.upper(), fill_mode="CONSTANT")
            return out[0] if rank == 3 else out

    return rotate


class _Missing(types.ModuleType):
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise NotImplementedError(f"{self.__name__}.{attr} is not provided by lucid_fast's TF1 compatibility "
                                  f"module (only what Lucid's render path needs is)")


def make_contrib(tf):
    """The stand-in ``tf.contrib`` module (``image.rotate``, and a ``slim`` that raises when used)."""
    contrib = types.ModuleType("tensorflow.contrib")
    image = types.ModuleType("tensorflow.contrib.image")
    image.rotate = _rotate(tf)
    contrib.image = image
    contrib.slim = _Missing("tensorflow.contrib.slim")
    return contrib


def import_lucid():
    """Imports Lucid 0.3.10 on TF2's ``tf.compat.v1`` and returns its ``lucid`` package (with ``optvis``,
    ``modelzoo.vision_base`` and ``misc.io`` loaded).

    Disables TF2 behaviour for the whole process. Raises ImportError with the install command when Lucid is
    missing, and RuntimeError when a different Lucid version is installed.
    """
    import tensorflow as tf2

    try:
        from importlib.metadata import PackageNotFoundError, version
        found = version("lucid")
    except PackageNotFoundError:
        raise ImportError(f"the original Lucid is not installed; install it with: {INSTALL_HINT}") from None
    if found != LUCID_VERSION:
        raise RuntimeError(f"lucid_fast's compatibility module targets lucid=={LUCID_VERSION}, found {found}")
    tf1 = tf2.compat.v1
    tf1.disable_v2_behavior()
    contrib = make_contrib(tf1)
    tf1.contrib = contrib
    saved = {k: sys.modules.get(k) for k in ("tensorflow", "tensorflow.contrib", "tensorflow.contrib.image",
                                               "tensorflow.contrib.slim")}
    sys.modules["tensorflow"] = tf1  # Lucid's ``import tensorflow as tf`` binds the v1 API
    sys.modules["tensorflow.contrib"] = contrib
    sys.modules["tensorflow.contrib.image"] = contrib.image
    sys.modules["tensorflow.contrib.slim"] = contrib.slim
    try:
        for name in LUCID_MODULES:
            importlib.import_module(name)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return importlib.import_module("lucid")
