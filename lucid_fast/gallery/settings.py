"""What defines a gallery job: the render settings, the channels to render and how they are grouped into units.

A job is (model, settings). Its results depend on nothing else: a unit (one optimization of up to ``batch``
images, one per channel) is seeded from the job's seed, the layer name and the unit's channels, so it renders
the same images whichever process, worker or run renders it, in whatever order.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib

# Channels per optimization (one image per channel). Measured on the 2-core benchmark machine
# (docs/GALLERY.md, "Choosing K"): per-image step time is flat from K=1 to K=16 on a CPU, so K buys
# little model time there; K=8 amortizes each step's fixed costs (Python, native image side, dispatch) and
# each unit's set-up (tracing, ~2 s) over 8 channels, keeps the last-conv slicing cheap (K x K channels), and
# keeps units small enough to spread a 64-channel layer over 8 workers and to lose little work to a kill.
DEFAULT_BATCH = 8
MAX_BATCH = 256

FORMAT = 1  # layout and record format of a gallery directory
DEFAULT_STEPS = 512  # Lucid's render_vis default
DEFAULT_LEARNING_RATE = 0.05  # Lucid's Adam


@dataclasses.dataclass(frozen=True)
class Settings:
    """The render settings of a gallery job (every channel of the job is rendered with these).

    Attributes:
        size: image side in pixels (Lucid's ``param.image(size)``).
        steps: optimization steps per image (None: 512, Lucid's default, or the preset's number of steps).
        batch: channels rendered together in one optimization (K); part of the settings because the images
            of a batch share their random transforms, so the grouping changes the pictures.
        seed: the job's seed (each unit's generator is derived from it, the layer and the unit's channels).
        negative: also render each channel's negative optimum (the image that minimizes it).
        fft, decorrelate: Lucid's Fourier parameterization and decorrelated colour (both on by default).
        transforms: "standard" (Lucid's standard_transforms) or "none".
        relu_override: Lucid's redirected ReLU gradient for the first 16 steps.
        learning_rate: Adam's learning rate (Lucid's 0.05).
        preset: None (the settings above), or a key of :data:`lucid_fast.optvis.presets.PRESETS` (``"fast"``):
            the preset's schedule (learning rate and transforms per phase, Adam's moments kept) replaces
            ``learning_rate`` and ``transforms``, and sets ``steps``; those must be left at their defaults
            (``steps`` may also be given as the preset's own number).
    """

    size: int = 128
    steps: int | None = None
    batch: int = DEFAULT_BATCH
    seed: int = 0
    negative: bool = False
    fft: bool = True
    decorrelate: bool = True
    transforms: str = "standard"
    relu_override: bool = True
    learning_rate: float = DEFAULT_LEARNING_RATE
    preset: str | None = None

    def __post_init__(self):
        def check_int(name, lo, hi=None):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
                rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
                raise ValueError(f"gallery: {name} must be an int {rng}, got {v!r}")

        self._check_preset()
        check_int("size", 8, 4096)
        check_int("steps", 1)
        check_int("batch", 1, MAX_BATCH)
        check_int("seed", 0, 2**63 - 1)
        for name in ("negative", "fft", "decorrelate", "relu_override"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"gallery: {name} must be True or False, got {getattr(self, name)!r}")
        if self.transforms not in ("standard", "none"):
            raise ValueError(f"gallery: transforms must be 'standard' or 'none', got {self.transforms!r}")
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < float("inf"):
            raise ValueError(f"gallery: learning_rate must be a positive number, got {lr!r}")
        object.__setattr__(self, "learning_rate", float(lr))

    def _check_preset(self):
        """Checks ``preset`` and what it sets, and fills in ``steps`` when it is None."""
        from lucid_fast.optvis.presets import PRESETS, preset_steps

        preset = self.preset
        if preset is None:
            if self.steps is None:
                object.__setattr__(self, "steps", DEFAULT_STEPS)
            return
        if not isinstance(preset, str) or preset not in PRESETS:
            raise ValueError(f"gallery: preset must be None or one of {sorted(PRESETS)}, got {preset!r}")
        n = preset_steps(preset)
        given = [f"{name}={value!r}" for name, value, ok in (
            ("steps", self.steps, self.steps is None or (self.steps == n and not isinstance(self.steps, bool))),
            ("transforms", self.transforms, self.transforms == "standard"),
            ("learning_rate", self.learning_rate, self.learning_rate == DEFAULT_LEARNING_RATE
             and not isinstance(self.learning_rate, bool))) if not ok]
        if given:
            raise ValueError(f"gallery: preset={preset!r} sets the learning-rate and transform schedule and the "
                             f"number of steps ({n}); leave {', '.join(given)} at the default, or use preset=None")
        object.__setattr__(self, "steps", n)

    def phases(self):
        """The optimization schedule: a tuple of :class:`~lucid_fast.optvis.presets.Phase` (one without a
        preset: ``steps`` steps at ``learning_rate`` under ``transforms``)."""
        from lucid_fast.optvis.presets import PRESETS, Phase

        if self.preset is not None:
            return PRESETS[self.preset]
        return (Phase(self.steps, self.learning_rate, None if self.transforms == "standard" else ()),)

    def display_rows(self):
        """The settings as people read them, ``[(name, value), ...]``: with a preset, the schedule that ran
        (``"128 steps at Adam 0.15 under Lucid's standard transforms, then 32 steps at Adam 0.1 on the image
        itself (no transforms)"``) replaces ``learning_rate`` and ``transforms``, which the preset overrides (the
        stored settings keep them, at their defaults, so that galleries compare as before)."""
        d = self.as_dict()
        if self.preset is not None:
            del d["learning_rate"], d["transforms"]
            d["schedule"] = describe_phases(self.phases())
        return list(d.items())

    def schedule(self):
        """The schedule that runs, as JSON-able dicts: ``[{"steps", "learning_rate", "transforms"}, ...]`` with
        transforms ``"standard"`` (Lucid's) or ``"none"``."""
        return [{"steps": p.steps, "learning_rate": p.learning_rate,
                 "transforms": "standard" if p.transforms is None else ("none" if not p.transforms else "custom")}
                for p in self.phases()]

    def as_dict(self):
        """The settings as a dict; ``preset`` only when one is set, so the settings of galleries written before
        presets existed (and their records) read and compare as they always did."""
        d = dataclasses.asdict(self)
        if d["preset"] is None:
            del d["preset"]
        return d

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"gallery: unknown settings {unknown} (known: {sorted(known)})")
        return cls(**d)

    def key(self):
        """A short stable hash of the settings (names a sprite cache directory)."""
        blob = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def differences(self, other):
        """``["steps: 512 here, 256 there", ...]`` for the fields that differ."""
        a, b = dataclasses.asdict(self), dataclasses.asdict(other)
        return [f"{k}: {a[k]!r} vs {b[k]!r}" for k in a if a[k] != b[k]]


def describe_phases(phases):
    """A schedule of :class:`~lucid_fast.optvis.presets.Phase` in words, phase by phase."""
    parts = []
    for p in phases:
        if p.transforms is None:
            where = "under Lucid's standard transforms"
        elif not p.transforms:
            where = "on the image itself (no transforms)"
        else:
            where = "under its own transforms"
        parts.append(f"{p.steps} steps at Adam {p.learning_rate:g} {where}")
    return ", then ".join(parts)


def unit_seed(seed, layer, channels):
    """The entropy of a unit's generator: the job seed, the layer name and the unit's channels."""
    return [int(seed), zlib.crc32(layer.encode("utf-8")), *[int(c) for c in channels]]


def plan_units(channels, batch):
    """Groups a layer's channels into units of up to ``batch``: channel c belongs to block ``c // batch``, and a
    unit is the requested channels of one block. The grouping depends only on the channel numbers and the
    batch, never on what is already done, so a resumed job renders exactly the units a fresh one would."""
    blocks = {}
    for c in sorted(set(int(c) for c in channels)):
        blocks.setdefault(c // batch, []).append(c)
    return [blocks[k] for k in sorted(blocks)]


def parse_channels(spec, n_channels, layer="layer"):
    """Channels of a layer from a spec: None (all), an int, an iterable of ints, or a string of comma-separated
    items ``"7"``, ``"0:64"``, ``":16"``, ``"100:"``. Ranges follow Python's slices, within the layer: nothing is
    clipped, so ``0:512`` on a 64-channel layer is an error (write ``0:64`` or ``:``), as is a single channel
    outside the layer.

    Returns:
        A sorted list of distinct channel numbers.
    """
    if spec is None:
        return list(range(n_channels))
    if isinstance(spec, bool) or not isinstance(spec, (int, str)) and not hasattr(spec, "__iter__"):
        raise ValueError(f"gallery: channels must be None, an int, ints or a string like '0:64', got {spec!r}")
    out = set()
    if isinstance(spec, str):
        for item in spec.split(","):
            parts = [p.strip() for p in item.split(":")]
            if len(parts) > 2 or not all(p == "" or p.isdigit() for p in parts) or parts == [""]:
                raise ValueError(f"gallery: bad channel item {item!r} in {spec!r}: write N, A:B, :B or A: "
                                 "with non-negative integers, comma-separated")
            if len(parts) == 1:
                out.add(_check_channel(int(parts[0]), n_channels, layer))
            else:
                start, stop = (int(p) if p else None for p in parts)
                if (start is not None and start >= n_channels) or (stop is not None and stop > n_channels):
                    raise ValueError(f"gallery: channels: the range {item.strip()!r} reaches past {layer!r}, which "
                                     f"has {n_channels} channels (0..{n_channels - 1}); nothing is clipped: write a "
                                     f"range within 0:{n_channels}")
                out.update(range(n_channels)[slice(start, stop)])
    else:
        for c in ([spec] if isinstance(spec, int) else list(spec)):
            if isinstance(c, bool) or not hasattr(c, "__index__"):
                raise ValueError(f"gallery: channels must be integers (nothing is rounded), got {c!r}")
            out.add(_check_channel(int(c), n_channels, layer))
    if not out:
        raise ValueError(f"gallery: the channel spec {spec!r} selects no channel of {layer!r} "
                         f"({n_channels} channels)")
    return sorted(out)


def _check_channel(c, n, layer):
    if not 0 <= c < n:
        raise ValueError(f"gallery: channel {c} is outside {layer!r}'s {n} channels (0..{n - 1})")
    return c
