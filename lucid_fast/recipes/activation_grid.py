"""Activation grids (Lucid's ActivationGrid notebook): a feature visualization for every spatial position of a
layer on an image, rendered as ONE optimization over the whole grid (Lucid's "less naive" version).

Rendering each position's activation vector separately ("naive") makes neighbouring cells with nearly the same
vector look unrelated, and takes one render per cell. Here all cells are one parameterization, optimized
together:

* each cell has its own Fourier image;
* the activations are factorized into a few groups (NMF, :class:`~lucid_fast.misc.channel_reducer.ChannelReducer`)
  and each group has a Fourier image of its own; a cell adds the group images weighted by its group weights, so
  cells with similar activations start from, and keep, similar images;
* a low-resolution image spans the whole grid, and each cell reads the window of it around its position (the
  windows of neighbours overlap by half), so that neighbouring cells share colours and layout;
* each step renders and runs only a random subset of ``batch`` cells through the model, so time and memory per
  step are bounded by ``batch`` whatever the grid size; every step still updates the shared (group and
  low-resolution) parameters, and each cell's own parameters move when it is drawn.

Each cell maximizes the direction of its own activation vector: the mean over the cell's positions of
``dot(a, v) * max(0.1, cos(a, v)) ** cossim_pow`` with ``v`` the unit vector of its target activations (cells
whose target is all zero only get the shared terms).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from lucid_fast import ops
from lucid_fast.optvis import transform as transform_mod

__all__ = ["render_activation_grid", "ActivationGridRender", "GridParam", "grid_transforms"]

OWN_WEIGHT, GROUP_WEIGHT, SHARED_WEIGHT = 0.7, 0.5, 0.5  # Lucid's less naive grid: 0.7 * own + 0.5 * groups
COSSIM_FLOOR = 0.1  # as objectives.direction(..., cossim_pow): max(0.1, cos) ** cossim_pow


def grid_transforms(cell_size):
    """Lucid's standard transforms scaled to a small cell: pad and jitter in proportion, mild scale / rotation."""
    k = max(1, int(round(cell_size / 32)))
    return [transform_mod.pad(2 * k, mode="constant", constant_value=0.5), transform_mod.jitter(2 * k),
            transform_mod.random_scale([0.95, 0.975, 1.0, 1.025, 1.05]), transform_mod.random_rotate(list(range(-5, 6))),
            transform_mod.jitter(k)]


def _aligned(arr):
    out = ops.empty_aligned(arr.shape)
    out[...] = arr
    return out


class _Adam:
    """Native Adam state of one parameter array."""

    def __init__(self, value, opt):
        self.value, self.opt = value, opt
        self.m, self.v = ops.zeros_aligned(value.shape), ops.zeros_aligned(value.shape)

    def update(self, grad, step):
        o = self.opt
        ops.adam_update(self.value, _aligned(grad), self.m, self.v, step, learning_rate=o.learning_rate,
                        beta_1=o.beta_1, beta_2=o.beta_2, epsilon=o.epsilon, maximize=True)


