"""Whole renders on a CUDA GPU through PyTorch, without TensorFlow: the driver of bench/gpu_check.sh (issue 22).

    python -m lucid_fast.bench.gpu_render --device cuda --out DIR     (on the GPU machine)
    python -m lucid_fast.bench.gpu_render --dry-run                   (here: numpy on the CPU, same code path)

What it does, in order, and where it fails loudly (exit status 1, the reason in ``DIR/gpu_render.json`` and on
stderr):

1. **No TensorFlow.** ``import lucid_fast`` and the render path (the engine, objectives, param, transform, the
   model zoo, the torch adapter modules ``lucid_fast/models/torch_*.py``) are imported under an import hook that
   records every attempt to import ``tensorflow`` / ``keras`` with the lucid_fast modules on the stack, and (with
   ``--block-tf``, the default) refuses it, as the GPU machine (no TensorFlow installed) does. Any attempt fails
   the run and names the importing modules.
2. **The image side alone** (``synthetic``: a model side that is one multiply on the device), then **each
   model** (``--models``, loaded with ``lucid_fast.modelzoo.load_model``; a model that cannot be loaded fails
   the run) at 128 px x1 and 224 px x4: milliseconds per step (whole step without synchronization; then model
   side and image side apart, synchronizing around the model call), the host <-> device copies of a step
   (``bench/gpu_copies.py``: entry point, caller, bytes; any copy larger than ``--max-copy-bytes`` fails the
   run: the step must move no image-sized data), and the peak memory per image pixel (torch's peak plus CuPy's
   pool), the number ``optvis.device_batch`` wants.
3. **Visualizations per hour**: K channels (``optvis.device_batch.channels_per_optimization`` from the measured
   memory, at most ``--max-k``) rendered together at 128 px for 128 steps, timed whole.
"""
import argparse
import importlib
import json
import os
import sys
import time
import traceback

TF_NAMES = ("tensorflow", "keras", "tf_keras")
PATH_MODULES = ("lucid_fast", "lucid_fast.ops", "lucid_fast.models", "lucid_fast.models.protocol",
                "lucid_fast.optvis.engine", "lucid_fast.optvis.objectives", "lucid_fast.optvis.param",
                "lucid_fast.optvis.transform", "lucid_fast.optvis.optimizers", "lucid_fast.optvis.device_batch",
                "lucid_fast.modelzoo")
DEFAULT_MODELS = ("vgg16_hed_torch", "efficientnet_lite0")  # the torch zoo entries (issue 22)
CASES = ((128, 1), (224, 4))


class TFImportHook:
    """A sys.meta_path finder that records (and with ``block`` refuses) imports of TensorFlow / Keras."""

    def __init__(self, block):
        self.block, self.attempts = block, []

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in TF_NAMES:
            return None
        stack = []
        f = sys._getframe(1)
        while f is not None:
            mod = f.f_globals.get("__name__", "")
            if mod.startswith("lucid_fast") and mod != __name__ and (not stack or stack[-1][0] != mod):
                stack.append((mod, f.f_lineno))
            f = f.f_back
        self.attempts.append({"module": name, "from": [f"{m}:{line}" for m, line in stack]})
        if self.block:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by gpu_render --block-tf: the GPU machine "
                                      f"has no TensorFlow)", name=name)
        return None


def check_tf_free(block):
    """Imports the render path under :class:`TFImportHook`; returns the report (``ok`` False on any attempt)."""
    report = {"already_loaded": sorted(n for n in sys.modules if n.split(".")[0] in TF_NAMES)}
    hook = TFImportHook(block)
    sys.meta_path.insert(0, hook)
    modules = list(PATH_MODULES)
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
    modules += sorted(f"lucid_fast.models.{n[:-3]}" for n in os.listdir(here) if n.startswith("torch_") and
                      n.endswith(".py"))
    results = {}
    try:
        for name in modules:
            try:
                importlib.import_module(name)
                results[name] = "ok"
            except Exception as err:  # noqa: BLE001 - reported, and fails the run
                results[name] = f"{type(err).__name__}: {err}"
    finally:
        sys.meta_path.remove(hook)
    report.update(imports=results, tf_attempts=hook.attempts,
                  tf_in_sys_modules=sorted(n for n in sys.modules if n.split(".")[0] in TF_NAMES))
    report["ok"] = not (hook.attempts or report["tf_in_sys_modules"] or any(v != "ok" for v in results.values()))
    return report


