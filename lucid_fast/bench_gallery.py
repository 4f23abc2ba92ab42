"""``python -m lucid_fast.bench gallery``: channels per hour for a whole-layer gallery, three ways, in one run.

    python -m lucid_fast.bench gallery [--layer block3_conv1] [--channels 16] [--size 128] [--steps 64]
                                       [--batch 8] [--workers 2] [--rounds 1] [--no-lucid]
    python -m lucid_fast.bench gallery --k-sweep 1 2 4 8 16 [--layer block4_conv3]   (per-image step time vs K)
    python -m lucid_fast.bench gallery --model-estimate [--steps 512]                  (all conv layers of the model)

The three ways, on the same channels of the same layer, at the same size and step count:

(a) Lucid's way: one ``render_vis`` per channel, one after another - a user's loop over the original Lucid 0.3.10
    (``lucid.optvis.render.render_vis(model, "layer:c", param_f=lambda: param.image(size), thresholds=(steps-1,))``)
    on ``vgg16_hed``'s weights frozen to a GraphDef (``lucid_fast.bench_lucid``). Where the original Lucid or that
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
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MARK = "@@gallery-bench "


def _report(**kw):
    sys.stdout.write(MARK + json.dumps(kw) + "\n")
    sys.stdout.flush()


def _env():
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _load_average():
    try:
        return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "load average unknown"


def original_lucid_available():
    """(True, "") if the original Lucid and lucid_fast's harness for it can run here, else (False, why)."""
    try:
        from lucid_fast import _lucid_compat, bench_lucid  # noqa: F401  (issue 10's harness)
    except ImportError:
        return False, "lucid_fast.bench_lucid (the original-Lucid harness) is not in this checkout"
    import importlib.util

    if importlib.util.find_spec("lucid") is None:
        return False, f"the original Lucid is not installed ({_lucid_compat.INSTALL_HINT})"
    return True, ""


# ---------------------------------------------------------------------------------------------------------
# the workers (each way in a fresh process)


def _worker_lucid(a):
    """Lucid's way: render_vis of the original Lucid, once per channel."""
    from lucid_fast import _lucid_compat, bench_lucid

    _lucid_compat.import_lucid()
    from lucid.optvis import param, render

    t0 = time.time()
    for c in a.channel_list:
        model = bench_lucid._lucid_model(a.frozen)  # as a user's loop would: the model object per call is cheap
        render.render_vis(model, f"{a.layer}:{c}", param_f=lambda: param.image(a.size), thresholds=(a.steps - 1,),
                          verbose=False)
        _report(event="channel", channel=c, t=time.time())
    _report(event="done", t0=t0, t1=time.time())


def _worker_lucid_fast_loop(a):
    """The stand-in for Lucid's way: lucid_fast's render_vis, once per channel."""
    from lucid_fast import models
    from lucid_fast.optvis import param, render

    t0 = time.time()
    model = models.load_model(a.model)
    for c in a.channel_list:
        render.render_vis(model, f"{a.layer}:{c}", param_f=lambda: param.image(a.size), thresholds=(a.steps - 1,),
                          verbose=False, progress=False, seed=c)
        _report(event="channel", channel=c, t=time.time())
    _report(event="done", t0=t0, t1=time.time())


def _worker_gallery(a):
    """Ours: a gallery job (in this process, or on a LocalCluster of a.workers)."""
    import tensorflow  # noqa: F401  (imported before the clock starts, as in the other ways)

    from lucid_fast import gallery

    with tempfile.TemporaryDirectory() as out:
        t0 = time.time()
        gallery.run(a.model, a.layer, out, channels=a.channel_list, size=a.size, steps=a.steps, batch=a.batch,
                    workers=a.workers or None, site=False, sprites=False, progress=False)
        t1 = time.time()
        commits = sorted(e["time"] for e in gallery.read_log(out))
        units = sorted({tuple(e["unit"]) for e in gallery.read_log(out)})
    _report(event="done", t0=t0, t1=t1, commits=commits, units=len(units))


def _worker_main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("way", choices=["lucid", "lucid_fast_loop", "gallery"])
    p.add_argument("--model", default="vgg16_hed")
    p.add_argument("--frozen", default="")
    p.add_argument("--layer")
    p.add_argument("--channel-list", type=lambda s: [int(c) for c in s.split(",")])
    p.add_argument("--size", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--workers", type=int, default=0)
    a = p.parse_args(argv)
    {"lucid": _worker_lucid, "lucid_fast_loop": _worker_lucid_fast_loop, "gallery": _worker_gallery}[a.way](a)


def _run_way(way, args, channels, frozen="", workers=0, log=None):
    cmd = [sys.executable, "-m", "lucid_fast.bench_gallery", "_worker", way, "--model", args.model, "--layer",
           args.layer, "--channel-list", ",".join(map(str, channels)), "--size", str(args.size), "--steps",
           str(args.steps), "--batch", str(args.batch), "--workers", str(workers)]
    if frozen:
        cmd += ["--frozen", frozen]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=_env())
    reports = [json.loads(line[len(MARK):]) for line in p.stdout.splitlines() if line.startswith(MARK)]
    done = [r for r in reports if r["event"] == "done"]
    if p.returncode != 0 or not done:
        raise RuntimeError(f"bench gallery: the {way} worker failed (exit {p.returncode}); see its log")
    return done[0]


# ---------------------------------------------------------------------------------------------------------
# (a) (b) (c)


