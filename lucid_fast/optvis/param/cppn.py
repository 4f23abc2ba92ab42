"""Compositional Pattern Producing Networks (CPPNs) as image parameterizations (Lucid's ``param.cppn``).

A CPPN draws an image as a function of pixel position: every pixel's (x, y) coordinate goes through the same
small fully-connected network (1x1 convolutions over a coordinate grid) to a colour. Optimizing the network's
weights instead of pixels gives smooth, resolution-independent pictures (Mordvintsev et al., "Differentiable
Image Parameterizations", Distill 2018, section "xy2rgb").

The network is TensorFlow (it joins a render as a :class:`~lucid_fast.optvis.param.TFParam` stage):

* input: a ``width x width`` grid of (x, y) with both coordinates evenly spaced in ``[-sqrt(3), sqrt(3)]``
  (unit standard deviation), x varying along columns and y along rows;
* ``num_layers`` hidden layers: a 1x1 convolution to ``num_hidden_channels`` (weights drawn from a truncated
  normal of variance ``1 / fan_in``, biases from N(0, 0.1^2)), optionally an instance normalization, then
  ``activation_func`` (by default :func:`composite_activation`, which doubles the channel count);
* output: a 1x1 convolution to ``num_output_channels`` followed by a sigmoid. Its weights start at zero (so
  the first image is a flat colour, ``sigmoid(bias)``); its biases are drawn like the hidden ones.

All draws come from the render's generator (``render_vis(..., seed=)``), so a seed fixes the run.
"""
import math

import numpy as np

from .core import TFParam

_TRUNC_STD = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]: keeps the variance at 1 / fan_in


def composite_activation(x):
    """``atan(x)`` and its square, concatenated on the channel axis and scaled to unit RMS (doubles the
    channels). The default CPPN non-linearity: odd and even responses give symmetric and mirrored shapes."""
    import tensorflow as tf

    a = tf.atan(x)
    # scales: the RMS of atan(z) and of atan(z)**2 for z ~ N(0, 1)
    return tf.concat([a / 0.67, (a * a) / 0.6], -1)


def composite_activation_unbiased(x):
    """:func:`composite_activation` with the square term centred (mean 0.45 removed, unit std)."""
    import tensorflow as tf

    a = tf.atan(x)
    return tf.concat([a / 0.67, (a * a - 0.45) / 0.396], -1)


def relu_normalized(x):
    """``relu(x)`` shifted and scaled to zero mean and unit std for x ~ N(0, 1)."""
    import tensorflow as tf

    return (tf.nn.relu(x) - 0.40) / 0.58


def coordinate_grid(width, height=None):
    """The CPPN input: (height, width, 2) float32 of (x, y), each in [-sqrt(3), sqrt(3)] (std 1)."""
    height = width if height is None else height
    r = math.sqrt(3.0)
    xs = np.linspace(-r, r, width, dtype=np.float32)
    ys = np.linspace(-r, r, height, dtype=np.float32)
    y, x = np.meshgrid(ys, xs, indexing="ij")
    return np.stack([x, y], -1).astype(np.float32)


def _truncated_normal(rng, shape, std):
    """N(0, std^2) truncated to two standard deviations (redraws outside), from ``rng``."""
    out = rng.normal(0.0, 1.0, size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return (out * std).astype(np.float32)


def _check_int(name, v, lo):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"cppn: {name} must be an integer >= {lo}, got {v!r}")
    return int(v)


