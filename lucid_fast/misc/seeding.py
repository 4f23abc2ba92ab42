"""Seeds, checked once for every user of randomness (render_vis, the engine, attribution): what
``numpy.random.default_rng`` takes, with a clear error for anything else. numpy only, so any layer can use it."""
import numbers

import numpy as np


def check_seed(op, seed, name="seed"):
    """What ``np.random.default_rng`` takes, checked: None, an int >= 0, a non-empty sequence of ints >= 0, a
    SeedSequence, a BitGenerator or a Generator. Returns a Generator."""
    random = np.random
    if seed is None or isinstance(seed, (random.Generator, random.SeedSequence, random.BitGenerator)):
        return random.default_rng(seed)

    def is_count(v):
        return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool) and v >= 0

    if is_count(seed):
        return random.default_rng(int(seed))
    if isinstance(seed, (list, tuple, np.ndarray)) and len(seed) and all(is_count(v) for v in np.ravel(seed)):
        return random.default_rng([int(v) for v in np.ravel(seed)])
    raise ValueError(f"{op}: {name} must be None, an integer >= 0 (or a sequence of them) or a numpy.random."
                     f"Generator, got {seed!r}")
