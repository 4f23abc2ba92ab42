"""The test oracle: every stage of a render step written the Lucid way, as differentiable TensorFlow ops.

Nothing here calls lucid_fast. Each function restates Lucid's definition (lucid/optvis/param/*.py,
transform.py, overrides/redirected_relu_grad.py) or the TF op lucid_fast documents it follows, so
``tf.GradientTape`` through these functions is the gradient the native stages must reproduce. Every function
works in the dtype of its input: the whole-step test (tests/optvis/test_step_autodiff.py) runs the reference
in float64, so its gradient is exact to ~1e-12 and a comparison's tolerance only has to cover the engine's
own float32 rounding.
"""
import math

import numpy as np
import tensorflow as tf

# ---------------------------------------------------------------------------------------------------------
# Colour (Lucid param/color.py)

LUCID_SVD_SQRT = np.asarray([[0.26, 0.09, 0.02],
                             [0.27, 0.00, -0.05],
                             [0.27, -0.09, 0.03]]).astype("float32")
LUCID_MAX_NORM = np.max(np.linalg.norm(LUCID_SVD_SQRT, axis=0))
LUCID_MEAN = [0.48, 0.46, 0.41]


@tf.custom_gradient
def constrain_l_inf_reference(u_t):
    """Lucid unit_balls.constrain_L_inf with its custom gradient, for the gradient of a MAXIMIZED objective:
    straight-through, except zero where |u| >= 1 and the ascent step (along the gradient) points outward."""
    def grad(grad_t):
        at_edge_t = tf.greater_equal(tf.abs(u_t), 1.0)
        outward_t = tf.greater(u_t * grad_t, 0.0)
        return tf.where(tf.logical_and(at_edge_t, outward_t), tf.zeros_like(grad_t), grad_t)

    return u_t / tf.maximum(tf.cast(1.0, u_t.dtype), tf.abs(u_t)), grad


def to_valid_rgb_reference(x_t, decorrelate, sigmoid):
    """Lucid param/color.py to_valid_rgb on the first three channels (when C >= 3); the rest only squashed."""
    dtype = x_t.dtype
    if decorrelate and x_t.shape[-1] >= 3:
        rgb_t = x_t[..., :3]
        matrix_t = tf.constant((LUCID_SVD_SQRT / LUCID_MAX_NORM).T, dtype)
        flat_t = tf.matmul(tf.reshape(rgb_t, [-1, 3]), matrix_t)
        rgb_t = tf.reshape(flat_t, tf.shape(rgb_t))
        if not sigmoid:
            rgb_t += tf.constant(LUCID_MEAN, dtype)
        t_t = tf.concat([rgb_t, x_t[..., 3:]], -1)
    else:
        t_t = x_t
    if sigmoid:
        return tf.nn.sigmoid(t_t)
    return constrain_l_inf_reference(2 * t_t - 1) / 2 + 0.5


# ---------------------------------------------------------------------------------------------------------
# Fourier image (Lucid param/spatial.py)

