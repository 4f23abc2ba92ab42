"""Neuron interaction grids (Lucid's notebook ``misc/neuron_interaction_grids``) as a recipe.

For N neurons, render an N x N grid in one batch: the image in row ``n``, column ``m`` maximizes neurons ``n``
and ``m`` together (the diagonal, neuron ``n`` alone). The images share parameters so that the grid lines up:

* a term common to all images (a Fourier image plus a quarter-resolution tensor);
* per neuron, a "pure" image: the diagonal image of ``n`` is made of it, and each pair ``(n, m)`` starts from
  the mean of the pure images of ``n`` and ``m``, held fixed (a stop-gradient: a pair must not bend the pure
  images towards itself);
* per unordered pair, a Fourier image of its own (``(n, m)`` and ``(m, n)`` are the same picture).
"""
import numpy as np

from lucid_fast.optvis import objectives, param, render

from .batch_nodes import stop_gradient, take

__all__ = ["interaction_grid_param", "interaction_grid_objective", "neuron_interaction_grid", "grid_picture",
           "pair_index"]


def pair_index(n, m, n_neurons):
    """Index of the unordered pair ``{n, m}`` (``n != m``) among the N(N-1)/2 pair terms."""
    a, b = (n, m) if n < m else (m, n)
    if not 0 <= a < b < n_neurons:
        raise ValueError(f"pair_index: need two different neurons in [0, {n_neurons}), got {n}, {m}")
    return a * n_neurons - a * (a + 1) // 2 + (b - a - 1)