class GridParam:
    """The grid's parameterization, evaluated for any subset of cells (row-major cell indices).

    Cell ``n``'s image is ``to_valid_rgb(0.7 * own_n + 0.5 * sum_g weights[n, g] * group_g + 0.5 * window_n)``
    (decorrelated colour): ``own_n`` and ``group_g`` Fourier images (Lucid's parameterization), ``window_n``
    the bilinearly upsampled ``(2r, 2r)`` window at ``(i r, j r)`` of a low-resolution image spanning the grid.
    Only the cells of a step are computed; their own spectra get Adam updates of their own ("lazy" Adam: each
    cell counts its own steps), the shared group images and low-resolution image are updated every step.

    Args:
        grid_hw: (h, w) cells.
        cell_size: Pixels per cell side.
        group_weights: (N, G) group weights of the cells (G may be 0).
        shared_res: Low-resolution pixels per cell of the shared image (0: none).
        rng: The generator drawing the initial values (N(0, sd^2), Lucid's init).
        sd: Initial scale (Lucid's 0.01).
    """

    def __init__(self, grid_hw, cell_size, group_weights, shared_res, rng, sd=0.01, optimizer=None, batch=None):
        from lucid_fast.optvis.optimizers import Adam  # noqa: PLC0415

        self.h, self.w = (int(v) for v in grid_hw)
        self.n, self.t = self.h * self.w, int(cell_size)
        self.weights = np.asarray(group_weights, np.float32).reshape(self.n, -1)
        self.r = int(shared_res)
        opt = optimizer or Adam()
        wf = ops.rfft2d_freqs(self.t, self.t).shape[1]
        self.own = _Adam(_aligned(rng.normal(0, sd, (2, self.n, 3, self.t, wf)).astype(np.float32)), opt)
        self.own_steps = np.zeros(self.n, np.int64)
        g = self.weights.shape[1]
        self.groups = _Adam(_aligned(rng.normal(0, sd, (2, g, 3, self.t, wf)).astype(np.float32)), opt) if g else None
        low_shape = (1, (self.h + 1) * self.r, (self.w + 1) * self.r, 3)
        self.low = _Adam(_aligned(rng.normal(0, sd, low_shape).astype(np.float32)), opt) if self.r else None
        self.step_count = 0
        self.rng = rng
        self.batch = self.n if batch is None else min(int(batch), self.n)
        self.picked = None

    # ---- the engine's parameterization interface (lucid_fast.optvis.engine.Engine) ----------------------------
    @property
    def output_shape(self):
        """A step's images: ``batch`` cells."""
        return (self.batch, self.t, self.t, 3)

    @property
    def params(self):
        return [a.value for a in (self.own, self.groups, self.low) if a is not None]

    tf_params = ()

    def initialize(self, rng):
        """Nothing to do: the values were drawn at construction, from the same generator."""

    def forward(self):
        """Draws a step's ``batch`` cells (from the run's generator) and renders them."""
        self.picked = np.sort(self.rng.choice(self.n, size=self.batch, replace=False))
        return self.forward_cells(self.picked)

    def backward(self, grad_rgb):
        return grad_rgb  # the adjoint runs in ascend, together with the per-cell update

    def ascend(self, grad_rgb, optimizer, step):
        """One step of the grid's own Adam (per-cell step counts) from the gradient of the last forward."""
        self.backward_and_update(grad_rgb)

    def _windows(self, cells):
        r = self.r
        out = ops.empty_aligned((len(cells), 2 * r, 2 * r, 3))
        for k, n in enumerate(cells):
            i, j = divmod(int(n), self.w)
            out[k] = self.low.value[0, i * r:i * r + 2 * r, j * r:j * r + 2 * r]
        return out

    def _pre(self, cells):
        """The images before the colour map, for ``cells``, and what the backward pass needs."""
        t = self.t
        x = OWN_WEIGHT * ops.fft_image(_aligned(self.own.value[:, cells]), t, t)
        group_imgs = None
        if self.groups is not None:
            group_imgs = ops.fft_image(self.groups.value, t, t)
            x = x + GROUP_WEIGHT * np.einsum("ng,ghwc->nhwc", self.weights[cells], group_imgs, optimize=True)
        if self.low is not None:
            x = x + SHARED_WEIGHT * ops.upsample_bilinear(self._windows(cells), (t, t), batch=len(cells))
        return _aligned(x.astype(np.float32))

    def images(self, cells=None, chunk=64):
        """RGB images in [0, 1] of ``cells`` (default: all), ``(len(cells), t, t, 3)``."""
        cells = np.arange(self.n) if cells is None else np.asarray(cells)
        parts = [ops.to_valid_rgb(self._pre(cells[k:k + chunk]), decorrelate=True, sigmoid=True)
                 for k in range(0, len(cells), chunk)]
        return np.concatenate([np.array(p) for p in parts], 0)

    def forward_cells(self, cells):
        """RGB images of ``cells`` (kept for :meth:`backward_and_update`)."""
        self._cells = np.asarray(cells)
        self._x = self._pre(self._cells)
        return ops.to_valid_rgb(self._x, decorrelate=True, sigmoid=True)

    def backward_and_update(self, grad_rgb):
        """Backpropagates d(objective)/d(images of the last forward's cells) and takes one Adam step."""
        t, cells = self.t, self._cells
        grad_x = ops.to_valid_rgb_adjoint(self._x, _aligned(grad_rgb), decorrelate=True, sigmoid=True)
        self.step_count += 1
        grad_own = ops.fft_image_adjoint(_aligned(OWN_WEIGHT * grad_x), t, t)
        self.own_steps[cells] += 1
        for count in np.unique(self.own_steps[cells]):  # lazy Adam: rows grouped by their own step count
            rows = cells[self.own_steps[cells] == count]
            sel = np.flatnonzero(self.own_steps[cells] == count)
            sub = _Adam(_aligned(self.own.value[:, rows]), self.own.opt)
            sub.m[...], sub.v[...] = self.own.m[:, rows], self.own.v[:, rows]
            sub.update(grad_own[:, sel], int(count))
            self.own.value[:, rows], self.own.m[:, rows], self.own.v[:, rows] = sub.value, sub.m, sub.v
        if self.groups is not None:
            grad_groups = np.einsum("ng,nhwc->ghwc", self.weights[cells], GROUP_WEIGHT * grad_x, optimize=True)
            self.groups.update(ops.fft_image_adjoint(_aligned(grad_groups.astype(np.float32)), t, t),
                               self.step_count)
        if self.low is not None:
            r = self.r
            grad_win = ops.upsample_bilinear_adjoint(_aligned(SHARED_WEIGHT * grad_x), (2 * r, 2 * r),
                                                     low_batch=len(cells))
            grad_low = np.zeros(self.low.value.shape, np.float32)
            for k, n in enumerate(cells):
                i, j = divmod(int(n), self.w)
                grad_low[0, i * r:i * r + 2 * r, j * r:j * r + 2 * r] += grad_win[k]
            self.low.update(grad_low, self.step_count)


