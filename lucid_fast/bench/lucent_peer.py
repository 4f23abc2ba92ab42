"""The peer worker of ``python -m lucid_fast.bench lucent``: Lucent (``torch-lucent``) and Horama, run by path in
their own environment (``bench/peers_torch_env.sh``), never imported by the library.

    PEER_PYTHON lucid_fast/bench/lucent_peer.py probe
    PEER_PYTHON lucid_fast/bench/lucent_peer.py worker MODEL_JSON --tool lucent|horama_fourier --size S --batch B
    PEER_PYTHON lucid_fast/bench/lucent_peer.py render MODEL_JSON --size S --thresholds 64 ... 512 --out PREFIX

Only the standard library, numpy, torch and the peers are imported here: the peer environment has no lucid_fast
(no compiled extension, no TensorFlow). The driver's side imports this file for :func:`build_model` and
:func:`fingerprint` (torch only), so that both processes build the same module and load the same state dict.

What is called, as the peers' users call them (each library's defaults unless named):

* Lucent: per step, the body of ``lucent.optvis.render.render_vis``'s loop built from Lucent's own parts
  (``param.image(size, batch=batch)``: FFT, decorrelated, sd 0.01; ``transform.standard_transforms`` plus the
  ``Upsample(224, bilinear, align_corners=True)`` render_vis appends below 224 px; ``render.hook_model``;
  ``objectives.as_objective``; ``torch.optim.Adam(params, lr=5e-2)``; ``optimizer.step(closure)``). Whole renders
  call ``render.render_vis(model, objective, param_f, thresholds=..., preprocess=False, progress=False,
  show_image=False)``: ``preprocess=False`` because these models normalize their own [0, 1] RGB input (Lucent's
  default would apply torchvision's ImageNet normalization on top).
* Horama 0.3.0: ``horama.fourier(objective, total_steps=..., device="cpu", values_range=(0, 1))`` and
  ``horama.maco(...)`` likewise (defaults otherwise: 1280 px image, 6 crops per step resized to 224, NAdam lr
  1.0); ``values_range=(0, 1)`` because the models take [0, 1] RGB. Steps are timed on the body of ``fourier``'s
  loop built from its parts (``fourier_preconditionner``, ``optimization_step``).
"""
import json
import os
import sys
import time
import traceback

MARK = "@@bench "
LUCENT_UPSAMPLE = 224  # render_vis upsamples images smaller than this to this size


