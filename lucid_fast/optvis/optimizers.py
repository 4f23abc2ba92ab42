"""The optimizers a render runs: the native :class:`Adam` (Lucid's default, run by ``ops.adam_update``) and
:class:`TFOptimizer` for any other TensorFlow optimizer; :func:`make_optimizer` picks one from what the user
passed. TensorFlow is imported only when a TensorFlow optimizer is involved."""
import math

import numpy as np


class Adam:
    """The optimizer render_vis runs natively (``ops.adam_update``); defaults are Lucid's learning rate and
    ``tf.keras.optimizers.Adam``'s betas and epsilon."""

    def __init__(self, learning_rate=0.05, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        for name, v in (("learning_rate", learning_rate), ("epsilon", epsilon)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"Adam: {name} must be a positive number, got {v!r}")
        for name, v in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not (isinstance(v, (int, float)) and 0 <= v < 1):
                raise ValueError(f"Adam: {name} must be in [0, 1), got {v!r}")
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon

    def __repr__(self):
        return f"Adam(learning_rate={self.learning_rate}, beta_1={self.beta_1}, beta_2={self.beta_2}, " \
               f"epsilon={self.epsilon})"


def _number(value, what):
    """A Python float from a number, a 0-d tensor/array or a zero-argument callable (TF1 optimizers accept
    callables for their hyperparameters)."""
    if callable(value) and not hasattr(value, "numpy"):
        value = value()
    if hasattr(value, "numpy"):
        value = value.numpy()
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"render_vis: the optimizer's {what} must be a number, got {value!r}") from None


def _adam_settings(optimizer):
    """Adam(...) with the hyperparameters of a tf.compat.v1.train.AdamOptimizer or a tf.keras Adam, or None when
    they cannot run natively (a learning-rate schedule, AMSGrad, ...), or when ``optimizer`` is no Adam."""
    import tensorflow as tf

    v1_adam = getattr(getattr(tf.compat.v1, "train", None), "AdamOptimizer", None)
    if v1_adam is not None and type(optimizer) is v1_adam:  # what tf_upgrade_v2 makes of tf.train.AdamOptimizer
        return Adam(_number(optimizer._lr, "learning rate"), _number(optimizer._beta1, "beta1"),
                    _number(optimizer._beta2, "beta2"), _number(optimizer._epsilon, "epsilon"))
    if type(optimizer).__name__ == "Adam" and callable(getattr(optimizer, "get_config", None)):  # tf.keras / keras
        c = optimizer.get_config()
        lr = c.get("learning_rate")
        if not isinstance(lr, (int, float)) or c.get("amsgrad") or c.get("weight_decay") or \
                c.get("use_ema") or c.get("clipnorm") or c.get("clipvalue") or c.get("global_clipnorm"):
            return None  # runs through TensorFlow instead (TFOptimizer)
        return Adam(float(lr), float(c["beta_1"]), float(c["beta_2"]), float(c["epsilon"]))
    return None


def _is_tf_optimizer(optimizer):
    import tensorflow as tf

    v1_base = getattr(getattr(tf.compat.v1, "train", None), "Optimizer", None)
    if v1_base is not None and isinstance(optimizer, v1_base):
        return True
    try:
        import keras

        if isinstance(optimizer, keras.optimizers.Optimizer):
            return True
    except ImportError:  # pragma: no cover - keras ships with TF 2.16+
        pass
    return isinstance(optimizer, tf.keras.optimizers.Optimizer)


