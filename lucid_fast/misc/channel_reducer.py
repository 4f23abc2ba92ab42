"""scikit-learn's matrix decompositions on the last axis of activations (Lucid's ``misc.channel_reducer``).

    nmf = ChannelReducer(6, "NMF")
    spatial_factors = nmf.fit_transform(acts)      # acts (1, H, W, C) -> (1, H, W, 6)
    channel_factors = nmf.components_              # (6, C): each group's direction in channel space

Activations of any leading shape ``(..., C)`` are flattened to ``(positions, C)`` for the estimator and the
results reshaped back to ``(..., n_components)``.
"""
from __future__ import annotations

import difflib
import inspect

import numpy as np

from lucid_fast.misc.errors import ArgumentError

__all__ = ["ChannelReducer"]


def _decomposition_classes():
    import sklearn.decomposition  # noqa: PLC0415 - scikit-learn is imported on use
    from sklearn.base import BaseEstimator  # noqa: PLC0415

    out = {}
    for name in dir(sklearn.decomposition):
        obj = getattr(sklearn.decomposition, name)
        if isinstance(obj, type) and issubclass(obj, BaseEstimator):
            out[name] = obj
    return out


def _check_estimator_kwargs(cls, kwargs):
    """The estimator must take ``n_components`` and every keyword in ``kwargs``: an unknown keyword (``foo=1``, a
    misspelt ``max_iters=``) raises an ArgumentError (a ValueError, also a TypeError) listing what it accepts,
    instead of the estimator's bare TypeError."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return  # no signature to check against: the estimator checks its own arguments
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if "n_components" not in accepted:
        raise ArgumentError(f"ChannelReducer: reduction_alg {cls.__name__} takes no n_components argument; use a "
                            "decomposition with components, such as 'NMF' or 'PCA'")
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        close = sorted({c for k in unknown for c in difflib.get_close_matches(k, accepted, n=3, cutoff=0.6)})
        hint = f" Closest: {close}." if close else ""
        raise ArgumentError(f"ChannelReducer: {cls.__name__} does not take the keyword argument(s) {unknown}.{hint} "
                            f"Accepted keywords: {sorted(k for k in accepted if k != 'n_components')}")


class ChannelReducer:
    """Dimensionality reduction of the innermost (channel) axis of a tensor with a ``sklearn.decomposition``
    estimator.

    Args:
        n_components: How many components (groups) to reduce the channels to; a positive int.
        reduction_alg: The name of a ``sklearn.decomposition`` class (``"NMF"``, ``"PCA"``, ``"FastICA"``,
            ``"TruncatedSVD"``, ``"MiniBatchDictionaryLearning"``, ...) or such a class.
        **kwargs: Passed to the estimator (e.g. ``random_state=0``, ``max_iter=500``).

    Attributes:
        n_components: As given.
        _reducer: The wrapped scikit-learn estimator (Lucid's name).

    Fitted attributes of the estimator are readable on the reducer: ``reducer.components_`` and, as in Lucid,
    without the trailing underscore (``reducer.components``).

    Raises:
        ValueError: ``n_components`` is not a positive int, ``reduction_alg`` is unknown (the message lists
            the closest names), or a keyword argument is not one the estimator takes (an ``ArgumentError``, also a
            ``TypeError``; the message lists the accepted keywords).
    """

    def __init__(self, n_components=3, reduction_alg="NMF", **kwargs):
        if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or n_components < 1:
            raise ValueError(f"ChannelReducer: n_components must be a positive int, got {n_components!r}")
        classes = _decomposition_classes()
        if isinstance(reduction_alg, str):
            if reduction_alg not in classes:
                close = difflib.get_close_matches(reduction_alg, list(classes), n=4, cutoff=0.4)
                close += [n for n in classes if n.lower() == reduction_alg.lower() and n not in close]
                hint = f" Closest: {close}." if close else ""
                raise ValueError(f"ChannelReducer: unknown reduction_alg {reduction_alg!r}.{hint} Use the name of a "
                                 f"sklearn.decomposition class: {sorted(classes)}")
            reduction_alg = classes[reduction_alg]
        elif not isinstance(reduction_alg, type):
            raise ValueError("ChannelReducer: reduction_alg must be a sklearn.decomposition class name or class, "
                             f"got {reduction_alg!r}")
        _check_estimator_kwargs(reduction_alg, kwargs)
        self.n_components = int(n_components)
        self._reducer = reduction_alg(n_components=self.n_components, **kwargs)
        self._is_fit = False

    # -- helpers ----------------------------------------------------------------------------------------------------
    @property
    def _name(self):
        return type(self._reducer).__name__

    def _flat(self, acts, what, fitting=False):
        arr = np.asarray(acts.numpy() if hasattr(acts, "numpy") else acts)
        if arr.ndim < 1 or arr.shape[-1] < 1 or arr.size == 0:
            raise ValueError(f"ChannelReducer.{what}: acts must be an array of shape (..., channels) with at least "
                             f"one position, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"ChannelReducer.{what}: acts must be numeric, got dtype {arr.dtype}")
        if not np.isfinite(arr).all():
            bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(f"ChannelReducer.{what}: acts contain {bad} NaN or infinite values (shape {arr.shape})")
        flat = arr.reshape(-1, arr.shape[-1])
        if fitting:
            channels = flat.shape[1]
            if self.n_components > channels:
                raise ValueError(f"ChannelReducer.{what}: n_components={self.n_components} is larger than the "
                                 f"{channels} channels of acts (shape {arr.shape}); use at most {channels}")
            if self._name in ("NMF", "MiniBatchNMF", "LatentDirichletAllocation") and flat.min() < 0:
                raise ValueError(f"ChannelReducer.{what}: {self._name} needs non-negative activations, but acts has "
                                 f"values down to {flat.min():.4g}. Use a post-ReLU layer (e.g. 'block4_conv3', "
                                 "not 'block4_conv3_pre_relu'), or a method that allows negative values "
                                 "such as 'PCA'")
        return arr.shape, flat

    def _check_fit(self, what):
        if not self._is_fit:
            raise ValueError(f"ChannelReducer.{what}: the reducer is not fitted yet; call fit or fit_transform "
                             "first")

    # -- Lucid's interface ------------------------------------------------------------------------------------------
    def fit(self, acts):
        """Fits the estimator to the positions of ``acts`` (..., C); returns the reducer."""
        _, flat = self._flat(acts, "fit", fitting=True)
        self._reducer.fit(flat)
        self._is_fit = True
        return self

    def fit_transform(self, acts):
        """Fits to ``acts`` (..., C) and returns the components' weights at every position, (..., n_components)."""
        shape, flat = self._flat(acts, "fit_transform", fitting=True)
        out = self._reducer.fit_transform(flat)
        self._is_fit = True
        return np.asarray(out).reshape(tuple(shape[:-1]) + (-1,))

    def transform(self, acts):
        """The fitted components' weights at every position of ``acts`` (..., C): (..., n_components)."""
        self._check_fit("transform")
        shape, flat = self._flat(acts, "transform")
        expected = self._n_features()
        if expected is not None and flat.shape[1] != expected:
            raise ValueError(f"ChannelReducer.transform: acts has {flat.shape[1]} channels but the reducer was "
                             f"fitted to {expected}")
        return np.asarray(self._reducer.transform(flat)).reshape(tuple(shape[:-1]) + (-1,))

    def inverse_transform(self, reduced):
        """Back from (..., n_components) weights to activations (..., C) (the reconstruction)."""
        self._check_fit("inverse_transform")
        shape, flat = self._flat(reduced, "inverse_transform")
        if flat.shape[1] != self.n_components:
            raise ValueError(f"ChannelReducer.inverse_transform: expected (..., {self.n_components}) weights, got "
                             f"shape {shape}")
        if not hasattr(self._reducer, "inverse_transform"):
            raise ValueError(f"ChannelReducer.inverse_transform: {self._name} has no inverse_transform")
        return np.asarray(self._reducer.inverse_transform(flat)).reshape(tuple(shape[:-1]) + (-1,))

    def __call__(self, acts):
        """``transform`` once fitted, else ``fit_transform`` (as Lucid)."""
        return self.transform(acts) if self._is_fit else self.fit_transform(acts)

    def _n_features(self):
        n = getattr(self._reducer, "n_features_in_", None)
        return None if n is None else int(n)

    def __getattr__(self, name):
        # only called for attributes not found normally: forward fitted estimator attributes
        if name.startswith("__") or name in ("_reducer", "_is_fit"):
            raise AttributeError(name)
        reducer = self.__dict__.get("_reducer")
        if reducer is not None:
            if name.endswith("_") and not name.startswith("_") and hasattr(reducer, name):
                return getattr(reducer, name)
            if not name.startswith("_") and hasattr(reducer, name + "_"):
                return getattr(reducer, name + "_")
        raise AttributeError(f"ChannelReducer has no attribute {name!r}"
                             + ("" if self.__dict__.get("_is_fit") else " (the reducer is not fitted yet)"))

    def __dir__(self):
        fitted = [n for n in dir(self._reducer) if n.endswith("_") and not n.startswith("_")]
        return sorted(set(super().__dir__()) | set(fitted) | {n[:-1] for n in fitted})

    def __repr__(self):
        return f"ChannelReducer({self.n_components}, {self._name}, fitted={self._is_fit})"