def interaction_grid_param(n_neurons, width=128, shared_weight=2.0, sd=None):
    """The grid's parameterization: ``(N*N, width, width, 3)`` images in [0, 1], item ``N*n + m`` for (n, m).

    Item ``(n, n)`` is ``to_valid_rgb(0.5 * (2 * pure_n + w * shared))`` and item ``(n, m)`` is
    ``to_valid_rgb(0.5 * (stop_gradient(pure_n + pure_m) / 2 + pair_nm + w * shared))`` with
    ``w = shared_weight`` (Lucid's 2.0), decorrelated colour.
    """
    n_neurons, w = int(n_neurons), int(width)
    if n_neurons < 1 or w < 4:
        raise ValueError(f"interaction_grid_param: need n_neurons >= 1 and width >= 4, got {n_neurons}, {width}")
    shared = param.fft_image((1, w, w, 3), sd=sd) + param.lowres_tensor((1, w, w, 3), (1, w // 4, w // 4, 3), sd=sd)
    pure = param.fft_image((n_neurons, w, w, 3), sd=sd)
    n_pairs = n_neurons * (n_neurons - 1) // 2
    pairs = param.fft_image((n_pairs, w, w, 3), sd=sd) if n_pairs else None
    items = []
    for n in range(n_neurons):
        for m in range(n_neurons):
            if n == m:
                items.append(2.0 * take(pure, n))
            else:
                mean_nm = 0.5 * stop_gradient(take(pure, n) + take(pure, m))
                items.append(mean_nm + take(pairs, pair_index(n, m, n_neurons)))
    grid = param.concat(items, axis=0) + float(shared_weight) * shared
    return param.to_valid_rgb(0.5 * grid, decorrelate=True)


def interaction_grid_objective(neurons, channel_weight=0.2, blur=10.0):
    """Item ``N*n + m`` maximizes neurons ``n`` and ``m``: for each, its centre activation plus
    ``channel_weight`` times its channel mean; minus ``blur`` times :func:`objectives.blur_input_each_step`.

    The value equals Lucid's sum of ``channel_weight * objectives.channel(layer, c, batch=item) +
    objectives.neuron(layer, c, batch=item)`` over both neurons of every item (a diagonal item counts its
    neuron twice, as Lucid's did), computed with one read of each layer (quick to trace).

    Args:
        neurons: a list of ``(layer, channel)`` pairs.
    """
    from lucid_fast.models.backend import of_accessor
    from lucid_fast.optvis.objectives_util import axis_size

    neurons = [tuple(nr) for nr in neurons]
    if not neurons or any(len(nr) != 2 or not isinstance(nr[0], str) for nr in neurons):
        raise ValueError(f"interaction_grid_objective: neurons must be (layer, channel) pairs, got {neurons!r}")
    n_neurons = len(neurons)
    layers = sorted({layer for layer, _ in neurons})

    def grid_terms(T):
        acts = {layer: T(layer) for layer in layers}
        B = of_accessor(T)
        total = 0.0
        for n in range(n_neurons):
            for m in range(n_neurons):
                item = n_neurons * n + m
                for k in (n, m):
                    layer, ch = neurons[k]
                    a_t = acts[layer]
                    cy, cx = axis_size(a_t, 1) // 2, axis_size(a_t, 2) // 2  # objectives.neuron's default position
                    total += channel_weight * B.mean(a_t[item, ..., ch]) + a_t[item, cy, cx, ch]
        return total

    desc = ", ".join(f"{layer}:{ch}" for layer, ch in neurons)
    obj = objectives.Objective(grid_terms, name="interaction_grid",
                               description=f"InteractionGrid [{desc}, channel_weight={channel_weight}]")
    if blur:
        obj = obj - float(blur) * objectives.blur_input_each_step()
    return obj


def neuron_interaction_grid(model, neurons, width=128, n_steps=512, thresholds=None, blur=10.0,
                            channel_weight=0.2, shared_weight=2.0, transforms=None, optimizer=None, seed=None,
                            verbose=False):
    """Renders the interaction grid of ``neurons``.

    Args:
        model: a model as render_vis accepts.
        neurons: list of ``(layer, channel)``.
        width: image side in pixels.
        n_steps: optimization steps (Lucid's 512).
        thresholds: steps (1-based counts) after which to keep the images; default ``(n_steps,)``.
        blur, channel_weight, shared_weight: see :func:`interaction_grid_objective` and
            :func:`interaction_grid_param`.
        transforms, optimizer, seed: as render_vis (default transforms: Lucid's standard ones).
        verbose: show the grid at each threshold.

    Returns:
        A list with one ``(N*N, width, width, 3)`` array per threshold; item ``N*n + m`` is the pair (n, m).
    """
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"neuron_interaction_grid: n_steps must be an int >= 1, got {n_steps!r}")
    keep = sorted(set(int(t) for t in (thresholds or (n_steps,))))
    if keep[0] < 1 or keep[-1] > n_steps:
        raise ValueError(f"neuron_interaction_grid: thresholds must be in [1, {n_steps}], got {thresholds!r}")
    n = len(neurons)
    vis = render.make_vis_T(model, interaction_grid_objective(neurons, channel_weight, blur),
                            param_f=interaction_grid_param(n, width, shared_weight), optimizer=optimizer,
                            transforms=transforms, seed=seed)
    results = []
    for step in range(1, n_steps + 1):
        vis.step()
        if step in keep:
            images = vis.image()
            results.append(images)
            if verbose:
                from lucid_fast.misc import io

                print(f"step {step}: objective {vis.last_loss:.5g}")
                io.show(grid_picture(images, n))
    return results


def grid_picture(images, n_neurons, crop=0, pad=2):
    """The N*N images as one picture (row n, column m), each cropped by ``crop`` pixels (an int, or
    (top, bottom, left, right)) to hide the transforms' borders."""
    from lucid_fast.misc import io

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] != n_neurons * n_neurons:
        raise ValueError(f"grid_picture: expected {n_neurons * n_neurons} images, got shape {images.shape}")
    t, b, l, r = (crop,) * 4 if np.isscalar(crop) else tuple(crop)
    h, w = images.shape[1:3]
    return io.image_grid(images[:, t:h - b, l:w - r], ncols=n_neurons, pad=pad)
