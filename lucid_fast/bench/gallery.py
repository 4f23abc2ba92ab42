"""``python -m lucid_fast.bench gallery``: channels per hour for a whole-layer gallery, three ways, in one run.

    python -m lucid_fast.bench gallery [--layer block3_conv1] [--block 16] [--size 128] [--steps 64]
                                       [--batch 8] [--workers 2] [--rounds 2] [--no-lucid]
                                       [--preset fast] [--lucid-steps 512] [--workdir DIR]
    python -m lucid_fast.bench gallery --k-sweep 1 2 4 8 16 [--layer block4_conv3]   (per-image step time vs K)
    python -m lucid_fast.bench gallery --model-estimate [--steps 512]                  (all conv layers of the model)

The three ways, on the same channels of the same layer, at the same size and (without ``--preset``) step count:

(a) Lucid's way: one ``render_vis`` per channel, one after another - a user's loop over the original Lucid 0.3.10
    (``lucid.optvis.render.render_vis(model, "layer:c", param_f=lambda: param.image(size), thresholds=(steps-1,))``)
    on ``vgg16_hed``'s weights frozen to a GraphDef (``lucid_fast.bench.lucid``). Where the original Lucid or that
    harness is not installed, the same loop over lucid_fast's own ``render_vis`` stands in, and the table says so.
(b) ours, one process: ``lucid_fast.gallery.run(..., batch=K)``: K channels per optimization, the layer's own
    convolution sliced to the unit's channels.
(c) ours on a Dask ``LocalCluster`` of ``--workers`` processes (cores // workers threads each); its time includes
    starting the cluster (every worker imports TensorFlow and loads the model); the steady-state rate (from the
    first commit to the last) is printed too.

Each way runs in a fresh process of its own (Lucid needs TF2 behaviour off); the timed span starts after the
imports and covers everything a user waits for: model loading, graph building or tracing, every step, writing
images. ``--rounds`` repeats (a)(b)(c) in rotating order; the table shows medians. On a shared machine only the
ratios mean anything, and those only roughly: the load average is printed with them.

``--preset fast`` makes (b) and (c) run the fast preset (160 steps: lucid_fast.optvis.presets) while (a) keeps
Lucid's defaults for ``--lucid-steps`` steps (default ``--steps``; Lucid's render_vis default is 512:
``--preset fast --lucid-steps 512``). So that the table is about quality too, every way saves each channel's
final image (as the uint8 picture it publishes, back in [0, 1]; outside the timed span), and after the rounds
each is evaluated the same way (``lucid_fast.bench.lucid``'s ``_evaluate`` worker: the channel's mean activation
at the layer on the untransformed image, on lucid_fast's model); the table prints each way's median over
channels of its objective / Lucid's way's on the same channel.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from lucid_fast.bench import lucid_compat
from lucid_fast.bench.harness import load_average, read_report, read_reports, report, worker_env

MODULE = "lucid_fast.bench.gallery"  # this module, run by ``python -m`` in each worker process
MARK = "@@gallery-bench "


def original_lucid_available():
    """(True, "") if the original Lucid and lucid_fast's harness for it can run here, else (False, why)."""
    import importlib.util

    if importlib.util.find_spec("lucid") is None:
        return False, f"the original Lucid is not installed ({lucid_compat.INSTALL_HINT})"
    return True, ""


# ---------------------------------------------------------------------------------------------------------
# the workers: one process per way, alive for the whole benchmark, rendering blocks of channels on command


class _LucidWay:
    """Lucid's way: the original Lucid's render_vis, once per channel."""

    def __init__(self, a):
        from lucid_fast.bench import lucid as vs_lucid

        lucid_compat.import_lucid()
        from lucid.optvis import param, render

        self.a, self.param, self.render, self.vs_lucid = a, param, render, vs_lucid

    def block(self, channels):
        a = self.a
        self.finals = {}
        for c in channels:
            model = self.vs_lucid.lucid_model(a.frozen)  # a user's loop: render_vis builds its graph each call
            images = self.render.render_vis(model, f"{a.layer}:{c}", param_f=lambda: self.param.image(a.size),
                                            thresholds=(a.steps - 1,), verbose=False)
            self.finals[c] = images[-1]
        return 0.0

    def save(self, channels):
        for c in channels:
            _save_final(self.a, c, self.finals[c])


