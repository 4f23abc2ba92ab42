"""Checks a render before its first step, so that what would fail inside TensorFlow fails here, clearly.

:func:`check_session` runs when an :class:`~lucid_fast.optvis.engine.Engine` is built (render_vis, galleries and
activation grids build one), after the model and the objective are known and before any parameter is allocated.
What needs the model's framework (tracing the objective) is the model side's (``ObjectiveStep``); this module
only asks it:

1. **The objective on the real input sizes.** The transforms change the image size from step to step (the
   standard ones by random scaling); the objective and its gradient are traced once at the smallest size they
   produce, with static shapes. This turns a neuron position outside the layer into a clear error, and a model
   that only runs at a fixed input size (a ``Dense`` after a ``Flatten``) into a message that says so and how
   to render it, instead of a reshape error from inside the first step.
2. **The gradient reaches the image.** An objective with no gradient path to the image (a model that rounds
   its input to integers, a layer that does not depend on the input) would return the initial image
   unchanged; it is refused.
3. **Memory.** A step's peak memory is estimated at the largest size the transforms produce
   (the adapter's ``estimate_step_bytes``; for TensorFlow models :mod:`lucid_fast.models.tf_memory`) and compared with what is available
   (:mod:`lucid_fast.misc.memory`); a step that would not fit raises
   :class:`~lucid_fast.misc.memory.InsufficientMemoryError` naming the estimate, the memory available and a size
   that fits. TensorFlow on the CPU aborts the process when an allocation fails; this check is what stands
   between a too-large render and a dead notebook kernel. Where TensorFlow runs on a GPU, host memory is not
   what limits the model, and this check is skipped (TF raises a catchable ResourceExhaustedError there).
"""
import math

from lucid_fast.misc import memory

# Sizes a suggestion is rounded down to.
SIZE_STEP = 8
# A suggested size must fit with this much to spare (pooled sizes round up, so small images need a bit more
# per pixel than the large one the estimate was made for).
ADVICE_MARGIN = 1.05


def check_session(vis):
    """Runs the checks of the module doc on a VisSession whose model, objective, parameterization graph,
    transform chain and layers are set (its parameters need not be initialized)."""
    b, h, w, _ = vis.image_shape
    c = vis.model.input_channels
    sizes = sorted(vis.chain.output_sizes((h, w)), key=lambda s: (s[0] * s[1], s))
    smallest, largest = sizes[0], sizes[-1]
    connected = _trace_objective(vis, (b, *smallest, c), sizes)
    if not connected and not getattr(vis.objective, "native_terms", ()):
        raise ValueError(_disconnected_message(vis))
    _check_memory(vis, (b, *largest, c))


# ---- 1 and 2: the objective and its gradient at the smallest size ---------------------------------------------

def _trace_objective(vis, shape, sizes):
    """Traces objective and gradient on a static ``shape``; returns whether a gradient reaches the image."""
    from .objectives_util import PositionError  # noqa: PLC0415 - TensorFlow-side module, loaded with the model

    try:
        return vis.model_step.gradient_reaches_image(shape)
    except PositionError as err:
        raise PositionError(f"{vis.who}: {err} (the smallest image the transforms make here is "
                            f"{shape[1]}x{shape[2]})") from None
    except (ValueError, TypeError, IndexError) as err:
        fixed = _fixed_input_size(vis, shape)
        if fixed is not None:
            raise ValueError(_fixed_size_message(vis, fixed, sizes)) from err
        lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
        raise ValueError(f"{vis.who}: the objective {vis.objective.description!r} cannot be evaluated on model "
                         f"{vis.model.name!r} for a {shape[1]}x{shape[2]} image (the smallest the transforms make "
                         f"here): {lines[-1] if lines else repr(err)}") from err


def _fixed_input_size(vis, failed_shape):
    """(h, w) when the model runs at its nominal input size but not at ``failed_shape``, else None."""
    nominal = getattr(vis.model, "image_shape", None)
    if nominal is None or None in tuple(nominal)[:2]:
        return None
    nominal_hw = (int(nominal[0]), int(nominal[1]))
    if nominal_hw == tuple(failed_shape[1:3]) or not vis.layers:
        return None
    if not vis.model_step.runs_at((failed_shape[0], *nominal_hw, failed_shape[3])):
        return None
    if vis.model_step.runs_at(failed_shape):  # the model runs there: what failed is the objective (or a transform)
        return None
    return nominal_hw


