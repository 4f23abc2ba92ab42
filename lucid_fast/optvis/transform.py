"""Stochastic transformations (Lucid's ``optvis.transform``), reduced to ONE native affine warp per step.

Lucid applies a chain of TF ops every step (pad, random crops, resize, rotate). Here each geometric transform
is a description that, given the current image size and the run's generator, draws its parameters and
returns the 3x3 matrix mapping its output pixel coordinates to its input ones; render composes the whole
chain into one matrix per step and resamples once with :func:`lucid_fast.ops.affine_warp` (and its adjoint
on the way back). Differences from Lucid, all deliberate:

* one bilinear resampling per step instead of one per stage (sharper, and rotation is bilinear, where
  Lucid's ``tf.contrib.image.rotate`` used nearest neighbour);
* everything sampled outside the source image gets the pad's fill (``pad(mode="constant")``'s value, or the
  reflection for ``mode="reflect"``); Lucid filled what a rotation brought in from outside the padded image
  with 0. The first :func:`pad` in the chain sets the mode; a chain without pad fills with 0;
* :func:`collapse_alpha_random` composites before the warp wherever it appears in the list.

A plain callable on TF tensors is also accepted as a transform: it runs inside the step's tf.function,
after the warp, and its gradient comes from TensorFlow. The transforms made here are not functions on tensors:
calling one (Lucid's ``transform.random_scale(...)(t)``) raises a TypeError saying to put it in the list.
"""
import math

import numpy as np

from lucid_fast import ops
from lucid_fast._bindings import warp_matrices as wm

DEG2RAD = math.pi / 180.0


NOT_A_FUNCTION = (
    "{t!r} is a lucid_fast transform, not a function on tensors: a transform here is a description that "
    "render_vis / make_vis_T draw every step from the run's generator and compose, with the rest of the list, into "
    "ONE native warp of the image before the model (its gradient is that warp's adjoint), so it cannot be applied "
    "to a tensor by hand. Put it in the transforms list instead: render.make_vis_T(model, objective, param_f, "
    "transforms=[transform.pad(16), transform.random_scale([0.9, 1.1]), transform.random_crop(160, 160), ...]); "
    "the objective then sees the transformed image (T(\"alpha_transformed\") for the alpha channel). A plain "
    "callable on TF tensors in that list (e.g. linear2gamma) runs after the warp, on the model's input "
    "(docs/MIGRATING.md)")


class _NotCallable:
    """Calling a transform on a tensor (Lucid's ``transform.random_scale(...)(t)``) raises a TypeError that says
    what a transform is here and how to apply one."""

    def __call__(self, *args, **kwargs):
        raise TypeError(NOT_A_FUNCTION.format(t=self))


class AffineTransform(_NotCallable):
    """A geometric transform: ``sample(size, rng) -> (3x3 output->input matrix, new (h, w))``."""

    def sample(self, size, rng):
        raise NotImplementedError

    def output_sizes(self, size):
        """Every (h, w) this transform can produce from ``size`` (a set). The default draws 16 samples from a
        fixed generator; the transforms here list them exactly."""
        return {tuple(self.sample(size, np.random.default_rng(k))[1]) for k in range(16)}


class Pad(AffineTransform):
    def __init__(self, w, mode="REFLECT", constant_value=0.5):
        if not isinstance(w, (int, np.integer)) or w < 0:
            raise ValueError(f"pad: w must be an integer >= 0, got {w!r}")
        mode_l = str(mode).lower()
        if mode_l not in ("reflect", "constant", "symmetric"):
            raise ValueError(f"pad: mode must be 'REFLECT', 'SYMMETRIC' or 'CONSTANT', got {mode!r}")
        self.w, self.mode, self.constant_value = int(w), mode_l, constant_value

    def sample(self, size, rng):
        return wm.pad(size, self.w)

    def output_sizes(self, size):
        return {wm.pad(size, self.w)[1]}

    def __repr__(self):
        return f"pad({self.w}, mode={self.mode!r}, constant_value={self.constant_value})"