class _LucidFastLoopWay:
    """The stand-in for Lucid's way: lucid_fast's render_vis, once per channel."""

    def __init__(self, a):
        from lucid_fast import modelzoo
        from lucid_fast.optvis import param, render

        self.a, self.param, self.render = a, param, render
        self.model = modelzoo.load_model(a.model)

    def block(self, channels):
        a = self.a
        self.finals = {}
        for c in channels:
            images = self.render.render_vis(self.model, f"{a.layer}:{c}", param_f=lambda: self.param.image(a.size),
                                            thresholds=(a.steps - 1,), verbose=False, progress=False, seed=c)
            self.finals[c] = images[-1]
        return 0.0

    def save(self, channels):
        for c in channels:
            _save_final(self.a, c, self.finals[c])


class _GalleryWay:
    """Ours: gallery jobs in this process, or on a LocalCluster of a.workers kept for the whole benchmark."""

    def __init__(self, a):
        from lucid_fast import gallery, modelzoo

        self.a, self.gallery = a, gallery
        self.settings = gallery.Settings(size=a.size, steps=None if a.preset else a.steps, batch=a.batch,
                                         preset=a.preset)
        self.client = self.cluster = None
        if a.workers:
            from distributed import Client

            from lucid_fast.gallery import dask_runner

            self.cluster = dask_runner.start_local_cluster(a.workers)
            self.client = Client(self.cluster)
            dask_runner.warm_workers(self.client, a.model, self.settings)
            self.model = a.model
        else:
            from lucid_fast.gallery.engine import model_fingerprint

            self.model = modelzoo.load_model(a.model)
            model_fingerprint(self.model)

    def _worker_cpu(self):
        if self.client is None:
            return 0.0
        return sum(self.client.run(time.process_time).values())

    def block(self, channels):
        cpu0 = self._worker_cpu()
        self.out = tempfile.mkdtemp(prefix="bench_gallery_")  # read by save(), then removed
        self.gallery.run(self.model, self.a.layer, self.out, channels=channels, settings=self.settings,
                         scheduler=self.client, site=False, sprites=False, progress=False)
        return self._worker_cpu() - cpu0

    def save(self, channels):
        import shutil

        import numpy as np
        from PIL import Image

        store = self.gallery.GalleryStore.open(self.out)
        (layer,) = store.layers_on_disk()  # the job's one layer, by its canonical name
        for c in channels:
            _save_final(self.a, c, np.asarray(Image.open(store.image_path(layer, c)).convert("RGB")))
        shutil.rmtree(self.out, ignore_errors=True)


def _save_final(a, channel, image):
    """Saves a channel's final image as ``a.save_dir/<channel>.npy``: (1, h, w, 3) float32, the uint8 picture
    (as the ways publish it; a float image is rounded as a PNG would be) back in [0, 1]."""
    if not a.save_dir:
        return
    import numpy as np

    from lucid_fast.misc.image import to_uint8

    img = np.asarray(image)
    img = img[0] if img.ndim == 4 else img
    u8 = img if img.dtype == np.uint8 else to_uint8(img)
    np.save(os.path.join(a.save_dir, f"{channel}.npy"), (u8.astype(np.float32) / 255.0)[None])


def _worker_main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("way", choices=["lucid", "lucid_fast_loop", "gallery"])
    p.add_argument("--model", default="vgg16_hed")
    p.add_argument("--frozen", default="")
    p.add_argument("--layer")
    p.add_argument("--size", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--preset", default=None)
    p.add_argument("--save-dir", default="")
    a = p.parse_args(argv)
    import tensorflow  # noqa: F401  (imported in every way before its start-up ends)

    way = {"lucid": _LucidWay, "lucid_fast_loop": _LucidFastLoopWay, "gallery": _GalleryWay}[a.way](a)
    report(MARK, event="ready", t=time.time())
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        channels = [int(c) for c in cmd[1].split(",")]
        t0, c0 = time.perf_counter(), time.process_time()
        extra_cpu = way.block(channels)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0 + extra_cpu
        way.save(channels)  # the final images, for the evaluation after the rounds (not timed)
        report(MARK, event="block", wall=wall, cpu=cpu)
    if getattr(way, "client", None) is not None:
        way.client.close()
        way.cluster.close()


class _Way:
    def __init__(self, way, label, args, frozen, workers, log, steps, preset, save_dir):
        cmd = [sys.executable, "-m", MODULE, "_worker", way, "--model", args.model, "--layer", args.layer,
               "--size", str(args.size), "--steps", str(steps), "--batch", str(args.batch), "--workers",
               str(workers), "--save-dir", save_dir]
        if frozen:
            cmd += ["--frozen", frozen]
        if preset:
            cmd += ["--preset", preset]
        os.makedirs(save_dir, exist_ok=True)
        self.label, self.workers, self.steps, self.save_dir = label, workers, steps, save_dir
        self.t_spawn = time.time()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                  env=worker_env())
        self.startup_s = self._read()["t"] - self.t_spawn
        self.walls, self.cpus = [], []

    def _read(self):
        rec = read_report(self.p.stdout, MARK)
        if rec is not None:
            return rec
        raise RuntimeError(f"bench gallery: the worker for {self.label!r} exited (code {self.p.wait()}); see its "
                           "log (rerun with --log FILE)")

    def block(self, channels):
        self.p.stdin.write("block " + ",".join(map(str, channels)) + "\n")
        self.p.stdin.flush()
        r = self._read()
        self.walls.append(r["wall"])
        self.cpus.append(r["cpu"])
        return r

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait()


