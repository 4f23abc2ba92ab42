"""One render step, end to end, against tf.GradientTape through an all-TF float64 pipeline.

``VisSession.compute_gradients`` runs everything a step does before Adam: the parameterization forward
(native stages or a TF stage), ``collapse_alpha_random``, the one fused affine warp, the tf.function with the
user's TF transforms, the model (with or without Lucid's redirected ReLU) and the objective, then the warp
adjoint, d objective / d x_raw, the native terms (total variation), and the parameterization backward. Here
the same pipeline is written with the Lucid-style TF ops of tests/tf_reference.py (tf.pad / gather warp, the
model's convolutions restated with tf.nn, Lucid's redirected ReLU restated) and differentiated by the tape in
float64, with the transforms' random draws read back from the run (recording subclasses of the transforms) so
both sides use the same matrices and background.

Tolerance: each parameter's gradient must match to STEP_RTOL of its largest entry. The reference is exact to
~1e-12, so this only has to cover the engine's float32 arithmetic (inverse FFT, convolutions, warp weights):
the worst case over the configurations below is 2.0e-6 (measured: 1.8e-7 to 2.0e-6 per leaf), so 2e-5 leaves a
factor of 10 for other CPUs and builds. The objective's terms are weighted so each one moves the gradient by
5% or more of its largest entry: dropping or flipping any of them is off by > 1e3 tolerances.
"""
import dataclasses
from typing import Callable

import numpy as np
import pytest
import tensorflow as tf

from lucid_fast import models, ops
from lucid_fast.optvis import objectives, param, render, transform
from tf_reference import (chain_matrix, collapse_alpha_reference, crop_matrix, fft_image_reference,
                          lucid_offset_t, lucid_offsets, pad_matrix, redirected_relu_reference, reference_cppn,
                          rotate_matrix, scale_matrix, to_valid_rgb_reference, tf_warp_reference_t,
                          upsample_matrix_reference_t)

STEP_RTOL = 2e-5  # float32 engine vs float64 reference, relative to the gradient's largest entry (see above)
LOSS_RTOL = 1e-6  # the objective value, float32 vs float64 (measured: 4e-8 at worst)
F64 = tf.float64
SIZE, BATCH = 20, 2
DEAD = -100.0  # a bias that keeps a ReLU channel negative for every input in [0, 1]


# ---------------------------------------------------------------------------------------------------------
# The model: small, with dead channels so the redirected ReLU gradient matters

def build_model():
    """conv1 (3x3, relu) -> pool -> conv2 (3x3, relu) -> conv3 (1x1, linear) -> ReLU layer relu3.

    conv1 channel 5, conv2 channels 0 and 1 and relu3 channel 2 are dead (bias -100): their ordinary ReLU
    gradient is zero for every image. Both ways the adapter sees a ReLU are present (a fused activation and a
    standalone ReLU layer)."""
    x = tf.keras.Input((None, None, 3), name="image")
    y = tf.keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(x)
    y = tf.keras.layers.MaxPooling2D(2, name="pool1")(y)
    y = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(y)
    y = tf.keras.layers.Conv2D(5, 1, name="conv3")(y)
    y = tf.keras.layers.ReLU(name="relu3")(y)
    model = tf.keras.Model(x, y, name="step_tiny")
    rng = np.random.default_rng(0)
    weights = []
    for name, dead in (("conv1", [5]), ("conv2", [0, 1]), ("conv3", [2])):
        kernel, bias = model.get_layer(name).get_weights()
        fan_in = np.prod(kernel.shape[:3])
        kernel = rng.normal(0.0, 1.0 / np.sqrt(fan_in), kernel.shape).astype(np.float32)
        bias = rng.normal(0.0, 0.1, bias.shape).astype(np.float32)
        bias[dead] = DEAD
        model.get_layer(name).set_weights([kernel, bias])
        weights.append((kernel, bias))
    return model, weights


@pytest.fixture(scope="module")
def tiny():
    return build_model()