class CPPN(TFParam):
    """A CPPN image parameterization (build it with :func:`cppn`).

    Besides being a render stage, it can redraw its picture at any resolution (:meth:`render`) and hand out
    or take its weights (:meth:`get_weights`, :meth:`set_weights`), e.g. to interpolate between two trained
    CPPNs.
    """

    def __init__(self, width, batch, num_output_channels, num_hidden_channels, num_layers, activation_func,
                 normalize):
        self.width = _check_int("width", width, 1)
        batch = _check_int("batch", batch, 1)
        self.num_output_channels = _check_int("num_output_channels", num_output_channels, 1)
        self.num_hidden_channels = _check_int("num_hidden_channels", num_hidden_channels, 1)
        self.num_layers = _check_int("num_layers", num_layers, 0)
        if not callable(activation_func):
            raise ValueError(f"cppn: activation_func must be a function of a TF tensor, got {activation_func!r}")
        self.activation_func = activation_func
        self.normalize = bool(normalize)
        super().__init__((batch, self.width, self.width, self.num_output_channels), self._build, name="cppn")

    # ---- the network ------------------------------------------------------------------------------
    def _activation_channels(self):
        """Channels the activation makes from num_hidden_channels (2x for the composite activation)."""
        import tensorflow as tf

        probe = self.activation_func(tf.zeros([1, 1, 1, self.num_hidden_channels], tf.float32))
        return int(probe.shape[-1])

    def _init_weights(self, rng):
        """Initial values, drawn from ``rng`` in a fixed order: per hidden layer W, b (and the instance-norm
        offset when normalizing), then the output layer's W (zeros) and b."""
        weights = []
        in_n = 2
        act_n = self._activation_channels() if self.num_layers else 2
        for _ in range(self.num_layers):
            weights.append(_truncated_normal(rng, (in_n, self.num_hidden_channels), math.sqrt(1.0 / in_n) / _TRUNC_STD))
            weights.append(rng.normal(0.0, 0.1, size=self.num_hidden_channels).astype(np.float32))
            if self.normalize:
                weights.append(np.zeros(self.num_hidden_channels, np.float32))
            in_n = act_n
        weights.append(np.zeros((in_n, self.num_output_channels), np.float32))
        weights.append(rng.normal(0.0, 0.1, size=self.num_output_channels).astype(np.float32))
        return weights

    def _network(self, coords_t, weights):
        """(H, W, 2) coordinates -> (1, H, W, out) image in (0, 1), with the given weight tensors."""
        import tensorflow as tf

        h, w = coords_t.shape[0], coords_t.shape[1]
        net_t = tf.reshape(coords_t, [1, h * w, 2])  # one image; pixels as rows
        k = 0
        for _ in range(self.num_layers):
            net_t = tf.matmul(net_t, weights[k]) + weights[k + 1]  # a 1x1 convolution
            k += 2
            if self.normalize:  # instance norm: per channel over the image's pixels; offset, no scale
                mean_t, var_t = tf.nn.moments(net_t, axes=[1], keepdims=True)
                net_t = (net_t - mean_t) * tf.math.rsqrt(var_t + 1e-6) + weights[k]
                k += 1
            net_t = self.activation_func(net_t)
        out_t = tf.sigmoid(tf.matmul(net_t, weights[k]) + weights[k + 1])
        return tf.reshape(out_t, [1, h, w, self.num_output_channels])

    def _build(self, rng):
        import tensorflow as tf

        variables = [tf.Variable(v, name=f"cppn_{i}") for i, v in enumerate(self._init_weights(rng))]
        coords_t = tf.constant(coordinate_grid(self.width))
        batch = self.shape[0]

        def image_fn():
            img_t = self._network(coords_t, variables)
            return tf.tile(img_t, [batch, 1, 1, 1]) if batch > 1 else img_t  # the batch shares the weights

        return variables, image_fn

    # ---- using a trained CPPN ---------------------------------------------------------------------
    def get_weights(self):
        """The current weights, as a list of numpy arrays (copies)."""
        if self.variables is None:
            raise RuntimeError("cppn: not initialized yet: run it through render_vis / make_vis_T first")
        return [v.numpy().copy() for v in self.variables]

    def set_weights(self, weights):
        """Replaces the weights (a list like :meth:`get_weights` returns)."""
        if self.variables is None:
            raise RuntimeError("cppn: not initialized yet: run it through render_vis / make_vis_T first")
        weights = list(weights)
        if len(weights) != len(self.variables):
            raise ValueError(f"cppn: set_weights needs {len(self.variables)} arrays, got {len(weights)}")
        for v, w in zip(self.variables, weights):
            w = np.asarray(w, np.float32)
            if w.shape != tuple(v.shape):
                raise ValueError(f"cppn: set_weights: shape {w.shape} given for a weight of shape {tuple(v.shape)}")
            v.assign(w)

    def render(self, width=None, weights=None):
        """Draws the CPPN's image at ``width x width`` pixels (default: its own width), with the current
        weights or the given ones; returns (1, width, width, channels) float32 numpy in (0, 1)."""
        import tensorflow as tf

        width = self.width if width is None else _check_int("width", width, 1)
        if weights is None:
            weights = self.get_weights()
        weights = [tf.constant(np.asarray(w, np.float32)) for w in weights]
        return self._network(tf.constant(coordinate_grid(width)), weights).numpy()


def cppn(width, batch=1, num_output_channels=3, num_hidden_channels=24, num_layers=8,
         activation_func=composite_activation, normalize=False):
    """A Compositional Pattern Producing Network image: ``(batch, width, width, num_output_channels)`` in (0, 1).

    Args:
        width: image side in pixels (the image is square).
        batch: batch size; every item is the same picture (the batch shares one network, as in Lucid).
        num_output_channels: channels of the image (3 for RGB, 4 for RGBA).
        num_hidden_channels: width of each hidden 1x1 layer.
        num_layers: number of hidden layers.
        activation_func: the non-linearity, a function of a TF tensor acting on its last axis (e.g.
            :func:`composite_activation` (default), :func:`composite_activation_unbiased`,
            :func:`relu_normalized`, ``tf.abs``).
        normalize: instance-normalize every hidden layer before its activation.

    Returns:
        A :class:`CPPN` (a TFParam stage) to pass as ``param_f`` to render_vis. CPPNs like small learning
        rates (Lucid used Adam at 0.005) and no transforms.
    """
    return CPPN(width, batch, num_output_channels, num_hidden_channels, num_layers, activation_func, normalize)


__all__ = ["CPPN", "composite_activation", "composite_activation_unbiased", "coordinate_grid", "cppn",
           "relu_normalized"]
