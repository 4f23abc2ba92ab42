"""TensorFlow reference data for the GPU machine, which has CuPy but no TensorFlow.

``generate()`` runs the TF references of tests/tf_reference.py (forward, and the tape's gradient for a random
cotangent) on small fixed inputs of every native op and returns plain arrays; they are committed as
tests/gpu/tf_reference_data.npz (regenerate with ``python tests/gpu_reference.py``; tests/test_gpu_harness.py
fails if the file and the generator disagree). ``compare_ops(data, xp)`` runs lucid_fast's ops on those inputs
with ``xp`` arrays (numpy: the CPU kernels, cupy: the GPU ones) and returns every (result, reference, check)
triple: the CPU suite runs it with numpy, tests/gpu/test_gpu_vs_tf.py with cupy.

Only numpy is imported at module level (TensorFlow inside ``generate``).
"""
import os

import numpy as np

DATA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu", "tf_reference_data.npz")
PAD_MODES = ("constant", "reflect", "symmetric", "edge")
COLOR_MODES = ((True, True), (True, False), (False, True), (False, False))
ADAM = dict(learning_rate=0.05, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
ADAM_STEPS = 3


def _warp_matrices(rng, n, in_hw, out_hw):
    """Rotation + scale + shear + a shift that puts some taps outside, edge convention, (n, 2, 3) float32."""
    mats = []
    for _ in range(n):
        a = rng.uniform(-0.6, 0.6)
        lin = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        lin = lin @ np.array([[rng.uniform(0.7, 1.4), rng.uniform(-0.2, 0.2)], [0.0, rng.uniform(0.7, 1.4)]])
        c_in = np.array([in_hw[1] / 2.0, in_hw[0] / 2.0])
        c_out = np.array([out_hw[1] / 2.0, out_hw[0] / 2.0])
        t = c_in - lin @ c_out + rng.uniform(-4, 4, size=2)
        mats.append(np.concatenate([lin, t[:, None]], axis=1))
    return np.asarray(mats, np.float32)


def generate(seed=0):
    """The reference data: inputs drawn from ``seed``, TF outputs and tape gradients (float64 where TF allows,
    stored as float32)."""
    import tensorflow as tf

    import tf_reference as ref

    rng = np.random.default_rng(seed)
    data = {}

    def grad64(fn, x_np, g_np):
        x_t = tf.constant(np.asarray(x_np, np.float64))
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            y_t = fn(x_t)
            loss_t = tf.reduce_sum(y_t * tf.constant(np.asarray(g_np, np.float64)))
        return y_t.numpy().astype(np.float32), tape.gradient(loss_t, x_t).numpy().astype(np.float32)

    # fft_image: spectrum (2, B, C, h, wf), odd width (Lucid's extra column)
    b, c, h, w = 2, 3, 9, 11
    wf = ref.lucid_rfft2d_freqs(h, w).shape[1]
    for decay in (1.0, 1.5):
        key = f"fft_{decay}"
        data[key + "_spectrum"] = (0.1 * rng.normal(size=(2, b, c, h, wf))).astype(np.float32)
        data[key + "_cot"] = rng.normal(size=(b, h, w, c)).astype(np.float32)
        data[key + "_image"], data[key + "_grad"] = grad64(
            lambda s, d=decay: ref.fft_image_reference(s, h, w, d), data[key + "_spectrum"], data[key + "_cot"])

    # to_valid_rgb, 4 channels (alpha skips the decorrelation)
    for decorrelate, sigmoid in COLOR_MODES:
        key = f"color_{int(decorrelate)}{int(sigmoid)}"
        data[key + "_x"] = (1.5 * rng.normal(size=(2, 7, 5, 4))).astype(np.float32)
        data[key + "_cot"] = rng.normal(size=(2, 7, 5, 4)).astype(np.float32)
        data[key + "_y"], data[key + "_grad"] = grad64(
            lambda x, d=decorrelate, s=sigmoid: ref.to_valid_rgb_reference(x, d, s), data[key + "_x"],
            data[key + "_cot"])

    # affine_warp: per-channel fill in constant mode
    in_hw, out_hw = (9, 12), (10, 8)
    for mode in PAD_MODES:
        key = f"warp_{mode}"
        data[key + "_x"] = rng.uniform(-1, 1, size=(2, *in_hw, 3)).astype(np.float32)
        data[key + "_mats"] = _warp_matrices(rng, 2, in_hw, out_hw)
        data[key + "_fill"] = np.float32([0.5, -0.25, 1.0])
        data[key + "_cot"] = rng.normal(size=(2, *out_hw, 3)).astype(np.float32)
        data[key + "_y"], data[key + "_grad"] = grad64(
            lambda x, k=key, m=mode: ref.tf_warp_reference_t(x, data[k + "_mats"].astype(np.float64), out_hw, m,
                                                             data[k + "_fill"]),
            data[key + "_x"], data[key + "_cot"])

    # total variation: the value, and the gradient of 0.3 * TV (ops.total_variation's weight scales the gradient)
    x = rng.normal(size=(2, 8, 7, 3)).astype(np.float32)
    x_t = tf.constant(x.astype(np.float64))
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        v_t = ref.tv_reference(x_t)
    data["tv_x"], data["tv_value"] = x, np.float32(v_t.numpy())
    data["tv_grad"] = (0.3 * tape.gradient(v_t, x_t).numpy()).astype(np.float32)

    # upsample_bilinear: batch broadcast 1 -> 3 (tf.image.resize computes in float32)
    low = rng.normal(size=(1, 4, 5, 3)).astype(np.float32)
    cot = rng.normal(size=(3, 13, 11, 3)).astype(np.float32)
    low_t = tf.constant(low)
    with tf.GradientTape() as tape:
        tape.watch(low_t)
        y_t = ref.upsample_reference_t(low_t, (13, 11), batch=3)
        loss_t = tf.reduce_sum(y_t * cot)
    data["up_low"], data["up_cot"], data["up_y"] = low, cot, y_t.numpy()
    data["up_grad"] = tape.gradient(loss_t, low_t).numpy()

    # sample_bilinear: a texture at UVs outside [0, 1] too (GL_REPEAT)
    tex = rng.normal(size=(12, 10, 3)).astype(np.float32)
    uv = rng.uniform(-1.5, 2.5, size=(9, 7, 2)).astype(np.float32)
    cot = rng.normal(size=(9, 7, 3)).astype(np.float32)
    data["sample_tex"], data["sample_uv"], data["sample_cot"] = tex, uv, cot
    data["sample_y"], data["sample_grad"] = grad64(lambda t: ref.sample_bilinear_reference(t, uv.astype(np.float64)),
                                                   tex, cot)

    # Adam, maximizing: Keras's Adam descending on -grad, ADAM_STEPS steps
    p0 = rng.normal(size=(2, 3, 6, 5)).astype(np.float32)
    grads = (rng.normal(size=(ADAM_STEPS,) + p0.shape) * 10.0 ** rng.integers(-4, 2, size=p0.shape)).astype(
        np.float32)
    var_t = tf.Variable(p0)
    opt = tf.keras.optimizers.Adam(**ADAM)
    for g in grads:
        opt.apply_gradients([(tf.constant(-g), var_t)])
    data["adam_p0"], data["adam_grads"], data["adam_p"] = p0, grads, var_t.numpy()
    return data


def load():
    with np.load(DATA_PATH) as f:
        return {k: f[k] for k in f.files}


def compare_ops(data, xp):
    """[(name, result (xp array or float), reference (numpy), check kind)] for every op on the data's inputs,
    with the ops run on ``xp`` arrays (numpy: CPU kernels; cupy: GPU kernels)."""
    from lucid_fast import ops

    def arr(a):
        if xp is np:
            out = ops.empty_aligned(a.shape)  # the CPU path wants 64-byte aligned arrays where TF may read them
            out[...] = a
            return out
        return xp.asarray(a)

    out = []
    h, w = 9, 11
    for decay in (1.0, 1.5):
        key = f"fft_{decay}"
        out.append((key, ops.fft_image(arr(data[key + "_spectrum"]), h, w, decay_power=decay),
                    data[key + "_image"], "fwd"))
        out.append((key + " adjoint", ops.fft_image_adjoint(arr(data[key + "_cot"]), h, w, decay_power=decay),
                    data[key + "_grad"], "grad"))
    for decorrelate, sigmoid in COLOR_MODES:
        key = f"color_{int(decorrelate)}{int(sigmoid)}"
        kw = dict(decorrelate=decorrelate, sigmoid=sigmoid)
        out.append((key, ops.to_valid_rgb(arr(data[key + "_x"]), **kw), data[key + "_y"], "fwd"))
        out.append((key + " adjoint", ops.to_valid_rgb_adjoint(arr(data[key + "_x"]), arr(data[key + "_cot"]), **kw),
                    data[key + "_grad"], "grad"))
    for mode in PAD_MODES:
        key = f"warp_{mode}"
        x, mats, fill = data[key + "_x"], data[key + "_mats"], data[key + "_fill"]
        out_hw = data[key + "_y"].shape[1:3]
        out.append((key, ops.affine_warp(arr(x), arr(mats), out_hw=out_hw, pad_mode=mode,
                                         fill_value=[float(f) for f in fill]), data[key + "_y"], "fwd"))
        out.append((key + " adjoint", ops.affine_warp_adjoint(arr(data[key + "_cot"]), arr(mats), in_hw=x.shape[1:3],
                                                              pad_mode=mode), data[key + "_grad"], "grad"))
    value, grad = ops.total_variation(arr(data["tv_x"]), weight=0.3)
    out.append(("tv value", value, data["tv_value"], "fwd"))
    out.append(("tv grad", grad, data["tv_grad"], "grad"))
    low, cot = data["up_low"], data["up_cot"]
    out.append(("upsample", ops.upsample_bilinear(arr(low), cot.shape[1:3], batch=cot.shape[0]), data["up_y"], "fwd"))
    out.append(("upsample adjoint", ops.upsample_bilinear_adjoint(arr(cot), low.shape[1:3], low_batch=low.shape[0]),
                data["up_grad"], "grad"))
    tex, uv = data["sample_tex"], data["sample_uv"]
    out.append(("sample_bilinear", ops.sample_bilinear(arr(tex), arr(uv)), data["sample_y"], "fwd"))
    out.append(("sample_bilinear adjoint", ops.sample_bilinear_adjoint(arr(data["sample_cot"]), arr(uv), tex.shape[:2]),
                data["sample_grad"], "grad"))
    p, m, v = arr(data["adam_p0"]), arr(np.zeros_like(data["adam_p0"])), arr(np.zeros_like(data["adam_p0"]))
    for t, g in enumerate(data["adam_grads"], start=1):
        ops.adam_update(p, arr(g), m, v, t, maximize=True, **ADAM)
    out.append(("adam", p, data["adam_p"], "fwd"))
    return out


if __name__ == "__main__":
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    np.savez_compressed(DATA_PATH, **generate())
    print(f"wrote {DATA_PATH} ({os.path.getsize(DATA_PATH)} bytes)")
