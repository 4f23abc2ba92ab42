"""In-place Adam step matching tf.keras.optimizers.Adam, for csrc/include/lucid_fast/adam.h.

Imported as ``lucid_fast._bindings.op_adam`` (source: bindings/op_adam.py), public through lucid_fast.ops.
The op's other files (header, CPU and CUDA drivers, binding, tests): bindings/README.md.
"""
import math

import numpy as np

from . import checks

# The largest float32 below 1: the betas are rounded to float32 (as Keras does), and a beta that rounds to 1
# would make the bias correction divide by zero.
BETA_MAX = float(np.nextafter(np.float32(1.0), np.float32(0.0)))

# AdamParams of csrc/include/lucid_fast/adam.h, the record CuPy passes to the kernels by value; checked field
# by field against the compiled struct (names, offsets, sizes, types): tests/ops/test_param_layouts.py.
ADAM_PARAMS_DTYPE = np.dtype([("alpha", np.float32), ("one_minus_beta_1", np.float32),
                              ("one_minus_beta_2", np.float32), ("epsilon", np.float32),
                              ("grad_sign", np.float32)])


def adam_alpha(step, learning_rate, beta_1, beta_2):
    """The bias-corrected step size ``lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``, in float64.

    Keras casts the betas and the learning rate to the variable's dtype (float32) before taking the powers;
    we round them the same way, then evaluate in float64 (Keras evaluates in float32).
    """
    lr = float(np.float32(learning_rate))
    b1 = float(np.float32(beta_1))
    b2 = float(np.float32(beta_2))
    return lr * math.sqrt(1.0 - b2 ** step) / (1.0 - b1 ** step)


def adam_update(param, grad, m, v, step, learning_rate=0.05, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                maximize=False):
    """One Adam step, in place on param, m and v, as ``tf.keras.optimizers.Adam`` (Keras 3) applies it.

    Args:
        param: float32 array (any shape), numpy (CPU) or cupy (GPU), C-contiguous and writable: updated.
        grad: float32 array of param's shape on the same device: the gradient; must be finite.
        m: float32 array of param's shape, writable: the first-moment estimate (zeros before step 1).
        v: float32 array of param's shape, writable: the second-moment estimate (zeros before step 1).
            param, grad, m and v must be four separate arrays: any two sharing memory raise ValueError.
        step: the 1-based iteration count t of this update (Keras's ``iterations + 1``); int >= 1.
        learning_rate: Adam's learning rate (Lucid's render_vis uses 0.05), > 0.
        beta_1: first-moment decay, in [0, BETA_MAX] (below 1 in float32).
        beta_2: second-moment decay, in [0, BETA_MAX].
        epsilon: added to sqrt(v), > 0 (Keras's default 1e-7).
        maximize: ascend on grad (uses -grad) instead of descending.

    Returns:
        param (the same array, updated).

    Shape:
        param, grad, m, v: all the same shape, any rank.

    Convention:
        ``g = -grad if maximize else grad``; ``m += (g - m) (1 - beta_1)``; ``v += (g^2 - v) (1 - beta_2)``;
        ``param -= m * alpha / (sqrt(v) + epsilon)`` with ``alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``
        computed on the host (see :func:`adam_alpha`). No AMSGrad, no weight decay.
    """
    op = "adam_update"
    xp_name = checks.backend_of(op, param=param, grad=grad, m=m, v=v)
    checks.check_array(op, "param", param, writable=True)
    checks.check_array(op, "grad", grad, finite=True)
    checks.check_array(op, "m", m, writable=True)
    checks.check_array(op, "v", v, writable=True)
    checks.check_same_shape(op, "param", param, "grad", grad)
    checks.check_same_shape(op, "param", param, "m", m)
    checks.check_same_shape(op, "param", param, "v", v)
    checks.check_no_overlap(op, param=param, grad=grad, m=m, v=v)
    step = checks.check_positive_int(op, "step", step)
    learning_rate = checks.check_finite_scalar(op, "learning_rate", learning_rate, minimum=0.0, open_min=True)
    beta_1 = checks.check_finite_scalar(op, "beta_1", beta_1, minimum=0.0, maximum=BETA_MAX)
    beta_2 = checks.check_finite_scalar(op, "beta_2", beta_2, minimum=0.0, maximum=BETA_MAX)
    epsilon = checks.check_finite_scalar(op, "epsilon", epsilon, minimum=0.0, open_min=True)
    fields = dict(alpha=adam_alpha(step, learning_rate, beta_1, beta_2), one_minus_beta_1=1.0 - beta_1,
                  one_minus_beta_2=1.0 - beta_2, epsilon=epsilon, grad_sign=-1.0 if maximize else 1.0)
    if xp_name == "numpy":
        from . import _cpu

        _cpu.adam_update(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1), **fields)
        return param
    from . import cupy_module

    p = cupy_module.params_struct(ADAM_PARAMS_DTYPE, **fields)
    cupy_module.launch("lf_adam_update", param.size, (p, param, grad, m, v, np.int64(param.size)))
    return param