class Jitter(AffineTransform):
    def __init__(self, d):
        if not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(f"jitter: d must be an integer >= 0, got {d!r}")
        self.d = int(d)

    def sample(self, size, rng):
        if min(size) <= self.d:
            raise ValueError(f"jitter({self.d}): the image at this point of the chain is only {size[0]}x{size[1]}")
        return wm.jitter(size, self.d, rng)

    def output_sizes(self, size):
        if min(size) <= self.d:
            raise ValueError(f"jitter({self.d}): the image at this point of the chain is only {size[0]}x{size[1]}")
        return {wm.jitter(size, self.d, offset=(0, 0))[1]}

    def __repr__(self):
        return f"jitter({self.d})"


class RandomScale(AffineTransform):
    def __init__(self, scales):
        scales = list(scales)
        if not scales or any((not np.isfinite(s)) or s <= 0 for s in scales):
            raise ValueError(f"random_scale: scales must be a non-empty list of positive numbers, got {scales!r}")
        self.scales = [float(s) for s in scales]

    def sample(self, size, rng):
        s = self.scales[int(rng.integers(len(self.scales)))]
        return wm.scale(size, s)

    def output_sizes(self, size):
        return {wm.scale(size, s)[1] for s in self.scales}

    def __repr__(self):
        return f"random_scale({self.scales})"


class RandomRotate(AffineTransform):
    def __init__(self, angles, units="degrees"):
        angles = list(angles)
        if not angles or any(not np.isfinite(a) for a in angles):
            raise ValueError(f"random_rotate: angles must be a non-empty list of numbers, got {angles!r}")
        if units not in ("degrees", "radians"):
            raise ValueError(f"random_rotate: units must be 'degrees' or 'radians', got {units!r}")
        self.angles = [float(a) * (DEG2RAD if units == "degrees" else 1.0) for a in angles]

    def sample(self, size, rng):
        a = self.angles[int(rng.integers(len(self.angles)))]
        return wm.rotate(size, a)

    def output_sizes(self, size):
        return {tuple(size)}

    def __repr__(self):
        return f"random_rotate({len(self.angles)} angles)"


class CropOrPadTo(AffineTransform):
    """Centre crop or pad to (height, width), as tf.image.resize_with_crop_or_pad."""

    def __init__(self, height, width):
        for name, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"crop_or_pad_to: {name} must be an integer >= 1, got {v!r}")
        self.hw = (int(height), int(width))

    def sample(self, size, rng):
        # as TF, per axis: crop (size - target) // 2 from the top/left, or pad (target - size) // 2 there (an
        # odd difference puts the extra row/column at the bottom/right either way)
        oy, ox = ((s - t) // 2 if s >= t else -((t - s) // 2) for s, t in zip(size, self.hw))
        m = np.array([[1.0, 0.0, ox], [0.0, 1.0, oy], [0.0, 0.0, 1.0]])
        return m, self.hw

    def output_sizes(self, size):
        return {self.hw}

    def __repr__(self):
        return f"crop_or_pad_to{self.hw}"


class RandomCrop(AffineTransform):
    """A (height, width) crop at a uniformly random position (``tf.random_crop``): the row offset is drawn from
    0 .. h - height and the column offset from 0 .. w - width (both ends included), row first, from the run's
    generator; one offset per step, shared by the batch (as ``tf.random_crop`` of the whole batch). A whole-pixel
    translation, so it composes into the one warp without resampling."""

    def __init__(self, height, width):
        for name, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"random_crop: {name} must be an integer >= 1, got {v!r}")
        self.hw = (int(height), int(width))

    def _check(self, size):
        if size[0] < self.hw[0] or size[1] < self.hw[1]:
            raise ValueError(f"{self!r}: the image at this point of the chain is only {size[0]}x{size[1]}; crop "
                             f"smaller, or pad / scale up before it (crop_or_pad_to pads too)")

    def sample(self, size, rng):
        self._check(size)
        oy = int(rng.integers(0, size[0] - self.hw[0] + 1))
        ox = int(rng.integers(0, size[1] - self.hw[1] + 1))
        return wm.translate(ox, oy), self.hw

    def output_sizes(self, size):
        self._check(size)
        return {self.hw}

    def __repr__(self):
        return f"random_crop{self.hw}"


