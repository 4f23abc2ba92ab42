"""Images whose gradient the redirected ReLU leaves at exactly zero get the redirection forced (issue 24).

Lucid's redirected ReLU acts on an image only where no unit passes any gradient. A unit can pass one and still
give the image nothing: its receptive field may hold only the transforms' padding. vgg16_hed's block1_conv2:4
stayed at 0 for the 128 transformed steps of the fast preset that way; the engine now reruns such a step with
``relu_override="force"`` for those images only (optvis/engine.py, ``_revive_dead_images``)."""
import importlib.util
import os

import numpy as np

from lucid_fast import modelzoo, ops
from lucid_fast.optvis import param, render


def _tiny():
    """The engine reference cases' tiny model (tests/engine/reference_cases.py), whose conv2:5 starts dead."""
    path = os.path.join(os.path.dirname(__file__), "..", "engine", "reference_cases.py")
    spec = importlib.util.spec_from_file_location("reference_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tiny_model()


def test_a_dead_image_gets_the_forced_gradient_and_a_live_one_keeps_its_own():
    """The tiny model's conv2:5 at 32 px: the first step's ordinary (per-item) gradient reaches neither image;
    the engine's does, and equals the forced pass's on those images."""
    vis = render.make_vis_T(_tiny(), "conv2:5", lambda: param.image(32, batch=2), seed=1)
    rng_state = vis.rng.bit_generator.state
    x_raw = vis.graph.forward()
    mats, size = vis.chain.sample(2, x_raw.shape[1:3], vis.rng)
    x = ops.affine_warp(x_raw, mats, out_hw=size, pad_mode=vis.chain.pad_mode, fill_value=vis.chain.fill_value)
    ordinary = vis.model_step(x, x_raw, True)
    ordinary_pre = vis._warp_adjoint(ordinary.grad_x, mats, x_raw.shape)
    assert not ordinary_pre.any() and not np.asarray(ordinary.grad_raw).any()  # both images dead
    forced = vis.model_step(x, x_raw, "force")
    forced_pre = vis._warp_adjoint(forced.grad_x, mats, x_raw.shape)
    assert all(forced_pre[b].any() for b in range(2))
    vis.rng.bit_generator.state = rng_state  # the step draws the same transforms again
    _, grads = vis.compute_gradients()
    assert all(np.abs(g).max() > 0 for g in grads.values())


def test_live_images_are_untouched():
    """A channel every image activates: no second pass, the gradient is the ordinary one (bit for bit)."""
    vis = render.make_vis_T(_tiny(), "conv1:2", lambda: param.image(32, batch=2), seed=2)
    calls = []
    step = vis.model_step

    class Counting:
        def __getattr__(self, name):
            return getattr(step, name)

        def __call__(self, *args):
            calls.append(args[2])
            return step(*args)

    vis.model_step = Counting()
    vis.compute_gradients()
    assert calls == [True]


def test_vgg16_block1_conv2_4_rises_from_the_start():
    """The channel the issue saw at exactly 0.0 for 128 steps rises within the first 24 steps at 64 px."""
    model = modelzoo.load_model("vgg16_hed")
    vis = render.make_vis_T(model, "block1_conv2:4", lambda: param.image(64), optimizer=0.15, seed=0)
    trace = [vis.step() for _ in range(24)]
    assert trace[0] < 0.01
    assert trace[-1] > 100 * max(trace[0], 1e-4) and trace[-1] > 1.0, trace
