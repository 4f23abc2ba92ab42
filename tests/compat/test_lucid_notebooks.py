"""Lucid's notebooks, ported mechanically, run on lucid_fast.

Each ``*_LUCID`` string is our transcription of the code of one of Lucid's notebooks (Python 3, as ``2to3``
writes it; Colab-only cells, installs and videos left out). :func:`port` turns it into lucid_fast code the way
the README promises:

1. TensorFlow's own converter, ``tf_upgrade_v2`` (the real one, ``tensorflow.tools.compatibility``), runs on it;
2. imports change from ``lucid.`` to ``lucid_fast.``;
3. the listed substitutions change only the model, layer names / channel numbers, step counts and image sizes.

The render_vis-based notebooks (tutorial, regularization, neuron_diversity, negative_neurons,
neuron_interaction, aligned_interpolation) need nothing else. The session-based ones (xy2rgb, transparency,
feature_inversion_caricatures) are written as docs/MIGRATING.md says, and their ``*_PORTED`` strings keep
Lucid's structure line by line.

The harness runs the code on a tiny network with InceptionV1's layer names (``tests/compat/compat_models.py``),
gives runs without a seed ``seed=0`` (Lucid's runs were not reproducible), caps render_vis's thresholds at a few
steps (keeping their number; past the 16 steps of Lucid's redirected-ReLU gradient, which is not the true
gradient), and records every optimization, so each port is checked for what it should do: the objective (of the
untransformed image) rises.
"""
import re
import types

import numpy as np
import pytest

from compat_models import tiny_inception_class
from lucid_fast.optvis import render

# ---- the port ---------------------------------------------------------------------------------------------------


def tf_upgrade_v2(source):
    """TensorFlow's converter (what the ``tf_upgrade_v2`` command runs) on a source string."""
    import io

    from tensorflow.tools.compatibility import ast_edits
    from tensorflow.tools.compatibility import tf_upgrade_v2 as spec

    out = io.StringIO()
    _, _, errors = ast_edits.ASTCodeUpgrader(spec.TFAPIChangeSpec()).process_opened_file(
        "lucid.py", io.StringIO(source), "lucid_fast.py", out)
    assert not errors, errors
    return out.getvalue()


def port(lucid_source, subs=()):
    """tf_upgrade_v2, then ``lucid.`` -> ``lucid_fast.`` on import lines, then ``subs`` (model, layers, steps,
    sizes), each of which must apply."""
    src = tf_upgrade_v2(lucid_source)
    src = re.sub(r"^(\s*)(import|from) lucid\.", r"\1\2 lucid_fast.", src, flags=re.M)
    assert not re.search(r"^\s*(import|from) lucid\b(?!_fast)", src, flags=re.M)
    for old, new in subs:
        assert old in src, f"substitution {old!r} does not apply"
        src = src.replace(old, new)
    return src


STEPS = 20  # render_vis thresholds are capped at STEPS, STEPS + 1, ... (as many images as the notebook asked for)
MODEL = ("models.InceptionV1()", "TinyInception()")  # the only model change: Lucid's InceptionV1 -> a tiny one


class Render:
    """One optimization the ported code ran: its session, the objective of each step (as render_vis reports it,
    on that step's random transforms), and the objective of the untransformed image before the first step."""

    def __init__(self, vis):
        self.vis, self.steps = vis, []
        self.start = vis.evaluate(vis.objective)

    def end(self):
        return self.vis.evaluate(self.vis.objective)


@pytest.fixture
def harness(monkeypatch):
    """Runs ported code; ``harness.log`` lists a :class:`Render` per optimization."""
    log = []
    step = render.VisSession.step

    def logged_step(self):
        if not hasattr(self, "_harness_render"):
            self._harness_render = Render(self)
            log.append(self._harness_render)
        loss = step(self)
        self._harness_render.steps.append(loss)
        return loss

    monkeypatch.setattr(render.VisSession, "step", logged_step)
    render_vis, make_vis_T = render.render_vis, render.make_vis_T

    def capped_render_vis(*args, **kwargs):
        kwargs.setdefault("seed", 0)
        ts = sorted(set(int(t) for t in kwargs.get("thresholds", (512,))))
        kwargs["thresholds"] = tuple(min(t, STEPS + i) for i, t in enumerate(ts))  # few steps, as many images
        kwargs.setdefault("progress", False)
        return render_vis(*args, **kwargs)

    def seeded_make_vis_T(*args, **kwargs):
        if len(args) < 7:  # seed is make_vis_T's 7th parameter (render_vis passes it positionally)
            kwargs.setdefault("seed", 0)
        return make_vis_T(*args, **kwargs)

    monkeypatch.setattr(render, "render_vis", capped_render_vis)
    monkeypatch.setattr(render, "make_vis_T", seeded_make_vis_T)
    monkeypatch.setattr("builtins.print", lambda *a, **k: None)  # verbose renders print each threshold

    def run(source, **names):
        ns = {"__name__": "lucid_notebook", "TinyInception": tiny_inception_class(), **names}
        exec(compile(source, "<ported notebook>", "exec"), ns)  # noqa: S102 - our own transcription
        return types.SimpleNamespace(**ns)

    run.log = log
    return run


