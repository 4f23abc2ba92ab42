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
import time
import warnings

import numpy as np

from lucid_fast import ops
from lucid_fast._bindings import checks, dlpack

from . import objectives, preflight
from . import param as param_mod
from . import transform as transform_mod

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


def make_optimizer(optimizer):
    """None -> Adam(0.05); a number -> Adam(that learning rate); an Adam; or a tf.keras Adam (its settings)."""
    if optimizer is None:
        return Adam()
    if isinstance(optimizer, Adam):
        return optimizer
    if isinstance(optimizer, (int, float)) and not isinstance(optimizer, bool):
        return Adam(float(optimizer))
    cfg = getattr(optimizer, "get_config", None)
    if cfg is not None and type(optimizer).__name__ == "Adam":
        c = optimizer.get_config()
        lr = c["learning_rate"]
        if not isinstance(lr, (int, float)):
            raise ValueError("render_vis: a tf.keras Adam with a learning-rate schedule is not supported; "
                             "pass a constant learning rate")
        if c.get("amsgrad"):
            raise ValueError("render_vis: Adam(amsgrad=True) is not supported by the native optimizer")
        return Adam(float(lr), float(c["beta_1"]), float(c["beta_2"]), float(c["epsilon"]))
    raise ValueError(f"render_vis: optimizer must be None, a learning rate, lucid_fast.optvis.render.Adam or a "
                     f"tf.keras.optimizers.Adam; got {optimizer!r}. The optimizer runs natively, outside TF.")