def model_reference(weights, x_t, override, value_range=(0.0, 1.0)):
    """The model restated with tf.nn ops (from its weights), in x_t's dtype; Lucid's redirected ReLU when
    ``override``. Returns the layers by the adapter's names."""
    relu = redirected_relu_reference if override else tf.nn.relu
    (w1, b1), (w2, b2), (w3, b3) = [(tf.constant(k, x_t.dtype), tf.constant(b, x_t.dtype)) for k, b in weights]
    lo, hi = value_range
    x_t = lo + x_t * (hi - lo) if (lo, hi) != (0.0, 1.0) else x_t
    acts = {}
    acts["conv1_pre_relu"] = tf.nn.conv2d(x_t, w1, 1, "SAME") + b1
    acts["conv1"] = relu(acts["conv1_pre_relu"])
    acts["pool1"] = tf.nn.max_pool2d(acts["conv1"], 2, 2, "VALID")
    acts["conv2_pre_relu"] = tf.nn.conv2d(acts["pool1"], w2, 1, "SAME") + b2
    acts["conv2"] = relu(acts["conv2_pre_relu"])
    acts["conv3"] = tf.nn.conv2d(acts["conv2"], w3, 1, "SAME") + b3
    acts["relu3"] = relu(acts["conv3"])
    return acts


# ---------------------------------------------------------------------------------------------------------
# Transforms from a description; the random draws are recorded

class _RecordingAffine:
    def sample(self, size, rng):
        m, new = super().sample(size, rng)
        self.draws.append((tuple(size), np.array(m, np.float64), tuple(new)))
        return m, new


class _RecordingCollapse(transform.CollapseAlphaRandom):
    def background(self, shape, rng):
        bg = super().background(shape, rng)
        self.draws.append(np.array(bg, np.float64))
        return bg


def build_transforms(desc):
    """Engine transforms (recording their draws) for a description: ("pad", w, mode, fill), ("jitter", d),
    ("scale", s), ("rotate", degrees), ("crop_or_pad", h, w), ("collapse",), ("tf", fn)."""
    out = []
    for d in desc:
        kind = d[0]
        if kind == "collapse":
            t = _RecordingCollapse()
        elif kind == "tf":
            out.append(d[1])
            continue
        else:
            t = {"pad": lambda: transform.pad(d[1], mode=d[2], constant_value=d[3]),
                 "jitter": lambda: transform.jitter(d[1]),
                 "scale": lambda: transform.random_scale([d[1]]),
                 "rotate": lambda: transform.random_rotate([d[1]]),
                 "crop_or_pad": lambda: transform.crop_or_pad_to(d[1], d[2])}[kind]()
            t.__class__ = type("Recording" + type(t).__name__, (_RecordingAffine, type(t)), {})
        t.draws = []
        out.append(t)
    return out


