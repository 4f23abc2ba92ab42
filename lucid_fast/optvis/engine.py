"""The optimization step, written once: every way lucid_fast optimizes an image runs through :class:`Engine`.

One step (docs/ARCHITECTURE.md, "The step")::

    parameterization.forward()                      native: Fourier/pixel image, colour, sigmoid, ...  -> x_raw
    [collapse alpha onto a random background]       native
    affine warp (pad + jitter + scale + rotate)     native, one warp per image                       -> x
    model_step(x, x_raw) -> loss, dL/dx, dL/dx_raw  the model's framework (an adapter's ObjectiveStep)
    warp adjoint + dL/dx_raw + native terms (TV)    native
    parameterization.backward(grad) -> grads        native adjoints (and TF stages' tape gradients)
    ascent: Adam on every parameter                 native (or the parameterization's own update)

This module imports no framework: the model side is whatever ``adapter.objective_step(...)`` returns
(:mod:`lucid_fast.models.protocol`), and arrays cross to it on the model's device: aligned numpy on the host, CuPy
arrays on a CUDA device (``adapter.device()``; every array of the image side lives there, and the step goes
through one :class:`lucid_fast.ops.Device`: docs/ARCHITECTURE.md, "Devices and streams"). Users of the engine
ask for what they need through its arguments, not by subclassing: ``per_item=True`` (each image's objective, e.g. a
gallery's K channels), ``feeds`` (extra inputs an objective reads by name each step, e.g. an activation grid's targets),
:meth:`Engine.enter_phase` (a schedule of learning rates and transforms, e.g. ``preset="fast"``), and a
parameterization with its own ``ascend`` (e.g. the activation grid's per-cell Adam).
"""
from __future__ import annotations

import math

import numpy as np

from lucid_fast import ops
from lucid_fast.misc.seeding import check_seed

from . import preflight
from .optimizers import Adam
from .transform import make_chain

RELU_OVERRIDE_STEPS = 16  # Lucid's redirected ReLU gradient applies to the first 16 steps


