"""The PyTorch model adapter: any ``torch.nn.Module`` through the same render engine (no TensorFlow here).

    adapter = TorchAdapter(torchvision.models.vgg16(weights=...).eval(), preprocess=normalize)
    render_vis(adapter, "features.28:100")            # or render_vis(model, ...): load_model wraps it

Layers are the model's ``named_modules()`` paths (``"features.28"``, ``"layer3.1.conv2"``); Lucent's spelling
with underscores (``"features_28"``) is accepted too. A layer's activations are its module's output, read with a
forward hook; tensors given to objectives are **NHWC** like everywhere in lucid_fast (``act.permute(0, 2, 3, 1)``
of the module's NCHW output, a view; an ``(N, C)`` output of a Linear stays 2-D). A module called more than once
in one forward (torchvision ResNet's shared ``relu``) gives the output of its last call, as in Lucent.

The input the model sees is the engine's NHWC float32 image in [0, 1], mapped linearly onto
``image_value_range``, put in NCHW order by ``permute(0, 3, 1, 2)`` (a view: the memory stays channels-last),
then given to ``preprocess`` (optional, a torch function on the NCHW batch, e.g. ``torchvision.transforms.
Normalize(mean, std)``), then to the model.

What the adapter does to the model: it must be in eval mode (a ValueError says to call ``model.eval()``
otherwise); ``requires_grad_(False)`` is set on every parameter when the adapter is made (input gradients do not
need weight gradients, and without them autograd keeps less; it is not restored); images go to the device of the
model's parameters and gradients come back to the CPU.

The layer table (:meth:`TorchAdapter.layers`) comes from one forward at the nominal size ``image_shape`` under
``torch.no_grad()`` with a hook on every module: every module that returns one tensor, in the order their
outputs are made, with kinds from the module type (:data:`KINDS`; ``"block"`` for a container whose output is
its own, such as a ResNet block). A container that only re-emits a child's tensor (an ``nn.Sequential`` whose
output is its last child's) is left out of the table, as a duplicate, but its name still resolves. The root
module is not a layer.
"""
from __future__ import annotations

import contextlib
import math
import weakref

import torch
from torch import nn

from lucid_fast.models.protocol import LayerInfo, ModelAdapter, _check_image_shape, _check_value_range, \
    channel_conversion_hint
from lucid_fast.models.torch_overrides import ReluOverrideMode, relu_override_mode
from lucid_fast.models.torch_slicing import run_sliced_chain, slice_chain, to_nhwc
from lucid_fast.models.torch_splice import check_maxpool_grad, maxpool_grad_mode, spliced_forward

__all__ = ["TorchAdapter", "KINDS", "STEP_MEMORY_FACTOR", "STEP_MEMORY_OVERHEAD"]

KINDS = (
    ((nn.ReLU, nn.ReLU6), "relu"),
    ((nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d), "conv"),
    ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d,
      nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
      nn.LPPool2d), "pool"),
    ((nn.Linear, nn.Bilinear), "dense"),
    ((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d,
      nn.LocalResponseNorm), "norm"),
    ((nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid,
      nn.Softplus, nn.Mish, nn.PReLU, nn.Softmax, nn.LogSoftmax), "activation"),
    ((nn.Dropout, nn.Dropout2d, nn.Identity), "identity"),
    ((nn.Flatten, nn.Unflatten), "reshape"),
)

# Peak memory of a step as a multiple of activation_bytes, plus a constant. Measured on the CPU (torch 2.13, 2
# shared cores): a VGG16-like stack (conv 3x3 + in-place ReLU, 64-64-M-128-128-M-256x3-M), objectives.channel on
# one layer, ReLU override on, each configuration in a fresh process; growth of RssAnon (sampled every 0.5 ms)
# from before the step was made to the peak of two steps, less the two input images:
#
#     size  layer (index)  batch  forward MiB  growth MiB  growth/forward
#      128  14 (conv)          1           17          48            2.84
#      256  14 (conv)          1           67         189            2.80
#      256   2 (conv)          1           33         108            3.27
#      256   7 (conv)          2          106         227            2.12
#      384  14 (conv)          1          150         350            2.31
#      512   2 (conv)          1          131         189            1.40
#      256  14 (conv)          4          267         566            2.10
#
# The growth fits about 60 MiB + 1.9 x forward (the first step's one-time allocations, then autograd's saved
# tensors, the ReLU override's masks and the backward's gradients); the estimate below is above every row.
STEP_MEMORY_FACTOR = 2.2
STEP_MEMORY_OVERHEAD = 64 << 20