def reference_warp(desc, engine_transforms, size):
    """The step's warp restated from the description: (matrix (2, 3) edge convention, out size, pad mode, fill).

    Only the jitters' offsets are read from the run (they are the random part); each stage's matrix comes from
    tests/tf_reference.py. The first pad sets how outside taps are read (a chain without pad fills with 0)."""
    mats, mode, fill = [], None, 0.0
    for d, t in zip(desc, engine_transforms):
        kind = d[0]
        if kind in ("collapse", "tf"):
            continue
        if kind == "pad":
            m, size = pad_matrix(size, d[1])
            if mode is None:
                mode = d[2].lower()
                fill = d[3] if mode == "constant" else 0.0
        elif kind == "jitter":
            (_, drawn, _), = t.draws
            oy, ox = drawn[1, 2], drawn[0, 2]
            assert np.array_equal(drawn[:2, :2], np.eye(2)) and oy == int(oy) and ox == int(ox)
            assert 0 <= oy <= d[1] and 0 <= ox <= d[1], (oy, ox)
            m, size = crop_matrix(size, (oy, ox), (size[0] - d[1], size[1] - d[1]))
        elif kind == "scale":
            m, size = scale_matrix(size, d[1])
        elif kind == "rotate":
            m, size = rotate_matrix(size, np.deg2rad(d[1]))
        elif kind == "crop_or_pad":
            # tf.image.resize_with_crop_or_pad: crop (size - target) // 2 from the top-left, or pad
            # (target - size) // 2 there, per axis
            target = (d[1], d[2])
            off = [(s - t_) // 2 if s >= t_ else -((t_ - s) // 2) for s, t_ in zip(size, target)]
            m, size = crop_matrix(size, off, target)
        mats.append(m)
    if not mats:
        return None, size, None, None
    return chain_matrix(mats), size, mode or "constant", fill


# ---------------------------------------------------------------------------------------------------------
# Reference objectives

def ref_channel(layer, n):
    return lambda acts, x_raw, x_in: tf.reduce_mean(acts[layer][..., n])


def ref_channel_item(layer, n, b):
    return lambda acts, x_raw, x_in: tf.reduce_mean(acts[layer][b:b + 1, ..., n])


def ref_tv(weight, batch=None):
    def f(acts, x_raw, x_in):
        x = x_raw if batch is None else x_raw[batch:batch + 1]
        return weight * tf.reduce_sum(tf.image.total_variation(x))
    return f


def ref_sum(*terms):
    return lambda acts, x_raw, x_in: tf.add_n([t(acts, x_raw, x_in) for t in terms])


def ref_scaled(k, term):
    return lambda acts, x_raw, x_in: k * term(acts, x_raw, x_in)


@objectives.wrap_objective()
def transformed_energy():
    """A TF objective on the model's input after the user transforms (``T("input_transformed")``)."""
    def inner(T):
        return -tf.reduce_mean(tf.square(T("input_transformed") - 0.5))
    return inner


@objectives.wrap_objective()
def alpha_mean():
    """A TF objective on the alpha channel of the untransformed input (the d/dx_raw path, 4 channels)."""
    def inner(T):
        return tf.reduce_mean(T("input")[..., 3])
    return inner


def ref_transformed_energy(acts, x_raw, x_in):
    return -tf.reduce_mean(tf.square(x_in - 0.5))


def ref_l2_input(constant):
    return lambda acts, x_raw, x_in: tf.sqrt(1e-6 + tf.reduce_sum((x_raw - constant) ** 2))


def ref_alpha_mean(acts, x_raw, x_in):
    return tf.reduce_mean(x_raw[..., 3])


# The weights of the terms below are set so that each term's share of the gradient is at least ~5% of its
# largest entry (model terms ~1e-3..1e-2 per parameter): dropping or flipping any one of them changes the
# gradient by far more than STEP_RTOL.
TV_W = 2e-3
# conv2's channels 0 and 1 are dead: with the override the gradient flows back through channel 0 (it pushes
# up) but not channel 1 (its ascent direction pushes further down). conv1 channel 2 is alive (positive on ~95%
# of the pixels), so the model gradient is not zero without the override either.
OBJ_DEAD = objectives.channel("conv2", 0) - objectives.channel("conv2", 1) + 2.0 * objectives.channel("conv1", 2)
REF_DEAD = ref_sum(ref_channel("conv2", 0), ref_scaled(-1.0, ref_channel("conv2", 1)),
                   ref_scaled(2.0, ref_channel("conv1", 2)))
# relu3 channel 2 is dead (the standalone ReLU layer); a pre-relu tap reads conv1 before its ReLU.
OBJ_RELU3 = objectives.channel("relu3", 2) + 0.1 * objectives.channel("conv1_pre_relu", 1)
REF_RELU3 = ref_sum(ref_channel("relu3", 2), ref_scaled(0.1, ref_channel("conv1_pre_relu", 1)))
# Objectives whose declared channel reads let the engine compute only some channels of the last convolution
# (ModelAdapter.channel_activation_fn): a channel per image (conv2's dead channel 0 for image 0, channel 5 for
# image 1: two channels computed, the rest zeros), and one channel of a linear 1x1 convolution.
OBJ_PER_IMAGE = objectives.channel("conv2", 0, batch=0) + 2.0 * objectives.channel("conv2", 5, batch=1)
REF_PER_IMAGE = ref_sum(ref_channel_item("conv2", 0, 0), ref_scaled(2.0, ref_channel_item("conv2", 5, 1)))
SLICED = {"fft_sliced_per_image": {"conv2": (0, 5)}, "fft_sliced_one_channel": {"conv3": (4,)},
          "fft_standard_override": {"conv2": (0, 1), "conv1": (2,)}}


def user_flip_tint(x_t):
    """A user TF transform: mirror left-right and tint the channels."""
    return tf.reverse(x_t, [2]) * tf.constant([0.9, 1.0, 1.1], x_t.dtype)


def user_crop(x_t):
    """A user TF transform that changes the size."""
    return x_t[:, 1:, :-2, :]


# ---------------------------------------------------------------------------------------------------------
# Parameterizations and their references (the reference gets the leaves' values in ParamGraph order)

SHAPE = (BATCH, SIZE, SIZE, 3)
LOW_A, LOW_B = (1, 4, 5, 3), (2, 10, 10, 3)


def param_fft():
    return param.image(SIZE, batch=BATCH)


def ref_fft(v):
    return to_valid_rgb_reference(fft_image_reference(v[0], SIZE, SIZE), decorrelate=True, sigmoid=True)


def param_alpha():
    return param.image(SIZE, batch=BATCH, alpha=True)


def param_pixel():
    return param.image(SIZE, batch=BATCH, fft=False, sd=0.5)


def ref_pixel(v):
    return to_valid_rgb_reference(v[0], decorrelate=True, sigmoid=True)


def param_pixel_clip():
    # sd 0.6 puts a good share of the pixels outside [0, 1], where the clip's gradient rule applies
    return param.to_valid_rgb(param.pixel_image(SHAPE, sd=0.6), decorrelate=False, sigmoid=False)


def ref_pixel_clip(v):
    return to_valid_rgb_reference(v[0], decorrelate=False, sigmoid=False)


def param_lowres():
    low = param.lowres_tensor(SHAPE, LOW_A, offset=True, sd=0.5)
    return param.to_valid_rgb(low + 0.5 * param.lowres_tensor(SHAPE, LOW_B, sd=0.5), decorrelate=True)


def ref_lowres(v):
    a = lucid_offset_t(upsample_matrix_reference_t(v[0], SHAPE[1:3], batch=BATCH), lucid_offsets(SHAPE, LOW_A, True))
    b = upsample_matrix_reference_t(v[1], SHAPE[1:3], batch=BATCH)
    return to_valid_rgb_reference(a + 0.5 * b, decorrelate=True, sigmoid=True)


CPPN_KW = dict(num_hidden_channels=4, num_layers=2)


def param_cppn():
    return param.cppn(SIZE, batch=BATCH, **CPPN_KW)


def ref_cppn(v):
    from lucid_fast.optvis.param.cppn import composite_activation
    return reference_cppn(v, SIZE, CPPN_KW["num_layers"], composite_activation, False, batch=BATCH, dtype=F64)


# ---------------------------------------------------------------------------------------------------------
# The configurations

@dataclasses.dataclass
class Config:
    param_f: Callable
    ref_image: Callable
    transforms: list
    objective: object
    ref_objective: Callable
    override: bool = True          # relu_gradient_override given to the engine
    step_count: int = 0            # the engine's step counter before the step (16 = override over)
    value_range: tuple = (0.0, 1.0)
    seed: int = 0
    cppn: bool = False

    @property
    def ref_override(self):
        return self.override and self.step_count < render.RELU_OVERRIDE_STEPS


STANDARD = [("pad", 3, "constant", 0.5), ("jitter", 2), ("scale", 1.1), ("rotate", 7.0), ("jitter", 1)]

CONFIGS = {
    # fft + decorrelated colour, Lucid's standard chain (constant fill 0.5), native TV, override on
    "fft_standard_override": Config(param_fft, ref_fft, STANDARD, OBJ_DEAD - TV_W * objectives.total_variation(),
                                    ref_sum(REF_DEAD, ref_tv(-TV_W))),
    # only the channels the objective reads are computed (SLICED), with and without the override
    "fft_sliced_per_image": Config(param_fft, ref_fft, STANDARD, OBJ_PER_IMAGE - TV_W * objectives.total_variation(),
                                   ref_sum(REF_PER_IMAGE, ref_tv(-TV_W)), seed=6),
    "fft_sliced_one_channel": Config(param_fft, ref_fft, STANDARD,
                                     objectives.channel("conv3", 4) - TV_W * objectives.total_variation(),
                                     ref_sum(ref_channel("conv3", 4), ref_tv(-TV_W)), override=False, seed=7),
    # the same with the override off, and after the override's 16 steps
    "fft_standard_no_override": Config(param_fft, ref_fft, STANDARD,
                                       OBJ_DEAD - TV_W * objectives.total_variation(),
                                       ref_sum(REF_DEAD, ref_tv(-TV_W)), override=False),
    "fft_standard_step16": Config(param_fft, ref_fft, STANDARD, OBJ_DEAD - TV_W * objectives.total_variation(),
                                  ref_sum(REF_DEAD, ref_tv(-TV_W)), step_count=16),
    # pixels, reflect padding, a big rotation, two user TF transforms, a model with another value range, a TF
    # term on the untransformed input (d/dx_raw)
    "pixel_reflect_user_tf": Config(param_pixel, ref_pixel,
                                    [("pad", 2, "REFLECT", 0.5), ("jitter", 3), ("rotate", -20.0),
                                     ("tf", user_flip_tint), ("tf", user_crop)],
                                    OBJ_RELU3 - 0.03 * objectives.L2("input", constant=0.5),
                                    ref_sum(REF_RELU3, ref_scaled(-0.03, ref_l2_input(0.5))),
                                    value_range=(-1.5, 2.0), seed=1),
    # the clipped colour map, symmetric padding, a down-scale, crop_or_pad_to, per-item TV terms and a term
    # on the transformed input
    "pixel_clip_symmetric": Config(param_pixel_clip, ref_pixel_clip,
                                   [("pad", 2, "SYMMETRIC", 0.5), ("scale", 0.8), ("crop_or_pad", 15, 18)],
                                   OBJ_DEAD - 2e-3 * objectives.total_variation(batch=1)
                                   - 1e-3 * objectives.total_variation(batch=0) + 4.0 * transformed_energy(),
                                   ref_sum(REF_DEAD, ref_tv(-2e-3, 1), ref_tv(-1e-3, 0),
                                           ref_scaled(4.0, ref_transformed_energy)),
                                   override=False, seed=2),
    # two lowres tensors (one with Lucid's offset), no pad (fill 0), an up-scale
    "lowres_offset": Config(param_lowres, ref_lowres, [("jitter", 2), ("scale", 1.2)],
                            OBJ_RELU3 - TV_W * objectives.total_variation(),
                            ref_sum(REF_RELU3, ref_tv(-TV_W)), seed=3),
    # a CPPN (a TF stage), no transforms at all (no warp)
    "cppn_no_transforms": Config(param_cppn, ref_cppn, [], OBJ_DEAD - TV_W * objectives.total_variation(),
                                 ref_sum(REF_DEAD, ref_tv(-TV_W)), seed=4, cppn=True),
    # RGBA: collapse_alpha_random before the warp, constant fill 0.2, TV on 4 channels, an alpha term
    "alpha_collapse": Config(param_alpha, ref_fft,
                             [("collapse",), ("pad", 2, "constant", 0.2), ("jitter", 2), ("rotate", 12.0)],
                             OBJ_DEAD - TV_W * objectives.total_variation() - 0.2 * alpha_mean(),
                             ref_sum(REF_DEAD, ref_tv(-TV_W), ref_scaled(-0.2, ref_alpha_mean)), seed=5),
}


def run_engine(cfg, model):
    engine_transforms = build_transforms(cfg.transforms)
    vis = render.make_vis_T(model, cfg.objective, param_f=cfg.param_f, transforms=engine_transforms,
                            relu_gradient_override=cfg.override, seed=cfg.seed)
    vis.step_count = cfg.step_count
    if cfg.cppn:
        node, = vis.graph.tf_params
        # random weights everywhere: Lucid's init has a zero output layer, which would hide the hidden layers
        rng = np.random.default_rng(cfg.seed)
        node.set_weights([w + rng.normal(0.0, 0.5, w.shape).astype(np.float32) for w in node.get_weights()])
        leaves, values = [node], [node.get_weights()]
    else:
        leaves = list(vis.graph.params)
        values = [np.array(p.value) for p in leaves]
    loss, grads = vis.compute_gradients()
    if cfg.cppn:
        got = [np.asarray(g) for g in grads[node]]
        values = values[0]
    else:
        got = [grads[p] for p in leaves]
    return engine_transforms, values, loss, got


def run_reference(cfg, weights, values, engine_transforms, override):
    vars_t = [tf.Variable(np.asarray(v, np.float64)) for v in values]
    with tf.GradientTape() as tape:
        x_raw = cfg.ref_image(vars_t)
        x = x_raw
        collapse = [t for t in engine_transforms if isinstance(t, transform.CollapseAlphaRandom)]
        if collapse:
            bg, = collapse[0].draws
            x = collapse_alpha_reference(x_raw, tf.constant(bg))
        m, out_hw, mode, fill = reference_warp(cfg.transforms, engine_transforms, tuple(x.shape[1:3]))
        if m is not None:
            x = tf_warp_reference_t(x, m[None], out_hw, mode, fill)
        for d in cfg.transforms:
            if d[0] == "tf":
                x = d[1](x)
        acts = model_reference(weights, x, override, cfg.value_range)
        loss = cfg.ref_objective(acts, x_raw, x)
    return float(loss), [g.numpy() for g in tape.gradient(loss, vars_t)]


def _adapter(model, cfg):
    if cfg.value_range == (0.0, 1.0):
        return model
    return models.KerasAdapter(model, image_value_range=cfg.value_range)


def max_rel_err(got, ref):
    return float(np.max(np.abs(np.asarray(got, np.float64) - ref)) / np.max(np.abs(ref)))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_step_gradient_matches_autodiff(name, tiny):
    model, weights = tiny
    cfg = CONFIGS[name]
    engine_transforms, values, loss, got = run_engine(cfg, _adapter(model, cfg))
    ref_loss, ref = run_reference(cfg, weights, values, engine_transforms, cfg.ref_override)
    assert abs(loss - ref_loss) <= LOSS_RTOL * max(1.0, abs(ref_loss)), (loss, ref_loss)
    assert len(got) == len(ref)
    for k, (g, r) in enumerate(zip(got, ref)):
        assert g.shape == r.shape, (k, g.shape, r.shape)
        assert np.max(np.abs(r)) > 0, f"{name}: the reference gradient of leaf {k} is zero"
        err = max_rel_err(g, r)
        assert err <= STEP_RTOL, f"{name}: leaf {k}: step gradient vs autodiff, max error {err:.3g} of the largest"
    if cfg.ref_override:
        # the configuration exercises the override: without it, the reference gradient is far off
        _, plain = run_reference(cfg, weights, values, engine_transforms, False)
        assert max(max_rel_err(p, r) for p, r in zip(plain, ref)) > 100 * STEP_RTOL


@pytest.mark.parametrize("name", sorted(SLICED))
def test_step_computes_only_the_declared_channels(name, tiny):
    """The configurations above whose objectives declare their channel reads do run sliced (so their gradient
    test covers the sliced path): conv2 and conv3 are the last convolutions, computed for those channels only;
    conv1 feeds conv2, so it is computed whole and its channel gathered."""
    model, _ = tiny
    cfg = CONFIGS[name]
    vis = render.make_vis_T(model, cfg.objective, param_f=cfg.param_f, transforms=build_transforms(cfg.transforms),
                            seed=cfg.seed)
    assert vis.channel_slices() == SLICED[name]
    act_fn = vis.model.channel_activation_fn({k: list(v) for k, v in SLICED[name].items()})
    assert set(act_fn.sliced) == {k for k in SLICED[name] if k != "conv1"}


def test_step_applies_the_computed_gradient(tiny):
    """step() is compute_gradients() then one native Adam ascent step with that gradient."""
    model, _ = tiny
    a = render.make_vis_T(model, OBJ_DEAD, param_f=param_fft, transforms=build_transforms(STANDARD), seed=7)
    b = render.make_vis_T(model, OBJ_DEAD, param_f=param_fft, transforms=build_transforms(STANDARD), seed=7)
    (p_a,), (p_b,) = a.graph.params, b.graph.params
    np.testing.assert_array_equal(p_a.value, p_b.value)
    _, grads = a.compute_gradients()
    expected = np.array(p_a.value)
    zeros = [ops.zeros_aligned(expected.shape) for _ in range(2)]
    ops.adam_update(expected, np.ascontiguousarray(grads[p_a]), *zeros, 1, learning_rate=0.05, maximize=True)
    b.step()
    np.testing.assert_allclose(p_b.value, expected, rtol=1e-6, atol=1e-9)
    assert not np.array_equal(p_b.value, p_a.value)
    assert b.step_count == 1 and a.step_count == 0