@dataclasses.dataclass
class ActivationGridRender:
    """The result of :func:`render_activation_grid`.

    Attributes:
        cells: ``(h, w, cell, cell, 3)`` float32 in [0, 1]: the visualization of each position.
        layer: The layer.
        targets: ``(h, w, C)``: the activations each cell was rendered for.
        group_weights: ``(h, w, G)``: the cells' NMF group weights (G = 0 without groups).
        history: The objective (summed over the sampled cells) at each step.
    """

    cells: np.ndarray
    layer: str
    targets: np.ndarray
    group_weights: np.ndarray
    history: list

    def grid(self):
        """The cells tiled into one ``(h * cell, w * cell, 3)`` image."""
        h, w, t, _, c = self.cells.shape
        return self.cells.transpose(0, 2, 1, 3, 4).reshape(h * t, w * t, c)


TARGETS = "cell_targets"  # T(...) name of the step's cells' unit target directions


def grid_objective(layer, batch, channels, cossim_pow):
    """The sampled cells' objective: each cell's mean over positions of ``dot(a, v) * max(0.1, cos(a, v)) **
    cossim_pow`` with ``v = T("cell_targets")[cell]``, summed over the cells."""
    from lucid_fast.models.backend import of_accessor  # noqa: PLC0415
    from lucid_fast.optvis.objectives import Objective  # noqa: PLC0415

    def objective(T):
        B = of_accessor(T)
        acts = B.reshape(T(layer), [batch, -1, channels])
        v = T(TARGETS)[:, None, :]
        dot = B.sum(acts * v, axis=-1)
        if cossim_pow:
            cos = dot / (1e-4 + B.sqrt(B.sum(acts * acts, axis=-1)))
            dot = dot * B.maximum(cos, COSSIM_FLOOR) ** cossim_pow
        return B.sum(B.mean(dot, axis=1))

    return Objective(objective, "activation_grid", f"activation_grid({layer!r}, cossim_pow={cossim_pow})")