@pytest.fixture(autouse=True)
def _quiet_show(monkeypatch, tmp_path):
    """show() outside a notebook writes PNGs: keep them in the test's folder."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def assert_every_render_rose(log, at_least):
    """Each optimization raised its objective, measured on the untransformed image before and after."""
    assert len(log) >= at_least, f"expected {at_least} renders, ran {len(log)}"
    for i, r in enumerate(log):
        end = r.end()
        assert len(r.steps) >= 2 and end > r.start, f"render {i}: objective {r.start} -> {end} ({r.steps})"



# ---- render_vis notebooks: ported by imports, model, layer names, steps and sizes alone -----------------------

TUTORIAL_LUCID = '''
import numpy as np
import tensorflow as tf

import lucid.modelzoo.vision_models as models
from lucid.misc.io import show
import lucid.optvis.objectives as objectives
import lucid.optvis.param as param
import lucid.optvis.render as render
import lucid.optvis.transform as transform

model = models.InceptionV1()
model.load_graphdef()

_ = render.render_vis(model, "mixed4a_pre_relu:476")

obj = objectives.channel("mixed4a_pre_relu", 465)
_ = render.render_vis(model, obj)

channel = lambda n: objectives.channel("mixed4a_pre_relu", n)
obj = channel(476) + channel(465)
_ = render.render_vis(model, obj)

transforms = []
_ = render.render_vis(model, "mixed4a_pre_relu:476", transforms=transforms)

transforms = [
    transform.jitter(2)
]
_ = render.render_vis(model, "mixed4a_pre_relu:476", transforms=transforms)

transforms = [
    transform.pad(16),
    transform.jitter(8),
    transform.random_scale([n/100. for n in range(80, 120)]),
    transform.random_rotate(list(range(-10,10)) + list(range(-5,5)) + 10*list(range(-2,2))),
    transform.jitter(2)
]
_ = render.render_vis(model, "mixed4a_pre_relu:476", transforms=transforms)

param_f = lambda: param.image(128, fft=False, decorrelate=False)
_ = render.render_vis(model, "mixed4a_pre_relu:2", param_f)

param_f = lambda: param.image(128, fft=True, decorrelate=True)
_ = render.render_vis(model, "mixed4a_pre_relu:2", param_f)
'''


def test_tutorial(harness):
    """Lucid's tutorial (its `assert tf.__version__.startswith('1')` cell left out: it asserts TF1)."""
    ns = harness(port(TUTORIAL_LUCID, [MODEL, ("476", "0"), ("465", "6"), ("128", "32")]))
    assert_every_render_rose(harness.log, 8)
    assert ns._[-1].shape == (1, 32, 32, 3)


REGULARIZATION_LUCID = '''
import numpy as np
import scipy.ndimage as nd
import tensorflow as tf

import lucid.modelzoo.vision_models as models
from lucid.misc.io import show
import lucid.optvis.objectives as objectives
import lucid.optvis.param as param
import lucid.optvis.render as render
import lucid.optvis.transform as transform

model = models.InceptionV1()
model.load_graphdef()

LEARNING_RATE = 0.05

optimizer = tf.train.AdamOptimizer(LEARNING_RATE)

imgs = render.render_vis(model, "mixed4b_pre_relu:452",
                         optimizer=optimizer,
                         transforms=[],
                         param_f=lambda: param.image(64, fft=False, decorrelate=False),
                         thresholds=(1, 32, 128, 256, 2048), verbose=False)

show([nd.zoom(img[0], [2,2,1], order=0) for img in imgs])

L1   = -0.05
TV   = -0.25
BLUR = -1.0

obj  = objectives.channel("mixed4b_pre_relu", 452)
obj += L1 * objectives.L1(constant=.5)
obj += TV * objectives.total_variation()
obj += BLUR * objectives.blur_input_each_step()

imgs = render.render_vis(model, obj,
                         transforms=[],
                         param_f=lambda: param.image(64, fft=False, decorrelate=False),
                         thresholds=(1, 32, 128, 256, 2048), verbose=False)

show([nd.zoom(img[0], [2,2,1], order=0) for img in imgs])

JITTER = 1
ROTATE = 5
SCALE  = 1.1

transforms = [
    transform.pad(2*JITTER),
    transform.jitter(JITTER),
    transform.random_scale([SCALE ** (n/10.) for n in range(-10, 11)]),
    transform.random_rotate(range(-ROTATE, ROTATE+1))
]

imgs = render.render_vis(model, "mixed4b_pre_relu:452", transforms=transforms,
                         param_f=lambda: param.image(64),
                         thresholds=(1, 32, 128, 256, 2048), verbose=False)

show([nd.zoom(img[0], [2,2,1], order=0) for img in imgs])

LEARNING_RATE = 0.05
DECORRELATE = True
ROBUSTNESS  = True

param_f = lambda: param.image(64, fft=DECORRELATE, decorrelate=DECORRELATE)

if ROBUSTNESS:
  transforms = transform.standard_transforms
else:
  transforms = []

optimizer = tf.train.AdamOptimizer(LEARNING_RATE)

imgs = render.render_vis(model, "mixed4b_pre_relu:452",
                         optimizer=optimizer,
                         transforms=transforms,
                         param_f=param_f,
                         thresholds=(1, 32, 128, 256, 2048), verbose=False)

show([nd.zoom(img[0], [2,2,1], order=0) for img in imgs])
'''


