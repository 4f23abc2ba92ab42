"""render_vis: optimize an image to maximize an objective on a TF2 model (Lucid's ``optvis.render``).

One step (ARCHITECTURE.md):

    params --(native: parameterization forward)--> image x_raw --(native: one affine warp)--> x
    x, x_raw --DLPack--> ONE tf.function: activations, objective, d objective/dx, d objective/dx_raw
    gradients --DLPack--> warp adjoint + d/dx_raw + native total variation --> parameterization backward
    --> native Adam (ascent) on every parameter

The model's work (forward to the deepest layer the objective needs, and the input gradient) is the only part
TensorFlow does; it is traced once per (model, objective, shape) and run with no copies at the seam.
"""
import math
import numbers
import sys
import warnings

import numpy as np

from lucid_fast import ops
from lucid_fast._bindings import checks, dlpack

from . import objectives, preflight
from . import param as param_mod
from .presets import PRESETS, preset_phases  # noqa: F401  (PRESETS: public here too)
from . import transform as transform_mod

ALPHA_TRANSFORMED = "alpha_transformed"  # T(...) name: the RGBA image's alpha after the transforms
RELU_OVERRIDE_STEPS = 16  # Lucid's redirected ReLU gradient applies to the first 16 steps
DEFAULT_IMAGE_SIZE = 128  # Lucid's default parameterization: param.image(128)


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


_TENSOR_PARAM_MSG = (
    "param_f produced a TensorFlow tensor. On TF2 a tensor is a value, not a graph that render_vis can optimize: "
    "build the image with lucid_fast.optvis.param (param.image, param.fft_image, param.lowres_tensor, param.cppn, "
    "...), or wrap your own TensorFlow code as param.TFParam(shape, build), where build(rng) returns "
    "(variables, image_fn) (see docs/MIGRATING.md)")


def _is_tf_tensor(x):
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "shape") and hasattr(x, "dtype")


def make_param(param_f):
    if _is_tf_tensor(param_f):
        raise TypeError(_TENSOR_PARAM_MSG)
    if param_f is None:
        node = param_mod.image(DEFAULT_IMAGE_SIZE)
    elif isinstance(param_f, param_mod.Node):
        node = param_f
    elif callable(param_f):
        node = param_f()
    else:
        raise TypeError(f"param_f must be a function returning a parameterization, or one; got {param_f!r}")
    if _is_tf_tensor(node):
        raise TypeError(_TENSOR_PARAM_MSG)
    if not isinstance(node, param_mod.Node):
        raise TypeError(f"param_f must produce a lucid_fast parameterization (see lucid_fast.optvis.param), "
                        f"got {type(node).__name__}")
    if len(node.shape) != 4:
        raise ValueError(f"the parameterization must produce an NHWC image, got shape {node.shape}")
    return node


def _strip(name):
    return name[:-2] if isinstance(name, str) and name.endswith(":0") else name