def bench_ways(args, out=sys.stdout):
    channels = list(range(args.channels))
    ok, why = original_lucid_available()
    frozen = ""
    if args.no_lucid:
        ok, why = False, "--no-lucid"
    if ok:
        from lucid_fast import bench_lucid

        frozen = bench_lucid.frozen_vgg16_hed_path()
        if args.model != "vgg16_hed":
            raise SystemExit("bench gallery: the original Lucid runs on vgg16_hed's frozen graph only; "
                             "use --model vgg16_hed or --no-lucid")
    base_way = "lucid" if ok else "lucid_fast_loop"
    base_label = ("Lucid's way: original Lucid 0.3.10, one render_vis per channel" if ok else
                  f"lucid_fast render_vis per channel (stand-in: {why})")
    ways = [(base_way, base_label, 0), ("gallery", f"ours, one process, K={args.batch}", 0),
            ("gallery", f"ours, LocalCluster of {args.workers}, K={args.batch}", args.workers)]
    print(f"# gallery throughput: {args.model} {args.layer}, {len(channels)} channels, {args.size} px, "
          f"{args.steps} steps; {os.cpu_count()} CPUs, {_load_average()} (machine shared: ratios only)", file=out,
          flush=True)
    results = {i: [] for i in range(len(ways))}
    steady = []
    with tempfile.TemporaryFile("w+") as log:
        for r in range(args.rounds):
            order = list(range(len(ways)))
            order = order[r % len(order):] + order[:r % len(order)]
            for i in order:
                way, label, workers = ways[i]
                done = _run_way(way, args, channels, frozen=frozen, workers=workers, log=log)
                secs = done["t1"] - done["t0"]
                results[i].append(secs)
                if workers and len(done.get("commits", [])) > args.batch:
                    c = done["commits"]
                    first_unit = sum(1 for t in c if t <= c[0] + 1.0)
                    if c[-1] > c[0]:
                        steady.append((len(c) - first_unit) / (c[-1] - c[0]) * 3600)
                print(f"  round {r + 1}: {label}: {secs:.0f} s", file=out, flush=True)
    base = statistics.median(results[0])
    print(f"\n{'way':70s} {'s':>7s} {'channels/hour':>14s} {'vs Lucid':>9s}", file=out)
    for i, (_, label, _) in enumerate(ways):
        secs = statistics.median(results[i])
        print(f"{label:70s} {secs:7.0f} {len(channels) / secs * 3600:14.1f} {base / secs:8.2f}x", file=out)
    if steady:
        rate = statistics.median(steady)
        base_rate = len(channels) / base * 3600
        print(f"{'  LocalCluster, steady state (first commit to last; cluster start-up excluded)':70s} "
              f"{'':7s} {rate:14.1f} {rate / base_rate:8.2f}x", file=out)
    print(f"# {_load_average()}", file=out, flush=True)
    return results


# ---------------------------------------------------------------------------------------------------------
# K: per-image step time against the batch size, in this process


def _unit_session(adapter, layer, channels, size, seed=0):
    from lucid_fast.gallery.engine import _session_class
    from lucid_fast.optvis import param, transform

    return _session_class()(adapter, layer, channels, False,
                            param_f=lambda: param.image(size, batch=len(channels)),
                            transforms=transform.standard_transforms, seed=seed)


def bench_k(args, out=sys.stdout):
    """Median seconds per step per image for each K, the sessions timed in alternating blocks after a warm-up
    (past the redirected-ReLU steps, and long enough to meet most of the random scale's 11 sizes)."""
    from lucid_fast import models

    adapter = models.load_model(args.model)
    n = None
    for info in adapter.layers():
        if info.name == adapter.resolve(args.layer):
            n = info.channels
    sessions = {k: _unit_session(adapter, args.layer, [(7 * i) % n for i in range(k)], args.size) for k in args.k_sweep}
    print(f"# per-image step time vs K: {args.model} {args.layer}, {args.size} px, standard transforms; "
          f"{args.k_warmup} warm-up steps, then {args.k_steps} steps each in alternating blocks of {args.k_block}; "
          f"{_load_average()}", file=out, flush=True)
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
    print(f"# {_load_average()}", file=out, flush=True)


# ---------------------------------------------------------------------------------------------------------
# the whole model


def bench_model_estimate(args, out=sys.stdout):
    """Times a K-channel unit's steps at every convolution layer, and extrapolates the whole model's gallery."""
    from lucid_fast import models

    adapter = models.load_model(args.model)
    convs = [i for i in adapter.layers() if i.kind == "conv" and i.channels]
    total_ch = sum(i.channels for i in convs)
    print(f"# whole-model estimate: {args.model}, {len(convs)} conv layers, {total_ch} channels, {args.size} px, "
          f"{args.steps} steps, K={args.batch}; {args.k_warmup} warm-up + {args.k_steps} timed steps per layer; "
          f"{_load_average()}", file=out, flush=True)
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
    print(f"# {_load_average()}", file=out, flush=True)


def add_arguments(p):
    p.add_argument("--model", default="vgg16_hed")
    p.add_argument("--layer", default="block3_conv1")
    p.add_argument("--channels", type=int, default=16, help="how many channels (0..N-1) each way renders")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--batch", type=int, default=8, help="K, channels per optimization (ours)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster size for way (c)")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--no-lucid", action="store_true", help="use lucid_fast's render_vis loop as the baseline")
    p.add_argument("--k-sweep", type=int, nargs="+", default=None, help="time per image for these K instead")
    p.add_argument("--model-estimate", action="store_true", help="estimate every conv layer's gallery instead")
    p.add_argument("--k-warmup", type=int, default=20)
    p.add_argument("--k-steps", type=int, default=12)
    p.add_argument("--k-block", type=int, default=3)


def main(args):
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
        main(parser.parse_args())
