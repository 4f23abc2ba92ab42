"""render_vis: optimize an image to maximize an objective on a model (Lucid's ``optvis.render``).

This module turns what a Lucid user passes (a model or its name, an objective or a "layer:channel" string, a
``param_f``, transforms, an optimizer, thresholds, a preset) into the parts of the one optimization step,
:class:`lucid_fast.optvis.engine.Engine`, and runs it. The step itself, and where each part of it runs, is
described there and in docs/ARCHITECTURE.md.
"""
import numbers
import sys
import warnings

import numpy as np

from lucid_fast.misc.errors import ArgumentError
from lucid_fast.misc.notebook import in_notebook
from lucid_fast.misc.seeding import check_seed
from lucid_fast.models.accessor import ALPHA_TRANSFORMED, strip_name  # noqa: F401  (ALPHA_TRANSFORMED: public here)

from . import objectives
from . import param as param_mod
from . import transform as transform_mod
from .engine import RELU_OVERRIDE_STEPS, Engine  # noqa: F401  (RELU_OVERRIDE_STEPS: public here too)
from .optimizers import Adam, TFOptimizer, make_optimizer  # noqa: F401  (Lucid's render.make_optimizer)
from .presets import PRESETS, preset_phases  # noqa: F401  (PRESETS: public here too)

DEFAULT_IMAGE_SIZE = 128  # Lucid's default parameterization: param.image(128)


_TENSOR_PARAM_MSG = (
    "param_f produced a TensorFlow tensor. On TF2 a tensor is a value, not a graph that render_vis can optimize: "
    "build the image with lucid_fast.optvis.param (param.image, param.fft_image, param.lowres_tensor, param.cppn, "
    "...), or wrap your own TensorFlow code as param.TFParam(shape, build), where build(rng) returns "
    "(variables, image_fn) (see docs/MIGRATING.md)")


def _is_tf_tensor(x):
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "shape") and hasattr(x, "dtype")


def make_param(param_f):
    if _is_tf_tensor(param_f):
        raise ArgumentError(_TENSOR_PARAM_MSG)
    if param_f is None:
        node = param_mod.image(DEFAULT_IMAGE_SIZE)
    elif isinstance(param_f, param_mod.Node):
        node = param_f
    elif callable(param_f):
        node = param_f()
    else:
        raise ArgumentError(f"param_f must be a function returning a parameterization, or one; got {param_f!r}")
    if _is_tf_tensor(node):
        raise ArgumentError(_TENSOR_PARAM_MSG)
    if not isinstance(node, param_mod.Node):
        raise ArgumentError(f"param_f must produce a lucid_fast parameterization (see lucid_fast.optvis.param), "
                            f"got {type(node).__name__}")
    if len(node.shape) != 4:
        raise ValueError(f"the parameterization must produce an NHWC image, got shape {node.shape}")
    return node



class VisSession(Engine):
    """Lucid's ``make_vis_T`` for TF2: a render you drive yourself (the :class:`~lucid_fast.optvis.engine.Engine`
    built from what render_vis accepts).

    ``vis = make_vis_T(model, "block4_conv3:100")``; ``vis.step()`` runs one optimization step and returns the
    objective; ``vis("input")`` (or ``vis.image()``) is the current image, ``vis("loss")`` the last objective,
    ``vis(layer)`` the layer's activations on the current (untransformed) image.
    """

    def __init__(self, model, objective_f, param_f=None, optimizer=None, transforms=None,
                 relu_gradient_override=True, seed=None):
        from lucid_fast import modelzoo

        rng = check_seed("render_vis", seed)  # a bad seed is refused before the model loads
        adapter = modelzoo.load_model(model)
        objective = objectives.as_objective(objective_f)
        graph = param_mod.ParamGraph(make_param(param_f))
        chain = transform_mod.make_chain(transforms)
        super().__init__(adapter, objective, graph, chain, make_optimizer(optimizer), rng, relu_gradient_override)

    def value(self, node):
        """The current value of a stage of the parameterization (Lucid's ``t.eval()`` of an intermediate
        tensor), e.g. the RGBA image before it was composited onto a background; numpy, a copy."""
        self.graph.forward()
        vals = self.graph._values
        if id(node) not in vals:
            raise ValueError(f"vis.value: {node!r} is not a stage of this render's parameterization")
        return np.array(vals[id(node)])

    def __call__(self, name):
        """Lucid's ``T(name)``, evaluated: ``"input"`` (the image), ``"loss"`` (the last objective),
        ``"global_step"`` (steps taken), a layer's activations, or a stage of the parameterization (a
        ``param.Node``: its current value). ``"vis_op"`` has no TF2 counterpart: a step is ``vis.step()``."""
        if isinstance(name, param_mod.Node):
            return self.value(name)
        name = strip_name(name) if isinstance(name, str) else name
        if name == "input":
            return self.image()
        if name == "loss":
            return self.last_loss
        if name == "global_step":
            return self.step_count
        if name in ("vis_op", "train_op"):
            raise ValueError(f'vis({name!r}): there is no {name} to run on TF2: one optimization step is vis.step() '
                             f'(it returns the objective); Lucid\'s sess.run([T("vis_op"), T("loss"), T("input")]) '
                             f'is loss = vis.step(); img = vis("input")')
        return self.activations(name)