# ---- the synthetic model side: one multiply on the device, to time and count the image side alone -------------

class _SyntheticStep:
    layers, wants_alpha, sliced, slice_channels = ("synthetic",), False, (), False

    def __init__(self, xp, per_item):
        self.xp, self.per_item = xp, per_item
        self.weights = None

    def __call__(self, x, x_raw, relu_override, feeds):
        from lucid_fast.models.protocol import StepOutput

        xp = self.xp
        if self.weights is None:
            self.weights = xp.asarray([0.3, -0.2, 0.5], dtype=xp.float32)
        n = x[0].size
        grad_x = xp.empty(x.shape, xp.float32)
        grad_x[...] = self.weights / n
        per = (x * self.weights).sum(axis=(1, 2, 3)) / n
        loss = float(per.sum())  # the one scalar a model step copies to the host
        return StepOutput(loss, grad_x, xp.zeros(x_raw.shape, xp.float32), per if self.per_item else None)

    def set_transforms(self, fns):
        pass

    def gradient_reaches_image(self, shape):
        return True

    def channel_slices(self):
        return {}


def synthetic_adapter(device_name):
    """A model adapter whose model side is a fixed linear map computed on ``device_name``'s arrays."""
    from lucid_fast import ops
    from lucid_fast.models.protocol import ModelAdapter

    dev = ops.device(device_name)

    class Synthetic(ModelAdapter):
        name = "synthetic"

        def device(self):
            return dev.name

        def runs_on_gpu(self):
            return not dev.is_host

        def layers(self):
            return []

        def estimate_step_bytes(self, layer_names, input_shape, native_bytes=0):
            return native_bytes

        def objective_step(self, objective, image_shape, transforms=(), per_item=False, **options):
            return _SyntheticStep(dev.xp, per_item)

    return Synthetic()


class _Objective:
    native_terms = ()
    description = "synthetic"


# ---- renders -------------------------------------------------------------------------------------------------

def load(spec, device_name):
    """``name[:key=value,...]`` -> the zoo's adapter (values parsed as JSON where they parse), its model moved to
    ``device_name`` when it is a PyTorch model on another device (the zoo builds on the CPU)."""
    from lucid_fast import modelzoo

    name, _, rest = spec.partition(":")
    kwargs = {}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        try:
            kwargs[k] = json.loads(v)
        except ValueError:
            kwargs[k] = v
    adapter = modelzoo.load_model(name, **kwargs)
    module = getattr(adapter, "model", None)
    if device_name != "cpu" and hasattr(adapter, "torch_device") and adapter.device() != device_name:
        adapter = type(adapter)(module.to(device_name), image_shape=adapter.image_shape,
                                image_value_range=adapter.image_value_range, preprocess=adapter.preprocess,
                                input_channels=adapter.input_channels, name=adapter.name, labels=adapter.labels,
                                logits_layer=adapter.logits_layer)
    return adapter


def pick_layer(adapter, k):
    """A layer about 60% of the way through the model with at least ``k`` channels (or the given one)."""
    infos = [i for i in adapter.layers() if i.channels and i.channels >= k and i.spatial is not None]
    if not infos:
        raise ValueError(f"{adapter.name}: no layer with >= {k} channels and a spatial size in its layer table")
    return infos[int(0.6 * (len(infos) - 1))].name