class VisSession:
    """Lucid's ``make_vis_T`` for TF2: a render you drive yourself.

    ``vis = make_vis_T(model, "block4_conv3:100")``; ``vis.step()`` runs one optimization step and returns the
    objective; ``vis("input")`` (or ``vis.image()``) is the current image, ``vis("loss")`` the last objective,
    ``vis(layer)`` the layer's activations on the current (untransformed) image.
    """

    def __init__(self, model, objective_f, param_f=None, optimizer=None, transforms=None,
                 relu_gradient_override=True, seed=None):
        import tensorflow as tf

        from lucid_fast import models

        self.tf = tf
        self.rng = checks.check_seed("render_vis", seed)
        self.model = models.load_model(model)
        self.objective = objectives.as_objective(objective_f)
        self.graph = param_mod.ParamGraph(make_param(param_f))
        self.chain = transform_mod.make_chain(transforms)
        self.optimizer = make_optimizer(optimizer)
        self.relu_gradient_override = bool(relu_gradient_override)
        self.step_count = 0
        self.last_loss = None
        self.image_shape = tuple(self.graph.output.shape)
        self.native_terms = tuple(getattr(self.objective, "native_terms", ()))
        self._layer_channels = {}
        self.wants_alpha = False  # set by _discover_layers when the objective reads T("alpha_transformed")
        self.layers = self._discover_layers()
        self.slice_channels = True  # compute only the channels the objective declares it reads (see _channel_slices)
        self._check_channels()
        preflight.check_session(self)  # sizes, gradient path, memory: before anything is allocated
        self.graph.initialize(self.rng)
        self._moments = {id(p): (ops.zeros_aligned(p.shape), ops.zeros_aligned(p.shape)) for p in self.graph.params}
        self._step_fns = {}
        self._act_fn = None
        self._act_names = ()

    # ---- setup ----------------------------------------------------------------------------------
    def _check_channels(self):
        c = self.image_shape[-1]
        if self.chain.collapse is not None:
            c = 3 if c == 4 else c
        elif self.wants_alpha and c == self.model.input_channels + 1:
            c -= 1  # an image composited by the parameterization, its alpha last: the model sees the rest
        want = self.model.input_channels
        if c != want:
            hint = (" (an RGBA image needs transform.collapse_alpha_random(), or an objective that reads "
                    "T(\"alpha_transformed\") when the parameterization composites the image itself)") if c == 4 else ""
            raise ValueError(f"render_vis: the parameterization makes {c}-channel images but the model "
                             f"{self.model.name!r} takes {want} channels{hint}")

    def _model_input_spec(self, with_alpha=False):
        b = self.image_shape[0]
        c = self.model.input_channels + (1 if with_alpha else 0)  # the transformed alpha rides along as a channel
        return self.tf.TensorSpec([b, None, None, c], self.tf.float32)

    def _raw_spec(self):
        return self.tf.TensorSpec(list(self.image_shape), self.tf.float32)

    def _make_T(self, acts, x_raw_t, x_t, alpha_t=None, slices=None):
        slices = slices or {}

        def T(name):
            name = _strip(name)
            if name == "input":
                return x_raw_t
            if name == "input_transformed":
                return x_t
            if name == ALPHA_TRANSFORMED:
                return alpha_t
            canon = self.model.resolve(name)
            if canon in slices and len(slices[canon]) < self._layer_channels[canon]:
                return _expand_channels(self.tf, acts[canon], slices[canon], self._layer_channels[canon])
            return acts[canon]

        return T

    def _channel_slices(self):
        """``{layer: channels}`` for every layer the objective reads, when it declares which channels of each
        (``Objective.channel_reads``): the model computes only these where it can
        (``ModelAdapter.channel_activation_fn``) and ``T(layer)`` gives zeros for the others. Empty when the
        objective's reads are unknown or do not cover every layer it reads, when a layer's channel count is
        unknown, when no layer would lose a channel, or when ``slice_channels`` is off."""
        reads = getattr(self.objective, "channel_reads", None)
        if not self.slice_channels or not reads:
            return {}
        declared = {}
        for layer, chans in reads.items():
            if layer in ("input", "input_transformed"):
                continue
            canon = self.model.resolve(layer)
            declared[canon] = declared.get(canon, frozenset()) | frozenset(chans)
        if not set(self.layers) <= set(declared):
            return {}
        out = {}
        for canon in self.layers:
            count = self._layer_channels.get(canon)
            if count is None or not all(-count <= c < count for c in declared[canon]):
                return {}
            out[canon] = tuple(sorted({c % count for c in declared[canon]}))
        if all(len(chans) == self._layer_channels[canon] for canon, chans in out.items()):
            return {}
        return out

    def _discover_layers(self):
        """Finds the layers the objective reads by tracing it once (graph only, nothing runs)."""
        tf = self.tf
        seen = []

        def recording_T_factory(x_t, x_raw_t):
            def T(name):
                name = _strip(name)
                if name in ("input", "input_transformed"):
                    return x_raw_t if name == "input" else x_t
                if name == ALPHA_TRANSFORMED:
                    self._check_alpha()
                    self.wants_alpha = True
                    return x_t[..., :1]  # a stand-in of the right shape while tracing
                canon = self.model.resolve(name)
                if canon not in seen:
                    seen.append(canon)
                acts_t = self.model.activation_fn([canon], relu_override=False)(x_t)[canon]
                if acts_t.shape.rank:
                    self._layer_channels[canon] = acts_t.shape[-1]
                return acts_t

            return T

        def probe(x_t, x_raw_t):
            x_in = x_t
            for fn in self.chain.tf_fns:
                x_in = fn(x_in)
            return self.objective.tf_part(recording_T_factory(x_in, x_raw_t))

        try:
            tf.function(probe, autograph=False).get_concrete_function(self._model_input_spec(), self._raw_spec())
        except (ValueError, IndexError, TypeError, tf.errors.InvalidArgumentError) as err:
            msg = str(err).strip().splitlines()
            raise ValueError(f"render_vis: the objective {self.objective.description!r} cannot be evaluated on "
                             f"model {self.model.name!r}: {msg[-1].strip(chr(34)) if msg else repr(err)}") from err
        return tuple(seen)

    def _step_fn(self, override):
        fn = self._step_fns.get(override)
        if fn is not None:
            return fn
        tf = self.tf
        slices = self._channel_slices()
        act_fn = None
        if slices:
            act_fn = self.model.channel_activation_fn({c: list(slices[c]) for c in self.layers},
                                                      relu_override=override)
        elif self.layers:
            act_fn = self.model.activation_fn(list(self.layers), relu_override=override)
        objective, tf_fns = self.objective, self.chain.tf_fns
        n_model = self.model.input_channels
        with_alpha = self.wants_alpha

        @tf.function(input_signature=[self._model_input_spec(with_alpha), self._raw_spec()], autograph=False)
        def step(x_t, x_raw_t):
            with tf.GradientTape() as tape:
                tape.watch(x_t)
                tape.watch(x_raw_t)
                x_in_t, alpha_t = (x_t[..., :n_model], x_t[..., n_model:]) if with_alpha else (x_t, None)
                for f in tf_fns:
                    x_in_t = f(x_in_t)
                acts = act_fn(x_in_t) if act_fn is not None else {}
                loss_t = tf.convert_to_tensor(objective.tf_part(self._make_T(acts, x_raw_t, x_in_t, alpha_t, slices)),
                                              tf.float32)
                loss_t = tf.reshape(loss_t, [])
            grad_x_t, grad_raw_t = tape.gradient(loss_t, [x_t, x_raw_t],
                                                 unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return loss_t, grad_x_t, grad_raw_t

        self._step_fns[override] = step
        return step

    def _check_alpha(self):
        want = 4 if self.chain.collapse is not None else self.model.input_channels + 1
        if self.image_shape[-1] != want:
            raise ValueError(f'render_vis: T("{ALPHA_TRANSFORMED}") is the alpha channel carried through the '
                             f"transforms: it needs an RGBA parameterization, either with "
                             f"transform.collapse_alpha_random() in the transforms (param.image(..., alpha=True)), "
                             f"or composited by the parameterization itself (colour channels then alpha, e.g. "
                             f"param.concat([composited_rgb, alpha], -1)); the image has {self.image_shape[-1]} "
                             f"channels")

    # ---- the step -------------------------------------------------------------------------------
    def compute_gradients(self):
        """The objective and its gradients for one step, without updating anything.

        Draws the step's random transforms (and the alpha background) from the run's generator, as
        :meth:`step` does, and runs the whole step up to the optimizer: parameterization forward, warp,
        the tf.function (model and objective), the warp adjoint, d/dx_raw, native terms, parameterization
        backward. :meth:`step` is this followed by the Adam update, so tests can read the exact gradient a
        step applies.

        Returns:
            (loss, grads): the objective (evaluated before any update) and ``{node: gradient}`` of the
            objective (to maximize) for every native :class:`~lucid_fast.optvis.param.Param` it depends on
            (float32 arrays) and, for every TF stage (:class:`~lucid_fast.optvis.param.TFParam`), the list of
            its variables' gradients (also kept on the node for its ascent step).
        """
        x_raw = self.graph.forward()
        x_pre, saved = x_raw, None
        if self.chain.collapse is not None:
            x_pre, saved = self.chain.collapse.forward(x_raw, self.rng)
        if self.wants_alpha and saved is not None:  # the alpha goes through the same warp, after the RGB
            rgb = x_pre
            x_pre = ops.empty_aligned(rgb.shape[:-1] + (rgb.shape[-1] + 1,))
            x_pre[..., :-1] = rgb
            x_pre[..., -1:] = x_raw[..., 3:4]
        b = x_pre.shape[0]
        if self.chain.is_identity:
            x, mats, size = x_pre, None, x_pre.shape[1:3]
        else:
            mats, size = self.chain.sample(b, x_pre.shape[1:3], self.rng)
            x = ops.affine_warp(x_pre, mats, out_hw=size, pad_mode=self.chain.pad_mode,
                                fill_value=self.chain.fill_value)
        override = self.relu_gradient_override and self.step_count < RELU_OVERRIDE_STEPS
        loss_t, grad_x_t, grad_raw_t = self._step_fn(override)(dlpack.to_tf(x), dlpack.to_tf(x_raw))
        grad_x = dlpack.from_tf(grad_x_t)
        if mats is None:
            grad_pre = ops.empty_aligned(x_pre.shape)
            grad_pre[...] = grad_x
        else:
            grad_pre = ops.affine_warp_adjoint(grad_x, mats, in_hw=x_pre.shape[1:3], pad_mode=self.chain.pad_mode)
        grad_alpha = None
        if self.wants_alpha and saved is not None:
            grad_pre, grad_alpha = np.ascontiguousarray(grad_pre[..., :-1]), grad_pre[..., -1:]
        grad_raw = self.chain.collapse.backward(grad_pre, saved) if saved is not None else grad_pre
        if grad_alpha is not None:
            grad_raw[..., 3:4] += grad_alpha
        grad_raw += dlpack.from_tf(grad_raw_t)
        loss = float(loss_t.numpy())
        for term in self.native_terms:  # e.g. total variation of the input: native value and gradient
            loss += term.native_value_and_grad(x_raw, grad_raw)[0]
        self.last_loss = loss
        if not math.isfinite(loss) or not np.isfinite(grad_raw).all():
            raise FloatingPointError(f"the objective or its gradient is not finite at step {self.step_count} "
                                     f"(objective = {loss}); the image before this step is kept")
        grads = self.graph.backward(grad_raw)
        for node in self.graph.tf_params:
            if node.grads is not None:
                grads[node] = list(node.grads)
        return loss, grads

    def step(self):
        """One optimization step; returns the objective (evaluated before the update, as Lucid reports it)."""
        loss, grads = self.compute_gradients()
        self.step_count += 1
        opt = self.optimizer
        if isinstance(opt, TFOptimizer):  # a TensorFlow optimizer other than a plain Adam
            opt.ascend_params(self.graph.params, grads)
        else:
            for p in self.graph.params:
                m, v = self._moments[id(p)]
                g = grads.get(p)
                if g is None:
                    continue
                g = np.ascontiguousarray(g, dtype=np.float32)
                ops.adam_update(p.value, g, m, v, self.step_count, learning_rate=opt.learning_rate,
                                beta_1=opt.beta_1, beta_2=opt.beta_2, epsilon=opt.epsilon, maximize=True)
        for node in self.graph.tf_params:
            node.apply_ascent(opt)
        return loss

    # ---- reading the state ----------------------------------------------------------------------
    def image(self):
        """The current image, NHWC float32 in [0, 1] (a copy)."""
        return np.array(self.graph.forward())

    def activations(self, layer):
        """A layer's activations on the current image (untransformed), as numpy."""
        name = self.model.resolve(_strip(layer))
        if self._act_fn is None or name not in self._act_names:
            names = sorted(set(self.layers) | {name})
            self._act_names = names
            self._act_fn = self.tf.function(self.model.activation_fn(names, relu_override=False))
        x = self.graph.forward()
        c = self.model.input_channels
        if self.wants_alpha and self.chain.collapse is None and x.shape[-1] == c + 1:
            rgb = ops.empty_aligned(x.shape[:-1] + (c,))  # a composited image: its alpha is not the model's
            rgb[...] = x[..., :c]
            x = rgb
        if x.shape[-1] != c:
            raise ValueError(f"activations: the image has {x.shape[-1]} channels, the model takes {c}")
        return self._act_fn(dlpack.to_tf(x))[name].numpy()

    def value(self, node):
        """The current value of a stage of the parameterization (Lucid's ``t.eval()`` of an intermediate
        tensor), e.g. the RGBA image before it was composited onto a background; numpy, a copy."""
        self.graph.forward()
        vals = self.graph._values
        if id(node) not in vals:
            raise ValueError(f"vis.value: {node!r} is not a stage of this render's parameterization")
        return np.array(vals[id(node)])

    def __call__(self, name):
        """Lucid's ``T(name)``, evaluated: ``"input"`` (the image), ``"loss"`` (the last objective),
        ``"global_step"`` (steps taken), a layer's activations, or a stage of the parameterization (a
        ``param.Node``: its current value). ``"vis_op"`` has no TF2 counterpart: a step is ``vis.step()``."""
        if isinstance(name, param_mod.Node):
            return self.value(name)
        name = _strip(name) if isinstance(name, str) else name
        if name == "input":
            return self.image()
        if name == "loss":
            return self.last_loss
        if name == "global_step":
            return self.step_count
        if name in ("vis_op", "train_op"):
            raise ValueError(f'vis({name!r}): there is no {name} to run on TF2: one optimization step is vis.step() '
                             f'(it returns the objective); Lucid\'s sess.run([T("vis_op"), T("loss"), T("input")]) '
                             f'is loss = vis.step(); img = vis("input")')
        return self.activations(name)


def _expand_channels(tf, acts_t, channels, count):
    """Sliced activations (``acts_t[..., k]`` is channel ``channels[k]``) as the whole layer's ``count``
    channels, zeros for the others: one channel by padding (its gradient is a slice), several by a gather."""
    if len(channels) == 1:
        c = channels[0]
        return tf.pad(acts_t, [[0, 0]] * (acts_t.shape.rank - 1) + [[c, count - c - 1]])
    index = np.full(count, len(channels), np.int32)
    index[list(channels)] = np.arange(len(channels), dtype=np.int32)
    padded_t = tf.concat([acts_t, tf.zeros_like(acts_t[..., :1])], axis=-1)
    return tf.gather(padded_t, index, axis=-1)


def make_vis_T(model, objective_f, param_f=None, optimizer=None, transforms=None, relu_gradient_override=True,
               seed=None):
    """Builds a :class:`VisSession` (Lucid's make_vis_T, without TF1 sessions)."""
    return VisSession(model, objective_f, param_f, optimizer, transforms, relu_gradient_override, seed)


def _in_notebook():
    """True inside a Jupyter kernel (where a widget progress bar can show)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _progress_bar(total, enabled):
    """A tqdm bar over the render's steps (a widget in Jupyter when ipywidgets is installed, else text on
    stderr), or None when disabled."""
    if not enabled:
        return None
    from tqdm import std

    bar_cls = std.tqdm
    if _in_notebook():
        try:
            import ipywidgets  # noqa: F401  (tqdm's widget needs it; without it the text bar is used)
            from tqdm.notebook import tqdm as bar_cls
        except ImportError:
            pass
    return bar_cls(total=total, desc="render_vis", unit="step", mininterval=0.5, dynamic_ncols=True)


def _enter_phase(vis, phase):
    """Switches a session to a preset phase's learning rate and transforms (Adam's moments are kept)."""
    opt = vis.optimizer
    vis.optimizer = Adam(phase.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon)
    chain = transform_mod.make_chain(None if phase.transforms is None else list(phase.transforms))
    if chain.tf_fns != vis.chain.tf_fns:
        vis._step_fns = {}  # the step's tf.function runs the TF transforms: trace it again
    vis.chain = chain


def check_thresholds(thresholds):
    """render_vis's thresholds as a sorted list of distinct step counts: a sequence of ints >= 0, or one int n
    meaning (n,). Anything else (a string, a float such as 2.9, an empty sequence) raises ValueError."""
    items = None
    if _is_step(thresholds) or _is_step_like(thresholds):
        items = [thresholds]
    elif not isinstance(thresholds, (str, bytes)):
        try:
            items = list(thresholds)
        except TypeError:
            items = None
    if not items or not all(_is_step(t) for t in items):
        raise ValueError(f"render_vis: thresholds must be step counts: a non-empty sequence of integers >= 0, or "
                         f"one integer n meaning (n,); got {thresholds!r}")
    return sorted({int(t) for t in items})


def _is_step(t):
    return isinstance(t, (numbers.Integral, np.integer)) and not isinstance(t, bool) and t >= 0


def _is_step_like(t):
    """A single number that is not a step count (e.g. 2.9 or -1): an error below, not an iterable."""
    return isinstance(t, numbers.Number) and not isinstance(t, bool)


def render_vis(model, objective_f, param_f=None, optimizer=None, transforms=None, thresholds=(512,),
               print_objectives=None, verbose=True, relu_gradient_override=True, use_fixed_seed=False, seed=None,
               progress=None, preset=None):
    """Optimizes an image to maximize ``objective_f`` on ``model`` (Lucid's render_vis, on TF2).

    Args:
        model: a tf.keras.Model, a SavedModel directory, a frozen GraphDef path, a modelzoo name such as
            "vgg16_hed", or a ``lucid_fast.models`` adapter.
        objective_f: an Objective, or a "layer:channel" string.
        param_f: a function returning a parameterization (default ``param.image(128)``), or one.
        optimizer: None (Adam 0.05), a learning rate, ``render.Adam``, or a TensorFlow optimizer (Adam from
            ``tf.keras`` or ``tf.compat.v1.train`` runs natively with its settings; others through TF); see
            :func:`make_optimizer`.
        transforms: a list of transforms (default ``transform.standard_transforms``, as Lucid's render_vis).
        thresholds: step counts (ints >= 0) at which to keep the image; runs max(thresholds) + 1 steps, as
            Lucid. One int n means (n,); strings, fractions and negative numbers raise ValueError.
        print_objectives: extra objectives whose values are printed at thresholds.
        verbose: print the objective at each threshold (and show the image in a notebook; elsewhere
            nothing is written).
        relu_gradient_override: Lucid's redirected ReLU gradient for the first 16 steps.
        use_fixed_seed: Lucid's switch for reproducible results: True means ``seed=0`` when no seed is given
            (and unlike in TF1, it works: the whole run is reproducible).
        seed: seeds every random choice (initialization and transforms): same seed, same machine, same
            images. None, an int >= 0 (or a sequence of them) or a numpy Generator.
        progress: a tqdm progress bar (defaults to ``verbose``): on stderr, or a widget in Jupyter.
        preset: None (Lucid's defaults: the arguments above), or ``"fast"``: a schedule that reaches Lucid's
            512-step objective in 160 steps (:data:`PRESETS`; README, "The fast preset"); it sets the optimizer,
            the transforms and the number of steps, so those must be left at their defaults, and returns the
            final image.

    Returns:
        A list with one NHWC float32 array in [0, 1] per threshold reached. Ctrl-C or a non-finite objective
        stops early and returns the images so far plus the current one.
    """
    thresholds = check_thresholds(thresholds)
    if use_fixed_seed and seed is None:
        seed = 0
    phases = preset_phases(preset, optimizer, transforms, thresholds)
    if phases is not None:
        thresholds = [sum(p.steps for p in phases) - 1]
        starts = dict(zip(np.cumsum([0] + [p.steps for p in phases[:-1]]).tolist(), phases))
        transforms = None if phases[0].transforms is None else list(phases[0].transforms)
    vis = make_vis_T(model, objective_f, param_f, optimizer, transforms, relu_gradient_override, seed)
    n_steps = thresholds[-1] + 1
    bar = _progress_bar(n_steps, verbose if progress is None else progress)
    images = []
    i = -1
    try:
        for i in range(n_steps):
            if phases is not None and i in starts:
                _enter_phase(vis, starts[i])
            loss = vis.step()
            if bar is not None:
                bar.set_postfix_str(f"objective {loss:.4g}", refresh=False)
                bar.update(1)
            if i in thresholds:
                img = vis.image()
                images.append(img)
                if verbose:
                    _report(vis, i, loss, img, print_objectives)
    except KeyboardInterrupt:
        warnings.warn(f"render_vis: interrupted at step {i + 1}; returning the images so far and the current one")
        images.append(vis.image())
    except FloatingPointError as err:
        warnings.warn(f"render_vis: stopped: {err}")
        images.append(vis.image())
    finally:
        if bar is not None:
            bar.close()
    return images


def _report(vis, i, loss, img, print_objectives):
    print(f"{i} {loss:.6g}")
    for k, obj in enumerate(print_objectives or []):
        obj = objectives.as_objective(obj)
        print(f"{k + 1:02d}: {obj.description}: {_eval_objective(vis, obj):7.2f}")
    try:
        from lucid_fast.misc import io

        if io._in_notebook():  # outside a notebook, show() would leave a temporary PNG per threshold
            io.show(np.hstack(list(img)))
    except Exception:  # showing is a convenience; never break a render for it
        pass


def _eval_objective(vis, obj):
    tf = vis.tf
    x = vis.graph.forward()
    x_t = tf.constant(x)

    def T(name):
        name = _strip(name)
        if name in ("input", "input_transformed"):
            return x_t
        if name == ALPHA_TRANSFORMED:  # printed values: the untransformed alpha stands in
            return x_t[..., 3:4]
        return tf.constant(vis.activations(name))

    return float(obj(T))


# ---- Lucid's building blocks of render_vis, for code that calls them directly ------------------------------

def make_t_image(param_f):
    """Lucid's name for building the parameterization from ``param_f`` (see :func:`make_param`)."""
    return make_param(param_f)


def make_transform_f(transforms):
    """The transform chain for ``transforms`` (a list; anything else means ``transform.standard_transforms``,
    as in Lucid)."""
    if not isinstance(transforms, (list, tuple, transform_mod.TransformChain)):
        transforms = None
    return transform_mod.make_chain(transforms)


def make_print_objective_func(print_objectives, T):
    """A function printing ``print_objectives`` evaluated with the layer accessor ``T`` (e.g. from
    :func:`import_model`), one ``NN: description: value`` line each, as render_vis does at thresholds.

    Lucid's returned function took the session; this one takes an optional, ignored argument in its place.
    """
    objs = [objectives.as_objective(o) for o in (print_objectives or [])]

    def print_objective_func(_sess=None):
        for i, obj in enumerate(objs):
            print(f"{i + 1:02d}: {obj.description}: {float(obj(T)):7.2f}")

    return print_objective_func


def import_model(model, t_image, t_image_raw=None, scope="import", input_map=None):
    """A layer accessor ``T`` on a given image (Lucid's ``import_model``, without a graph to import into).

    Lucid imported the model's graph into the current TF1 graph on ``t_image`` and returned ``T(layer)``. On TF2
    the model is called instead: ``T(layer)`` returns the activations of ``layer`` for ``t_image`` (a TF tensor
    or an NHWC numpy array in [0, 1]), ``T("input")`` returns ``t_image_raw`` (default ``t_image``) and
    ``T("labels")`` the model's labels when it has them. Works eagerly and inside ``tf.function`` (gradients flow
    to ``t_image``), so objectives can be evaluated: ``objectives.channel("mixed4a", 3)(T)``.

    Args:
        model: anything render_vis accepts.
        t_image: the images, NHWC.
        t_image_raw: what ``T("input")`` returns.
        scope: ignored (there is no graph to name a scope in).
        input_map: not supported on TF2 (a ValueError if given): feed the model its image instead.
    """
    import tensorflow as tf

    from lucid_fast import models

    if input_map is not None:
        raise ValueError("import_model: input_map has no TF2 counterpart (there is no graph to map tensors into); "
                         "pass the image as t_image, or build the input with lucid_fast.optvis.param")
    adapter = models.load_model(model)
    image_t = tf.convert_to_tensor(t_image, tf.float32)
    if image_t.shape.rank == 3:
        image_t = image_t[None]
    raw_t = image_t if t_image_raw is None else tf.convert_to_tensor(t_image_raw, tf.float32)
    cache = {}

    def T(layer):
        layer = _strip(layer)
        if layer == "input":
            return raw_t
        if layer == "labels":
            labels = getattr(adapter, "labels", None) or getattr(model, "labels", None)
            if labels is None:
                raise ValueError(f"import_model: model {adapter.name!r} has no labels")
            return labels
        name = adapter.resolve(layer)
        if name not in cache:
            cache[name] = adapter.activation_fn([name])(image_t)[name]
        return cache[name]

    return T