def test_regularization(harness, monkeypatch):
    """tf_upgrade_v2 writes tf.compat.v1.train.AdamOptimizer, which render_vis takes with its settings."""
    src = port(REGULARIZATION_LUCID, [MODEL, ("452", "8"), ("64", "32")])
    assert "tf.compat.v1.train.AdamOptimizer(LEARNING_RATE)" in src
    from lucid_fast.misc import io

    tv = []  # each show() of the notebook gets the zoomed images of one render; keep its last one's TV
    monkeypatch.setattr(io, "show", lambda imgs: tv.append(_total_variation(imgs[-1])))
    ns = harness(src)
    unregularized, penalized, robust, decorrelated = harness.log
    assert_every_render_rose([unregularized, robust, decorrelated], 3)
    assert tv[1] < 0.8 * tv[0]  # L1, total variation and blur penalties: a smoother image at the same step
    assert len(ns.imgs) == 5 and ns.imgs[-1].shape == (1, 32, 32, 3)


def _total_variation(img):
    img = np.asarray(img, np.float64)
    return np.abs(np.diff(img, axis=0)).sum() + np.abs(np.diff(img, axis=1)).sum()


NEURON_DIVERSITY_LUCID = '''
import numpy as np
import scipy.ndimage as nd
import tensorflow as tf

import lucid.modelzoo.vision_models as models
from lucid.misc.io import show
import lucid.optvis.objectives as objectives
import lucid.optvis.param as param
import lucid.optvis.render as render
import lucid.optvis.transform as transform

model = models.InceptionV1()
model.load_graphdef()

param_f = lambda: param.image(128, batch=4)
obj = objectives.channel("mixed5a_pre_relu", 9) - 1e2*objectives.diversity("mixed5a")
_ = render.render_vis(model, obj, param_f)
'''


def test_neuron_diversity(harness):
    ns = harness(port(NEURON_DIVERSITY_LUCID, [MODEL, ("9)", "11)"), ("128", "32")]))
    assert_every_render_rose(harness.log, 1)
    batch = ns._[-1]
    assert batch.shape == (4, 32, 32, 3) and not np.allclose(batch[0], batch[1])


NEGATIVE_NEURONS_LUCID = '''
import numpy as np
import scipy.ndimage as nd
import tensorflow as tf

import lucid.modelzoo.vision_models as models
from lucid.misc.io import show
import lucid.optvis.objectives as objectives
import lucid.optvis.param as param
import lucid.optvis.render as render
import lucid.optvis.transform as transform

model = models.InceptionV1()
model.load_graphdef()

param_f = lambda: param.image(128, batch=2)
obj = objectives.channel("mixed4a_pre_relu", 492, batch=1) - objectives.channel("mixed4a_pre_relu", 492, batch=0)
_ = render.render_vis(model, obj, param_f)
'''


def test_negative_neurons(harness):
    harness(port(NEGATIVE_NEURONS_LUCID, [MODEL, ("492", "7"), ("128", "32")]))
    assert_every_render_rose(harness.log, 1)


NEURON_INTERACTION_LUCID = '''
import numpy as np
import scipy.ndimage as nd
import tensorflow as tf

import lucid.modelzoo.vision_models as models
from lucid.misc.io import show
import lucid.optvis.objectives as objectives
import lucid.optvis.param as param
import lucid.optvis.render as render
import lucid.optvis.transform as transform

model = models.InceptionV1()
model.load_graphdef()

neuron1 = ('mixed4b_pre_relu', 111)
neuron2 = ('mixed4a_pre_relu', 476)

C = lambda neuron: objectives.channel(*neuron)

_ = render.render_vis(model, C(neuron1))
_ = render.render_vis(model, C(neuron2))
_ = render.render_vis(model, C(neuron1) + C(neuron2))

obj = objectives.direction("mixed4d_pre_relu", np.random.randn(528))
_ = render.render_vis(model, obj)

def interpolate_param_f():
  unique = param.fft_image((6, 128, 128, 3))
  shared = [
    param.lowres_tensor((6, 128, 128, 3), (1, 128//2, 128//2, 3)),
    param.lowres_tensor((6, 128, 128, 3), (1, 128//4, 128//4, 3)),
    param.lowres_tensor((6, 128, 128, 3), (1, 128//8, 128//8, 3)),
    param.lowres_tensor((6, 128, 128, 3), (2, 128//8, 128//8, 3)),
    param.lowres_tensor((6, 128, 128, 3), (1, 128//16, 128//16, 3)),
    param.lowres_tensor((6, 128, 128, 3), (2, 128//16, 128//16, 3)),
  ]
  return param.to_valid_rgb(unique + sum(shared), decorrelate=True)

obj = objectives.channel_interpolate("mixed4a_pre_relu", 476, "mixed4a_pre_relu", 460)

_ = render.render_vis(model, obj, interpolate_param_f)
'''