class TFOptimizer:
    """Runs any TensorFlow optimizer (a ``tf.keras.optimizers.*`` or ``tf.compat.v1.train.*Optimizer``) on the
    render's parameters, for the optimizers the native Adam does not cover (SGD, momentum, RMSProp, Adam with a
    schedule, ...).

    Each native parameter is mirrored by a ``tf.Variable``; every step the optimizer's ``apply_gradients`` gets
    the negated gradients (render_vis maximizes, TF optimizers minimize) and the new values are copied back.
    Slower than the native Adam by what TensorFlow's update and the copies cost.
    """

    def __init__(self, optimizer):
        if not callable(getattr(optimizer, "apply_gradients", None)):
            raise ValueError(f"render_vis: {optimizer!r} has no apply_gradients; pass a TensorFlow optimizer")
        self.optimizer = optimizer
        self._slots = {}  # key -> (optimizer instance, variables, traced update)

    def __repr__(self):
        return f"TFOptimizer({type(self.optimizer).__module__}.{type(self.optimizer).__name__})"

    def _instance(self):
        """The wrapped optimizer for the first variable set; an identical fresh one for each further set (a
        Keras optimizer is built for one set of variables; a TF1 one keeps slots per variable)."""
        if not self._slots:
            return self.optimizer
        if callable(getattr(self.optimizer, "get_config", None)) and hasattr(type(self.optimizer), "from_config"):
            return type(self.optimizer).from_config(self.optimizer.get_config())
        return self.optimizer

    def ascend_variables(self, key, variables, grads):
        """One ascent step on ``variables`` (tf.Variables) with ``grads`` (d objective / d variable)."""
        import tensorflow as tf

        entry = self._slots.get(key)
        if entry is None:
            opt = self._instance()
            variables = list(variables)

            @tf.function(autograph=False)
            def update(grads_t):
                opt.apply_gradients([(-g, v) for g, v in zip(grads_t, variables)])

            entry = self._slots[key] = (opt, variables, update)
        entry[2]([tf.convert_to_tensor(g, tf.float32) for g in grads])

    def ascend_params(self, params, grads):
        """One ascent step on the render's native parameters (``param.Param``) given their gradients."""
        import tensorflow as tf

        params = list(params)
        if not params:  # e.g. a CPPN: its TF variables are updated by the TFParam stage
            return
        key = ("params",) + tuple(id(p) for p in params)
        entry = self._slots.get(key)
        variables = entry[1] if entry is not None else [tf.Variable(p.value, name=p.name.replace(" ", "_"))
                                                         for p in params]
        if entry is not None:
            for p, v in zip(params, variables):
                v.assign(p.value)  # the arrays are the truth (the user may have changed them)
        g = [grads.get(p) if grads.get(p) is not None else np.zeros(p.shape, np.float32) for p in params]
        self.ascend_variables(key, variables, g)
        for p, v in zip(params, variables):
            p.value[...] = v.numpy()


def make_optimizer(optimizer, args=()):
    """The optimizer render_vis runs, from what the user passed (Lucid's ``make_optimizer``).

    Accepted:

    * None -> ``Adam(0.05)`` (Lucid's default); a number -> ``Adam(that learning rate)``; an :class:`Adam`;
    * ``tf.compat.v1.train.AdamOptimizer(lr, beta1, beta2, epsilon)`` (what ``tf_upgrade_v2`` writes for
      ``tf.train.AdamOptimizer``) or ``tf.keras.optimizers.Adam(...)`` with a constant learning rate -> the
      native :class:`Adam` with the same hyperparameters (the same update rule);
    * any other TensorFlow optimizer (``tf.keras.optimizers.SGD``, ``tf.compat.v1.train.MomentumOptimizer``,
      an Adam with a learning-rate schedule, ...) -> :class:`TFOptimizer`, which runs it through TensorFlow;
    * a function returning one of these (Lucid's "function from (graph, sess)"; it is called with ``args``).
    """
    if optimizer is None:
        return Adam()
    if isinstance(optimizer, (Adam, TFOptimizer)):
        return optimizer
    if isinstance(optimizer, (int, float)) and not isinstance(optimizer, bool):
        return Adam(float(optimizer))
    if isinstance(optimizer, type):
        raise ValueError(f"render_vis: optimizer={optimizer.__name__} is a class; pass an instance, e.g. "
                         f"{optimizer.__name__}(learning_rate=0.05)")
    settings = _adam_settings(optimizer)
    if settings is not None:
        return settings
    if _is_tf_optimizer(optimizer):
        return TFOptimizer(optimizer)
    if callable(optimizer) and not hasattr(optimizer, "apply_gradients"):
        return make_optimizer(optimizer(*args))
    raise ValueError(f"render_vis: optimizer must be None, a learning rate, lucid_fast.optvis.render.Adam, a "
                     f"TensorFlow optimizer (tf.keras.optimizers.Adam(0.05), tf.compat.v1.train.AdamOptimizer(0.05), "
                     f"or any other tf.keras / tf.compat.v1.train optimizer) or a function returning one; got "
                     f"{optimizer!r}")