def lucid_rfft2d_freqs(h, w):
    """Lucid param/spatial.py rfft2d_freqs, restated."""
    fy = np.fft.fftfreq(h)[:, None]
    if w % 2 == 1:
        fx = np.fft.fftfreq(w)[: w // 2 + 2]
    else:
        fx = np.fft.fftfreq(w)[: w // 2 + 1]
    return np.sqrt(fx * fx + fy * fy)


def fft_image_reference(spectrum_t, h, w, decay_power=1.0):
    """Lucid param/spatial.py fft_image from its variable on, in TF2 (complex, scale, irfft2d, NHWC, crop, /4)."""
    freqs = lucid_rfft2d_freqs(h, w)
    scale = 1.0 / np.maximum(freqs, 1.0 / max(w, h)) ** decay_power
    scale *= np.sqrt(w * h)
    spectrum_c_t = tf.complex(spectrum_t[0], spectrum_t[1])
    scaled_spectrum_t = tf.cast(scale, spectrum_c_t.dtype) * spectrum_c_t
    image_t = tf.transpose(tf.signal.irfft2d(scaled_spectrum_t), (0, 2, 3, 1))
    image_t = image_t[:, :h, :w, :]
    return image_t / 4.0


# ---------------------------------------------------------------------------------------------------------
# Total variation (Lucid objectives.total_variation)

def tv_reference(x_t):
    """Lucid's objectives.total_variation on the input: tf.image.total_variation summed over the batch."""
    return tf.reduce_sum(tf.image.total_variation(x_t))


# ---------------------------------------------------------------------------------------------------------
# Bilinear upsampling and Lucid's lowres_tensor (param/lowres.py)

def upsample_reference_t(x_low_t, out_hw, batch=None, channels=None):
    """Lucid's lowres_tensor the TF2 way: resize the low-res tensor, then broadcast batch/channels of size 1.
    (tf.image.resize computes in float32 whatever its input: use upsample_matrix_reference_t for float64.)"""
    y_t = tf.image.resize(x_low_t, out_hw, method="bilinear")
    n = batch or x_low_t.shape[0]
    c = channels or x_low_t.shape[3]
    return tf.broadcast_to(y_t, (n, *out_hw, c))


def interpolation_matrix(n_in, n_out):
    """(n_out, n_in) float64: TF2 bilinear resize along one axis (half-pixel centres, no antialias, taps
    clamped to the edge): output index i samples input index (i + 0.5) * n_in / n_out - 0.5."""
    a = np.zeros((n_out, n_in))
    for i in range(n_out):
        u = min(max((i + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1.0)
        k = int(math.floor(u))
        f = u - k
        a[i, k] += 1.0 - f
        a[i, min(k + 1, n_in - 1)] += f
    return a


def upsample_matrix_reference_t(x_low_t, out_hw, batch=None):
    """The same resize as upsample_reference_t, as two interpolation matrices, in the input's dtype."""
    ah = tf.constant(interpolation_matrix(x_low_t.shape[1], out_hw[0]), x_low_t.dtype)
    aw = tf.constant(interpolation_matrix(x_low_t.shape[2], out_hw[1]), x_low_t.dtype)
    y_t = tf.einsum("ih,nhwc,jw->nijc", ah, x_low_t, aw)
    n = batch or x_low_t.shape[0]
    return tf.broadcast_to(y_t, (n, *out_hw, x_low_t.shape[3]))


def lucid_offsets(shape, underlying_shape, offset):
    """Lucid lowres_tensor's per-axis integer offsets (True: half a low-res cell; False/None: 0)."""
    if offset is None:
        return [0] * len(shape)
    offsets = list(offset) if isinstance(offset, list) else len(shape) * [offset]
    for n in range(len(offsets)):
        if offsets[n] is True:
            offsets[n] = shape[n] / underlying_shape[n] / 2
        if offsets[n] is False:
            offsets[n] = 0
        offsets[n] = int(offsets[n])
    return offsets


def lucid_offset_t(t, offsets):
    """Lucid lowres_tensor's shift: tf.pad(t, [(pad, 0), ...], "SYMMETRIC") then slice back to t's shape."""
    shape = list(t.shape)
    padded = tf.pad(t, [(pad, 0) for pad in offsets], "SYMMETRIC")
    return tf.slice(padded, [0] * len(shape), shape)


# ---------------------------------------------------------------------------------------------------------
# The affine warp (pad modes, bilinear taps) and the transform matrices

def h3(m):
    """(..., 2, 3) -> (..., 3, 3) float64."""
    m = np.asarray(m, dtype=np.float64)
    out = np.zeros(m.shape[:-2] + (3, 3))
    out[..., :2, :] = m
    out[..., 2, 2] = 1.0
    return out


def edge_to_index(mats_edge):
    """Edge-convention (N, 2, 3) -> TF's index-convention (N, 3, 3): T(-0.5) A T(0.5)."""
    s = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    return np.linalg.inv(s) @ h3(mats_edge) @ s


def index_to_edge(mats_index):
    """TF's index-convention (..., 3, 3) -> edge convention (..., 3, 3): T(0.5) A T(-0.5)."""
    s = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    return s @ np.asarray(mats_index, np.float64) @ np.linalg.inv(s)


def tf_projective_v3(images_np, mats_edge, out_hw, fill_value=0.0, fill_mode="CONSTANT"):
    """ImageProjectiveTransformV3 (BILINEAR) with the edge-convention matrices converted to TF's convention."""
    flat = edge_to_index(mats_edge).reshape(-1, 9)[:, :8].astype(np.float32)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.constant(images_np), transforms=tf.constant(flat), output_shape=tf.constant(out_hw, tf.int32),
        fill_value=tf.constant(fill_value, tf.float32), interpolation="BILINEAR", fill_mode=fill_mode).numpy()


def source_coords(mats_edge, out_hw):
    """Continuous input index coordinates (u, v), each (N, Ho, Wo) float64, of every output pixel."""
    ho, wo = out_hw
    ii, jj = np.meshgrid(np.arange(ho) + 0.5, np.arange(wo) + 0.5, indexing="ij")
    m = np.asarray(mats_edge, dtype=np.float64)
    u = m[:, 0, 0, None, None] * jj + m[:, 0, 1, None, None] * ii + m[:, 0, 2, None, None] - 0.5
    v = m[:, 1, 0, None, None] * jj + m[:, 1, 1, None, None] * ii + m[:, 1, 2, None, None] - 0.5
    return u, v


def needed_margin(mats_edge, in_hw, out_hw):
    """Pad width that puts every bilinear tap of the warp inside the padded image."""
    u, v = source_coords(mats_edge, out_hw)
    lo = min(np.floor(u).min(), np.floor(v).min())
    hi_u, hi_v = np.floor(u).max() + 1 - (in_hw[1] - 1), np.floor(v).max() + 1 - (in_hw[0] - 1)
    return int(max(0, -lo, hi_u, hi_v)) + 1


def tf_pad_t(x_t, margin, mode, fill=0.0):
    """Pads H and W by `margin` the TF way: tf.pad (repeated, for reflect/symmetric beyond one image size)
    or, for "edge", a gather of clamped indices. ``fill`` may be per channel (constant mode)."""
    if mode == "constant":
        fill = np.asarray(fill, np.float64)
        if fill.ndim == 0:
            return tf.pad(x_t, [(0, 0), (margin, margin), (margin, margin), (0, 0)],
                          constant_values=tf.cast(float(fill), x_t.dtype))
        ones_t = tf.pad(tf.zeros_like(x_t), [(0, 0), (margin, margin), (margin, margin), (0, 0)],
                        constant_values=tf.cast(1.0, x_t.dtype))
        return (tf.pad(x_t, [(0, 0), (margin, margin), (margin, margin), (0, 0)])
                + ones_t * tf.constant(fill, x_t.dtype))
    if mode == "edge":
        for axis in (1, 2):
            size = x_t.shape[axis]
            x_t = tf.gather(x_t, np.clip(np.arange(-margin, size + margin), 0, size - 1), axis=axis)
        return x_t
    # tf.pad pads at most size - 1 (REFLECT) or size (SYMMETRIC); padding again by whole steps continues the
    # periodic mirror extension, because every intermediate edge is then a mirror axis.
    for axis in (1, 2):
        left = margin
        while left > 0:
            size = x_t.shape[axis]
            if mode == "reflect" and size == 1:  # nothing to mirror: every tap reads the one pixel
                x_t = tf.gather(x_t, np.zeros(size + 2 * left, np.int64), axis=axis)
                break
            step = min(left, size - 1 if mode == "reflect" else size)
            paddings = [(0, 0)] * 4
            paddings[axis] = (step, step)
            x_t = tf.pad(x_t, paddings, mode=mode.upper())
            left -= step
    return x_t


def tf_pad_then_v3(images_np, mats_edge, out_hw, mode):
    """tf.pad(mode) with a margin covering every tap, then ImageProjectiveTransformV3 with the shifted matrix."""
    h, w = images_np.shape[1:3]
    margin = needed_margin(mats_edge, (h, w), out_hw)
    padded = tf_pad_t(tf.constant(images_np), margin, mode).numpy()
    shifted = np.asarray(mats_edge, dtype=np.float64).copy()
    shifted[:, :, 2] += margin  # input coordinates of the padded image
    return tf_projective_v3(padded, shifted, out_hw, fill_value=123.0)  # the fill must never be read


def tf_warp_reference_t(x_t, mats_edge, out_hw, mode="constant", fill=0.0):
    """The warp as differentiable TF ops, in x_t's dtype: pad by a margin covering every tap, then a bilinear
    tf.gather_nd. ``mats_edge``: (N, 2, 3) edge-convention output->input matrices (float64 numpy)."""
    n, h, w, _ = x_t.shape
    mats_edge = np.broadcast_to(np.asarray(mats_edge, np.float64), (n, 2, 3))
    margin = needed_margin(mats_edge, (h, w), out_hw)
    xp_t = tf_pad_t(x_t, margin, mode, fill)
    u, v = source_coords(mats_edge, out_hw)
    u, v = u + margin, v + margin
    x0, y0 = np.floor(u), np.floor(v)
    fx, fy = (u - x0)[..., None], (v - y0)[..., None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    b = np.broadcast_to(np.arange(n)[:, None, None], x0.shape)

    def tap(yy, xx):
        return tf.gather_nd(xp_t, np.stack([b, yy, xx], axis=-1))

    wts = [((1 - fy) * (1 - fx)), ((1 - fy) * fx), (fy * (1 - fx)), (fy * fx)]
    taps = [tap(y0, x0), tap(y0, x0 + 1), tap(y0 + 1, x0), tap(y0 + 1, x0 + 1)]
    return tf.add_n([tf.constant(wt, x_t.dtype) * t for wt, t in zip(wts, taps)])


def translate(tx, ty):
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def pad_matrix(size, w):
    """Lucid transform.pad(w): output pixel (x, y) reads input (x - w, y - w); size grows by 2w."""
    return translate(-w, -w), (size[0] + 2 * w, size[1] + 2 * w)


def crop_matrix(size, offset, new_size):
    """A crop of ``new_size`` starting at input row/column ``offset`` (tf.random_crop / tf.slice)."""
    return translate(offset[1], offset[0]), tuple(new_size)


def scale_matrix(size, s):
    """Lucid transform.random_scale for a drawn s, as TF2's bilinear tf.image.resize to int(s * size) (float32
    product truncated, as Lucid's ``cast(scale * cast(shape, float32), int32)``): output pixel centre
    (i + 0.5) samples the input at (i + 0.5) * in / out."""
    h, w = size
    nh, nw = int(np.float32(s) * np.float32(h)), int(np.float32(s) * np.float32(w))
    return np.diag([w / nw, h / nh, 1.0]), (nh, nw)


def rotate_matrix(size, angle_rad):
    """Lucid transform.random_rotate (tf.contrib.image.rotate): TF's angles_to_projective_transforms, which maps
    output index coordinates to input index coordinates, converted to the edge convention."""
    h, w = size
    cos, sin = math.cos(angle_rad), math.sin(angle_rad)
    x_offset = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2.0
    y_offset = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2.0
    index = np.array([[cos, -sin, x_offset], [sin, cos, y_offset], [0.0, 0.0, 1.0]])
    return index_to_edge(index), (h, w)


def chain_matrix(mats):
    """Output->input matrices of transforms applied in order t1..tk composed: the final output's point p_k
    maps to p_{k-1} = M_k p_k, ..., so the whole chain is M_1 @ ... @ M_k."""
    out = np.eye(3)
    for m in mats:
        out = out @ m
    return out[:2]


# ---------------------------------------------------------------------------------------------------------
# collapse_alpha_random (Lucid transform.py)

def collapse_alpha_reference(x_t, background_t):
    """Lucid's collapse_alpha_random for a given background: a * rgb + (1 - a) * background."""
    rgb_t, a_t = x_t[..., :3], x_t[..., 3:4]
    return a_t * rgb_t + (1 - a_t) * background_t


# ---------------------------------------------------------------------------------------------------------
# Lucid's redirected ReLU gradient (optvis/overrides/redirected_relu_grad.py)

def redirected_relu_reference(x_t):
    """tf.nn.relu with Lucid's redirected gradient, restated for the gradient of a MAXIMIZED objective.

    Lucid differentiated the loss -objective: it zeroed the redirected gradient where x < 0 and its gradient
    > 0 (a descent step would push x lower). With g = d objective / d relu(x), that is x < 0 and g < 0. Per
    batch item, the ordinary relu gradient is kept where its norm is > 0, the redirected one elsewhere.
    """
    @tf.custom_gradient
    def relu(x):
        def grad(g):
            zeros = tf.zeros_like(g)
            relu_grad = tf.where(x < 0.0, zeros, g)
            redirected = tf.where(tf.logical_and(x < 0.0, g < 0.0), zeros, g)
            batch = tf.shape(g)[0]
            magnitude = tf.norm(tf.reshape(relu_grad, [batch, -1]), axis=1)
            keep = tf.reshape(magnitude > 0.0, [-1] + [1] * (len(g.shape) - 1))
            return tf.where(keep, relu_grad, redirected)

        return tf.nn.relu(x), grad

    return relu(x_t)


# ---------------------------------------------------------------------------------------------------------
# CPPN (Lucid param/cppn.py)

def reference_cppn(weights, width, num_layers, activation, normalize, batch=1, dtype=tf.float32):
    """The CPPN written the Lucid way: a meshgrid of coordinates, 1x1 tf.nn.conv2d layers, instance norm over
    the spatial axes, a sigmoid output; all items of the batch share the weights."""
    r = 3.0 ** 0.5
    coord_range = tf.cast(tf.linspace(-r, r, width), dtype)
    y, x = tf.meshgrid(coord_range, coord_range, indexing="ij")
    net = tf.stack([tf.stack([x, y], -1)] * batch, 0)
    k = 0
    for _ in range(num_layers):
        net = tf.nn.conv2d(net, weights[k][None, None], 1, "VALID") + weights[k + 1]
        k += 2
        if normalize:
            mean, var = tf.nn.moments(net, axes=[1, 2], keepdims=True)
            net = (net - mean) / tf.sqrt(var + 1e-6) + weights[k]
            k += 1
        net = activation(net)
    return tf.sigmoid(tf.nn.conv2d(net, weights[k][None, None], 1, "VALID") + weights[k + 1])


# ---------------------------------------------------------------------------------------------------------
# Texture lookup at per-pixel UVs (Lucid param/spatial.py bilinearly_sampled_image)


def sample_bilinear_reference(texture_t, uv_t):
    """A (H, W, C) texture at (..., 2) UVs: OpenGL's GL_REPEAT + GL_LINEAR with v flipped, by four gather_nd taps
    around (u * W - 0.5, (1 - v) * H - 0.5), each wrapped modulo the size (Lucid's bilinearly_sampled_image)."""
    dtype = texture_t.dtype
    h, w = tf.shape(texture_t)[0], tf.shape(texture_t)[1]
    uv_t = tf.cast(uv_t, dtype)
    u_t, v_t = uv_t[..., 0:1], 1.0 - uv_t[..., 1:2]
    x_t = u_t * tf.cast(w, dtype) - 0.5
    y_t = v_t * tf.cast(h, dtype) - 0.5
    x0_t, y0_t = tf.floor(x_t), tf.floor(y_t)
    fx_t, fy_t = x_t - x0_t, y_t - y0_t
    xi_t, yi_t = tf.cast(x0_t, tf.int32), tf.cast(y0_t, tf.int32)

    def tap(yy_t, xx_t):
        return tf.gather_nd(texture_t, tf.concat([yy_t % h, xx_t % w], -1))

    s0_t = tap(yi_t, xi_t) * (1.0 - fy_t) + tap(yi_t + 1, xi_t) * fy_t
    s1_t = tap(yi_t, xi_t + 1) * (1.0 - fy_t) + tap(yi_t + 1, xi_t + 1) * fy_t
    return s0_t * (1.0 - fx_t) + s1_t * fx_t
