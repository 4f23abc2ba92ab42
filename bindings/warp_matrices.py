"""Affine matrices for Lucid's image transforms, composed so a whole transform chain is ONE ``affine_warp``.

Pure numpy; every random draw comes from the ``numpy.random.Generator`` passed in (no hidden randomness).

Every primitive takes the (height, width) of its input and returns ``(M, new_size)``: a 3x3 float64 matrix in
``affine_warp``'s edge convention (pixel k centred at k + 0.5) mapping the primitive's OUTPUT pixel
coordinates to its INPUT pixel coordinates, and the (height, width) it produces. For transforms t1, ..., tk
applied to an image in that order, ``compose_affine(M1, ..., Mk)`` = M1 @ ... @ Mk maps the final output's
coordinates to the original image's.

Differences from Lucid's chain of separate TF ops (lucid/optvis/transform.py):
    - One warp resamples once; Lucid resampled at the scale and again at the rotation stage (each bilinear
      resampling blurs a little), so results agree closely on smooth images, not bit for bit.
    - Regions the rotation brings in from outside the padded image get the pad fill (0.5 in the standard
      transforms, through ``affine_warp(..., pad_mode="constant", fill_value=PAD_FILL)``); Lucid's
      ``tf.contrib.image.rotate`` filled them with 0.
    - Scaling uses half-pixel centres (TF2 ``tf.image.resize``); Lucid's TF1 ``resize_bilinear`` did not,
      which shifted the scaled image by up to half a pixel.
    - Angles convert with pi, where Lucid used 3.14 (0.05% smaller angles).

Imported as ``lucid_fast._bindings.warp_matrices`` (source: bindings/warp_matrices.py), public through lucid_fast.ops.
"""
import math

import numpy as np

from . import checks

# Lucid's standard_transforms: pad(12, constant 0.5) -> jitter(8) -> random_scale -> random_rotate -> jitter(4).
PAD_WIDTH = 12
PAD_FILL = 0.5
JITTER_FIRST = 8
JITTER_LAST = 4
STANDARD_SCALES = tuple(1 + (i - 5) / 50.0 for i in range(11))
STANDARD_ANGLES_DEG = tuple(list(range(-10, 11)) + 5 * [0])


def translate(tx, ty):
    """3x3 matrix mapping (x, y) to (x + tx, y + ty)."""
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def _size(size):
    h, w = (int(v) for v in size)
    if h < 1 or w < 1:
        raise ValueError(f"warp_matrices: size must be a positive (height, width), got {size!r}")
    return h, w


def pad(size, width):
    """Pads ``width`` pixels on every side (Lucid's ``transform.pad``): new size (h + 2 width, w + 2 width).

    The padded values come from the warp's ``pad_mode``/``fill_value``, not from the matrix.
    """
    h, w = _size(size)
    return translate(-width, -width), (h + 2 * width, w + 2 * width)


def jitter(size, d, rng=None, offset=None):
    """Lucid's ``transform.jitter(d)``: a random (h - d, w - d) crop, as ``tf.random_crop``.

    Args:
        size: (h, w) of the input, both > d.
        d: crop margin; the row and column offsets are independent uniform integers in [0, d].
        rng: numpy Generator drawing the offsets (row first, then column), unless ``offset`` is given.
        offset: explicit (row, column) offsets, for tests and replays.
    """
    h, w = _size(size)
    if d < 0 or d >= min(h, w):
        raise ValueError(f"jitter: d must be in [0, {min(h, w) - 1}] for size {(h, w)}, got {d}")
    if offset is None:
        if rng is None:
            raise ValueError("jitter: pass a numpy Generator (rng) or an explicit offset")
        checks.check_generator("jitter", "rng", rng)
        offset = (int(rng.integers(0, d + 1)), int(rng.integers(0, d + 1)))
    oy, ox = offset
    return translate(ox, oy), (h - d, w - d)


def scale(size, s):
    """Lucid's ``random_scale`` for a drawn scale s: bilinear resize to (int(s h), int(s w)).

    The size is computed in float32 and truncated as Lucid's ``cast(scale * shape, int32)``; the matrix maps
    the new pixel grid onto the old one exactly (half-pixel centres, as TF2 ``tf.image.resize``).
    """
    h, w = _size(size)
    new_h = int(np.float32(s) * np.float32(h))
    new_w = int(np.float32(s) * np.float32(w))
    if new_h < 1 or new_w < 1:
        raise ValueError(f"scale: s={s} shrinks size {(h, w)} to nothing")
    return np.diag([w / new_w, h / new_h, 1.0]), (new_h, new_w)