def test_neuron_interaction(harness):
    """lowres_tensor with an underlying batch of 2 over 6 frames (Lucid's batch semantics)."""
    ns = harness(port(NEURON_INTERACTION_LUCID, [MODEL, ("111", "1"), ("476", "0"), ("460", "8"), ("528", "16"),
                                                 ("128", "32")]))
    assert_every_render_rose(harness.log, 5)
    frames = ns._[-1]
    assert frames.shape == (6, 32, 32, 3)
    neighbours = np.mean([np.abs(frames[i + 1] - frames[i]).mean() for i in range(5)])
    assert neighbours < np.abs(frames[-1] - frames[0]).mean()  # the shared terms make a smooth sequence


ALIGNED_INTERPOLATION_LUCID = '''
import numpy as np
import tensorflow as tf

import lucid.modelzoo.vision_models as models
from lucid.misc.io import load, save, show

import lucid.optvis.objectives as objectives
import lucid.optvis.param as param
import lucid.optvis.render as render

model = models.InceptionV1()
model.load_graphdef()

neuron1 = ("mixed4a_pre_relu", 476)
neuron2 = ("mixed4a_pre_relu", 460)

for neuron in [neuron1, neuron2]:
  param_f = lambda: param.image(128)
  objective = objectives.channel(*neuron)
  _ = render.render_vis(model, objective, param_f)

param_f = lambda: param.image(128, batch=2)
objective = objectives.channel(*neuron1, batch=0) + objectives.channel(*neuron2, batch=1)
_ = render.render_vis(model, objective, param_f)

param_f = lambda: param.image(128, batch=5)
objective = objectives.Objective.sum([
    1.00 * objectives.channel(*neuron1, batch=0),
    0.75 * objectives.channel(*neuron1, batch=1),
    0.50 * objectives.channel(*neuron1, batch=2),
    0.25 * objectives.channel(*neuron1, batch=3),
    0.00 * objectives.channel(*neuron1, batch=4),
    0.00 * objectives.channel(*neuron2, batch=0),
    0.25 * objectives.channel(*neuron2, batch=1),
    0.50 * objectives.channel(*neuron2, batch=2),
    0.75 * objectives.channel(*neuron2, batch=3),
    1.00 * objectives.channel(*neuron2, batch=4),
])
_ = render.render_vis(model, objective, param_f)

objective = objectives.channel_interpolate(*neuron1, *neuron2)
param_f = lambda: param.image(128, batch=5)
_ = render.render_vis(model, objective, param_f=param_f, thresholds=[1024])

objective = sum([objectives.channel(*neuron2, batch=i) for i in range(5)])
param_f = lambda: param.image(128, batch=5, sd=0.5)
images = render.render_vis(model, objective, param_f=param_f, thresholds=[1024], verbose=False)[-1]
show(images)

from lucid.optvis.param import spatial, color, lowres

def default_image_param_f(batch = 1, size = 128, channels = 3):
  shape = (batch, size, size, channels)
  fft_parameterization = spatial.fft_image(shape)
  rgb_parameterization = color.to_valid_rgb(fft_parameterization, decorrelate=True)
  return rgb_parameterization

objective = objectives.channel(*neuron1)
_ = render.render_vis(model, objective, default_image_param_f)

def simple_shared_param_f():
  shared = lowres.lowres_tensor((6, 128, 128, 3), (1, 128, 128, 3))
  return color.to_valid_rgb(shared, decorrelate=True)

objective = objectives.channel_interpolate(*neuron1, *neuron2)
_ = render.render_vis(model, objective, param_f=simple_shared_param_f)

def lowres_param_f():
  shared = lowres.lowres_tensor((6, 128, 128, 3), (1, 128//16, 128//16, 3))
  return color.to_valid_rgb(shared, decorrelate=True)

objective = objectives.channel_interpolate(*neuron1, *neuron2)
_ = render.render_vis(model, objective, param_f=lowres_param_f)

def lowres_interpolate_param_f():
  shared = lowres.lowres_tensor((6, 128, 128, 3), (2, 128//16, 128//16, 3))
  return color.to_valid_rgb(shared, decorrelate=True)

objective = objectives.channel_interpolate(*neuron1, *neuron2)
_ = render.render_vis(model, objective, param_f=lowres_interpolate_param_f)

def interpolate_f():
  unique = spatial.fft_image((6, 128, 128, 3))
  shared = [
    lowres.lowres_tensor((6, 128, 128, 3), (1, 128//2, 128//2, 3)),
    lowres.lowres_tensor((6, 128, 128, 3), (1, 128//4, 128//4, 3)),
    lowres.lowres_tensor((6, 128, 128, 3), (1, 128//8, 128//8, 3)),
    lowres.lowres_tensor((6, 128, 128, 3), (2, 128//8, 128//8, 3)),
    lowres.lowres_tensor((6, 128, 128, 3), (1, 128//16, 128//16, 3)),
    lowres.lowres_tensor((6, 128, 128, 3), (2, 128//16, 128//16, 3)),
  ]
  return color.to_valid_rgb(unique + sum(shared), decorrelate=True)

objective = objectives.channel_interpolate(*neuron1, *neuron2)
images = render.render_vis(model, objective, param_f=interpolate_f, verbose=False)

result = images[-1]
show(result)

interpolation_objective = objectives.channel_interpolate(*neuron1, *neuron2)
alignment_objective = objectives.alignment('mixed3b', decay_ratio=5) + objectives.alignment('mixed4a', decay_ratio=5)
objective = interpolation_objective + 1e-1 * alignment_objective

images = render.render_vis(model, objective, param_f=interpolate_f, verbose=True, thresholds=(32,64,256,512, 1024))
'''