class CollapseAlphaRandom(_NotCallable):
    """Composites an RGBA image over a random smooth background (Lucid's collapse_alpha_random).

    The background is a fresh random Fourier image every step (spectrum ~ N(0, sd^2), decorrelated colour,
    sigmoid), drawn from the run's generator. Runs natively before the warp, on the image's device: the spectrum
    is drawn on the host (the run's generator) and, on a CUDA device, uploaded once per step.
    """

    def __init__(self, sd=0.5):
        self.sd = float(sd)

    def background(self, shape, rng, device=None):
        dev = ops.device("cpu" if device is None else device)
        b, h, w, _ = shape
        wf = ops.rfft2d_freqs(h, w).shape[1]
        spec = ops.empty_aligned((2, b, 3, h, wf))
        spec[...] = rng.normal(0.0, self.sd, size=spec.shape)
        if not dev.is_host:
            spec = dev.put(spec)  # the step's one upload of host-drawn randomness larger than a few bytes
        return dev.ops.to_valid_rgb(dev.ops.fft_image(spec, h, w), decorrelate=True, sigmoid=True)

    def forward(self, x, rng):
        if x.shape[-1] != 4:
            raise ValueError(f"collapse_alpha_random needs an RGBA image (4 channels), got {x.shape[-1]} channels; "
                             f"use param.image(..., alpha=True)")
        dev = ops.device_of(x)
        bg = self.background(x.shape, rng) if dev.is_host else self.background(x.shape, rng, dev)
        rgb, a = x[..., :3], x[..., 3:4]
        out = dev.empty(x.shape[:-1] + (3,))
        dev.xp.multiply(a, rgb - bg, out=out)
        out += bg
        return out, (x, bg)

    @staticmethod
    def backward(grad_out, saved):
        x, bg = saved
        xp = ops.device_of(x, grad_out).xp
        rgb, a = x[..., :3], x[..., 3:4]
        g = xp.empty(x.shape, np.float32)
        g[..., :3] = a * grad_out
        g[..., 3:4] = xp.sum((rgb - bg) * grad_out, axis=-1, keepdims=True)
        return g

    def __repr__(self):
        return f"collapse_alpha_random(sd={self.sd})"


def pad(w, mode="REFLECT", constant_value=0.5):
    """Pads w pixels on each side ('REFLECT', 'SYMMETRIC', or 'CONSTANT' with constant_value)."""
    return Pad(w, mode, constant_value)


def jitter(d, seed=None):
    """Random crop losing d pixels in each dimension (random translation by 0..d). ``seed`` is ignored:
    randomness comes from render_vis's seed."""
    return Jitter(d)


def random_scale(scales, seed=None):
    """Rescales by a factor drawn from ``scales`` (bilinear, half-pixel centres)."""
    return RandomScale(scales)


def random_rotate(angles, units="degrees", seed=None):
    """Rotates about the centre by an angle drawn from ``angles`` (counterclockwise, bilinear)."""
    return RandomRotate(angles, units)


def crop_or_pad_to(height, width):
    """Centre crop or pad to (height, width) (``tf.image.resize_with_crop_or_pad``): always the same window."""
    return CropOrPadTo(height, width)


def random_crop(height, width):
    """A (height, width) crop at a uniformly random position of the image (``tf.random_crop(t, [b, height,
    width, c])``): every window that fits is equally likely, drawn each step from the run's generator. Unlike
    ``jitter(d) + crop_or_pad_to(height, width)``, whose window only moves d pixels around the centre, the crop
    can come from anywhere. The image at that point of the chain must be at least height x width."""
    return RandomCrop(height, width)


def collapse_alpha_random(sd=0.5):
    return CollapseAlphaRandom(sd)


class NormalizeGradient:
    """A TF-side transform: the identity on the way forward; on the way back, each batch item's gradient is
    divided by its L2 norm (and multiplied by ``grad_scales[i]`` when given). See :func:`normalize_gradient`."""

    def __init__(self, grad_scales=None):
        if grad_scales is not None:
            grad_scales = np.asarray(grad_scales, dtype=np.float32)
            if grad_scales.ndim != 1 or grad_scales.size == 0 or not np.isfinite(grad_scales).all():
                raise ValueError(f"normalize_gradient: grad_scales must be a 1-D list of finite numbers, one per "
                                 f"batch item, got {grad_scales!r}")
        self.grad_scales = grad_scales

    def __call__(self, x_t):
        import tensorflow as tf

        scales = self.grad_scales
        if scales is not None and x_t.shape[0] is not None and x_t.shape[0] != scales.size:
            raise ValueError(f"normalize_gradient: {scales.size} grad_scales for a batch of {x_t.shape[0]}")

        @tf.custom_gradient
        def normalize(x):
            def grad(g):
                norm = tf.sqrt(tf.reduce_sum(tf.square(g), axis=list(range(1, g.shape.rank)), keepdims=True))
                if scales is not None:
                    g = g * tf.reshape(tf.constant(scales), [-1] + [1] * (g.shape.rank - 1))
                return g / tf.maximum(norm, NORMALIZE_GRADIENT_EPS)

            return tf.identity(x), grad

        return normalize(x_t)

    def __repr__(self):
        return f"normalize_gradient({None if self.grad_scales is None else self.grad_scales.tolist()})"