# ---------------------------------------------------------------------------------------------------------
# (a) (b) (c)


def bench_ways(args, out=sys.stdout):
    ok, why = original_lucid_available()
    frozen = ""
    if args.no_lucid:
        ok, why = False, "--no-lucid"
    if ok:
        if args.model != "vgg16_hed":
            raise SystemExit("bench gallery: the original Lucid runs on vgg16_hed's frozen graph only; "
                             "use --model vgg16_hed or --no-lucid")
        from lucid_fast.bench import lucid as vs_lucid

        frozen = vs_lucid.frozen_vgg16_hed_path()
    lucid_steps = args.lucid_steps or args.steps
    ours_steps, preset = args.steps, getattr(args, "preset", None)
    if preset:
        from lucid_fast.optvis.presets import preset_steps

        ours_steps = preset_steps(preset)
    ours = f", preset {preset}" if preset else ""
    base = ("lucid", "Lucid's way: original Lucid 0.3.10, render_vis per channel", 0, lucid_steps, None) if ok else (
        "lucid_fast_loop", f"lucid_fast render_vis per channel (stand-in: {why})", 0, lucid_steps, None)
    specs = [base, ("gallery", f"ours, one process, K={args.batch}{ours}", 0, ours_steps, preset)]
    if args.workers:
        specs.append(("gallery", f"ours, LocalCluster of {args.workers}, K={args.batch}{ours}", args.workers,
                      ours_steps, preset))
    block = args.block or args.batch * max(1, args.workers)
    workdir = args.workdir or tempfile.mkdtemp(prefix="lucid_fast_bench_gallery_")
    steps_said = (f"{ours_steps} steps" if lucid_steps == ours_steps and not preset else
                  f"Lucid's way {lucid_steps} steps, ours {ours_steps}{' (preset ' + preset + ')' if preset else ''}")
    print(f"# gallery throughput: {args.model} {args.layer}, {args.size} px, {steps_said}; each way a process "
          f"of its own, all alive at once, rendering the same {block} new channels per round in rotating order "
          f"({args.rounds} rounds); {os.cpu_count()} CPUs, {load_average()} (machine shared: ratios only); "
          f"final images in {workdir}", file=out, flush=True)
    log = open(args.log, "w") if args.log else tempfile.TemporaryFile("w+")
    ways = []
    try:
        for i, (way, label, workers, steps, way_preset) in enumerate(specs):  # one at a time: start-up times are
            ways.append(_Way(way, label, args, frozen, workers, log, steps, way_preset,   # not disturbed
                             os.path.join(workdir, f"way{i}")))
            print(f"  started: {label}: {ways[-1].startup_s:.0f} s", file=out, flush=True)
        ratios = {i: [] for i in range(len(ways))}
        for r in range(args.rounds):
            channels = list(range(r * block, (r + 1) * block))
            order = list(range(len(ways)))
            order = order[r % len(order):] + order[:r % len(order)]
            for i in order:
                ways[i].block(channels)
            for i in range(len(ways)):
                ratios[i].append(ways[0].walls[-1] / ways[i].walls[-1])
            print(f"  round {r + 1} (channels {channels[0]}..{channels[-1]}): "
                  + ", ".join(f"{w.walls[-1]:.0f} s" for w in ways) + f"; {load_average()}", file=out, flush=True)
    finally:
        for w in ways:
            w.close()
    try:  # after the rounds, the ways' processes gone: the same evaluation for every way's final images
        quality = evaluate_ways(args, ways, list(range(args.rounds * block)), log)
    finally:
        log.close()
    print(f"\n{'way':72s} {'steps':>6s} {'start s':>8s} {'s/round':>8s} {'ch/hour':>8s} {'CPU s/ch':>9s} "
          f"{'vs Lucid':>9s} {'obj vs Lucid':>13s}", file=out)
    for i, w in enumerate(ways):
        wall = statistics.median(w.walls)
        print(f"{w.label:72s} {w.steps:6d} {w.startup_s:8.0f} {wall:8.0f} {block / wall * 3600:8.1f} "
              f"{statistics.median(w.cpus) / block:9.2f} {statistics.median(ratios[i]):8.2f}x "
              f"{quality[i]['median_ratio']:12.2f}x", file=out)
    print("# vs Lucid: the median over rounds of Lucid's round time / this way's (same channels, same round); "
          "start-up (imports excluded; the cluster's: starting it and loading the model in every worker) is "
          "not in the rounds. obj vs Lucid: the median over channels of this way's objective / Lucid's way's "
          f"(the channel's mean activation at {args.layer} on the final untransformed image, as published in "
          f"uint8; Lucid's way's median objective {quality[0]['median_objective']:.4g}). {load_average()}",
          file=out, flush=True)
    for w, q in zip(ways, quality):
        w.quality = q
    return ways