class _TimedStep:
    """Wraps a model step: synchronizes the device around it and adds its time to ``seconds``."""

    def __init__(self, step, sync):
        self.step, self.sync, self.seconds = step, sync, 0.0

    def __call__(self, *args):
        self.sync()
        t0 = time.perf_counter()
        out = self.step(*args)
        self.sync()
        self.seconds += time.perf_counter() - t0
        return out

    def __getattr__(self, name):
        return getattr(self.step, name)


def _sync_fn(dev):
    if dev.is_host:
        return lambda: None
    return lambda: dev.xp.cuda.Device(dev.index).synchronize()


def _peak_bytes(dev, reset=False):
    """Peak GPU memory of torch's allocator (when torch is loaded) plus what CuPy's pool holds."""
    if dev.is_host:
        return None
    total = dev.xp.get_default_memory_pool().total_bytes()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        if reset:
            torch.cuda.reset_peak_memory_stats(dev.index)
        total += torch.cuda.max_memory_allocated(dev.index)
    return total


def make_engine(adapter, layer, channels, size, seed=0):
    from lucid_fast.optvis import objectives, param, transform
    from lucid_fast.optvis.engine import Engine
    from lucid_fast.optvis.optimizers import Adam

    k = len(channels)
    if layer is None:
        objective = _Objective()
    elif k == 1:
        objective = objectives.channel(layer, channels[0])
    else:
        objective = objectives.channels_per_image(layer, channels)
    return Engine(adapter, objective, param.ParamGraph(param.image(size, batch=k)), transform.make_chain(None),
                  Adam(0.05), seed=seed, per_item=k > 1, who="gpu_render")


def render_case(adapter, layer, size, k, steps, warmup, max_copy_bytes):
    """One model at one size: timings, copies and memory per step (a dict)."""
    from lucid_fast.bench.gpu_copies import CopyCounter

    channels = list(range(k))
    eng = make_engine(adapter, layer, channels, size)
    dev, sync = eng.device, _sync_fn(eng.device)
    _peak_bytes(dev, reset=True)
    base = _peak_bytes(dev)
    for _ in range(warmup):
        eng.step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        eng.step()
    sync()
    step_ms = 1e3 * (time.perf_counter() - t0) / steps
    timed = eng.model_step = _TimedStep(eng.model_step, sync)
    sync()
    t0 = time.perf_counter()
    with CopyCounter() as counter:
        for _ in range(steps):
            eng.step()
        sync()
    split_ms = 1e3 * (time.perf_counter() - t0) / steps
    model_ms = 1e3 * timed.seconds / steps
    peak = _peak_bytes(dev)
    big = [e for e in counter.events if e[3] > max_copy_bytes]
    return {
        "size": size, "batch": k, "layer": layer, "device": dev.name, "steps_timed": steps,
        "step_ms": round(step_ms, 3), "model_ms": round(model_ms, 3), "image_ms": round(split_ms - model_ms, 3),
        "d2h_per_step": counter.count("d2h") / steps, "h2d_per_step": counter.count("h2d") / steps,
        "copies": [{"dir": d, "entry": n, "caller": c, "bytes": b, "calls": m}
                   for (d, n, c, b), m in counter.summary().items()],
        "copies_over_limit": len(big),
        "bytes_per_image_pixel": None if peak is None else round((peak - (base or 0)) / (k * size * size)),
        "loss": eng.last_loss,
    }