NORMALIZE_GRADIENT_EPS = 1e-20  # a zero gradient stays zero instead of becoming NaN (Lucid divided by 0)


def normalize_gradient(grad_scales=None):
    """Lucid's gradient normalization: each image of the batch gets a gradient of unit L2 norm (times
    ``grad_scales[i]``), so every item moves at the same rate whatever its objective's scale.

    It is a TF callable: it runs inside the step's tf.function after the native warp, so it normalizes the
    gradient of everything the model sees (``T("input")`` terms, e.g. L1 or blur penalties, and native total
    variation are not normalized; in Lucid too those read the untransformed image).
    """
    return NormalizeGradient(grad_scales)


def compose(transforms):
    """A chain of transforms, applied in order (render accepts the plain list too)."""
    return TransformChain(transforms)


standard_transforms = [
    pad(12, mode="constant", constant_value=0.5),
    jitter(8),
    random_scale(list(wm.STANDARD_SCALES)),
    random_rotate(list(wm.STANDARD_ANGLES_DEG)),
    jitter(4),
]


class TransformChain:
    """A parsed transform list: an optional alpha collapse, one affine block, trailing TF callables."""

    def __init__(self, transforms):
        if isinstance(transforms, TransformChain):
            transforms = transforms.transforms
        if transforms is None:
            transforms = standard_transforms
        transforms = list(transforms)
        self.transforms = transforms
        self.affine, self.tf_fns, self.collapse = [], [], None
        for t in transforms:
            if isinstance(t, AffineTransform):
                self.affine.append(t)
            elif isinstance(t, CollapseAlphaRandom):
                self.collapse = t
            elif callable(t):
                self.tf_fns.append(t)
            else:
                raise ValueError(f"transforms must be lucid_fast transforms or callables on TF tensors, got {t!r}")
        pads = [t for t in self.affine if isinstance(t, Pad)]
        if pads:
            self.pad_mode = pads[0].mode
            self.fill_value = pads[0].constant_value if self.pad_mode == "constant" else 0.0
        else:
            self.pad_mode, self.fill_value = "constant", 0.0

    def sample(self, batch, size, rng):
        """Draws one step's warp: (matrices (batch, 2, 3) float32, output (h, w))."""
        mats = [np.eye(3)]
        for t in self.affine:
            m, size = t.sample(size, rng)
            if min(size) < 1:
                raise ValueError(f"transform {t!r} left an empty image ({size[0]}x{size[1]})")
            mats.append(m)
        total = wm.compose_affine(*mats)
        return wm.to_kernel_matrices(np.broadcast_to(total, (batch, 3, 3))), tuple(int(s) for s in size)

    def output_sizes(self, size):
        """Every (h, w) the chain can produce from an image of ``size`` (a set of int pairs)."""
        sizes = {tuple(int(s) for s in size)}
        for t in self.affine:
            sizes = {tuple(int(v) for v in out) for s in sizes for out in t.output_sizes(s)}
            if any(min(s) < 1 for s in sizes):
                raise ValueError(f"transform {t!r} leaves an empty image")
        return sizes

    @property
    def is_identity(self):
        return not self.affine

    def check_device(self, device, who="render_vis"):
        """Raises NotImplementedError when a transform of the chain cannot run on ``device`` (an
        ``ops.Device``). The affine block and the alpha collapse run on any device (their ops have CPU and CUDA
        kernels); callables on tensors run inside the model's framework, which is the model side's business."""
        for op in ("affine_warp", "affine_warp_adjoint") + (("fft_image", "to_valid_rgb") if self.collapse else ()):
            getattr(device.ops, op)  # raises, naming the op, where the device has no kernel for it

    def __repr__(self):
        return f"compose({self.transforms!r})"


def make_chain(transforms):
    return TransformChain(transforms)