class _Stop(Exception):
    """Raised from a hook once a forward has computed everything asked of it (carries the producer's input of
    a sliced layer)."""

    def __init__(self, value=None):
        super().__init__()
        self.value = value


def _kind(module):
    for types, kind in KINDS:
        if isinstance(module, types):
            return kind
    return "block" if next(module.children(), None) is not None else "other"


class TorchAdapter(ModelAdapter):
    """A PyTorch ``nn.Module`` as a :class:`~lucid_fast.models.protocol.ModelAdapter` (module docstring).

    Args:
        model: the ``nn.Module``, in eval mode (TorchScript modules are refused: they run no Python hooks).
        image_shape: the nominal ``(h, w, c)`` input size: the layer table is made at it; default
            ``(224, 224, input_channels)``.
        image_value_range: ``(lo, hi)``: images in [0, 1] are mapped linearly onto it before ``preprocess``.
        preprocess: None, or a torch function of the NCHW input batch run before the model (normalization).
        input_channels: the channels the model takes; default: the first ``Conv2d``'s ``in_channels``, else 3.
        name: a display name (default: the model's class name).
        labels, logits_layer: a classifier's class names and the layer of its logits (``ModelAdapter``).

    Attributes:
        model: the module; ``torch_device``: the ``torch.device`` of its parameters (images are moved there).
    """

    def __init__(self, model, image_shape=None, image_value_range=(0.0, 1.0), preprocess=None, input_channels=None,
                 name=None, labels=None, logits_layer=None):
        if not isinstance(model, nn.Module):
            raise ValueError(f"TorchAdapter: model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(model, torch.jit.ScriptModule):
            raise ValueError("TorchAdapter: a TorchScript module runs without Python forward hooks, so its layers "
                             "cannot be read; pass the eager nn.Module it was scripted from")
        if preprocess is not None and not callable(preprocess):
            raise ValueError(f"TorchAdapter: preprocess must be a function of the NCHW input batch, got "
                             f"{type(preprocess).__name__}")
        self.model = model
        self.name = name or type(model).__name__
        self.preprocess = preprocess
        self.labels = None if labels is None else list(labels)
        self.logits_layer = logits_layer
        self._tree = dict(model.named_modules())  # the root too, as ""
        self._modules = {n: m for n, m in self._tree.items() if n}
        if input_channels is None:
            first = next((m for m in self._modules.values() if isinstance(m, nn.Conv2d)), None)
            input_channels = first.in_channels if first is not None else 3
        self.input_channels = int(input_channels)
        shape = _check_image_shape(image_shape, self.name) or (224, 224, self.input_channels)
        if None in shape[:2]:
            raise ValueError(f"{self.name}: image_shape needs a height and width (the layer table is made at that "
                             f"size), got {image_shape!r}")
        self.image_shape = (shape[0], shape[1], self.input_channels)
        self.image_value_range = _check_value_range(image_value_range, self.name)
        self.torch_device = self._check_model()
        for p in model.parameters():
            p.requires_grad_(False)
        self._bytes_cache = {}

    # ---- the model's state -------------------------------------------------------------------------------------
    def _check_model(self):
        """The device the model runs on, after checking it is in eval mode and on one usable device."""
        training = [n or type(self.model).__name__ for n, m in self.model.named_modules() if m.training]
        if training:
            raise ValueError(f"{self.name}: the model is in training mode (modules {training[:4]}); call "
                             f"model.eval() first: dropout and batch-norm statistics would change every step")
        devices = {t.device for t in self.model.parameters()} | {t.device for t in self.model.buffers()}
        if len(devices) > 1:
            raise ValueError(f"{self.name}: the model's parameters are on several devices "
                             f"({sorted(map(str, devices))}); move it to one with model.to(device)")
        device = devices.pop() if devices else torch.device("cpu")
        if device.type == "meta":
            raise ValueError(f"{self.name}: the model's parameters are on the 'meta' device (shapes without data); "
                             f"load its weights first (e.g. model.to_empty(device='cpu') then load_state_dict)")
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{self.name}: the model's parameters are on {device} but CUDA is not available on "
                             f"this machine; move it with model.to('cpu')")
        return device

    def runs_on_gpu(self):
        return self.torch_device.type != "cpu"

    def device(self):
        """``"cpu"``, or ``"cuda:N"`` for a model on CUDA device N (then the step takes and returns CuPy arrays,
        :meth:`ModelAdapter.device`)."""
        dev = self.torch_device
        return f"cuda:{dev.index or 0}" if dev.type == "cuda" else "cpu"

    def cuda_stream(self):
        """torch's current CUDA stream on the model's device (an int), or None on the CPU."""
        if self.torch_device.type != "cuda":
            return None
        return torch.cuda.current_stream(self.torch_device).cuda_stream

    # ---- the layer table ---------------------------------------------------------------------------------------
    def _trace(self):
        """One forward at the nominal size with a hook on every module: ``(infos, calls)``."""
        if getattr(self, "_trace_cache", None) is not None:
            return self._trace_cache
        outs, calls, order, handles, aliases = {}, {}, [], [], {}

        def hook(module, inputs, output, name):
            calls[name] = calls.get(name, 0) + 1
            if isinstance(output, torch.Tensor) and output.dim() >= 1:
                # a container re-emitting a descendant's tensor: compared now, while that tensor is alive
                alias = next(module.children(), None) is not None and any(
                    d.startswith(name + ".") and ref() is output for d, (_, ref) in outs.items())
                outs[name] = (tuple(output.shape), weakref.ref(output))
                aliases[name] = alias
                if name not in order:
                    order.append(name)
            else:
                outs.pop(name, None)

        for name, module in self._modules.items():
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: hook(m, i, o, name)))
        h, w, c = self.image_shape
        x_t = torch.full((1, h, w, c), 0.5, device=self.torch_device)
        try:
            with torch.no_grad():
                self._run_model(self._map_input(x_t))
        except Exception as err:  # noqa: BLE001 - say which input size failed
            raise ValueError(f"{self.name}: the model does not run on a {h}x{w}x{c} image (its nominal size, "
                             f"image_shape): {type(err).__name__}: {err}. Pass the size it takes as "
                             f"TorchAdapter(model, image_shape=(h, w, c))") from err
        finally:
            for handle in handles:
                handle.remove()
        infos = []
        for name in order:
            shape = outs[name][0] if name in outs else None
            if shape is None:
                continue
            module = self._modules[name]
            channels = shape[1] if len(shape) >= 2 else None
            spatial = tuple(shape[2:4]) if len(shape) == 4 else None
            infos.append(LayerInfo(name, channels, spatial, _kind(module)))
        self._trace_cache = (infos, calls, {n for n, alias in aliases.items() if alias and n in outs})
        return self._trace_cache

    def _compute_layers(self):
        infos, _, aliases = self._trace()
        return [info for info in infos if info.name not in aliases]

    def _canonical_names(self):
        return [info.name for info in self._trace()[0]]

    def _layer_channel_count(self, canonical):
        for info in self._trace()[0]:
            if info.name == canonical:
                return info.channels
        return None

    def resolve(self, name):
        """:meth:`ModelAdapter.resolve`, plus Lucent's spelling of a module path (``"features_28"`` for
        ``"features.28"``) and a clear error for a module that the forward does not run."""
        try:
            return super().resolve(name)
        except ValueError as err:
            if isinstance(name, str):
                key = name.strip()
                lucent = [n for n in self._canonical_names() if n.replace(".", "_") == key]
                if len(lucent) == 1:
                    return lucent[0]
                if key in self._modules:
                    raise ValueError(f"{self.name}: module {key!r} is not a layer: the model's forward does not "
                                     f"call it, or it does not return one tensor") from None
                hint = self._path_hint(key) if "Closest names" not in str(err) else None
                if hint:
                    raise ValueError(str(err).replace(" List all layers", f" {hint} List all layers", 1)) from None
            raise err from None

    def _path_hint(self, key):
        """For a module path with no close spelling (``"features.4"`` on an ``nn.Sequential`` whose layers are
        ``"0"`` .. ``"4"``): the layers whose last path part is the key's, or every layer of a small model."""
        names = self._canonical_names()
        tail = key.replace("_", ".").split(".")[-1]
        same_tail = [n for n in names if n.split(".")[-1] == tail]
        if same_tail:
            return f"Closest names: {same_tail[:8]}."
        return f"Its layers: {names}." if len(names) <= 12 else None

    # ---- the forward ---------------------------------------------------------------------------------------
    def _check_input(self, x_t):
        if not isinstance(x_t, torch.Tensor):
            x_t = torch.as_tensor(x_t)
        if not x_t.is_floating_point():
            raise ValueError(f"{self.name}: the input image must be a floating tensor, got dtype {x_t.dtype}")
        if x_t.dim() != 4:
            raise ValueError(f"{self.name}: the input image must be NHWC (rank 4), got shape {tuple(x_t.shape)}")
        channels = x_t.shape[-1]
        if channels != self.input_channels:
            raise ValueError(f"{self.name}: the model expects {self.input_channels} input channels, got an image "
                             f"with {channels} (shape {tuple(x_t.shape)}; images are NHWC)"
                             f"{channel_conversion_hint(channels, self.input_channels)}")
        return x_t.to(device=self.torch_device, dtype=torch.float32)

    def _map_input(self, x_t):
        x_t = self._check_input(x_t)
        lo, hi = self.image_value_range
        return x_t if (lo, hi) == (0.0, 1.0) else lo + x_t * (hi - lo)

    def _run_model(self, x_mapped_t):
        """The model on a mapped NHWC batch: NCHW view, ``preprocess``, forward."""
        x_nchw_t = x_mapped_t.permute(0, 3, 1, 2)
        if self.preprocess is not None:
            x_nchw_t = self.preprocess(x_nchw_t)
        return self.model(x_nchw_t)

    def _plan(self, names, channels):
        """The layer to compute sliced for a channel request: ``(name, chain)`` or None. Only the layer the
        forward reaches last is sliced, when every other requested layer is done before its producer starts."""
        _, calls, aliases = self._trace()
        order = {n: i for i, n in enumerate(self._canonical_names())}
        last = max(names, key=lambda n: order[n])
        if last in aliases or channels.get(last) is None:
            return None
        chain = slice_chain(self._tree, last, calls)
        if chain is None or any(n in chain for n in names if n != last):
            return None
        return last, chain

    def _forward(self, x_t, names, relu_override=False, channels=None):
        """Runs the model on the NHWC image ``x_t`` in [0, 1] until ``names`` (canonical) are computed.

        ``channels``: ``{name: index list}`` for layers wanted only at some channels (the plan of :meth:`_plan`
        computes the last one sliced). Returns ``({name: NCHW output}, sliced)``; a sliced layer's output holds
        only its listed channels, ``sliced`` names it (else empty)."""
        self._check_model()
        names = list(dict.fromkeys(names))
        _, calls, _ = self._trace()
        plan = self._plan(names, channels) if channels else None
        before = {n for n in names if plan is None or n != plan[0]}  # done before a sliced layer's producer
        captured, done, counts, handles = {}, set(), {}, []
        mode = relu_override_mode(relu_override)

        def capture(module, inputs, output, name):
            counts[name] = counts.get(name, 0) + 1
            captured[name] = output
            if counts[name] >= calls.get(name, 1) and name not in done:
                done.add(name)
                if len(done) == len(names):
                    raise _Stop()
                captured[name] = output.clone()  # the forward goes on: a later in-place op must not change it

        def before_producer(module, inputs):
            if before <= done:
                raise _Stop(inputs[0])

        # hooks on the requested modules only (a sliced layer's too: computed whole if its producer starts early)
        for name in names:
            handles.append(self._modules[name].register_forward_hook(
                lambda m, i, o, name=name: capture(m, i, o, name)))
        if plan is not None:
            handles.append(self._modules[plan[1][0]].register_forward_pre_hook(before_producer))
        producer_input_t, sliced = None, ()
        override = ReluOverrideMode(force=mode == "force") if mode else contextlib.nullcontext()
        with override:
            try:
                self._run_model(self._map_input(x_t))
            except _Stop as stop:
                producer_input_t = stop.value
            finally:
                for handle in handles:
                    handle.remove()
            if producer_input_t is not None:
                name, chain = plan
                captured[name] = run_sliced_chain([self._modules[n] for n in chain], producer_input_t,
                                                  list(channels[name]))
                sliced = (name,)
        missing = [n for n in names if n not in captured]
        if missing:
            raise ValueError(f"{self.name}: the forward did not reach layer(s) {missing} on a "
                             f"{tuple(x_t.shape)} input")
        return captured, sliced

    # ---- the protocol ------------------------------------------------------------------------------------------
    def activation_fn(self, layer_names, relu_override=False, maxpool_grad=None):
        """:meth:`ModelAdapter.activation_fn`: ``f(x_t) -> {name: NHWC torch tensor}`` for an NHWC torch batch
        in [0, 1] (numpy is accepted); ``maxpool_grad`` routes 2-D max-pools through
        :class:`lucid_fast.models.torch_splice.SmoothMaxPoolMode`."""
        check_maxpool_grad(maxpool_grad, self.name)
        given, canon = self._resolve_all(layer_names)
        relu_override_mode(relu_override)

        def activations(x_t):
            with maxpool_grad_mode(maxpool_grad, self.name):
                acts, _ = self._forward(x_t, canon, relu_override)
            return {g: to_nhwc(acts[c]) for g, c in zip(given, canon)}

        activations.layer_names = list(given)
        activations.relu_override = relu_override
        activations.maxpool_grad = maxpool_grad
        activations.sliced = ()
        return activations

    def channel_activation_fn(self, channels, relu_override=False):
        """:meth:`ModelAdapter.channel_activation_fn`: the last layer the forward reaches is computed only at the
        listed channels where :mod:`lucid_fast.models.torch_slicing` allows it (``f.sliced`` names it); the
        others are computed whole and indexed."""
        given, indices = self._check_channel_request(channels)
        canon = [self.resolve(n) for n in given]
        want = {}
        for c, idx in zip(canon, indices):
            idx = [int(i) for i in idx.tolist()] if isinstance(idx, torch.Tensor) else list(idx)
            if c in want and want[c] != idx:
                raise ValueError(f"{self.name}: layer {c!r} is requested twice with different channels")
            want[c] = idx
        plan = self._plan(list(want), want)

        def activations(x_t):
            acts, sliced = self._forward(x_t, list(want), relu_override, want)
            out = {}
            for g, c in zip(given, canon):
                act_t = acts[c] if c in sliced else acts[c].index_select(
                    1, torch.as_tensor(want[c], dtype=torch.long, device=acts[c].device))
                out[g] = to_nhwc(act_t)
            return out

        activations.layer_names = list(given)
        activations.relu_override = relu_override
        activations.sliced = tuple(g for g, c in zip(given, canon) if plan is not None and c == plan[0])
        return activations

    def _channel_index_tensor(self, name, idx):
        if not isinstance(idx, torch.Tensor):
            return None
        if idx.dim() != 1 or idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
            raise ValueError(f"{self.name}: the channels of {name!r} must be a 1-D integer tensor, got {idx.dtype} "
                             f"of shape {tuple(idx.shape)}")
        return idx

    def spliced_fn(self, layer, layer_names, relu_override=False, maxpool_grad=None):
        """:meth:`ModelAdapter.spliced_fn`: ``f(x_t, acts_t) -> {name: NHWC torch tensor}``, the model run from
        the image ``x_t`` (batch 1) with ``layer``'s output replaced by ``acts_t`` (NHWC, a batch of B) by a
        forward hook (:func:`lucid_fast.models.torch_splice.spliced_forward`). ``f.needs_input`` is True: a
        PyTorch forward always starts at the input."""
        splice = self.resolve(layer)
        given, canon = self._resolve_all(layer_names)
        relu_override = relu_override_mode(relu_override)
        check_maxpool_grad(maxpool_grad, self.name)
        order = {n: i for i, n in enumerate(self._canonical_names())}
        before = [c for c in canon if order[c] < order[splice]]
        if before:
            raise ValueError(f"{self.name}: layer(s) {before} do not depend on {splice!r}, so they cannot be "
                             f"computed from {splice!r}'s activations (is {splice!r} after them in the model?)")
        forward = spliced_forward(self, splice, canon, relu_override, maxpool_grad)

        def activations(x_t, acts_t):
            out = forward(x_t, acts_t)
            return {g: to_nhwc(out[c]) for g, c in zip(given, canon)}

        activations.layer_names = tuple(canon)
        activations.needs_input = True
        activations.relu_override = relu_override
        activations.maxpool_grad = maxpool_grad
        return activations

    def objective_step(self, objective, image_shape, transforms=(), **options):
        """The model side of a step: :class:`lucid_fast.models.torch_step.TorchObjectiveStep`."""
        from lucid_fast.models.torch_step import TorchObjectiveStep  # noqa: PLC0415 - needs the native bindings

        return TorchObjectiveStep(self, objective, image_shape, transforms, **options)

    # ---- memory ------------------------------------------------------------------------------------------------
    def activation_bytes(self, layer_names, input_shape):
        """Bytes of the floating tensors the forward to ``layer_names`` makes on an ``input_shape`` (NHWC) input,
        the input included: one forward under ``torch.no_grad()`` counting every leaf module's output (an in-place
        module's once). Raises ValueError when the model does not run at that shape."""
        _, canon = self._resolve_all(layer_names)
        key = (tuple(sorted(set(canon))), tuple(int(v) for v in input_shape))
        if key in self._bytes_cache:
            return self._bytes_cache[key]
        total = [4 * math.prod(key[1])]
        handles = []

        def count(module, inputs, output):
            if isinstance(output, torch.Tensor) and output.is_floating_point() and not (
                    inputs and output is inputs[0]):
                total[0] += output.numel() * output.element_size()

        for module in self._modules.values():
            if next(module.children(), None) is None:
                handles.append(module.register_forward_hook(count))
        try:
            with torch.no_grad():
                self._forward(torch.zeros(key[1], device=self.torch_device), list(key[0]))
        except (RuntimeError, IndexError, TypeError) as err:
            raise ValueError(f"{self.name}: the model does not run on an input of shape {key[1]} (NHWC): "
                             f"{type(err).__name__}: {err}") from err
        finally:
            for handle in handles:
                handle.remove()
        self._bytes_cache = {key: total[0]}
        return total[0]

    step_memory_overhead = STEP_MEMORY_OVERHEAD

    def estimate_step_bytes(self, layer_names, input_shape, native_bytes=0):
        """``STEP_MEMORY_FACTOR`` x :meth:`activation_bytes` + ``native_bytes`` + ``STEP_MEMORY_OVERHEAD``."""
        forward = self.activation_bytes(list(layer_names), input_shape) if layer_names else 0
        return int(STEP_MEMORY_FACTOR * forward) + int(native_bytes) + STEP_MEMORY_OVERHEAD
