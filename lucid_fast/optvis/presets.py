"""``render_vis(preset=...)``: named optimization schedules (no TensorFlow here: the CLI reads them at start-up).

A preset replaces Lucid's defaults (Adam 0.05, ``standard_transforms``, ``thresholds=(512,)``) by a list of
:class:`Phase`. The measured trade-off of each is in the README ("The fast preset").
"""
import dataclasses

__all__ = ["Phase", "PRESETS", "preset_phases", "preset_steps"]


@dataclasses.dataclass(frozen=True)
class Phase:
    """One stretch of a preset's schedule: ``steps`` steps of Adam at ``learning_rate`` (Lucid's betas and
    epsilon; the moments carry over from the previous phase) under ``transforms`` (None: Lucid's
    ``standard_transforms``; ``()``: none, the model sees the image itself)."""

    steps: int
    learning_rate: float
    transforms: tuple = None


# "fast" reaches, in 160 steps,
# at least the objective Lucid's default 512 steps reach (measured on the untransformed image; README, "The
# fast preset"): 128 steps at three times Lucid's learning rate under Lucid's transforms, then 32 steps at
# twice it on the image itself, which is what that objective measures.
PRESETS = {
    "fast": (Phase(128, 0.15), Phase(32, 0.1, transforms=())),
}
LUCID_THRESHOLDS = (512,)  # render_vis's default, Lucid's


def preset_phases(preset, optimizer=None, transforms=None, thresholds=LUCID_THRESHOLDS):
    """The phases of ``render_vis``'s ``preset`` (None for no preset), after checking that the other arguments
    leave to the preset what it sets: the optimizer, the transforms and the number of steps."""
    if preset is None:
        return None
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ValueError(f"render_vis: preset must be None (Lucid's defaults) or one of {sorted(PRESETS)}, got "
                         f"{preset!r}")
    given = [name for name, value, default in (("optimizer", optimizer, None), ("transforms", transforms, None))
             if value is not default]
    if not (thresholds == 512 or (isinstance(thresholds, (tuple, list)) and list(thresholds) == [512])):
        given.append("thresholds")
    if given:
        raise ValueError(f"render_vis: preset={preset!r} sets the learning-rate and transform schedule and the "
                         f"number of steps ({preset_steps(preset)}); leave "
                         f"{', '.join(given)} at the default, or use preset=None")
    return PRESETS[preset]


def preset_steps(preset):
    """The number of steps a preset runs."""
    return sum(p.steps for p in PRESETS[preset])