def rotate(size, angle_rad):
    """Rotation by ``angle_rad`` about the image centre, size kept (``tf.contrib.image.rotate``).

    M = T(c) R T(-c) with c = (w / 2, h / 2) and R = [[cos, -sin], [sin, cos]]: TF's
    ``angles_to_projective_transforms`` convention (counterclockwise on screen for positive angles).
    """
    h, w = _size(size)
    cos, sin = math.cos(angle_rad), math.sin(angle_rad)
    rot = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    return translate(w / 2.0, h / 2.0) @ rot @ translate(-w / 2.0, -h / 2.0), (h, w)


def compose_affine(*mats):
    """M1 @ M2 @ ... @ Mk of 3x3 (or batched (N, 3, 3)) output->input matrices, for transforms applied in the
    order t1, ..., tk; returns float64 (3, 3), or (N, 3, 3) when any input is batched."""
    if not mats:
        raise ValueError("compose_affine: needs at least one matrix")
    out = np.eye(3)
    for k, m in enumerate(mats):
        m = np.asarray(m, dtype=np.float64)
        if m.shape[-2:] != (3, 3) or m.ndim not in (2, 3):
            raise ValueError(f"compose_affine: matrix {k} must have shape (3, 3) or (N, 3, 3), got {m.shape}")
        out = out @ m
    return out


def to_kernel_matrices(mats):
    """(3, 3) or (N, 3, 3) affine matrices -> the float32 (N, 2, 3) (or (2, 3)) that ``affine_warp`` takes."""
    mats = np.asarray(mats, dtype=np.float64)
    if mats.shape[-2:] != (3, 3) or mats.ndim not in (2, 3):
        raise ValueError(f"to_kernel_matrices: expected shape (3, 3) or (N, 3, 3), got {mats.shape}")
    if not np.allclose(mats[..., 2, :], [0.0, 0.0, 1.0]):
        raise ValueError("to_kernel_matrices: the last row of an affine matrix must be [0, 0, 1]")
    return np.ascontiguousarray(mats[..., :2, :], dtype=np.float32)


def standard_transform_matrices(rng, batch, h, w, independent=False):
    """Matrices for Lucid's ``transform.standard_transforms`` as one warp per batch item.

    The chain is pad(12, fill 0.5) -> jitter(8) -> random_scale(STANDARD_SCALES) ->
    random_rotate(STANDARD_ANGLES_DEG) -> jitter(4). Apply it with
    ``affine_warp(images, matrices, out_hw, pad_mode="constant", fill_value=PAD_FILL)``.

    Args:
        rng: numpy Generator. Draws, in order: the jitter-8 offsets (row, col) (per item when
            ``independent``), the scale index, then the angle index and jitter-4 offsets (row, col) (per item
            when ``independent``).
        batch: number of images N.
        h, w: input image size.
        independent: False (Lucid): one draw shared by the whole batch. True: offsets and angle drawn per
            item; the scale stays shared, since it sets the output size.

    Returns:
        (matrices, (ho, wo)): float32 (N, 2, 3) edge-convention output->input matrices and the output size.
    """
    op = "standard_transform_matrices"
    checks.check_generator(op, "rng", rng)
    batch = checks.check_positive_int(op, "batch", batch)
    size0 = (checks.check_positive_int(op, "h", h), checks.check_positive_int(op, "w", w))
    m_pad, size1 = pad(size0, PAD_WIDTH)
    n_draws = batch if independent else 1
    first = [jitter(size1, JITTER_FIRST, rng) for _ in range(n_draws)]
    size2 = first[0][1]
    m_scale, size3 = scale(size2, STANDARD_SCALES[int(rng.integers(0, len(STANDARD_SCALES)))])
    mats = []
    for k in range(n_draws):
        angle = math.radians(STANDARD_ANGLES_DEG[int(rng.integers(0, len(STANDARD_ANGLES_DEG)))])
        m_rot, size4 = rotate(size3, angle)
        m_last, size5 = jitter(size4, JITTER_LAST, rng)
        mats.append(compose_affine(m_pad, first[k][0], m_scale, m_rot, m_last))
    mats = np.stack(mats)
    if not independent:
        mats = np.broadcast_to(mats, (batch, 3, 3))
    return to_kernel_matrices(mats), size5
