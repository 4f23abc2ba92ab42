"""The PyTorch side of an optimization step: the model, the objective and their input gradients by autograd (the
torch twin of :mod:`lucid_fast.models.tf_step`; no TensorFlow here).

The engine asks a :class:`~lucid_fast.models.torch_adapter.TorchAdapter` for a :class:`TorchObjectiveStep`
(``adapter.objective_step(...)``) and calls it once per step:

    step(x, x_raw, relu_override, feeds) -> StepOutput(loss, grad_x, grad_raw, per_item)

``x`` (the transformed image, its transformed alpha as one more channel when the objective reads
``T("alpha_transformed")``) and ``x_raw`` (the untransformed image, ``T("input")``) cross into torch by DLPack
without copies (``torch.from_dlpack`` on the engine's arrays) and are moved to the model's device; the gradients
come back as ``.numpy()`` of contiguous CPU tensors (no copy), or as CuPy arrays when the engine's arrays are
CuPy (a model on CUDA). The objective reads everything through one :class:`LayerAccessor` (Lucid's ``T``) whose
tensors are torch tensors in NHWC order; its backend is ``backend.get("torch")``.

Each call runs one forward (the model up to the layers the objective reads, only the channels it declares where
:mod:`lucid_fast.models.torch_slicing` allows it, with Lucid's redirected ReLU gradient when ``relu_override``
is set) and one ``torch.autograd.grad``. Nothing is compiled: ``set_transforms`` and ``slice_channels`` take
effect at the next call.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from lucid_fast._bindings import dlpack
from lucid_fast.models import backend
from lucid_fast.models.accessor import ALPHA_TRANSFORMED, LayerAccessor, channel_slices, strip_name
from lucid_fast.models.protocol import StepOutput
from lucid_fast.models.torch_slicing import to_nhwc
from lucid_fast.models.torch_overrides import relu_override_mode

__all__ = ["TorchObjectiveStep", "expand_channels", "apply_transforms"]


def expand_channels(acts_t, channels, count):
    """Sliced NHWC activations (``acts_t[..., k]`` is channel ``channels[k]``) as the layer's ``count`` channels,
    zeros for the others (``tf_step.expand_channels`` in torch)."""
    if len(channels) == 1:
        c = channels[0]
        return F.pad(acts_t, (c, count - c - 1))
    index = np.full(count, len(channels), np.int64)
    index[list(channels)] = np.arange(len(channels))
    padded_t = torch.cat([acts_t, torch.zeros_like(acts_t[..., :1])], dim=-1)
    return padded_t.index_select(-1, torch.from_numpy(index).to(acts_t.device))


def _scalar(value, who):
    """An objective's value as a float32 torch scalar (a non-scalar result is summed, as TF1 did)."""
    if isinstance(value, torch.Tensor):
        value_t = value if value.dtype == torch.float32 else value.to(torch.float32)
        return value_t.sum() if value_t.dim() else value_t
    if isinstance(value, (int, float)) and not isinstance(value, bool) and type(value).__module__ == "builtins":
        return torch.tensor(float(value), dtype=torch.float32)
    # a TensorFlow or numpy value: computed outside torch, so no gradient would reach the image
    raise ValueError(f"{who}: an objective on a PyTorch model must compute with torch and return a torch tensor "
                     f"(T(...) gives torch tensors, NHWC), got a {_type_name(value)}; write it with torch "
                     f"operations, or with lucid_fast.models.backend (B = backend.of_accessor(T)) to serve both "
                     f"frameworks")


def _type_name(value):
    kind = type(value)
    return f"{kind.__module__.split('.')[0]} {kind.__name__}" if kind.__module__ != "builtins" else kind.__name__


def apply_transforms(transforms, x_t, who):
    """The torch transforms applied in order; a transform that does not return a torch tensor (a TensorFlow
    function given to a PyTorch model) is refused by name."""
    for fn in transforms:
        out_t = fn(x_t)
        if not isinstance(out_t, torch.Tensor):
            name = getattr(fn, "__name__", type(fn).__name__)
            raise ValueError(f"{who}: a transform on a PyTorch model must be a torch function of the NHWC image "
                             f"tensor; {name} returned a {_type_name(out_t)}")
        x_t = out_t
    return x_t


