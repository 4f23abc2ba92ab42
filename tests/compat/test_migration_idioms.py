"""Lucid idioms that docs/MIGRATING.md maps and that porting the transparency, neuron_interaction_grids and
AttrSpatial notebooks ran into: each test pins what a row of the guide says (issue 23, section 3)."""
import io
import json
import os
import warnings

import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast import modelzoo, models
from lucid_fast.modelzoo import vision_models
from lucid_fast.optvis import objectives, param, render

SIZE = 16
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _guide():
    with open(os.path.join(ROOT, "docs", "MIGRATING.md")) as fh:
        return fh.read()


# ---- sess.run([train_op, t_loss]) -> vis.step(): the sign ----------------------------------------------------------

def test_vis_step_returns_the_objective_not_lucids_negated_loss(tiny_model):
    """``vis.step()`` returns the objective (maximized) before the update; a Lucid notebook that minimized
    ``t_loss = -objective`` (``tf.losses.add_loss(-x)``) logged the negative of it."""
    obj = objectives.channel("mixed4a", 3)
    vis = render.make_vis_T(tiny_model, obj, param_f=lambda: param.image(SIZE), transforms=[], seed=0)
    image = vis("input")
    value = float(obj(render.import_model(tiny_model, image)).numpy())
    assert value > 0  # a mean ReLU activation: the sign below is visible
    loss = vis.step()
    assert np.isclose(loss, value, rtol=1e-5), (loss, value)
    lucid_t_loss = -value  # what sess.run([train_op, t_loss]) returned for t_loss = -objective
    assert np.isclose(-loss, lucid_t_loss, rtol=1e-5)
    later = [vis.step() for _ in range(5)]
    assert later[-1] > loss  # the objective rises (Lucid's logged t_loss fell)


# ---- import_model / T(layer) with a GradientTape: separate passes per layer ------------------------------------

def test_import_model_layers_are_separate_passes_so_layer_to_layer_gradients_are_none(tiny_model, rng):
    """The documented limitation: ``T(layer)`` is one forward pass per layer from the image, so the gradient of a
    later layer with respect to an earlier one is ``None`` (TensorFlow's answer for unconnected tensors), while
    gradients to the image flow. Layer-to-layer attribution is ``lucid_fast.attribution``'s."""
    img = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)

    @tf.function
    def grads(x_t):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x_t)
            T = render.import_model(tiny_model, x_t)
            early, late = T("mixed3a"), tf.reduce_sum(T("mixed4a"))
        between = tape.gradient(late, early)
        return between is None, tape.gradient(late, x_t)

    between_is_none, to_image = grads(tf.constant(img))
    assert bool(between_is_none)
    assert np.abs(to_image.numpy()).sum() > 0
    doc = models.layer_accessor.__doc__
    assert "own forward pass" in doc and "``None``" in doc and "lucid_fast.attribution" in doc
    assert "lucid_fast.attribution" in vision_models.Vgg16Hed.import_graph.__doc__


# ---- model.import_graph(image): on the vision_models classes; a zoo adapter goes through import_model ---------

def test_import_graph_is_a_model_class_method_and_import_model_takes_a_zoo_adapter(rng):
    img = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    adapter = modelzoo.load("vgg16_hed", cache=True)
    assert not hasattr(adapter, "import_graph")  # modelzoo.load gives an adapter: the row says so
    from_adapter = render.import_model(adapter, img)("block1_conv2").numpy()
    from_class = vision_models.Vgg16Hed().import_graph(img)("block1_conv2").numpy()
    assert from_adapter.shape == (1, 32, 32, 64)
    assert_close(from_class, from_adapter, "fwd", "import_graph vs import_model")


# ---- tf_upgrade_v2: Python 3 first, no cell magics -----------------------------------------------------------------