def report(**kw):
    sys.stdout.write(MARK + json.dumps(kw) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------------------
# models: both sides build the module here and load the same state dict


def build_standin(width=16):
    """A small VGG-style torch model (no torchvision) for tests and for runs without the modelzoo's models:
    input NCHW RGB in [0, 1], normalized inside; layers ``conv1`` .. ``conv4`` (pre-ReLU) and ``relu1`` ..."""
    import torch
    from torch import nn

    class StandInVGG(nn.Module):
        def __init__(self):
            super().__init__()
            c = [3, width, width, 2 * width, 2 * width]
            for i in range(1, 5):
                self.add_module(f"conv{i}", nn.Conv2d(c[i - 1], c[i], 3, padding=1))
                self.add_module(f"relu{i}", nn.ReLU())
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            h = (x - 0.5) / 0.5
            h = self.relu1(self.conv1(h))
            h = self.pool(self.relu2(self.conv2(h)))
            h = self.relu3(self.conv3(h))
            return self.relu4(self.conv4(self.pool(h)))

    torch.manual_seed(0)
    return StandInVGG()


def _load_file(path):
    import importlib.util

    name = "_lucent_bench_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def build_model(spec):
    """The torch module described by ``spec`` (a dict written by the driver), its weights loaded from
    ``spec["state"]`` (strict), in eval mode. Kinds: ``standin`` (above), ``file`` (``spec["function"]`` of a
    torch-only Python file, loaded by path), ``module`` (``spec["function"]`` of an importable module)."""
    import torch

    kind, kwargs = spec["kind"], spec.get("kwargs", {})
    if kind == "standin":
        model = build_standin(**kwargs)
    elif kind == "file":
        model = getattr(_load_file(spec["path"]), spec["function"])(**kwargs)
    elif kind == "module":
        import importlib

        model = getattr(importlib.import_module(spec["module"]), spec["function"])(**kwargs)
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    if spec.get("state"):
        model.load_state_dict(torch.load(spec["state"], map_location="cpu", weights_only=True), strict=True)
    return model.eval()


def fingerprint(model, layer, size=64):
    """The mean of ``layer``'s output (a ``named_modules`` path) on a fixed, RNG-free image: the same number in
    both processes when they hold the same weights."""
    import torch

    module = dict(model.named_modules())[layer]
    seen = {}
    handle = module.register_forward_hook(lambda m, i, o: seen.__setitem__("out", o))
    try:
        g = torch.linspace(0.0, 1.0, size)
        x = torch.stack([g[None, :].expand(size, size), g[:, None].expand(size, size),
                         0.5 + 0.25 * torch.sin(12.0 * g[None, :] * g[:, None])])[None]
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return float(seen["out"].double().mean())


def input_view(model, value_range=(0.0, 1.0), resize=None):
    """``model`` behind what its input needs, its ``named_modules()`` names unchanged: ``resize`` (bilinear,
    ``align_corners=True`` to ``resize x resize``: the ``Upsample`` Lucent's render_vis appends below 224 px)
    and the linear map of [0, 1] onto ``value_range``. An ``nn.Sequential`` stays one (the view is a first
    child named ``input_view``, so lucid_fast can still slice its layers); any other module's children are
    adopted by a wrapper whose forward is the model's. ``model`` itself when nothing is needed."""
    import torch
    from torch import nn

    lo, hi = (float(v) for v in value_range)
    if resize is None and (lo, hi) == (0.0, 1.0):
        return model

    class View(nn.Module):
        def forward(self, x):
            if resize is not None:
                x = torch.nn.functional.interpolate(x, size=(resize, resize), mode="bilinear", align_corners=True)
            return x if (lo, hi) == (0.0, 1.0) else x * (hi - lo) + lo

    if type(model).forward is nn.Sequential.forward:
        from collections import OrderedDict

        return nn.Sequential(OrderedDict([("input_view", View()), *model.named_children()])).eval()

    class Adopted(nn.Module):
        def __init__(self):
            super().__init__()
            for name, child in model.named_children():
                self.add_module(name, child)
            object.__setattr__(self, "_view", View())  # not a child: the layer names stay the model's
            object.__setattr__(self, "_inner", model)

        def forward(self, x):
            return self._inner(self._view(x))

    return Adopted().eval()


def lucent_name(layer):
    """Lucent's name of a ``named_modules`` path: its parts joined by ``_`` (``render.hook_model``)."""
    return layer.replace(".", "_")


# ---------------------------------------------------------------------------------------------------------
# Lucent


def lucent_objective(layer, channel, batch):
    """``"layer:channel"`` for one image; for a batch, ``channel(layer, channel + i, batch=i)`` summed over
    the items (one channel per image, as Lucent's notebooks build a batch objective)."""
    from lucent.optvis import objectives

    name = lucent_name(layer)
    if batch == 1:
        return f"{name}:{channel}"
    obj = objectives.channel(name, channel, batch=0)
    for i in range(1, batch):
        obj = obj + objectives.channel(name, channel + i, batch=i)
    return obj


def lucent_stepper(model, args):
    import torch
    from lucent.optvis import objectives, param, render, transform

    params, image_f = param.image(args.size, batch=args.batch)
    optimizer = torch.optim.Adam(params, lr=5e-2)
    transforms = transform.standard_transforms.copy()
    shape = image_f().shape
    if shape[2] < LUCENT_UPSAMPLE or shape[3] < LUCENT_UPSAMPLE:
        transforms.append(torch.nn.Upsample(size=LUCENT_UPSAMPLE, mode="bilinear", align_corners=True))
    transform_f = transform.compose(transforms)
    hook = render.hook_model(model, image_f)
    objective_f = objectives.as_objective(lucent_objective(args.layer, args.channel, args.batch))

    def closure():
        optimizer.zero_grad()
        model(transform_f(image_f()))
        loss = objective_f(hook)
        loss.backward()
        return loss

    def step():
        return -float(optimizer.step(closure).detach())  # Lucent minimizes the negative objective

    return step


def lucent_render(model, args):
    from lucent.optvis import param, render

    objective = lucent_objective(args.layer, args.channel, args.batch)
    t0 = time.perf_counter()
    images = render.render_vis(model, objective, param_f=lambda: param.image(args.size, batch=args.batch),
                               thresholds=tuple(args.thresholds), preprocess=False, progress=False,
                               show_image=False)
    return time.perf_counter() - t0, images


# ---------------------------------------------------------------------------------------------------------
# Horama


def horama_objective(model, layer, channel):
    """What a Horama user writes for a channel: the model on the crops, the channel's mean via a hook."""
    module = dict(model.named_modules())[layer]
    seen = {}
    module.register_forward_hook(lambda m, i, o: seen.__setitem__("out", o))

    def objective(images):
        model(images)
        return seen["out"][:, channel].mean()

    return objective


def horama_fourier_stepper(model, args):
    """One step of ``horama.fourier`` with its defaults (the body of its loop, from its own parts)."""
    import torch
    from horama.common import optimization_step
    from horama.fourier_fv import fourier_preconditionner, get_fft_scale, init_lucid_buffer

    size, values_range = 1280, (0.0, 1.0)
    spectrum = init_lucid_buffer(size, size, std=1.0)
    scaler = get_fft_scale(size, size, 1.5)
    spectrum.requires_grad = True
    optimizer = torch.optim.NAdam([spectrum], lr=1.0)
    objective = horama_objective(model, args.layer, args.channel)

    def step():
        optimizer.zero_grad()
        image = fourier_preconditionner(spectrum, scaler, values_range, "cpu")
        loss, img = optimization_step(objective, image, (0.20, 0.25), 0.05, 6, 224)
        loss.backward()
        optimizer.step()
        return -float(loss.detach())

    return step


def horama_call(model, args, entry):
    """``horama.<entry>(objective, total_steps=N, device="cpu", values_range=(0, 1))``, as a user calls it."""
    import horama

    fn = getattr(horama, entry)
    t0 = time.perf_counter()
    image, _ = fn(horama_objective(model, args.layer, args.channel), total_steps=args.steps, device="cpu",
                  values_range=(0.0, 1.0))
    return time.perf_counter() - t0, image.detach().permute(1, 2, 0).numpy()[None]


# ---------------------------------------------------------------------------------------------------------
# the modes


def _versions():
    out = {"python": sys.version.split()[0]}
    for name in ("torch", "torchvision", "torch-lucent", "horama", "kornia", "numpy"):
        try:
            from importlib.metadata import version

            out[name] = version(name)
        except Exception:  # noqa: BLE001 - not installed
            out[name] = None
    return out


def probe():
    """Which peers import here: ``{"lucent": null or the error, "horama": ...}`` and the versions."""
    errors = {}
    for name, module in (("lucent", "lucent.optvis.render"), ("horama", "horama")):
        try:
            __import__(module)
            errors[name] = None
        except Exception as err:  # noqa: BLE001 - reported, not patched
            errors[name] = f"{type(err).__name__}: {err}"
    report(event="probe", errors=errors, versions=_versions())


def _seed():
    import numpy as np
    import torch

    np.random.seed(0)
    torch.manual_seed(0)


def worker(model, args):
    """Reports its start-up, then runs ``steps N`` commands from stdin (the driver's protocol of bench.lucid)."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    ready = time.time()
    step = {"lucent": lucent_stepper, "horama_fourier": horama_fourier_stepper}[args.tool](model, args)
    loss = step()
    report(event="started", t_ready=ready, t_first_step=time.time(), loss=loss,
           fingerprint=fingerprint(model, args.layer))
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        times, cpu, losses = [], [], []
        for _ in range(int(cmd[1])):
            t0, c0 = time.perf_counter(), time.process_time()
            losses.append(step())
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        report(event="steps", times=times, cpu=cpu, losses=losses)


def render(model, args):
    """A whole run, timed from the call to its return; the images saved as ``PREFIX_<step>.npy`` (NHWC)."""
    import numpy as np

    if args.tool == "lucent":
        seconds, images = lucent_render(model, args)
        steps = list(args.thresholds)
    else:
        seconds, image = horama_call(model, args, args.tool.split("_", 1)[1])
        images, steps = [image], [args.steps]
    paths = []
    for k, img in zip(steps, images):
        paths.append(f"{args.out}_{k}.npy")
        np.save(paths[-1], np.asarray(img, np.float32))
    report(event="render", seconds=seconds, steps=steps, paths=paths)


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(prog="lucent_peer.py")
    p.add_argument("mode", choices=["probe", "worker", "render"])
    p.add_argument("model", nargs="?", help="the model's JSON spec (see build_model)")
    p.add_argument("--tool", default="lucent", choices=["lucent", "horama_fourier", "horama_maco"])
    p.add_argument("--layer", default="conv3")
    p.add_argument("--channel", type=int, default=0)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=16, help="horama renders: total_steps")
    p.add_argument("--thresholds", type=int, nargs="+", default=[512])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if args.mode == "probe":
        return probe()
    with open(args.model) as fh:
        spec = json.load(fh)
    _seed()
    model = input_view(build_model(spec), spec.get("value_range", (0.0, 1.0)))
    t_loaded = time.time()
    try:
        (worker if args.mode == "worker" else render)(model, args)
    except Exception as err:  # noqa: BLE001 - a peer's failure is reported with its error, not patched
        report(event="error", error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc(),
               t_loaded=t_loaded)
        raise SystemExit(1)


if __name__ == "__main__":
    # run by path, this file's folder heads sys.path, and lucid_fast/bench/lucent.py would shadow Lucent's package
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    main()