@pytest.mark.slow  # 12 renders; its idioms (lowres batches, channel_interpolate, param.spatial/color/lowres) are
# also in test_neuron_interaction and tests/compat/test_compat_param.py
def test_aligned_interpolation(harness):
    ns = harness(port(ALIGNED_INTERPOLATION_LUCID, [MODEL, ("476", "0"), ("460", "8"), ("128", "32")]))
    assert_every_render_rose(harness.log, 12)
    assert len(ns.images) == 5 and ns.images[-1].shape == (6, 32, 32, 3)
    assert ns.result.shape == (6, 32, 32, 3)


# ---- session notebooks: ported by docs/MIGRATING.md, Lucid's structure kept line by line ------------------------

XY2RGB_PORTED = '''
import numpy as np
import tensorflow as tf

from lucid.modelzoo import vision_models
from lucid.misc.io import show, save, load
from lucid.optvis import objectives
from lucid.optvis import render
from lucid.optvis import param
from lucid.optvis.param.cppn import composite_activation, composite_activation_unbiased, relu_normalized
from lucid.misc.io.serialize_array import _normalize_array

model = vision_models.InceptionV1()
model.load_graphdef()

# image_cppn (tf.contrib.slim) -> param.cppn, the same network (MIGRATING: "slim CPPN")
def image_cppn(size, num_output_channels=3, num_hidden_channels=24, num_layers=8,
               activation_fn=composite_activation, normalize=False):
  return param.cppn(size, num_output_channels=num_output_channels, num_hidden_channels=num_hidden_channels,
                    num_layers=num_layers, activation_func=activation_fn, normalize=normalize)

cppn = image_cppn(224)                 # with tf.Graph().as_default(): image_cppn(224); tf.get_collection(...)
cppn.initialize(np.random.default_rng(0))
print('CPPN parameter count:', sum(w.size for w in cppn.get_weights()))

cppn_f = lambda: image_cppn(64)
optimizer = tf.train.AdamOptimizer(0.01)

def xor_objective(T):
  a = T('input')[0]
  return -(tf.square(a[0, 0])      + tf.square(a[-1, -1]) +
           tf.square(1.0-a[-1, 0]) + tf.square(1.0-a[0, -1]))

vis = render.render_vis(model, xor_objective, param_f=cppn_f, optimizer=optimizer, transforms=[], thresholds=range(10), verbose=False)
show(vis)

def render_feature(
    cppn_f = lambda: image_cppn(224),
    optimizer = tf.train.AdamOptimizer(0.005),
    objective = objectives.channel("mixed4b_3x3_pre_relu", 77)):
  vis = render.render_vis(model, objective, param_f=cppn_f, optimizer=optimizer, transforms=[], thresholds=[2**i for i in range(5,10)], verbose=False)
  show(vis)

render_feature()
render_feature(cppn_f=lambda: image_cppn(224, activation_fn=composite_activation_unbiased))
render_feature(cppn_f=lambda: image_cppn(224, activation_fn=relu_normalized))
render_feature(cppn_f=lambda: image_cppn(224, activation_fn=tf.abs))

# render_story: create_session + make_vis_T + sess.run loop -> make_vis_T + vis.step() (MIGRATING)
def render_story(obj_str, lr=0.004, step_n=512, normalize=False, activation_fn=composite_activation):
  size = 224
  cppn = image_cppn(size, normalize=normalize, activation_fn=activation_fn)
  vis = render.make_vis_T(model, obj_str, param_f=lambda: cppn, transforms=[],
                          optimizer=tf.train.AdamOptimizer(lr))
  subst = {ord(':'):'_', ord('/'):'_'}
  out_name = 'xy2rgb_' + obj_str.translate(subst)
  frames = []
  for i in range(step_n):
    loss = vis.step()
    img = vis("input")
    frames.append(_normalize_array(img))
    if i > 0 and i % 50 == 0:
      print("%d / %d  score: %f"%(i, step_n, loss))
      show(img)
  params = cppn.get_weights()          # sess.run(train_vars)
  save(params, out_name + '.npz')      # a list of arrays (Lucid: an object array in .npy)
  final_img = cppn.render(400)         # T("input").eval({t_size: 400})
  save(final_img, out_name+'.jpg', quality=90)
  return vis, frames

render_story('mixed4b_pool_reduce_pre_relu:16', )
render_story('mixed4a_pool_reduce_pre_relu:52')

# render_params: a session on image_cppn(t_size) with fed weights -> cppn.render(size, weights)
t_image = image_cppn(224)

def render_params(params, size=224):
  return t_image.render(size, [params[k] for k in sorted(params, key=lambda k: int(k.split('_')[1]))])[0]

params = load('xy2rgb_mixed4b_pool_reduce_pre_relu_16.npz')
vis = render_params(params, 800)
show(vis)

def interpolate_params(param1, param2, n_frames=5, size=224):
  frames = []
  for t in np.linspace(0.0, 1.0, n_frames):
    t = (1.0-np.cos(2.0*np.pi*t))/2.0
    params = {k: param1[k]*(1.0-t) + param2[k]*t for k in param1}
    params = {k: v*(1.0 + t*(1.0-t)) for k, v in params.items()}
    frames.append(_normalize_array(render_params(params, size=size)))
  return frames

frames = interpolate_params(
    load('xy2rgb_mixed4b_pool_reduce_pre_relu_16.npz'),
    load('xy2rgb_mixed4a_pool_reduce_pre_relu_52.npz'),
)
'''


