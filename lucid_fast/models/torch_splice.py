"""Attribution's parts of the PyTorch adapter: a forward with one layer's activations replaced (``spliced_fn``)
and Lucid's smooth max-pool gradient (``maxpool_grad=``), the torch twins of ``KerasAdapter.spliced_fn`` and
:mod:`lucid_fast.models.tf_overrides`' ``smooth_maxpool_grad`` (no TensorFlow here).

**Splicing.** A PyTorch forward cannot start in the middle of a module's ``forward``, so a spliced forward runs
the model from the input image and a forward hook on the spliced layer's module returns the replacement
activations (its last call, as :meth:`TorchAdapter.activation_fn` reads that call); hooks on the requested
modules capture their outputs and stop the forward once all are made. The replacement is a batch of B for one
image: the part of the model before the layer runs once on the image (batch 1), and what bypasses the layer (a
residual connection) meets the B replacements by broadcasting (``x + inputs``). When that fails (a
concatenation of the two batches, a batch size read before the layer) the forward runs again on the image
repeated B times, and that choice is kept for the function. ``f.needs_input`` is therefore always True.

**Smooth max-pool gradient.** :class:`SmoothMaxPoolMode` (a ``TorchFunctionMode``) runs every 2-D max-pool
(``nn.MaxPool2d``, ``F.max_pool2d``, ``torch.max_pool2d``; other max-pools, ``return_indices=True`` and dilated
ones are refused) as
:class:`SmoothMaxPool`: the same values, the gradient of Lucid's relaxation ``avg_pool(x**2) / (eps +
avg_pool(|x|))`` (each window's inputs weighted by their size), optionally blurred (:func:`blur_gradient`). Its
backward is closed-form (no nested autograd), so batched backward passes (``is_grads_batched``) go through it.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F  # noqa: N812
from torch.overrides import TorchFunctionMode

from lucid_fast.models.torch_overrides import ReluOverrideMode, relu_override_mode

__all__ = ["MAXPOOL_GRADS", "SMOOTH_MAXPOOL_EPSILON", "GRAD_BLUR_WEIGHTS", "check_maxpool_grad", "blur_gradient",
           "smooth_maxpool_grad", "SmoothMaxPool", "SmoothMaxPoolMode", "maxpool_grad_mode", "spliced_forward"]

MAXPOOL_GRADS = (None, "smooth", "smooth_blur")
SMOOTH_MAXPOOL_EPSILON = 1e-2  # as tf_overrides: Lucid AttrSpatial's avg(x^2) / (1e-2 + avg(|x|))
GRAD_BLUR_WEIGHTS = (0.5, 0.25)  # as tf_overrides: Lucid AttrSpatial's blur_hack weights (edges, corners)


def check_maxpool_grad(maxpool_grad, who="maxpool_grad"):
    if not (maxpool_grad is None or (isinstance(maxpool_grad, str) and maxpool_grad in MAXPOOL_GRADS)):
        raise ValueError(f"{who}: maxpool_grad must be one of {list(MAXPOOL_GRADS)}, got {maxpool_grad!r}")
    return maxpool_grad


def blur_gradient(grad_t, w_edge=GRAD_BLUR_WEIGHTS[0], w_corner=GRAD_BLUR_WEIGHTS[1]):
    """Lucid's "blur hack" on an NCHW tensor (``tf_overrides.blur_gradient`` in torch): ``(1 - w_edge -
    w_corner) * g + w_edge * (mean of the 4 edge neighbours) + w_corner * (mean of the 4 corner neighbours)``,
    zero outside the map."""
    p = F.pad(grad_t, (1, 1, 1, 1))
    edges = (p[:, :, 2:, 1:-1] + p[:, :, :-2, 1:-1] + p[:, :, 1:-1, 2:] + p[:, :, 1:-1, :-2]) / 4.0
    corners = (p[:, :, 2:, 2:] + p[:, :, 2:, :-2] + p[:, :, :-2, 2:] + p[:, :, :-2, :-2]) / 4.0
    return (1.0 - w_edge - w_corner) * grad_t + w_edge * edges + w_corner * corners


def smooth_maxpool_grad(x_t, grad_t, kernel_size, stride, padding=0, ceil_mode=False, blur=False):
    """The smooth max-pool gradient (``tf_overrides.smooth_maxpool_grad`` for an NCHW ``x_t``): the gradient of
    ``avg_pool(x**2) / (eps + avg_pool(|x|))`` at ``x_t`` with the upstream ``grad_t``, the average pools with
    the max-pool's window, stride, padding and rounding, counting only the inputs inside the map (as
    TensorFlow's ``"SAME"`` pools do). Closed form: with ``N = avg(x**2)``, ``D = eps + avg(|x|)``, the gradient
    is ``avg^T(g / D) * 2x - avg^T(g N / D**2) * sign(x)``."""
    pool = (kernel_size, stride, padding, ceil_mode, False, None)
    num_t = F.avg_pool2d(x_t * x_t, kernel_size, stride, padding, ceil_mode, count_include_pad=False)
    den_t = SMOOTH_MAXPOOL_EPSILON + F.avg_pool2d(x_t.abs(), kernel_size, stride, padding, ceil_mode,
                                                  count_include_pad=False)
    back = torch.ops.aten.avg_pool2d_backward
    out_t = back(grad_t / den_t, x_t, *pool) * (2.0 * x_t) - back(grad_t * num_t / (den_t * den_t), x_t,
                                                                    *pool) * torch.sign(x_t)
    return blur_gradient(out_t) if blur else out_t


class SmoothMaxPool(torch.autograd.Function):
    """``F.max_pool2d(x, kernel_size, stride, padding, 1, ceil_mode)`` whose backward is
    :func:`smooth_maxpool_grad` (with the blur when ``blur``)."""

    @staticmethod
    def forward(x, kernel_size, stride, padding, ceil_mode, blur):  # noqa: D102
        return F.max_pool2d(x, kernel_size, stride, padding, 1, ceil_mode)

    @staticmethod
    def setup_context(ctx, inputs, output):  # noqa: D102
        x, ctx.kernel_size, ctx.stride, ctx.padding, ctx.ceil_mode, ctx.blur = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        (x,) = ctx.saved_tensors
        return (smooth_maxpool_grad(x, grad, ctx.kernel_size, ctx.stride, ctx.padding, ctx.ceil_mode, ctx.blur),
                None, None, None, None, None)


def _pool_args(func, args, kwargs):
    """``(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)`` of a 2-D max-pool call."""
    names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
    given = dict(zip(names, args[1:]))
    given.update({k: v for k, v in kwargs.items() if k in names})
    kernel = given["kernel_size"]
    stride = given.get("stride") or kernel  # None or [] (torch's "same as the window")
    return (args[0], kernel, stride, given.get("padding", 0), given.get("dilation", 1),
            bool(given.get("ceil_mode", False)), bool(given.get("return_indices", False)))


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class SmoothMaxPoolMode(TorchFunctionMode):
    """While active, 2-D max-pools (``nn.MaxPool2d``, ``F.max_pool2d``, ``torch.max_pool2d``) run as
    :class:`SmoothMaxPool`; a dilated one, one that returns its indices, and every other max-pool (1-D, 3-D,
    adaptive, fractional) are refused with a ValueError rather than left with their ordinary gradient."""

    def __init__(self, blur=False, who="maxpool_grad"):
        super().__init__()
        self.blur, self.who = bool(blur), who

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: D105
        kwargs = kwargs or {}
        if func is getattr(F, "max_pool2d_with_indices", None):
            raise ValueError(f"{self.who}: maxpool_grad='smooth' cannot replace the gradient of a max-pool that "
                             f"returns its indices (return_indices=True: they would not match the relaxation); "
                             f"use maxpool_grad=None for this model")
        if func in _OTHER_MAX_POOLS:
            raise ValueError(f"{self.who}: maxpool_grad={'smooth_blur' if self.blur else 'smooth'!r} replaces the "
                             f"gradient of 2-D max-pools only, and this model runs {getattr(func, '__name__', func)}; "
                             f"use maxpool_grad=None for this model")
        if func not in _POOLS or not args or not isinstance(args[0], torch.Tensor) or args[0].dim() not in (3, 4):
            return func(*args, **kwargs)
        x, kernel, stride, padding, dilation, ceil_mode, indices = _pool_args(func, args, kwargs)
        if indices:
            raise ValueError(f"{self.who}: maxpool_grad='smooth' cannot replace the gradient of a max-pool that "
                             f"returns its indices (return_indices=True: they would not match the relaxation); "
                             f"use maxpool_grad=None for this model")
        if _pair(dilation) != (1, 1):
            raise ValueError(f"{self.who}: maxpool_grad='smooth' cannot replace the gradient of a dilated max-pool "
                             f"(dilation {dilation}); use maxpool_grad=None for this model")
        squeeze = x.dim() == 3
        x4 = x[None] if squeeze else x
        out = SmoothMaxPool.apply(x4, _pair(kernel), _pair(stride), _pair(padding), ceil_mode, self.blur)
        return out[0] if squeeze else out


_POOLS = {F.max_pool2d, torch.max_pool2d}
# max-pools the relaxation does not cover: refused rather than silently keeping their ordinary gradient
_OTHER_MAX_POOLS = {f for f in (F.max_pool1d, F.max_pool3d, torch.max_pool1d, torch.max_pool3d,
                                F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d,
                                getattr(torch, "adaptive_max_pool1d", None),
                                getattr(F, "fractional_max_pool2d", None), getattr(F, "fractional_max_pool3d", None))
                    if f is not None}


def maxpool_grad_mode(maxpool_grad, who="maxpool_grad"):
    """A context for a forward: :class:`SmoothMaxPoolMode` for ``"smooth"`` / ``"smooth_blur"``, nothing for
    None."""
    check_maxpool_grad(maxpool_grad, who)
    if maxpool_grad is None:
        return contextlib.nullcontext()
    return SmoothMaxPoolMode(blur=maxpool_grad == "smooth_blur", who=who)


class _Done(Exception):
    """Raised from a hook once the spliced forward has captured every requested layer."""


def _run(adapter, x_t, acts_nchw_t, splice, names, calls, relu_override, maxpool_grad):
    """One spliced forward: ``{name: NCHW output}`` and the names captured before the splice ran."""
    modules = adapter._modules  # noqa: SLF001 - the adapter's own table, same package
    captured, counts, state, handles, early = {}, {}, {"spliced": False}, [], []

    def splice_hook(module, inputs, output):
        counts[splice] = counts.get(splice, 0) + 1
        if counts[splice] >= calls.get(splice, 1):
            state["spliced"] = True
            return acts_nchw_t
        return None

    def capture(module, inputs, output, name):
        key = "#" + name
        counts[key] = counts.get(key, 0) + 1
        if counts[key] < calls.get(name, 1):
            return
        if not state["spliced"]:
            early.append(name)
        captured[name] = output
        if len(captured) == len(names):
            raise _Done()
        captured[name] = output.clone()  # the forward goes on: a later in-place op must not change it

    handles.append(modules[splice].register_forward_hook(splice_hook))
    for name in names:
        handles.append(modules[name].register_forward_hook(lambda m, i, o, name=name: capture(m, i, o, name)))
    mode = relu_override_mode(relu_override)
    override = ReluOverrideMode(force=mode == "force") if mode else contextlib.nullcontext()
    try:
        with override, maxpool_grad_mode(maxpool_grad, adapter.name):
            adapter._run_model(adapter._map_input(x_t))  # noqa: SLF001
    except _Done:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return captured, early


def spliced_forward(adapter, splice, names, relu_override=False, maxpool_grad=None):
    """``f(x_t, acts_t) -> {name: NCHW tensor}`` (see the module docstring): ``splice`` and ``names``
    canonical, ``acts_t`` NHWC (or ``(B, C)``) torch activations of ``splice`` for the one image ``x_t``."""
    _, calls, _ = adapter._trace()  # noqa: SLF001
    names = list(dict.fromkeys(names))
    state = {"repeat": False, "checked": False}

    def refuse(bad):
        raise ValueError(f"{adapter.name}: layer(s) {bad} do not depend on {splice!r}, so they cannot be computed "
                         f"from {splice!r}'s activations (is {splice!r} after them in the model?)")

    def forward(x_t, acts_t, batch):
        acts_nchw_t = acts_t.movedim(-1, 1) if acts_t.dim() >= 3 else acts_t
        acts_nchw_t = acts_nchw_t.clone(memory_format=torch.contiguous_format)  # the model may write in place
        if x_t.shape[0] == 1 and batch > 1 and state["repeat"]:
            x_t = x_t.expand(batch, *x_t.shape[1:])
        captured, early = _run(adapter, x_t, acts_nchw_t, splice, names, calls, relu_override, maxpool_grad)
        if early:
            refuse(early)
        missing = [n for n in names if n not in captured]
        if missing:
            raise ValueError(f"{adapter.name}: the forward did not reach layer(s) {missing} after {splice!r}")
        return captured

    def activations(x_t, acts_t):
        if x_t is None:
            raise ValueError(f"{adapter.name}: a PyTorch forward starts at the input, so computing {names} from "
                             f"{splice!r} needs the input image too; pass x_t")
        if not isinstance(acts_t, torch.Tensor):
            acts_t = torch.as_tensor(acts_t)
        acts_t = acts_t.to(device=adapter.torch_device, dtype=torch.float32)
        batch = int(acts_t.shape[0])
        if not state["checked"]:  # once: every requested layer must change with the spliced activations
            with torch.enable_grad():
                probe_t = acts_t[:1].detach().requires_grad_(True)
                out = forward(x_t[:1] if isinstance(x_t, torch.Tensor) else x_t, probe_t, 1)
            bad = [n for n in names if not out[n].requires_grad]
            if bad:
                refuse(bad)
            state["checked"] = True
        try:
            out = forward(x_t, acts_t, batch)
        except RuntimeError:
            if state["repeat"] or batch == 1:
                raise
            state["repeat"] = True  # the batch-1 bypass did not broadcast: the image repeated B times
            out = forward(x_t, acts_t, batch)
        if batch > 1 and not state["repeat"] and any(out[n].shape[0] != batch for n in names):
            state["repeat"] = True  # a batch size read before the layer: the image repeated B times
            out = forward(x_t, acts_t, batch)
        return out

    return activations
