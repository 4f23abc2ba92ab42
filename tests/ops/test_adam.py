"""adam_update: several-step trajectories against tf.keras.optimizers.Adam on a tf.Variable, both signs."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast import ops

SHAPES = [(7,), (2, 5, 3), (1, 6, 9, 3), (2, 3, 4, 5, 2)]
STEPS = 6


def keras_trajectory(param0_np, grads_np, learning_rate, beta_1, beta_2, epsilon):
    """Params after each step of Keras 3's Adam applied to the given gradient sequence."""
    var_t = tf.Variable(param0_np)
    opt = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    out = []
    for grad_np in grads_np:
        opt.apply_gradients([(tf.constant(grad_np), var_t)])
        out.append(var_t.numpy().copy())
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("hyper", [(0.05, 0.9, 0.999, 1e-7), (0.01, 0.8, 0.99, 1e-3)])
def test_adam_matches_keras(shape, maximize, hyper, rng):
    learning_rate, beta_1, beta_2, epsilon = hyper
    param0_np = rng.normal(size=shape).astype(np.float32)
    # Gradients of very different sizes per element, including tiny ones where epsilon matters.
    grads_np = [(rng.normal(size=shape) * 10.0 ** rng.integers(-4, 2, size=shape)).astype(np.float32)
                for _ in range(STEPS)]
    # Keras descends; maximize=True must equal Keras descending on -grad.
    ref = keras_trajectory(param0_np, [-g if maximize else g for g in grads_np], *hyper)
    param_np = ops.empty_aligned(shape)
    param_np[...] = param0_np
    m_np = ops.zeros_aligned(shape)
    v_np = ops.zeros_aligned(shape)
    for t, grad_np in enumerate(grads_np, start=1):
        out = ops.adam_update(param_np, grad_np, m_np, v_np, t, learning_rate=learning_rate, beta_1=beta_1,
                              beta_2=beta_2, epsilon=epsilon, maximize=maximize)
        assert out is param_np
        assert_close(param_np, ref[t - 1], "fwd", f"adam step {t} {shape} maximize={maximize}")
    assert not np.array_equal(param_np, param0_np)


def test_adam_moments_follow_keras_formulas(rng):
    shape = (3, 4)
    grads_np = [rng.normal(size=shape).astype(np.float32) for _ in range(3)]
    param_np, m_np, v_np = np.zeros(shape, np.float32), np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    m_ref, v_ref = np.zeros(shape), np.zeros(shape)
    for t, grad_np in enumerate(grads_np, start=1):
        ops.adam_update(param_np, grad_np, m_np, v_np, t, maximize=True)
        m_ref += (-grad_np - m_ref) * (1 - 0.9)
        v_ref += (grad_np.astype(np.float64) ** 2 - v_ref) * (1 - 0.999)
    assert_close(m_np, m_ref, "fwd", "m")
    assert_close(v_np, v_ref, "fwd", "v")


def test_adam_first_step_moves_by_learning_rate(rng):
    grad_np = rng.normal(size=(50,)).astype(np.float32)
    param_np, m_np, v_np = np.zeros(50, np.float32), np.zeros(50, np.float32), np.zeros(50, np.float32)
    ops.adam_update(param_np, grad_np, m_np, v_np, 1, learning_rate=0.05, maximize=True)
    # Step 1 of Adam moves each coordinate by lr * g / (|g| + eps / sqrt(1 - beta_2)): ~lr along the ascent
    # gradient.
    expected = 0.05 * grad_np / (np.abs(grad_np) + 1e-7 / np.sqrt(1 - 0.999))
    np.testing.assert_allclose(param_np, expected, rtol=1e-5)


def _arrays(shape=(2, 3)):
    return [np.zeros(shape, np.float32) for _ in range(4)]


def test_adam_bad_shapes_and_types():
    param, grad, m, v = _arrays()
    with pytest.raises(ValueError, match=r"adam_update: grad must have the shape of param \(2, 3\)"):
        ops.adam_update(param, np.zeros((3, 2), np.float32), m, v, 1)
    with pytest.raises(ValueError, match=r"adam_update: v must have the shape of param"):
        ops.adam_update(param, grad, m, np.zeros((2, 4), np.float32), 1)
    with pytest.raises(ValueError, match="adam_update: m must have dtype float32"):
        ops.adam_update(param, grad, np.zeros((2, 3)), v, 1)
    with pytest.raises(ValueError, match="adam_update: param must be C-contiguous"):
        ops.adam_update(np.zeros((3, 2), np.float32).T, grad, m, v, 1)
    with pytest.raises(ValueError, match="adam_update: grad must be a numpy or cupy array"):
        ops.adam_update(param, [[0.0] * 3] * 2, m, v, 1)


def test_adam_non_writable():
    param, grad, m, v = _arrays()
    param.flags.writeable = False
    with pytest.raises(ValueError, match="adam_update: param is written in place and must be writable"):
        ops.adam_update(param, grad, m, v, 1)
    param, grad, m, v = _arrays()
    v.flags.writeable = False
    with pytest.raises(ValueError, match="adam_update: v is written in place"):
        ops.adam_update(param, grad, m, v, 1)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_adam_non_finite_grad(value):
    param, grad, m, v = _arrays()
    grad[1, 2] = value
    with pytest.raises(ValueError, match="adam_update: grad contains NaN or inf"):
        ops.adam_update(param, grad, m, v, 1)
    assert not param.any() and not m.any() and not v.any()


@pytest.mark.parametrize("kwargs, match", [
    (dict(step=0), "step must be an integer >= 1"),
    (dict(step=2.0), "step must be an integer >= 1"),
    (dict(step=True), "step must be an integer >= 1"),
    (dict(step=1, learning_rate=0.0), "learning_rate must be > 0"),
    (dict(step=1, beta_1=1.0), "beta_1 must be <="),
    (dict(step=1, beta_2=-0.1), "beta_2 must be >= 0"),
    (dict(step=1, epsilon=float("nan")), "epsilon must be finite"),
])
def test_adam_bad_scalars(kwargs, match):
    param, grad, m, v = _arrays()
    with pytest.raises(ValueError, match="adam_update: " + match):
        ops.adam_update(param, grad, m, v, **kwargs)


@pytest.mark.gpu
@pytest.mark.parametrize("maximize", [False, True])
def test_adam_cpu_gpu_parity(maximize, rng):
    import cupy

    shape = (2, 3, 37, 41)
    arrays_np = [rng.normal(size=shape).astype(np.float32) for _ in range(2)] + [np.zeros(shape, np.float32)] * 2
    param_np, grad_np, m_np, v_np = [a.copy() for a in arrays_np]
    param_cp, grad_cp, m_cp, v_cp = [cupy.asarray(a) for a in arrays_np]
    for t in range(1, 4):
        ops.adam_update(param_np, grad_np, m_np, v_np, t, maximize=maximize)
        out = ops.adam_update(param_cp, grad_cp, m_cp, v_cp, t, maximize=maximize)
        assert out is param_cp
    for name, a_cp, a_np in [("param", param_cp, param_np), ("m", m_cp, m_np), ("v", v_cp, v_np)]:
        assert_close(cupy.asnumpy(a_cp), a_np, "gpu", f"adam {name}")