def gallery_rate(adapter, layer, per_px, max_k, steps):
    """K channels at 128 px for ``steps`` steps, timed whole: visualizations per hour."""
    from lucid_fast.optvis.device_batch import channels_per_optimization

    from lucid_fast import ops

    dev = ops.device(adapter.device())
    if dev.is_host:
        k = max_k
    else:
        free = dev.xp.cuda.runtime.memGetInfo()[0] + dev.xp.get_default_memory_pool().free_bytes()
        k = channels_per_optimization(free, 128, per_px, max_channels=max_k)
    if layer is not None:
        n = next(i.channels for i in adapter.layers() if i.name == adapter.resolve(layer))
        k = min(k, n)
    eng = make_engine(adapter, layer, list(range(k)), 128)
    sync = _sync_fn(dev)
    eng.step()
    sync()
    t0 = time.perf_counter()
    eng.run(steps - 1)
    sync()
    wall = (time.perf_counter() - t0) * steps / (steps - 1)
    return {"k": k, "steps": steps, "seconds": round(wall, 3), "visualizations_per_hour": round(k * 3600 / wall),
            "bytes_per_image_pixel_used": per_px}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lucid_fast.bench.gpu_render", description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda)")
    p.add_argument("--dry-run", action="store_true", help="cpu, the synthetic model only, few steps")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help="zoo specs name[:key=value,...], comma separated ('' for none)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--gallery-steps", type=int, default=128)
    p.add_argument("--max-k", type=int, default=64)
    p.add_argument("--max-copy-bytes", type=int, default=1024, help="a larger copy in a step fails the run")
    p.add_argument("--allow-tf", action="store_true", help="let TensorFlow import (not the GPU machine's case)")
    p.add_argument("--out", default=os.environ.get("OUT", "gpu_check_out"))
    a = p.parse_args(argv)
    if a.dry_run:
        a.device, a.models, a.steps, a.warmup, a.gallery_steps, a.max_k = "cpu", "", 3, 1, 4, 2
    os.makedirs(a.out, exist_ok=True)
    report = {"argv": sys.argv[1:], "failures": []}
    fail = report["failures"].append

    report["tf_free"] = check_tf_free(block=not a.allow_tf)
    if not report["tf_free"]["ok"]:
        tf = report["tf_free"]
        fail("the render path does not import without TensorFlow: " + json.dumps(
            {"tf_attempts": tf["tf_attempts"], "tf_in_sys_modules": tf["tf_in_sys_modules"],
             "failed_imports": {k: v for k, v in tf["imports"].items() if v != "ok"}}))
    runs = [("synthetic", lambda: synthetic_adapter(a.device))]
    want = "cpu" if a.device == "cpu" else a.device if ":" in a.device else "cuda:0"
    runs += [(spec, (lambda s=spec: load(s, want))) for spec in filter(None, a.models.split(","))]
    report["renders"], report["gallery"] = {}, {}
    for spec, make in runs:
        entry = report["renders"][spec] = {}
        try:
            adapter = make()
            got = adapter.device() if callable(getattr(adapter, "device", None)) else "cpu"
            if got != want:
                raise RuntimeError(f"{spec}: the adapter's device() is {got!r}, expected {want!r} (the model must "
                                   f"live on that device for the step to run there)")
            layer = None if spec == "synthetic" else pick_layer(adapter, 4)
            for size, k in CASES:
                res = render_case(adapter, layer, size, k, a.steps, a.warmup, a.max_copy_bytes)
                entry[f"{size}px_x{k}"] = res
                print(json.dumps({spec: res}), flush=True)
                if res["copies_over_limit"]:
                    fail(f"{spec} {size}px x{k}: {res['copies_over_limit']} host<->device copies larger than "
                         f"{a.max_copy_bytes} bytes in a step: {res['copies']}")
            per_px = entry[f"{CASES[-1][0]}px_x{CASES[-1][1]}"]["bytes_per_image_pixel"]
            report["gallery"][spec] = gallery_rate(adapter, layer, per_px or None, a.max_k, a.gallery_steps)
            print(json.dumps({spec: report["gallery"][spec]}), flush=True)
        except Exception as err:  # noqa: BLE001 - every failure is reported, then fails the run
            entry["error"] = traceback.format_exc()
            fail(f"{spec}: {type(err).__name__}: {err}")
    with open(os.path.join(a.out, "gpu_render.json"), "w") as f:
        json.dump(report, f, indent=1, default=str)
    for msg in report["failures"]:
        print(f"gpu_render: FAILED: {msg}", file=sys.stderr)
    print(f"gpu_render: {'FAILED' if report['failures'] else 'passed'} (report: {a.out}/gpu_render.json)")
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