def make_vis_T(model, objective_f, param_f=None, optimizer=None, transforms=None, relu_gradient_override=True,
               seed=None):
    """Builds a :class:`VisSession` (Lucid's make_vis_T, without TF1 sessions)."""
    return VisSession(model, objective_f, param_f, optimizer, transforms, relu_gradient_override, seed)


def _progress_bar(total, enabled):
    """A tqdm bar over the render's steps (a widget in Jupyter when ipywidgets is installed, else text on
    stderr), or None when disabled."""
    if not enabled:
        return None
    from tqdm import std

    bar_cls = std.tqdm
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401  (tqdm's widget needs it; without it the text bar is used)
            from tqdm.notebook import tqdm as bar_cls
        except ImportError:
            pass
    return bar_cls(total=total, desc="render_vis", unit="step", mininterval=0.5, dynamic_ncols=True)


def check_thresholds(thresholds):
    """render_vis's thresholds as a sorted list of distinct step counts: a sequence of ints >= 0, or one int n
    meaning (n,). Anything else (a string, a float such as 2.9, an empty sequence) raises ValueError."""
    items = None
    if _is_step(thresholds) or _is_step_like(thresholds):
        items = [thresholds]
    elif not isinstance(thresholds, (str, bytes)):
        try:
            items = list(thresholds)
        except TypeError:
            items = None
    if not items or not all(_is_step(t) for t in items):
        raise ValueError(f"render_vis: thresholds must be step counts: a non-empty sequence of integers >= 0, or "
                         f"one integer n meaning (n,); got {thresholds!r}")
    return sorted({int(t) for t in items})


def _is_step(t):
    return isinstance(t, (numbers.Integral, np.integer)) and not isinstance(t, bool) and t >= 0


def _is_step_like(t):
    """A single number that is not a step count (e.g. 2.9 or -1): an error below, not an iterable."""
    return isinstance(t, numbers.Number) and not isinstance(t, bool)


def render_vis(model, objective_f, param_f=None, optimizer=None, transforms=None, thresholds=(512,),
               print_objectives=None, verbose=True, relu_gradient_override=True, use_fixed_seed=False, seed=None,
               progress=None, preset=None):
    """Optimizes an image to maximize ``objective_f`` on ``model`` (Lucid's render_vis, on TF2).

    Args:
        model: a tf.keras.Model, a SavedModel directory, a frozen GraphDef path, a modelzoo name such as
            "vgg16_hed", or a ``lucid_fast.models`` adapter.
        objective_f: an Objective, or a "layer:channel" string.
        param_f: a function returning a parameterization (default ``param.image(128)``), or one.
        optimizer: None (Adam 0.05), a learning rate, ``render.Adam``, or a TensorFlow optimizer (Adam from
            ``tf.keras`` or ``tf.compat.v1.train`` runs natively with its settings; others through TF); see
            :func:`make_optimizer`.
        transforms: a list of transforms (default ``transform.standard_transforms``, as Lucid's render_vis).
        thresholds: step counts (ints >= 0) at which to keep the image; runs max(thresholds) + 1 steps, as
            Lucid. One int n means (n,); strings, fractions and negative numbers raise ValueError.
        print_objectives: extra objectives whose values are printed at thresholds.
        verbose: print the objective at each threshold (and show the image in a notebook; elsewhere
            nothing is written).
        relu_gradient_override: Lucid's redirected ReLU gradient for the first 16 steps.
        use_fixed_seed: Lucid's switch for reproducible results: True means ``seed=0`` when no seed is given
            (and unlike in TF1, it works: the whole run is reproducible).
        seed: seeds every random choice (initialization and transforms): same seed, same machine, same
            images. None, an int >= 0 (or a sequence of them) or a numpy Generator.
        progress: a tqdm progress bar (defaults to ``verbose``): on stderr, or a widget in Jupyter.
        preset: None (Lucid's defaults: the arguments above), or ``"fast"``: a schedule that reaches Lucid's
            512-step objective in 160 steps (:data:`PRESETS`; README, "The fast preset"); it sets the optimizer,
            the transforms and the number of steps, so those must be left at their defaults, and returns the
            final image.

    Returns:
        A list with one NHWC float32 array in [0, 1] per threshold reached. Ctrl-C or a non-finite objective
        stops early and returns the images so far plus the current one.
    """
    thresholds = check_thresholds(thresholds)
    if use_fixed_seed and seed is None:
        seed = 0
    phases = preset_phases(preset, optimizer, transforms, thresholds)
    if phases is not None:
        thresholds = [sum(p.steps for p in phases) - 1]
        starts = dict(zip(np.cumsum([0] + [p.steps for p in phases[:-1]]).tolist(), phases))
        transforms = None if phases[0].transforms is None else list(phases[0].transforms)
    vis = make_vis_T(model, objective_f, param_f, optimizer, transforms, relu_gradient_override, seed)
    n_steps = thresholds[-1] + 1
    bar = _progress_bar(n_steps, verbose if progress is None else progress)
    images = []
    done = 0  # steps completed (what the bar counts)
    try:
        for i in range(n_steps):
            if phases is not None and i in starts:
                vis.enter_phase(starts[i])
            loss = vis.step()
            done = i + 1
            if bar is not None:
                bar.set_postfix_str(f"objective {loss:.4g}", refresh=False)
                bar.update(1)
            if i in thresholds:
                img = vis.image()
                images.append(img)
                if verbose:
                    _report(vis, i, loss, img, print_objectives, bar)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
            bar = None
        # one plain line on stderr (a warning would add its source line): Ctrl-C is the user's own act
        print(f"render_vis: interrupted after {done} of {n_steps} steps; returning the images so far and the "
              f"current one", file=sys.stderr, flush=True)
        images.append(vis.image())
    except FloatingPointError as err:
        warnings.warn(f"render_vis: stopped: {err}")
        images.append(vis.image())
    finally:
        if bar is not None:
            bar.close()
    return images


def _report(vis, i, loss, img, print_objectives, bar=None):
    # through the bar while one is shown (a plain print would run into its line); stdout as Lucid's print
    write = print if bar is None else (lambda line: bar.write(line, file=sys.stdout))
    write(f"{i} {loss:.6g}")
    for k, obj in enumerate(print_objectives or []):
        obj = objectives.as_objective(obj)
        write(f"{k + 1:02d}: {obj.description}: {vis.evaluate(obj):7.2f}")
    try:
        from lucid_fast.misc import io

        if in_notebook():  # outside a notebook, show() would leave a temporary PNG per threshold
            io.show(np.hstack(list(img)))
    except Exception:  # showing is a convenience; never break a render for it
        pass


# ---- Lucid's building blocks of render_vis, for code that calls them directly ------------------------------

def make_t_image(param_f):
    """Lucid's name for building the parameterization from ``param_f`` (see :func:`make_param`)."""
    return make_param(param_f)


def make_transform_f(transforms):
    """The transform chain for ``transforms`` (a list; anything else means ``transform.standard_transforms``,
    as in Lucid)."""
    if not isinstance(transforms, (list, tuple, transform_mod.TransformChain)):
        transforms = None
    return transform_mod.make_chain(transforms)


def make_print_objective_func(print_objectives, T):
    """A function printing ``print_objectives`` evaluated with the layer accessor ``T`` (e.g. from
    :func:`import_model`), one ``NN: description: value`` line each, as render_vis does at thresholds.

    Lucid's returned function took the session; this one takes an optional, ignored argument in its place.
    """
    objs = [objectives.as_objective(o) for o in (print_objectives or [])]

    def print_objective_func(_sess=None):
        for i, obj in enumerate(objs):
            print(f"{i + 1:02d}: {obj.description}: {float(obj(T)):7.2f}")

    return print_objective_func


def import_model(model, t_image, t_image_raw=None, scope="import", input_map=None):
    """A layer accessor ``T`` on a given image (Lucid's ``import_model``, without a graph to import into).

    Lucid imported the model's graph into the current TF1 graph on ``t_image`` and returned ``T(layer)``. On TF2
    the model is called instead: ``T(layer)`` returns the activations of ``layer`` for ``t_image`` (a TF tensor
    or an NHWC numpy array in [0, 1]), ``T("input")`` returns ``t_image_raw`` (default ``t_image``) and
    ``T("labels")`` the model's labels when it has them. Works eagerly and inside ``tf.function`` (gradients flow
    to ``t_image``), so objectives can be evaluated: ``objectives.channel("mixed4a", 3)(T)``.

    Args:
        model: anything render_vis accepts.
        t_image: the images, NHWC.
        t_image_raw: what ``T("input")`` returns.
        scope: ignored (there is no graph to name a scope in).
        input_map: not supported on TF2 (a ValueError if given): feed the model its image instead.
    """
    from lucid_fast import modelzoo
    from lucid_fast.models import layer_accessor

    if input_map is not None:
        raise ValueError("import_model: input_map has no TF2 counterpart (there is no graph to map tensors into); "
                         "pass the image as t_image, or build the input with lucid_fast.optvis.param")
    adapter = modelzoo.load_model(model)
    return layer_accessor(adapter, t_image, t_image_raw, who="import_model",
                          labels=lambda: getattr(adapter, "labels", None) or getattr(model, "labels", None))
