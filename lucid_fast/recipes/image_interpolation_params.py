"""An aligned parameterization for interpolating between every pair of N objectives (Lucid's recipe).

``multi_interpolation_basis(N, M, W)`` builds, for every ordered pair ``(a, b)`` of objectives, ``M`` frames
that go from ``a`` to ``b``. The frames of all pairs are sums of parameters shared at several levels, so that
optimizing them together lines up their visual landmarks (Differentiable Image Parameterizations, Mordvintsev
et al. 2018, "aligned interpolation"):

* a term shared by every frame of every pair (a sum of low-resolution tensors at 1, 1/2, 1/4, 1/8 scale);
* per objective ``a``, an "end point" term that blends across the frames between two low-resolution images
  (batch-axis interpolation); pair ``(a, b)`` uses ``a``'s term forwards and ``b``'s term backwards;
* per unordered pair ``{a, b}``, a term of its own for each frame (full and half resolution), read forwards
  by ``(a, b)`` and backwards by ``(b, a)``; the pairs ``(a, a)`` have none.

The result is a lucid_fast parameterization (not yet mapped to colours: wrap it in
:func:`lucid_fast.optvis.param.to_valid_rgb`) whose batch holds the frames in the order
``(a, b, frame)``; :func:`frame_index` finds one.
"""
from lucid_fast.optvis import param

from .batch_nodes import lowres_tensor, reverse_batch

__all__ = ["multi_interpolation_basis", "multi_interpolation_objective", "frame_index", "pair_frames"]

SCALES = (1, 2, 4, 8)        # resolutions of the shared and the end-point terms
PAIR_SCALES = (1, 2)         # resolutions of each pair's own frames


def _low(width, k):
    return max(1, width // k)


def multi_interpolation_basis(n_objectives=6, n_interp_steps=5, width=128, channels=3, sd=None):
    """A shared parameterization of every pairwise interpolation between ``n_objectives`` objectives.

    Args:
        n_objectives: N, the number of objectives to interpolate between (>= 1).
        n_interp_steps: M, frames per pair, the first for ``a`` and the last for ``b`` (>= 2).
        width: W, image height and width in pixels.
        channels: image channels (3 for RGB).
        sd: initialization scale of every parameter (lucid_fast's default 0.01 when None).

    Returns:
        A parameterization of shape ``(N * N * M, W, W, channels)``; frame ``i`` of pair ``(a, b)`` is batch item
        :func:`frame_index` ``(a, b, i, N, M)``. As Lucid's recipe, it is unbounded: map it to colours with
        ``param.to_valid_rgb(..., decorrelate=True)``.

    Shape:
        Lucid returned the 6-D tensor ``[N, N, M, W, W, C]``; render_vis optimizes NHWC batches, so the same
        frames come flattened in that order.

    Properties (exact, by construction):
        * pair ``(b, a)`` is pair ``(a, b)`` played backwards: ``t[a, b, i] == t[b, a, M - 1 - i]``;
        * so each ``(a, a)`` is a palindrome: ``t[a, a, i] == t[a, a, M - 1 - i]``.

        Lucid's docstring also listed ``t[a, i, 0] == t[a, j, 0]`` and constant ``(a, a)`` sequences; its code
        (and this one) gives them only approximately, through the shared terms. Lucid's recipe read the mirrored
        pair's own term from ``interp_basis[m][N - n]``, which breaks the first property; here it is read from
        the same pair, as the docstring intends.
    """
    n, m, w, ch = int(n_objectives), int(n_interp_steps), int(width), int(channels)
    if n < 1:
        raise ValueError(f"multi_interpolation_basis: n_objectives must be >= 1, got {n_objectives!r}")
    if m < 2:
        raise ValueError(f"multi_interpolation_basis: n_interp_steps must be >= 2, got {n_interp_steps!r}")
    if w < 1 or ch < 1:
        raise ValueError(f"multi_interpolation_basis: width and channels must be >= 1, got {width!r}, {channels!r}")

    shared = sum(lowres_tensor((1, w, w, ch), (1, _low(w, k), _low(w, k), ch), sd=sd) for k in SCALES)
    ends = [sum(lowres_tensor((m, w, w, ch), (2, _low(w, k), _low(w, k), ch), sd=sd) for k in SCALES)
            for _ in range(n)]
    ends_reversed = [reverse_batch(e) for e in ends]
    own = {}
    for a in range(n):
        for b in range(a + 1, n):
            own[a, b] = sum(lowres_tensor((m, w, w, ch), (m, _low(w, k), _low(w, k), ch), sd=sd)
                            for k in PAIR_SCALES)
    frames = []
    for a in range(n):
        for b in range(n):
            t = ends[a] + ends_reversed[b]
            if a < b:
                t = t + own[a, b]
            elif a > b:
                t = t + reverse_batch(own[b, a])
            frames.append(t)
    return param.concat(frames, axis=0) + shared


def frame_index(a, b, i, n_objectives, n_interp_steps):
    """Batch index of frame ``i`` of the interpolation from objective ``a`` to ``b``."""
    n, m = int(n_objectives), int(n_interp_steps)
    for name, v, hi in (("a", a, n), ("b", b, n), ("i", i, m)):
        if not 0 <= int(v) < hi:
            raise ValueError(f"frame_index: {name}={v} must be in [0, {hi})")
    return (int(a) * n + int(b)) * m + int(i)


def pair_frames(images, a, b, n_objectives, n_interp_steps):
    """The ``M`` frames of pair ``(a, b)`` from a rendered ``(N*N*M, H, W, C)`` batch, as an array."""
    start = frame_index(a, b, 0, n_objectives, n_interp_steps)
    return images[start:start + int(n_interp_steps)]


def multi_interpolation_objective(objective_fs, n_interp_steps):
    """The objective that goes with :func:`multi_interpolation_basis`.

    Args:
        objective_fs: N functions ``batch -> Objective`` (e.g. ``lambda i: objectives.channel("block4_conv3",
            12, batch=i)``), one per objective, restricted to the batch item they are given.
        n_interp_steps: M, frames per pair.

    Returns:
        The sum over pairs ``(a, b)`` and frames ``i`` of ``(1 - i/(M-1)) * f_a(item) + i/(M-1) * f_b(item)``
        (zero-weight terms left out), each on the frame's batch item.
    """
    from lucid_fast.optvis import objectives

    fs = list(objective_fs)
    n, m = len(fs), int(n_interp_steps)
    if n < 1 or m < 2:
        raise ValueError(f"multi_interpolation_objective: needs >= 1 objective and >= 2 steps, got {n}, {m}")
    terms = []
    for a in range(n):
        for b in range(n):
            for i in range(m):
                item = frame_index(a, b, i, n, m)
                wb = i / (m - 1)
                if wb < 1:
                    terms.append((1.0 - wb) * fs[a](item))
                if wb > 0:
                    terms.append(wb * fs[b](item))
    return objectives.Objective.sum(terms)