def render_activation_grid(model, image, layer, cell_size=48, n_groups=6, shared_res=4, steps=512, batch=16,
                           cossim_pow=1.0, transforms=None, learning_rate=0.05, seed=0, targets=None,
                           progress=False):
    """Renders the activation grid of ``layer`` on ``image`` as one optimization (see the module docstring).

    Args:
        model: Anything :func:`lucid_fast.modelzoo.load_model` accepts (a model, a path, a zoo name).
        image: The photo, ``(H, W, C)`` in [0, 1] (its layer activations are the targets).
        layer: A spatial layer; the grid has one cell per position (keep it small: 14 x 14 is 196 cells).
        cell_size: Pixels per cell side.
        n_groups: NMF groups shared between similar cells (0: none; needs a non-negative, post-ReLU layer).
        shared_res: Low-resolution pixels per cell of the image shared by neighbouring cells (0: none).
        steps: Optimization steps.
        batch: Cells run through the model per step (memory is bounded by it).
        cossim_pow: Weight of direction over magnitude (0: plain dot products).
        transforms: Transforms applied to each step's cells (default :func:`grid_transforms`).
        learning_rate: Adam's learning rate.
        seed: Seeds the initialization, the cell sampling and the transforms.
        targets: ``(h, w, C)`` activations to render instead of the image's (then ``image`` may be None).
        progress: Print the objective every 10% of the steps.

    Returns:
        :class:`ActivationGridRender`.
    """
    from lucid_fast import attribution  # noqa: PLC0415
    from lucid_fast.modelzoo import load_model  # noqa: PLC0415
    from lucid_fast.optvis.engine import Engine  # noqa: PLC0415
    from lucid_fast.optvis.optimizers import Adam  # noqa: PLC0415

    who = "render_activation_grid"
    adapter = load_model(model)
    canonical = adapter.resolve(layer)
    if targets is None:
        acts = attribution.activations(adapter, image, [canonical])[canonical]
        if acts.ndim != 4 or acts.shape[0] != 1:
            raise ValueError(f"{who}: layer {canonical!r} must be spatial (1, h, w, C) on one image, got shape "
                             f"{acts.shape}")
        acts = acts[0]
    else:
        acts = np.asarray(targets, np.float32)
        if acts.ndim != 3 or not np.isfinite(acts).all():
            raise ValueError(f"{who}: targets must be finite (h, w, C) activations, got shape {acts.shape}")
    for name, value, lo in (("cell_size", cell_size, 8), ("steps", steps, 1), ("batch", batch, 1),
                            ("n_groups", n_groups, 0), ("shared_res", shared_res, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise ValueError(f"{who}: {name} must be an int >= {lo}, got {value!r}")
    h, w, c = acts.shape
    n = h * w
    batch = min(int(batch), n)
    flat = acts.reshape(n, c)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    directions = np.where(norms > 0, flat / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
    if n_groups:
        from lucid_fast.misc.channel_reducer import ChannelReducer  # noqa: PLC0415

        if n_groups > c:
            raise ValueError(f"{who}: n_groups={n_groups} is larger than the layer's {c} channels")
        weights = ChannelReducer(int(n_groups), "NMF", random_state=seed, max_iter=1000).fit_transform(flat)
        weights = (weights / np.maximum(weights.max(0), 1e-12)).astype(np.float32)  # Lucid: / groups.max(0)
    else:
        weights = np.zeros((n, 0), np.float32)

    rng = np.random.default_rng(seed)
    grid = GridParam((h, w), int(cell_size), weights, int(shared_res), rng, optimizer=Adam(learning_rate),
                     batch=batch)
    chain = transform_mod.make_chain(grid_transforms(cell_size) if transforms is None else transforms)
    engine = Engine(adapter, grid_objective(canonical, batch, c, float(cossim_pow)), grid, chain,
                    Adam(learning_rate), rng, relu_gradient_override=False,
                    feeds={TARGETS: ((batch, c), "float32")}, feed_f=lambda: {TARGETS: directions[grid.picked]},
                    who=who)
    history = []
    for k in range(int(steps)):
        history.append(engine.step())
        if progress and (k + 1) % max(1, int(steps) // 10) == 0:
            print(f"step {k + 1}/{steps}: objective of the sampled cells {history[-1]:.4g}", flush=True)
    cells = grid.images().reshape(h, w, int(cell_size), int(cell_size), 3)
    return ActivationGridRender(cells=cells, layer=canonical, targets=acts, group_weights=weights.reshape(h, w, -1),
                                history=history)