class Engine:
    """An image optimization: parameterization, transforms, model side, optimizer, and the step over them.

    Args:
        model: a model adapter (:class:`lucid_fast.models.ModelAdapter`).
        objective: an :class:`~lucid_fast.optvis.objectives.Objective` (maximized).
        parameterization: a ``param.ParamGraph``, or any object with ``output_shape``, ``initialize(rng)``,
            ``forward() -> x_raw``
            (aligned NHWC float32), ``backward(grad_raw) -> grads``, ``params`` (arrays with ``.shape``, for the
            memory estimate), ``tf_params`` and, to update itself, ``ascend(grads, optimizer, step)``.
        chain: a ``transform.TransformChain``.
        optimizer: :class:`~lucid_fast.optvis.optimizers.Adam` or an object with ``ascend_params(params, grads)``
            (``TFOptimizer``).
        seed: seeds every random choice (what ``np.random.default_rng`` takes; a Generator is used as it is):
            initialization, then each step's transforms and backgrounds.
        relu_gradient_override: Lucid's redirected ReLU gradient for the first :data:`RELU_OVERRIDE_STEPS` steps.
        per_item: keep each image's objective (``last_per_item``) after every step.
        feeds: ``{name: (shape, dtype)}``: extra inputs the objective reads as ``T(name)``; ``feed_f()`` gives
            their values each step.
        feed_f: function returning ``{name: array}``, called after the parameterization's forward each step.
        who: the name errors start with.

    The image side runs where the model's tensors live (``model.device()``: ``"cpu"`` or ``"cuda:N"``; adapters
    without the method run on the host), on the model's CUDA stream (``model.cuda_stream()``) where it has one.
    """

    def __init__(self, model, objective, parameterization, chain, optimizer, seed=None, relu_gradient_override=True,
                 per_item=False, feeds=None, feed_f=None, who="render_vis"):
        self.model = model
        self.objective = objective
        self.graph = parameterization
        self.chain = chain
        self.optimizer = optimizer
        self.rng = check_seed(who, seed)
        self.relu_gradient_override = bool(relu_gradient_override)
        self.who = who
        self.step_count = 0
        self.last_loss = None
        self.last_per_item = None
        self.image_shape = tuple(parameterization.output_shape)
        self.native_terms = tuple(getattr(objective, "native_terms", ()))
        self._feed_f = feed_f
        self.device = ops.device(_call_or(model, "device", "cpu"))
        self.stream = _call_or(model, "cuda_stream", None) if not self.device.is_host else None
        self.model_step = model.objective_step(objective, self.image_shape, chain.tf_fns, on_alpha=self._check_alpha,
                                               per_item=per_item, feeds=feeds, who=who)
        self._check_channels()
        preflight.check_session(self)  # sizes, gradient path, memory: before anything is allocated
        self._place_graph()
        with self.device.scope(self.stream):
            self.graph.initialize(self.rng)
            own_update = getattr(self.graph, "ascend", None) is not None
            dev = self.device
            self._moments = {} if own_update else {id(p): (dev.zeros(p.shape), dev.zeros(p.shape))
                                                   for p in self.graph.params}

    def _place_graph(self):
        """Puts the parameterization on the engine's device (its ``place``); on a CUDA device a parameterization,
        optimizer or transform without a CUDA implementation is refused here, by name."""
        dev = self.device
        if dev.is_host:
            return
        place = getattr(self.graph, "place", None)
        if place is None:
            raise NotImplementedError(f"{self.who}: the parameterization {type(self.graph).__name__} runs on the host "
                                      f"only (it has no place(device)); the model runs on {dev.name}")
        place(dev)
        if hasattr(self.optimizer, "ascend_params"):
            raise NotImplementedError(f"{self.who}: the optimizer {self.optimizer!r} runs through TensorFlow on the "
                                      f"host; on {dev.name} only the native Adam (optimizers.Adam) runs")
        self.chain.check_device(dev, self.who)

    # ---- what the model side found ---------------------------------------------------------------------------
    @property
    def layers(self):
        """The canonical names of the layers the objective reads."""
        return self.model_step.layers

    @property
    def wants_alpha(self):
        """Whether the objective reads ``T("alpha_transformed")``."""
        return self.model_step.wants_alpha

    @property
    def sliced(self):
        """The layers the model computes only the objective's channels of (after the first step)."""
        return self.model_step.sliced

    @property
    def slice_channels(self):
        return self.model_step.slice_channels

    @slice_channels.setter
    def slice_channels(self, on):
        self.model_step.slice_channels = on

    def channel_slices(self):
        """``{layer: channels}`` the model computes (see ``ObjectiveStep.channel_slices``)."""
        return self.model_step.channel_slices()

    def _check_alpha(self):
        want = 4 if self.chain.collapse is not None else self.model.input_channels + 1
        if self.image_shape[-1] != want:
            raise ValueError(f'{self.who}: T("alpha_transformed") is the alpha channel carried through the '
                             f"transforms: it needs an RGBA parameterization, either with "
                             f"transform.collapse_alpha_random() in the transforms (param.image(..., alpha=True)), "
                             f"or composited by the parameterization itself (colour channels then alpha, e.g. "
                             f"param.concat([composited_rgb, alpha], -1)); the image has {self.image_shape[-1]} "
                             f"channels")

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
            raise ValueError(f"{self.who}: the parameterization makes {c}-channel images but the model "
                             f"{self.model.name!r} takes {want} channels{hint}")

    # ---- a schedule ----------------------------------------------------------------------------------------------
    def enter_phase(self, phase):
        """Switches to a schedule phase (``presets.Phase``): its learning rate and transforms; Adam's moments are
        kept."""
        opt = self.optimizer
        self.optimizer = Adam(phase.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon)
        self.set_transforms(None if phase.transforms is None else list(phase.transforms))

    def set_transforms(self, transforms):
        """New transforms (a list; None: ``transform.standard_transforms``) from the next step on."""
        self.chain = make_chain(transforms)
        if not self.device.is_host:
            self.chain.check_device(self.device, self.who)
        self.model_step.set_transforms(self.chain.tf_fns)

    # ---- the step -----------------------------------------------------------------------------------------------
    def compute_gradients(self):
        """The objective and its gradients for one step, without updating anything.

        Draws the step's random transforms (and the alpha background) from the run's generator, as :meth:`step`
        does, and runs the whole step up to the optimizer: parameterization forward, warp, the model side
        (model and objective), the warp adjoint, d/dx_raw, native terms, parameterization backward.
        :meth:`step` is this followed by the ascent, so tests can read the exact gradient a step applies.

        Returns:
            (loss, grads): the objective (evaluated before any update) and the parameterization's gradients of the
            objective (to maximize): for a ParamGraph, ``{node: gradient}`` for every native ``Param`` it depends
            on (float32 arrays of the engine's device) and, for every TF stage (``TFParam``), the list of its
            variables' gradients.
        """
        with self.device.scope(self.stream):
            return self._compute_gradients()

    def _compute_gradients(self):
        dev, xp = self.device, self.device.xp
        x_raw = self.graph.forward()
        x_pre, saved = x_raw, None
        if self.chain.collapse is not None:
            x_pre, saved = self.chain.collapse.forward(x_raw, self.rng)
        if self.wants_alpha and saved is not None:  # the alpha goes through the same warp, after the RGB
            rgb = x_pre
            x_pre = dev.empty(rgb.shape[:-1] + (rgb.shape[-1] + 1,))
            x_pre[..., :-1] = rgb
            x_pre[..., -1:] = x_raw[..., 3:4]
        b = x_pre.shape[0]
        if self.chain.is_identity:
            x, mats = x_pre, None
        else:
            mats, size = self.chain.sample(b, x_pre.shape[1:3], self.rng)
            x = dev.ops.affine_warp(x_pre, matrices=mats, out_hw=size, pad_mode=self.chain.pad_mode,
                                    fill_value=self.chain.fill_value)
        override = self.relu_gradient_override and self.step_count < RELU_OVERRIDE_STEPS
        feeds = self._feed_f() if self._feed_f is not None else None
        out = self.model_step(x, x_raw, override, feeds)
        if not dev.is_host:
            dev.check_on("the model step's output", grad_x=out.grad_x, grad_raw=out.grad_raw)
        grad_pre = self._warp_adjoint(out.grad_x, mats, x_pre.shape)
        grad_raw_model = out.grad_raw
        if override:
            grad_pre, grad_raw_model = self._revive_dead_images(x, x_raw, feeds, mats, grad_pre, grad_raw_model)
        grad_alpha = None
        if self.wants_alpha and saved is not None:
            grad_pre, grad_alpha = xp.ascontiguousarray(grad_pre[..., :-1]), grad_pre[..., -1:]
        grad_raw = self.chain.collapse.backward(grad_pre, saved) if saved is not None else grad_pre
        if grad_alpha is not None:
            grad_raw[..., 3:4] += grad_alpha
        grad_raw += grad_raw_model
        loss = out.loss
        for term in self.native_terms:  # e.g. total variation of the input: native value and gradient
            loss += term.native_value_and_grad(x_raw, grad_raw)[0]
        self.last_loss = loss
        self.last_per_item = out.per_item
        if not math.isfinite(loss) or not dev.all_finite(grad_raw):
            raise FloatingPointError(f"the objective or its gradient is not finite at step {self.step_count} "
                                     f"(objective = {loss}); the image before this step is kept")
        grads = self.graph.backward(grad_raw)
        for node in getattr(self.graph, "tf_params", ()):
            if node.grads is not None:
                grads[node] = list(node.grads)
        return loss, grads

    def _warp_adjoint(self, grad_x, mats, pre_shape):
        """The gradient with respect to the image before the warp (a new aligned array)."""
        dev = self.device
        if mats is None:
            grad_pre = dev.empty(pre_shape)
            grad_pre[...] = grad_x
            return grad_pre
        return dev.ops.affine_warp_adjoint(grad_x, matrices=mats, in_hw=pre_shape[1:3], pad_mode=self.chain.pad_mode)

    def _revive_dead_images(self, x, x_raw, feeds, mats, grad_pre, grad_raw_model):
        """During the redirected-ReLU steps: an image whose gradient is exactly zero gets the gradient with the
        redirection forced (``relu_override="force"``) instead.

        Lucid's redirection acts on an image only where no unit of a ReLU passes any gradient. A unit can pass one
        and still give the image nothing: on vgg16_hed's ``block1_conv2:4`` the only active unit at the start sits
        at the border of the transformed image, where its receptive field holds only the transforms' padding, so
        the channel stayed at 0 for as long as the transforms ran. Images that do get a gradient keep it, bit for
        bit, and no second pass runs when none is zero."""
        xp = self.device.xp
        b = grad_pre.shape[0]
        dead = ~(grad_pre.reshape(b, -1).any(axis=1) | xp.asarray(grad_raw_model).reshape(b, -1).any(axis=1))
        if not dead.any():  # on a CUDA device: one bool copied to the host, in the redirected-ReLU steps only
            return grad_pre, grad_raw_model
        forced = self.model_step(x, x_raw, "force", feeds)
        grad_pre[dead] = self._warp_adjoint(forced.grad_x, mats, grad_pre.shape)[dead]
        grad_raw_model = xp.array(grad_raw_model)
        grad_raw_model[dead] = forced.grad_raw[dead]
        return grad_pre, grad_raw_model

    def step(self):
        """One optimization step; returns the objective (evaluated before the update, as Lucid reports it)."""
        loss, grads = self.compute_gradients()
        self.step_count += 1
        self.ascend(grads)
        return loss

    def ascend(self, grads):
        """One ascent step of the optimizer on the parameterization, given its gradients."""
        with self.device.scope(self.stream):
            self._ascend(grads)

    def _ascend(self, grads):
        opt, dev = self.optimizer, self.device
        own = getattr(self.graph, "ascend", None)
        if own is not None:  # a parameterization with its own update rule (e.g. the activation grid's per-cell Adam)
            own(grads, opt, self.step_count)
            return
        if hasattr(opt, "ascend_params"):  # a framework optimizer other than a plain Adam (TFOptimizer)
            opt.ascend_params(self.graph.params, grads)
        else:
            for p in self.graph.params:
                m, v = self._moments[id(p)]
                g = grads.get(p)
                if g is None:
                    continue
                g = dev.xp.ascontiguousarray(g, dtype=np.float32)
                dev.ops.adam_update(p.value, g, m, v, self.step_count, learning_rate=opt.learning_rate,
                                beta_1=opt.beta_1, beta_2=opt.beta_2, epsilon=opt.epsilon, maximize=True)
        for node in self.graph.tf_params:
            node.apply_ascent(opt)

    def run(self, steps=None, phases=None, on_step=None):
        """Runs ``steps`` steps, or a schedule of ``phases`` (each entered with :meth:`enter_phase`); calls
        ``on_step(i, loss)`` after each. Returns the number of steps run."""
        schedule = [(None, int(steps))] if phases is None else [(p, p.steps) for p in phases]
        i = 0
        for phase, n in schedule:
            if phase is not None:
                self.enter_phase(phase)
            for _ in range(n):
                loss = self.step()
                if on_step is not None:
                    on_step(i, loss)
                i += 1
        return i

    # ---- reading the state ----------------------------------------------------------------------------------------
    def image(self):
        """The current image, NHWC float32 (a numpy copy, also on a CUDA device)."""
        with self.device.scope(self.stream):
            return self.device.to_host(self.graph.forward())

    def model_image(self):
        """The current untransformed image as the model sees it (a composited image's alpha dropped)."""
        x = self.graph.forward()
        c = self.model.input_channels
        if self.wants_alpha and self.chain.collapse is None and x.shape[-1] == c + 1:
            rgb = self.device.empty(x.shape[:-1] + (c,))  # a composited image: its alpha is not the model's
            rgb[...] = x[..., :c]
            x = rgb
        if x.shape[-1] != c:
            raise ValueError(f"activations: the image has {x.shape[-1]} channels, the model takes {c}")
        return x

    def activations(self, layer):
        """A layer's activations on the current image (untransformed), as numpy."""
        return self.model_step.activations(self.model_image(), layer)

    def evaluate(self, objective):
        """The value of another objective on the current (untransformed) image."""
        return self.model_step.evaluate(objective, self.graph.forward(), self.activations)


def _call_or(obj, name, default):
    """``obj.name()`` where the adapter has that method, else ``default`` (adapters need not subclass the
    protocol)."""
    fn = getattr(obj, name, None)
    return default if fn is None else fn()