def make_param(param_f):
    if param_f is None:
        node = param_mod.image(DEFAULT_IMAGE_SIZE)
    elif isinstance(param_f, param_mod.Node):
        node = param_f
    elif callable(param_f):
        node = param_f()
    else:
        raise TypeError(f"param_f must be a function returning a parameterization, or one; got {param_f!r}")
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
        self._check_channels()
        self.native_terms = tuple(getattr(self.objective, "native_terms", ()))
        self.layers = self._discover_layers()
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
        want = self.model.input_channels
        if c != want:
            hint = " (an RGBA image needs transform.collapse_alpha_random())" if c == 4 else ""
            raise ValueError(f"render_vis: the parameterization makes {c}-channel images but the model "
                             f"{self.model.name!r} takes {want} channels{hint}")

    def _model_input_spec(self):
        b = self.image_shape[0]
        c = self.model.input_channels
        return self.tf.TensorSpec([b, None, None, c], self.tf.float32)

    def _raw_spec(self):
        return self.tf.TensorSpec(list(self.image_shape), self.tf.float32)

    def _make_T(self, acts, x_raw_t, x_t):
        def T(name):
            name = _strip(name)
            if name == "input":
                return x_raw_t
            if name == "input_transformed":
                return x_t
            return acts[self.model.resolve(name)]

        return T

    def _discover_layers(self):
        """Finds the layers the objective reads by tracing it once (graph only, nothing runs)."""
        tf = self.tf
        seen = []

        def recording_T_factory(x_t, x_raw_t):
            def T(name):
                name = _strip(name)
                if name in ("input", "input_transformed"):
                    return x_raw_t if name == "input" else x_t
                canon = self.model.resolve(name)
                if canon not in seen:
                    seen.append(canon)
                return self.model.activation_fn([canon], relu_override=False)(x_t)[canon]

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
        act_fn = self.model.activation_fn(list(self.layers), relu_override=override) if self.layers else None
        objective, tf_fns = self.objective, self.chain.tf_fns

        @tf.function(input_signature=[self._model_input_spec(), self._raw_spec()], autograph=False)
        def step(x_t, x_raw_t):
            with tf.GradientTape() as tape:
                tape.watch(x_t)
                tape.watch(x_raw_t)
                x_in_t = x_t
                for f in tf_fns:
                    x_in_t = f(x_in_t)
                acts = act_fn(x_in_t) if act_fn is not None else {}
                loss_t = tf.convert_to_tensor(objective.tf_part(self._make_T(acts, x_raw_t, x_in_t)), tf.float32)
                loss_t = tf.reshape(loss_t, [])
            grad_x_t, grad_raw_t = tape.gradient(loss_t, [x_t, x_raw_t],
                                                 unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return loss_t, grad_x_t, grad_raw_t

        self._step_fns[override] = step
        return step

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
        grad_raw = self.chain.collapse.backward(grad_pre, saved) if saved is not None else grad_pre
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
        for p in self.graph.params:
            m, v = self._moments[id(p)]
            g = grads.get(p)
            if g is None:
                continue
            g = np.ascontiguousarray(g, dtype=np.float32)
            ops.adam_update(p.value, g, m, v, self.step_count, learning_rate=opt.learning_rate, beta_1=opt.beta_1,
                            beta_2=opt.beta_2, epsilon=opt.epsilon, maximize=True)
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
        if x.shape[-1] != c:
            raise ValueError(f"activations: the image has {x.shape[-1]} channels, the model takes {c}")
        return self._act_fn(dlpack.to_tf(x))[name].numpy()

    def __call__(self, name):
        if name == "input":
            return self.image()
        if name == "loss":
            return self.last_loss
        return self.activations(name)


def make_vis_T(model, objective_f, param_f=None, optimizer=None, transforms=None, relu_gradient_override=True,
               seed=None):
    """Builds a :class:`VisSession` (Lucid's make_vis_T, without TF1 sessions)."""
    return VisSession(model, objective_f, param_f, optimizer, transforms, relu_gradient_override, seed)


class _Progress:
    def __init__(self, total, enabled, stream=None):
        self.total, self.enabled, self.stream = total, enabled, stream or sys.stderr
        self.t0 = time.perf_counter()
        self.last = 0.0

    def update(self, i, loss, force=False):
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.5 and i + 1 < self.total:
            return
        self.last = now
        frac = (i + 1) / self.total
        bar = "#" * int(30 * frac)
        rate = (i + 1) / max(now - self.t0, 1e-9)
        self.stream.write(f"\r[{bar:<30}] {i + 1}/{self.total} objective {loss:10.4g}  {rate:6.1f} steps/s")
        if i + 1 >= self.total or force:
            self.stream.write("\n")
        self.stream.flush()


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
               verbose=True, relu_gradient_override=True, seed=None, progress=None, print_objectives=None):
    """Optimizes an image to maximize ``objective_f`` on ``model`` (Lucid's render_vis, on TF2).

    Args:
        model: a tf.keras.Model, a SavedModel directory, a frozen GraphDef path, a modelzoo name such as
            "vgg16_hed", or a ``lucid_fast.models`` adapter.
        objective_f: an Objective, or a "layer:channel" string.
        param_f: a function returning a parameterization (default ``param.image(128)``), or one.
        optimizer: None (Adam 0.05), a learning rate, ``render.Adam`` or a tf.keras Adam's settings.
        transforms: a list of transforms (default ``transform.standard_transforms``, as Lucid's render_vis).
        thresholds: step counts (ints >= 0) at which to keep the image; runs max(thresholds) + 1 steps, as
            Lucid. One int n means (n,); strings, fractions and negative numbers raise ValueError.
        verbose: print the objective at each threshold (and show the image in a notebook; elsewhere
            nothing is written).
        relu_gradient_override: Lucid's redirected ReLU gradient for the first 16 steps.
        seed: seeds every random choice (initialization and transforms): same seed, same machine, same
            images. None, an int >= 0 (or a sequence of them) or a numpy Generator.
        progress: a progress bar on stderr (defaults to ``verbose``).
        print_objectives: extra objectives whose values are printed at thresholds.

    Returns:
        A list with one NHWC float32 array in [0, 1] per threshold reached. Ctrl-C or a non-finite objective
        stops early and returns the images so far plus the current one.
    """
    thresholds = check_thresholds(thresholds)
    vis = make_vis_T(model, objective_f, param_f, optimizer, transforms, relu_gradient_override, seed)
    n_steps = thresholds[-1] + 1
    bar = _Progress(n_steps, verbose if progress is None else progress)
    images = []
    i = -1
    try:
        for i in range(n_steps):
            loss = vis.step()
            bar.update(i, loss)
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
        return tf.constant(vis.activations(name))

    return float(obj(T))