class TorchObjectiveStep:
    """The model and an objective for images of one shape (see the module docstring); the same interface as
    ``tf_step.ObjectiveStep``.

    Args:
        adapter: a :class:`~lucid_fast.models.torch_adapter.TorchAdapter`.
        objective: an :class:`~lucid_fast.optvis.objectives.Objective` (``tf_part`` gives the framework's
            scalar, ``channel_reads``, ``description``; ``tf_per_item`` when ``per_item``).
        image_shape: the untransformed image's shape (NHWC).
        transforms: torch functions applied to the transformed NHWC image before the model.
        on_alpha: called when the objective reads ``T("alpha_transformed")`` (it may raise).
        per_item: also return each image's objective (``objective.tf_per_item(T)``, whose sum is the loss).
        feeds: ``{name: (shape, dtype)}`` extra inputs the objective reads as ``T(name)``, given each step.
        who: the name errors start with.
    """

    def __init__(self, adapter, objective, image_shape, transforms=(), on_alpha=None, per_item=False, feeds=None,
                 who="render_vis"):
        self.adapter, self.objective, self.who = adapter, objective, who
        self.image_shape = tuple(int(v) for v in image_shape)
        self.transforms = tuple(transforms)
        self.per_item = bool(per_item)
        self.feeds = {name: (tuple(shape), np.dtype(getattr(dtype, "as_numpy_dtype", dtype)))
                      for name, (shape, dtype) in (feeds or {}).items()}
        self._slice_channels = True
        self._slices = None  # channel_slices(), once the layers are known
        self.layer_channels = {}
        self.wants_alpha = False
        self.sliced = ()
        self._backend = backend.get("torch")
        self.layers = self._discover(on_alpha)

    # ---- the accessor ---------------------------------------------------------------------------------------
    def accessor(self, acts, x_raw_t, x_t, alpha_t=None, slices=None, feeds=None):
        """The layer accessor on a step's NHWC activations (``{canonical: tensor}``, sliced as ``slices`` says)."""
        slices = slices or {}
        named = {"input": x_raw_t, "input_transformed": x_t, ALPHA_TRANSFORMED: alpha_t, **(feeds or {})}

        def get(canon):
            chans = slices.get(canon)
            if chans is not None and len(chans) == self.layer_channels[canon]:
                chans = None
            return acts[canon], chans

        return LayerAccessor(self.adapter.resolve, get, named,
                             lambda a, chans, canon: expand_channels(a, chans, self.layer_channels[canon]),
                             backend=self._backend)

    def _feed_tensors(self, feeds, zeros=False):
        out = {}
        for name, (shape, dtype) in self.feeds.items():
            value = np.zeros([1 if d is None else d for d in shape], dtype) if zeros else np.asarray(feeds[name],
                                                                                                    dtype)
            out[name] = torch.from_numpy(np.ascontiguousarray(value)).to(self.adapter.torch_device)
        return out

    def _value(self, T, per_item=False):
        if per_item:
            per_item_t = torch.as_tensor(self.objective.tf_per_item(T)).to(torch.float32).reshape(-1)
            return per_item_t.sum(), per_item_t
        return _scalar(self.objective.tf_part(T), self.who), None

    def _discover(self, on_alpha):
        """The layers the objective reads, found by evaluating it once on a grey image (no gradient)."""
        seen = []
        b, h, w, _ = self.image_shape
        x_t = torch.full((b, h, w, self.adapter.input_channels), 0.5, device=self.adapter.torch_device)
        x_raw_t = torch.full(self.image_shape, 0.5, device=self.adapter.torch_device)

        def alpha():
            if on_alpha is not None:
                on_alpha()
            self.wants_alpha = True
            return x_in_t[..., :1]  # a stand-in of the right shape

        def get(canon):
            if canon not in seen:
                seen.append(canon)
            acts_t = to_nhwc(self.adapter._forward(x_in_t, [canon])[0][canon])
            if acts_t.dim():
                self.layer_channels[canon] = acts_t.shape[-1]
            return acts_t, None

        try:
            with torch.no_grad():
                x_in_t = apply_transforms(self.transforms, x_t, self.who)
                named = {"input": x_raw_t, "input_transformed": x_in_t, ALPHA_TRANSFORMED: alpha,
                         **self._feed_tensors(None, zeros=True)}
                self._value(LayerAccessor(self.adapter.resolve, get, named, backend=self._backend))
        except (ValueError, IndexError, TypeError, RuntimeError) as err:
            msg = str(err).strip().splitlines()
            raise ValueError(f"{self.who}: the objective {self.objective.description!r} cannot be evaluated on "
                             f"model {self.adapter.name!r}: {msg[-1] if msg else repr(err)}") from err
        return tuple(seen)

    @property
    def slice_channels(self):
        """Whether the model computes only the channels the objective declares (on by default)."""
        return self._slice_channels

    @slice_channels.setter
    def slice_channels(self, on):
        self._slice_channels = bool(on)
        self.sliced = ()
        self._slices = None

    def channel_slices(self):
        """``{layer: channels}`` for every layer the objective reads when it declares which channels of each
        (``Objective.channel_reads``); empty when the reads are unknown or incomplete, a channel count is unknown,
        no layer would lose a channel, or ``slice_channels`` is off (as ``tf_step.ObjectiveStep``). Computed
        once (the step asks every call)."""
        if self._slices is None:
            self._slices = (channel_slices(self.objective, self.layers, self.layer_channels, self.adapter.resolve)
                            if self.slice_channels else {})
        return self._slices

    def set_transforms(self, transforms):
        """New torch transforms (a preset's next phase), used from the next call on."""
        self.transforms = tuple(transforms)

    # ---- the step ---------------------------------------------------------------------------------------------
    def _model_side(self, x_t, x_raw_t, override, feed_ts, slices, per_item):
        """Transforms, model, objective: ``(loss_t, per_item_t)``, differentiable with respect to the inputs."""
        n_model = self.adapter.input_channels
        x_in_t, alpha_t = (x_t[..., :n_model], x_t[..., n_model:]) if self.wants_alpha else (x_t, None)
        x_in_t = apply_transforms(self.transforms, x_in_t, self.who)
        acts = {}
        if slices:
            fn = self.adapter.channel_activation_fn({c: list(slices[c]) for c in self.layers}, relu_override=override)
            acts = fn(x_in_t)
            self.sliced = tuple(fn.sliced)
        elif self.layers:
            acts = self.adapter.activation_fn(list(self.layers), relu_override=override)(x_in_t)
        T = self.accessor(acts, x_raw_t, x_in_t, alpha_t, slices, feed_ts)
        return self._value(T, per_item)

    def _inputs(self, x, x_raw):
        dev = self.adapter.torch_device
        return (dlpack.to_torch(x).to(dev).requires_grad_(True), dlpack.to_torch(x_raw).to(dev).requires_grad_(True))

    def __call__(self, x, x_raw, relu_override=False, feeds=None):
        """One step's model side on NHWC float32 arrays (numpy, or CuPy for a model on CUDA); returns a
        :class:`StepOutput` whose gradients share the memory of torch's gradient tensors."""
        override = relu_override_mode(relu_override)
        x_t, x_raw_t = self._inputs(x, x_raw)
        with torch.enable_grad():
            loss_t, per_item_t = self._model_side(x_t, x_raw_t, override, self._feed_tensors(feeds),
                                                  self.channel_slices(), self.per_item)
            grads = (None, None)
            if loss_t.requires_grad:
                grads = torch.autograd.grad(loss_t, [x_t, x_raw_t], allow_unused=True)
        gpu = not isinstance(x, np.ndarray)
        grad_x, grad_raw = (dlpack.from_torch(torch.zeros_like(t) if g is None else g, gpu=gpu)
                            for g, t in zip(grads, (x_t, x_raw_t)))
        # the scalars cross to the host in one copy (the only one of a step on a GPU)
        parts = [loss_t.detach().reshape(1)] + ([per_item_t.detach().reshape(-1)] if self.per_item else [])
        host = torch.cat(parts).cpu().numpy()
        return StepOutput(float(host[0]), grad_x, grad_raw, host[1:] if self.per_item else None)

    # ---- checks before the first step (optvis.preflight) ------------------------------------------------------
    def gradient_reaches_image(self, shape):
        """Runs objective and gradient once on a grey model input of ``shape`` (all channels, no slicing); True
        when a gradient reaches the image. A model or objective that fails there raises ValueError."""
        if self.wants_alpha:
            shape = (*shape[:3], shape[3] + 1)
        dev = self.adapter.torch_device
        x_t = torch.full(tuple(shape), 0.5, device=dev, requires_grad=True)
        x_raw_t = torch.full(self.image_shape, 0.5, device=dev, requires_grad=True)
        try:
            with torch.enable_grad():
                loss_t, _ = self._model_side(x_t, x_raw_t, False, self._feed_tensors(None, zeros=True), {}, False)
                if not loss_t.requires_grad:
                    return False
                grads = torch.autograd.grad(loss_t, [x_t, x_raw_t], allow_unused=True)
        except RuntimeError as err:
            if "numpy()" in str(err):  # a TensorFlow op or .numpy() on a tensor that carries the gradient
                raise ValueError("it computes outside torch (a TensorFlow or numpy operation on a torch tensor "
                                 "that carries the gradient); on a PyTorch model, write objectives and transforms "
                                 "with torch operations, or with lucid_fast.models.backend "
                                 "(B = backend.of_accessor(T)) to serve both frameworks") from err
            raise ValueError(str(err)) from err
        return any(g is not None for g in grads)

    def runs_at(self, shape):
        """Whether the layers the objective reads can be computed for inputs of ``shape``."""
        try:
            self.adapter.activation_bytes(list(self.layers), shape)
        except (ValueError, TypeError, IndexError, RuntimeError):
            return False
        return True

    # ---- reading -----------------------------------------------------------------------------------------------
    def activations(self, x, layer):
        """A layer's activations (numpy, NHWC) on the image ``x`` (the model's channels)."""
        name = self.adapter.resolve(strip_name(layer))
        with torch.no_grad():
            acts_t = self.adapter._forward(dlpack.to_torch(x), [name])[0][name]
        return dlpack.from_torch(to_nhwc(acts_t))

    def evaluate(self, objective, x, activations):
        """The value of ``objective`` on the untransformed image ``x`` (numpy), reading layers through
        ``activations(layer) -> numpy`` (printed objectives at thresholds)."""
        x_t = dlpack.to_torch(x)
        named = {"input": x_t, "input_transformed": x_t,
                 ALPHA_TRANSFORMED: lambda: x_t[..., 3:4]}  # printed values: the untransformed alpha stands in
        T = LayerAccessor(lambda name: name, lambda name: (torch.from_numpy(np.array(activations(name))), None),
                          named, backend=self._backend)
        with torch.no_grad():
            return float(_scalar(objective(T), self.who))