def evaluate_ways(args, ways, channels, log):
    """Every way's final image of every channel, evaluated in one process by ``lucid_fast.bench.lucid``'s
    ``_evaluate`` worker; returns per way ``{"objectives": {channel: value}, "ratios": [...], "median_ratio",
    "median_objective"}`` (ratios against way 0, Lucid's, channel by channel)."""
    import math

    from lucid_fast.bench import lucid as vs_lucid

    files = [f"{os.path.join(w.save_dir, f'{c}.npy')}:{c}" for w in ways for c in channels]
    proc = subprocess.run([sys.executable, "-m", vs_lucid.MODULE, "_evaluate", "--layer", args.layer,
                           "--model", args.model, "--files", *files], stdout=subprocess.PIPE, stderr=log,
                          text=True, env=worker_env())
    if proc.returncode != 0:
        raise RuntimeError(f"bench gallery: evaluating the final images failed (code {proc.returncode}); rerun "
                           "with --log FILE to see why")
    scores = {rec["path"]: rec["objective"] for rec in read_reports(proc.stdout, vs_lucid.MARK)}
    out = []
    for w in ways:
        objs = {c: scores[os.path.join(w.save_dir, f"{c}.npy")] for c in channels}
        out.append({"objectives": objs})
    base = out[0]["objectives"]
    for q in out:
        q["ratios"] = [q["objectives"][c] / base[c] if base[c] != 0 else math.nan for c in channels]
        q["median_ratio"] = statistics.median(q["ratios"])
        q["median_objective"] = statistics.median(q["objectives"].values())
    return out


# ---------------------------------------------------------------------------------------------------------
# K: per-image step time against the batch size, in this process


def _unit_session(adapter, layer, channels, size, seed=0):
    """A gallery unit's optimization (Lucid's defaults: Adam 0.05, standard transforms) on ``channels``."""
    from lucid_fast.gallery import Settings
    from lucid_fast.gallery.engine import ChannelBatchRenderer

    return ChannelBatchRenderer(adapter, Settings(size=size, batch=len(channels))).unit_engine(layer, channels, seed)


def bench_k(args, out=sys.stdout):
    """Median seconds per step per image for each K, the sessions timed in alternating blocks after a warm-up
    (past the redirected-ReLU steps, and long enough to meet most of the random scale's 11 sizes)."""
    from lucid_fast import modelzoo

    adapter = modelzoo.load_model(args.model)
    n = None
    for info in adapter.layers():
        if info.name == adapter.resolve(args.layer):
            n = info.channels
    sessions = {k: _unit_session(adapter, args.layer, [(7 * i) % n for i in range(k)], args.size) for k in args.k_sweep}
    print(f"# per-image step time vs K: {args.model} {args.layer}, {args.size} px, standard transforms; "
          f"{args.k_warmup} warm-up steps, then {args.k_steps} steps each in alternating blocks of {args.k_block}; "
          f"{load_average()}", file=out, flush=True)
    for s in sessions.values():
        for _ in range(args.k_warmup):
            s.step()
    times = {k: [] for k in sessions}
    r = 0
    while min(len(t) for t in times.values()) < args.k_steps:
        ks = list(sessions)
        ks = ks[r % len(ks):] + ks[:r % len(ks)]
        for k in ks:
            for _ in range(args.k_block):
                t0 = time.perf_counter()
                sessions[k].step()
                times[k].append(time.perf_counter() - t0)
        r += 1
    base = None
    print(f"{'K':>4s} {'s/step':>8s} {'s/step/image':>13s} {'vs K=' + str(min(sessions)):>9s}", file=out)
    for k in sorted(sessions):
        per = statistics.median(times[k]) / k
        base = base or per
        print(f"{k:4d} {per * k:8.3f} {per:13.3f} {base / per:8.2f}x", file=out)
    print(f"# {load_average()}", file=out, flush=True)