def _tf_upgrade_v2(source):
    """TensorFlow's converter on a script: the converted source, or SyntaxError where it reports that it could
    not parse the file (the command then writes nothing and says so only in its report)."""
    from tensorflow.tools.compatibility import ast_edits
    from tensorflow.tools.compatibility import tf_upgrade_v2 as spec

    out = io.StringIO()
    _, report, errors = ast_edits.ASTCodeUpgrader(spec.TFAPIChangeSpec()).process_opened_file(
        "lucid.py", io.StringIO(source), "ported.py", out)
    if "Failed to parse" in report:
        assert out.getvalue() == ""
        raise SyntaxError(report)
    assert not errors, errors
    return out.getvalue()


def _2to3(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lib2to3 is deprecated (what the 2to3 command runs, to Python 3.12)
        from lib2to3 import refactor

        tool = refactor.RefactoringTool(refactor.get_fixers_from_package("lib2to3.fixes"))
        return str(tool.refactor_string(source, "lucid.py"))


def _notebook(cells):
    return {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": s}
                      for s in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 2}


def test_tf_upgrade_v2_needs_python_3_and_no_cell_magics(tmp_path):
    """What the guide says to run before tf_upgrade_v2: 2to3 for Python 2 (``print x``), and cell magics out of
    the way (``%%html`` cells of Lucid's svelte notebooks are not Python)."""
    py2 = "import tensorflow as tf\nprint 'loading'\nopt = tf.train.AdamOptimizer(0.05)\n"
    with pytest.raises(SyntaxError):
        _tf_upgrade_v2(py2)
    assert "tf.compat.v1.train.AdamOptimizer(0.05)" in _tf_upgrade_v2(_2to3(py2))

    magic = "%%html\n<div id='x'></div>\n"
    with pytest.raises(SyntaxError):
        _tf_upgrade_v2(magic + "import tensorflow as tf\n")
    commented = "".join("# " + line + "\n" for line in magic.splitlines())
    assert "import tensorflow" in _tf_upgrade_v2(commented + "import tensorflow as tf\n")

    # on the .ipynb itself, tf_upgrade_v2 skips a %% cell stored as a list of lines (as Jupyter writes it), not
    # one stored as a single string, and never converts Python 2
    from tensorflow.tools.compatibility import ast_edits, ipynb
    from tensorflow.tools.compatibility import tf_upgrade_v2 as spec

    upgrader = ast_edits.ASTCodeUpgrader(spec.TFAPIChangeSpec())
    code = ["import tensorflow as tf\n", "opt = tf.train.AdamOptimizer(0.05)\n"]

    def upgrade(cells):
        src, dst = tmp_path / "nb.ipynb", tmp_path / "out.ipynb"
        src.write_text(json.dumps(_notebook(cells)))
        ipynb.process_file(str(src), str(dst), upgrader)
        return dst.read_text()

    assert "tf.compat.v1.train.AdamOptimizer" in upgrade([["%%html\n", "<div id='x'></div>\n"], code])
    for bad in ([magic, code], [["print 'loading'\n"], code]):
        with pytest.raises(SyntaxError):
            upgrade(bad)


# ---- Lucid modules without a counterpart: the guide names the replacements, and they exist ------------------------

def test_the_guide_names_the_replacements_of_gradient_override_and_svelte():
    guide = _guide()
    for lucid_module in ("lucid.misc.gradient_override", "lucid.scratch.web.svelte"):
        assert f"`{lucid_module}`" in guide or lucid_module in guide, lucid_module
    from lucid_fast import views
    from lucid_fast.models import redirected_relu, redirected_relu6, smooth_maxpool  # noqa: F401

    for view in ("SemanticDictionary", "SpatialAttribution", "ChannelAttribution", "NeuronGroups", "ActivationGrid"):
        assert hasattr(views, view) and f"views.{view}" in guide, view
    for name in ("models.redirected_relu", "models.smooth_maxpool", 'maxpool_grad="smooth"'):
        assert name in guide, name