def _fixed_size_message(vis, hw, sizes):
    h, w = hw
    made = ", ".join(f"{a}x{b}" for a, b in sizes[:4]) + (", ..." if len(sizes) > 4 else "")
    return (f"render_vis: model {vis.model.name!r} needs fixed-size input ({h}x{w}; e.g. a Dense layer after a "
            f"Flatten), but the transforms make images of {made} from the {vis.image_shape[1]}x"
            f"{vis.image_shape[2]} parameterization. Render it at its size: end the transforms with "
            f"transform.crop_or_pad_to({h}, {w}) (transforms=transform.standard_transforms + "
            f"[transform.crop_or_pad_to({h}, {w})]), or use no size-changing transforms (transforms=[]) with "
            f"param.image({w}, h={h})")


def _disconnected_message(vis):
    dtype = getattr(vis.model, "input_dtype", None)
    hint = ""
    if dtype is not None and not dtype.is_floating:
        hint = (f" Model {vis.model.name!r} takes {dtype.name} input; its first layers must cast it to float "
                f"(Rescaling, a cast) for the image to get a gradient.")
    return (f"render_vis: the objective {vis.objective.description!r} does not depend on the image: no gradient "
            f"leads from it back to the input, so the image would never change.{hint}")


# ---- 3: memory at the largest size ------------------------------------------------------------------------------

def native_bytes(vis, shape):
    """A rough upper bound of the image side's arrays in a step (float32), for images of ``shape``."""
    params = sum(math.prod(p.shape) for p in vis.graph.params)
    return memory.image_side_bytes(params, max(math.prod(vis.image_shape), math.prod(shape)))


def _check_memory(vis, shape):
    if memory.available_memory_bytes() is None or vis.model.runs_on_gpu():
        return
    layers = list(vis.layers)
    need = vis.model.estimate_step_bytes(layers, shape, native_bytes(vis, shape))
    available = memory.available_memory_bytes()
    if available is None or need <= available:
        return
    b, h, w, _ = vis.image_shape
    where = f"up to layer {', '.join(repr(n) for n in layers)}" if layers else "on the input only"
    what = (f"render_vis: a step on {b} image(s) of {shape[1]}x{shape[2]} (the largest the transforms make from "
            f"{h}x{w}) through model {vis.model.name!r} {where}")
    memory.check_fits(need, what, _advice(vis, need, available, shape[1:3]))


def _advice(vis, need, available, largest):
    """What to reduce: the image size that fits, or the batch.

    The suggestion assumes the step's memory (less the constant) grows with the area of the largest image the
    transforms make, which holds for convolutional layers; ADVICE_MARGIN covers the rounding of pooled sizes.
    """
    b, h, w, _ = vis.image_shape
    per_pixel = (need - vis.model.step_memory_overhead) / (largest[0] * largest[1])

    def fits(side):
        scale = side / min(h, w)
        hh, ww = max(1, int(h * scale)), max(1, int(w * scale))
        try:
            area = max(a * c for a, c in vis.chain.output_sizes((hh, ww)))
        except ValueError:  # too small for the transforms
            return False
        return vis.model.step_memory_overhead + ADVICE_MARGIN * per_pixel * max(area, hh * ww) <= available

    lo, hi = 0, min(h, w) // SIZE_STEP  # in units of SIZE_STEP: fits(lo) assumed, fits(hi + 1) not
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid * SIZE_STEP) else (lo, mid - 1)
    parts = [f"reduce the image size to at most {lo * SIZE_STEP} px" if lo else "reduce the image size"]
    if b > 1:
        parts.append(f"the batch ({b})")
    parts.append("or render a layer closer to the input")
    return ", ".join(parts[:-1]) + (", " if len(parts) > 2 else " ") + parts[-1]


__all__ = ["check_session", "native_bytes"]