# ---------------------------------------------------------------------------------------------------------
# the whole model


def bench_model_estimate(args, out=sys.stdout):
    """Times a K-channel unit's steps at every convolution layer, and extrapolates the whole model's gallery."""
    from lucid_fast import modelzoo

    adapter = modelzoo.load_model(args.model)
    convs = [i for i in adapter.layers() if i.kind == "conv" and i.channels]
    total_ch = sum(i.channels for i in convs)
    print(f"# whole-model estimate: {args.model}, {len(convs)} conv layers, {total_ch} channels, {args.size} px, "
          f"{args.steps} steps, K={args.batch}; {args.k_warmup} warm-up + {args.k_steps} timed steps per layer; "
          f"{load_average()}", file=out, flush=True)
    print(f"{'layer':16s} {'channels':>8s} {'s/step (K imgs)':>15s} {'setup s':>8s} {'layer hours':>12s}", file=out)
    hours = 0.0
    for info in convs:
        t0 = time.perf_counter()
        s = _unit_session(adapter, info.name, list(range(min(args.batch, info.channels))), args.size)
        s.step()
        setup = time.perf_counter() - t0
        for _ in range(args.k_warmup):
            s.step()
        ts = []
        for _ in range(args.k_steps):
            a = time.perf_counter()
            s.step()
            ts.append(time.perf_counter() - a)
        step = statistics.median(ts)
        units = -(-info.channels // args.batch)
        h = units * (setup + args.steps * step) / 3600
        hours += h
        print(f"{info.name:16s} {info.channels:8d} {step:15.3f} {setup:8.1f} {h:12.2f}", file=out, flush=True)
    print(f"\n{args.model}: all {total_ch} conv channels at {args.size} px x {args.steps} steps: about "
          f"{hours:.1f} h in one process here ({total_ch / hours:.0f} channels/hour)", file=out)
    for n in (1, 4, 16, 64):
        print(f"  on {n:3d} machine(s) like this one: about {hours / n:6.2f} h (units are independent; the writer "
              f"commits a channel in milliseconds)", file=out)
    print(f"# {load_average()}", file=out, flush=True)


def add_arguments(p):
    p.add_argument("--model", default="vgg16_hed")
    p.add_argument("--layer", default="block3_conv1")
    p.add_argument("--block", type=int, default=None, help="channels per round (default K x workers)")
    p.add_argument("--log", default=None, help="write the workers' stderr here")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=64, help="steps of every way (without --preset)")
    p.add_argument("--preset", choices=["fast"], default=None,
                   help="ours (b, c) run this preset (it sets their steps); Lucid's way keeps its defaults")
    p.add_argument("--lucid-steps", type=int, default=None,
                   help="steps of Lucid's way (a) (default --steps; Lucid's render_vis default is 512)")
    p.add_argument("--workdir", default=None, help="where each way's final images go (default: a new temp dir)")
    p.add_argument("--batch", type=int, default=8, help="K, channels per optimization (ours)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster size for way (c)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--no-lucid", action="store_true", help="use lucid_fast's render_vis loop as the baseline")
    p.add_argument("--k-sweep", type=int, nargs="+", default=None, help="time per image for these K instead")
    p.add_argument("--model-estimate", action="store_true", help="estimate every conv layer's gallery instead")
    p.add_argument("--k-warmup", type=int, default=20)
    p.add_argument("--k-steps", type=int, default=12)
    p.add_argument("--k-block", type=int, default=3)


def run(args):
    if args.k_sweep:
        bench_k(args)
    elif args.model_estimate:
        bench_model_estimate(args)
    else:
        bench_ways(args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        _worker_main(sys.argv[2:])
    else:
        parser = argparse.ArgumentParser(prog="python -m lucid_fast.bench gallery")
        add_arguments(parser)
        run(parser.parse_args())