@pytest.mark.slow  # 9 CPPN renders; the CPPN rows of the guide are also tested in tests/compat/test_compat_render.py
def test_xy2rgb(harness, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = harness(port(XY2RGB_PORTED, [
        ("vision_models.InceptionV1()", "TinyInception()"),
        ("mixed4b_3x3_pre_relu", "mixed4b_pre_relu"), (", 77)", ", 8)"),
        ("mixed4b_pool_reduce_pre_relu:16", "mixed4b_pre_relu:1"), ("mixed4a_pool_reduce_pre_relu:52", "mixed4a:5"),
        ("xy2rgb_mixed4b_pool_reduce_pre_relu_16", "xy2rgb_mixed4b_pre_relu_1"),
        ("xy2rgb_mixed4a_pool_reduce_pre_relu_52", "xy2rgb_mixed4a_5"),
        ("image_cppn(224", "image_cppn(32"), ("size = 224", "size = 32"), ("cppn.render(400)", "cppn.render(48)"),
        ("render_params(params, 800)", "render_params(params, 48)"), ("step_n=512", "step_n=8"),
        ("image_cppn(64)", "image_cppn(16)"),
    ]))
    assert_every_render_rose(harness.log, 7)
    assert ns.vis.shape == (48, 48, 3) and ns.frames[0].dtype == np.uint8 and len(ns.frames) == 5
    assert (tmp_path / "xy2rgb_mixed4b_pre_relu_1.jpg").exists()
    story_vis, story_frames = ns.render_story("mixed4b_pre_relu:2", step_n=3)
    assert len(story_frames) == 3 and story_frames[-1].shape == (32, 32, 3)


TRANSPARENCY_PORTED = '''
import numpy as np
import tensorflow as tf

from lucid.modelzoo import vision_models
from lucid.misc.io import load, save, show
from lucid.optvis import objectives, transform
from lucid.optvis.param import image, image_sample
from lucid.optvis import param
from lucid.optvis import render as optvis_render

model = vision_models.InceptionV1()
model.load_graphdef()

from math import ceil

def checkerboard(h, w=None, channels=3, tiles=4, fg=.95, bg=.6):
  w = w or h
  square_size = [ceil(float(d / tiles) / 2) for d in [h, w]]
  board = [[fg, bg] * tiles, [bg, fg] * tiles] * tiles
  scaled = np.kron(board, np.ones(square_size))[:w, :h]
  return np.dstack([scaled]*channels)

def linear2gamma(a):
  return a**(1.0/2.2)

def gamma2linear(a):
  return a**2.2

def composite_alpha_onto_backgrounds(rgba, input_encoding='gamma', output_encoding='gamma'):
  if input_encoding == 'gamma':
    rgba = rgba.copy()
    rgba[..., :3] = gamma2linear(rgba[..., :3])
  h, w = rgba.shape[:2]
  black = np.zeros((h, w, 3), np.float32)
  white = np.ones((h, w, 3), np.float32)
  grid = checkerboard(h, w, 3, tiles=8)
  rgb, a = rgba[...,:3], rgba[...,3:]
  vis = [background*(1.0-a) + rgb*a for background in [black, white, grid]]
  vis.append(white*a)
  vis = np.float32(vis).reshape(2, 2, h, w, 3)
  vis = np.vstack(list(map(np.hstack, vis)))
  if output_encoding == 'gamma':
    vis = linear2gamma(vis)
  return vis

rgba_image = load("https://storage.googleapis.com/tensorflow-lucid/notebooks/rgba/rgba-example.png")
show(composite_alpha_onto_backgrounds(rgba_image))

# render: a session graph -> a parameterization, transforms and an objective for make_vis_T (MIGRATING)
def render(obj_str, iter_n=1000):
  w, h = 320, 320
  t_image = image(h, w, decorrelate=True, fft=True, alpha=True)
  t_rgb = t_image[...,:3]
  t_alpha = t_image[...,3:]
  t_bg = image_sample([1, h, w, 3], sd=0.2, decay_power=1.5)

  t_composed = t_bg*(1.0-t_alpha) + t_rgb*t_alpha
  t_composed = param.concat([t_composed, t_alpha], -1)
  transforms = [transform.random_scale([0.6, 0.7, 0.8, 0.9, 1.0, 1.1]),   # then tf.random_crop to 160:
                transform.random_crop(160, 160),
                linear2gamma]                                          # on the crop's RGB, as Lucid

  obj = objectives.as_objective(obj_str)
  t_alpha_mean_crop = objectives.Objective(lambda T: tf.reduce_mean(T("alpha_transformed")))
  t_alpha_mean_full = objectives.Objective(lambda T: tf.reduce_mean(T("input")[..., 3:]))
  loss = obj*(1.0-t_alpha_mean_full)*0.5 + obj*(1.0-t_alpha_mean_crop)   # tf.losses.add_loss(-...) x 2

  vis = optvis_render.make_vis_T(model, loss, param_f=lambda: t_composed, transforms=transforms,
                           optimizer=tf.train.AdamOptimizer(0.03))
  log = []
  out_name = obj_str.replace(':', '_')
  for i in range(iter_n):
    loss_ = vis.step()          # sess.run([train_op, t_loss, t_image], {t_lr: 0.03}); the objective = -t_loss
    img = vis(t_image)
    log.append(loss_)
    if i%100 == 0:
      print(len(log), loss_)
      show(linear2gamma(vis(t_composed)[..., :3]))

  img = vis(t_image)[0]
  vis_ = composite_alpha_onto_backgrounds(img, 'linear', 'gamma')
  img[..., :3] = linear2gamma(img[..., :3])
  show(vis_)
  save(img, out_name+'.png')

  alpha = img[...,3]
  alpha = np.dstack([alpha]*3)
  joined = np.hstack([img[...,:3], alpha])
  save(joined, out_name+'.jpg', quality=90)
  return log, vis

loss_log, last_vis = render('mixed4d_3x3_bottleneck_pre_relu:139')
'''


def test_transparency(harness, http_files, tmp_path, monkeypatch):
    """The session graph becomes a parameterization (composited RGBA, alpha last) and an objective that reads the
    crop's alpha (T("alpha_transformed")); load(url) reads the example image through the HTTP cache."""
    server, root = http_files
    from lucid_fast.misc import io
    from lucid_fast.modelzoo import _download

    rgba = np.dstack([np.random.default_rng(0).uniform(size=(24, 24, 3)), np.linspace(0, 1, 24 * 24).reshape(24, 24)])
    (root / "tensorflow-lucid" / "notebooks" / "rgba").mkdir(parents=True)
    io.save(rgba, str(root / "tensorflow-lucid/notebooks/rgba/rgba-example.png"), domain=(0, 1))
    urlopen = _download._urlopen  # the notebook's Google Cloud URL, served by the local server
    monkeypatch.setattr(_download, "_urlopen", lambda url, timeout=60: urlopen(
        url.replace("https://storage.googleapis.com", server.url), timeout))
    monkeypatch.chdir(tmp_path)
    ns = harness(port(TRANSPARENCY_PORTED, [
        ("vision_models.InceptionV1()", "TinyInception()"),
        ("mixed4d_3x3_bottleneck_pre_relu:139", "mixed4d:12"), ("w, h = 320, 320", "w, h = 48, 48"),
        ("transform.random_crop(160, 160)", "transform.random_crop(24, 24)"),
        ("iter_n=1000", "iter_n=12"),
    ]))
    assert ns.rgba_image.shape == (24, 24, 4)
    assert_every_render_rose(harness.log, 1)
    saved = io.load(str(tmp_path / "mixed4d_12.png"))
    assert saved.shape == (48, 48, 4)
    assert ns.last_vis("input")[..., 3].mean() < 0.5  # alpha starts near sigmoid(0) = 0.5; transparency pays


FEATURE_INVERSION_PORTED = '''
import numpy as np
import tensorflow as tf
import scipy.ndimage as nd

import lucid.modelzoo.vision_models as models
import lucid.optvis.objectives as objectives
import lucid.optvis.param as param
import lucid.optvis.render as render
import lucid.optvis.transform as transform
from lucid.misc.io import show, load
from lucid.misc.io.reading import read

model = models.InceptionV1()
model.load_graphdef()

def imgToModelSize(arr):
  W = model.image_shape[0]
  w, h, _ = arr.shape
  s = float(W) / min(w,h)
  arr = nd.zoom(arr, [s, s, 1], mode="nearest")
  w, h, _ = arr.shape
  dw, dh = (w-W)//2, (h-W)//3
  return arr[dw:dw+W, dh:dh+W]

@objectives.wrap_objective
def dot_compare(layer, batch=1, cossim_pow=0):
  def inner(T):
    dot = tf.reduce_sum(T(layer)[batch] * T(layer)[0])
    mag = tf.sqrt(tf.reduce_sum(T(layer)[0]**2))
    cossim = dot/(1e-6 + mag)
    return dot * cossim ** cossim_pow
  return inner

# placeholder + tf.stack([param_f[0], t_input]) -> param.stack([param_f[0], img]); sess.run loop -> vis.step()
def feature_inversion(img=None, layer=None, n_steps=512, cossim_pow=0.0):
  img = imgToModelSize(img)

  objective = objectives.Objective.sum([
      1.0 * dot_compare(layer, cossim_pow=cossim_pow),
      objectives.blur_input_each_step(),
  ])

  param_f = param.image(img.shape[0], decorrelate=True, fft=True, alpha=False)
  param_f = param.stack([param_f[0], img])

  transforms = [
    transform.pad(8, mode='constant', constant_value=.5),
    transform.jitter(8),
    transform.random_scale([0.9, 0.95, 1.05, 1.1] + [1]*4),
    transform.random_rotate(list(range(-5, 5)) + [0]*5),
    transform.jitter(2),
  ]

  vis = render.make_vis_T(model, objective, param_f, transforms=transforms)

  for i in range(n_steps): _ = vis.step()

  result = vis("input")
  show(result[0])
  return result

img = load("https://storage.googleapis.com/lucid-static/building-blocks/examples/dog_cat.png")

layers = ['conv2d%d' % i for i in range(0, 3)] + ['mixed3a', 'mixed3b',
                                                  'mixed4a', 'mixed4b', 'mixed4c', 'mixed4d', 'mixed4e',
                                                  'mixed5a', 'mixed5b']

results = {}
for layer in layers:
  print(layer)
  results[layer] = feature_inversion(img, layer=layer)
  print("")

for cossim in [0.0, 0.5, 1.0, 2.0]:
  print(cossim)
  results[cossim] = feature_inversion(img, layer='mixed4d', cossim_pow=cossim)
  print("")
'''


def test_feature_inversion_caricatures(harness, http_files, monkeypatch):
    server, root = http_files
    from lucid_fast.misc import io
    from lucid_fast.modelzoo import _download

    photo = np.random.default_rng(1).uniform(size=(40, 48, 3))
    (root / "lucid-static" / "building-blocks" / "examples").mkdir(parents=True)
    io.save(photo, str(root / "lucid-static/building-blocks/examples/dog_cat.png"), domain=(0, 1))
    urlopen = _download._urlopen
    monkeypatch.setattr(_download, "_urlopen", lambda url, timeout=60: urlopen(
        url.replace("https://storage.googleapis.com", server.url), timeout))
    ns = harness(port(FEATURE_INVERSION_PORTED, [
        ("models.InceptionV1()", "TinyInception()"), ("n_steps=512", "n_steps=4"),
        ("""layers = ['conv2d%d' % i for i in range(0, 3)] + ['mixed3a', 'mixed3b',
                                                  'mixed4a', 'mixed4b', 'mixed4c', 'mixed4d', 'mixed4e',
                                                  'mixed5a', 'mixed5b']""", "layers = ['conv2d1', 'mixed3b', 'mixed5a']"),
    ]))
    assert_every_render_rose(harness.log, 7)
    result = ns.results[0.0]
    assert result.shape == (2, 32, 32, 3)
    assert np.abs(result[1] - ns.imgToModelSize(ns.img)).max() < 1e-6  # item 1 stays the photo
