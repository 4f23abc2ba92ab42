"""``python -m lucid_fast.bench lucid``: lucid_fast against the original Lucid 0.3.10, on the same weights.

    python -m lucid_fast.bench lucid [--configs 128x1 224x4] [--steps 48] [--warmup 40] [--block 8]
                                     [--renders 1] [--render-steps 512] [--layer block4_conv3_pre_relu]
                                     [--channel 100]

What runs: the original ``lucid==0.3.10`` (installed ``--no-deps``; see :mod:`lucid_fast.bench.lucid_compat`) on
``vgg16_hed``'s weights frozen to a GraphDef (the same 13 convolutions, pools and Caffe preprocessing, as TF1
ops named ``block4_conv3_pre_relu`` etc.), and lucid_fast on its ``vgg16_hed`` modelzoo model. Both render
``param.image(size, batch=batch)`` (Fourier, decorrelated colour) under Lucid's ``standard_transforms`` with the
redirected-ReLU gradient for the first 16 steps and Adam(0.05): each library's defaults, through its own API
(Lucid: ``make_vis_T`` + ``sess.run([loss, vis_op])``, as its ``render_vis`` does; lucid_fast: ``make_vis_T`` +
``step()``).

How it is timed: each library runs in a process of its own (Lucid needs TF2 behaviour switched off), both alive
at once, driven over pipes by this process. Start-up is timed one process at a time: from the process's start
to the end of its first step (imports, model loading, graph building or tracing, the first step), and the
``--warmup`` steps after it (they include a compilation of oneDNN primitives for each new input size the random
scale draws). Then ``--steps`` steps of each are timed in alternating blocks of ``--block`` (the order rotating),
so both see the same machine; the medians and their ratio are printed, for wall time and for CPU time (the
process's, all threads: what the step costs in core-seconds, less disturbed by other jobs than wall time, but
it also counts threads that spin while they wait). Last, ``--renders`` whole renders per
library, alternating: a fresh process renders ``thresholds=(512,)`` (513 steps) at 128 px and writes a PNG
(Lucid: ``render_vis`` + ``lucid.misc.io.save``; lucid_fast: the ``lucid-fast render`` command); the time is
process start to exit.

On a shared machine absolute times are noise: quote the ratios, which come from interleaved runs.
"""
import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from lucid_fast.bench.harness import load_average, parse_configs, read_report, read_reports, report, worker_env

MODULE = "lucid_fast.bench.lucid"  # this module, run by ``python -m`` in each worker process
DEFAULT_LAYER = "block4_conv3_pre_relu"
DEFAULT_CHANNEL = 100
FROZEN_NAME = "vgg16_hed_frozen_lucid.pb"
MARK = "@@bench "  # prefix of the workers' report lines on stdout (anything else there is ignored)


# ---------------------------------------------------------------------------------------------------------
# the frozen GraphDef Lucid renders


def build_frozen_vgg16_hed():
    """``vgg16_hed`` as a frozen TF1 GraphDef in Lucid's modelzoo style: input placeholder ``input`` (RGB in
    [0, 1], any size), ``preprocess``, then per convolution ``<name>_conv`` (Conv2D), ``<name>_pre_relu``
    (BiasAdd) and ``<name>`` (Relu), and ``block<b>_pool`` (max-pool, 2x2, SAME), with the HED weights as
    constants. Needs TF2 (eager) behaviour to read the weights."""
    import tensorflow as tf

    from lucid_fast.modelzoo import vgg16_hed

    model = vgg16_hed.build_trunk()
    weights = {name: model.get_layer(name).get_weights() for name in vgg16_hed.conv_names()}
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
        h = tf.reverse(x, [-1]) * 255.0 - tf.constant(vgg16_hed.HED_MEAN_BGR, tf.float32)
        h = tf.identity(h, name="preprocess")
        for b, (_, n) in enumerate(vgg16_hed.BLOCKS, 1):
            for i in range(1, n + 1):
                name = f"block{b}_conv{i}"
                kernel, bias = weights[name]
                h = tf.nn.conv2d(h, tf.constant(kernel), [1, 1, 1, 1], "SAME", name=name + "_conv")
                h = tf.nn.bias_add(h, tf.constant(bias), name=name + "_pre_relu")
                h = tf.nn.relu(h, name=name)
            if b < len(vgg16_hed.BLOCKS):
                h = tf.nn.max_pool2d(h, 2, 2, "SAME", name=f"block{b}_pool")
    return graph.as_graph_def()


def frozen_vgg16_hed_path():
    """The frozen GraphDef in lucid_fast's cache directory, built there (in a subprocess) on first use."""
    from lucid_fast.misc import download

    path = download.cached_path(FROZEN_NAME)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run([sys.executable, "-m", MODULE, "_freeze", path], check=True, env=worker_env())
    return path


def _freeze(path):
    graph_def = build_frozen_vgg16_hed()
    tmp = path + f".{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(graph_def.SerializeToString())
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------------------
# workers (each in its own process)


def lucid_model(frozen_path):
    from lucid.modelzoo import vision_base

    class VGG16HED(vision_base.Model):
        model_path = frozen_path
        image_shape = [224, 224, 3]
        image_value_range = (0, 1)
        input_name = "input"

    return VGG16HED()


def _lucid_stepper(args):
    """Lucid's render loop, one step per call: make_vis_T + sess.run([loss, vis_op]) as its render_vis does."""
    from lucid_fast.bench import lucid_compat

    lucid_compat.import_lucid()
    import tensorflow as tf2
    from lucid.optvis import param, render

    tf = tf2.compat.v1
    imported = time.time()
    model = lucid_model(args.frozen)
    context = contextlib.ExitStack()  # the graph and session stay open for the worker's life
    context.enter_context(tf.Graph().as_default())
    sess = context.enter_context(tf.Session())
    vis_t = render.make_vis_T(model, f"{args.layer}:{args.channel}",
                              param_f=lambda: param.image(args.size, batch=args.batch),
                              relu_gradient_override=True)
    loss_t, vis_op = vis_t("loss"), vis_t("vis_op")
    tf.global_variables_initializer().run()

    def step():
        return float(sess.run([loss_t, vis_op])[0])

    return imported, step


def _lucid_fast_stepper(args):
    from lucid_fast import modelzoo
    from lucid_fast.optvis import param, render

    imported = time.time()
    model = modelzoo.load_model(args.model)
    vis = render.make_vis_T(model, f"{args.layer}:{args.channel}",
                            param_f=lambda: param.image(args.size, batch=args.batch), seed=0)
    return imported, vis.step


def _worker(args):
    """Reports its start-up, then runs ``steps N`` commands from stdin, replying with each step's seconds."""
    imported, step = (_lucid_stepper if args.tool == "lucid" else _lucid_fast_stepper)(args)
    ready = time.time()
    loss = step()
    first = time.time()
    report(MARK, event="started", t_imported=imported, t_ready=ready, t_first_step=first, loss=loss)
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
        report(MARK, event="steps", times=times, cpu=cpu, losses=losses)


def _render_lucid(args):
    """A whole render as a Lucid user runs it: render_vis with its defaults, then save the PNG."""
    from lucid_fast.bench import lucid_compat

    lucid_compat.import_lucid()
    from lucid.misc import io
    from lucid.optvis import param, render

    images = render.render_vis(lucid_model(args.frozen), f"{args.layer}:{args.channel}",
                               param_f=lambda: param.image(args.size), thresholds=(args.render_steps,),
                               verbose=False)
    io.save(images[-1][0], args.out)
    if args.save_npy:
        import numpy as np

        np.save(os.path.splitext(args.out)[0] + ".npy", images[-1])


# ---------------------------------------------------------------------------------------------------------
# the driver


class _Proc:
    """A worker process driven over its stdin/stdout."""

    def __init__(self, tool, size, batch, layer, channel, frozen, model, log):
        cmd = [sys.executable, "-m", MODULE, "_worker", tool, "--size", str(size), "--batch", str(batch),
               "--layer", layer, "--channel", str(channel), "--frozen", frozen, "--model", model]
        self.tool = tool
        self.t_spawn = time.time()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                  env=worker_env())

    def read(self):
        rec = read_report(self.p.stdout, MARK)
        if rec is not None:
            return rec
        raise RuntimeError(f"the {self.tool} worker exited (code {self.p.wait()}); see its log")

    def steps(self, n):
        self.p.stdin.write(f"steps {n}\n")
        self.p.stdin.flush()
        return self.read()

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait()


def _start(tool, size, batch, args, frozen, log, warmup):
    proc = _Proc(tool, size, batch, args.layer, args.channel, frozen, args.model, log)
    started = proc.read()
    row = {"startup_s": started["t_ready"] - proc.t_spawn,
           "first_step_s": started["t_first_step"] - started["t_ready"],
           "to_first_step_s": started["t_first_step"] - proc.t_spawn}
    if warmup:
        row["warmup_s"] = sum(proc.steps(warmup)["times"])
    return proc, row


def bench_steps(args, frozen, log, out):
    tools = ("lucid", "lucid_fast")
    print(f"# ms per step, {args.layer}:{args.channel}, param.image(size, batch), standard transforms, ReLU "
          f"override, Adam 0.05; each library in its own process; medians of {args.steps} steps each, timed in "
          f"alternating blocks of {args.block} after {args.warmup} warm-up steps; {os.cpu_count()} CPUs, "
          f"{load_average()}", file=out)
    print(f"{'size':>5} {'batch':>5} {'Lucid ms':>9} {'lucid_fast ms':>14} {'speedup':>8}   "
          f"{'to 1st step s (Lucid / lf)':>27} {'warm-up s (Lucid / lf)':>23} {'CPU ms/step (Lucid / lf)':>27}",
          file=out, flush=True)
    rows = []
    for k, (size, batch) in enumerate(args.configs):
        order = tools if k % 2 == 0 else tools[::-1]
        procs, start = {}, {}
        try:
            for tool in order:  # started one at a time: start-up is timed without the other competing
                procs[tool], start[tool] = _start(tool, size, batch, args, frozen, log, args.warmup)
            times, cpu = {t: [] for t in tools}, {t: [] for t in tools}
            r = 0
            while min(len(v) for v in times.values()) < args.steps:
                for j in range(2):
                    tool = order[(j + r) % 2]
                    n = min(args.block, args.steps - len(times[tool]))
                    if n > 0:
                        reply = procs[tool].steps(n)
                        times[tool] += reply["times"]
                        cpu[tool] += reply["cpu"]
                r += 1
        finally:
            for p in procs.values():
                p.close()
        ms = {t: 1000.0 * statistics.median(times[t]) for t in tools}
        cpu_ms = {t: 1000.0 * statistics.median(cpu[t]) for t in tools}
        row = dict(size=size, batch=batch, lucid_ms=ms["lucid"], lucid_fast_ms=ms["lucid_fast"],
                   speedup=ms["lucid"] / ms["lucid_fast"], lucid_cpu_ms=cpu_ms["lucid"],
                   lucid_fast_cpu_ms=cpu_ms["lucid_fast"], cpu_ratio=cpu_ms["lucid"] / cpu_ms["lucid_fast"],
                   start=start, times=times, cpu=cpu)
        rows.append(row)
        print(f"{size:>5} {batch:>5} {ms['lucid']:>9.1f} {ms['lucid_fast']:>14.1f} {row['speedup']:>7.2f}x   "
              f"{start['lucid']['to_first_step_s']:>12.1f} / {start['lucid_fast']['to_first_step_s']:<12.1f}"
              f"{start['lucid'].get('warmup_s', 0):>10.1f} / {start['lucid_fast'].get('warmup_s', 0):<10.1f}"
              f"{cpu_ms['lucid']:>9.0f} / {cpu_ms['lucid_fast']:<9.0f}{row['cpu_ratio']:>5.2f}x",
              file=out, flush=True)
    return rows


def _render_cmd(tool, args, frozen, png):
    if tool == "lucid":
        return [sys.executable, "-m", MODULE, "_render_lucid", "--frozen", frozen, "--layer", args.layer,
                "--channel", str(args.channel), "--size", str(args.render_size), "--render-steps",
                str(args.render_steps), "--out", png]
    return [sys.executable, "-m", "lucid_fast", "render", "--model", args.model, "--objective",
            f"{args.layer}:{args.channel}", "--size", str(args.render_size), "--steps", str(args.render_steps + 1),
            "--quiet", "--out", png]


def bench_renders(args, frozen, log, out, workdir):
    tools = ("lucid", "lucid_fast")
    print(f"# whole render, process start to PNG: {args.layer}:{args.channel}, param.image({args.render_size}), "
          f"thresholds=({args.render_steps},) ({args.render_steps + 1} steps), each library's defaults; "
          f"{args.renders} alternating run(s) each; {load_average()}", file=out, flush=True)
    secs = {t: [] for t in tools}
    for r in range(args.renders):
        for tool in (tools if r % 2 == 0 else tools[::-1]):
            png = os.path.join(workdir, f"render_{tool}_{r}.png")
            t0 = time.time()
            subprocess.run(_render_cmd(tool, args, frozen, png), check=True, stdout=log, stderr=log,
                           env=worker_env())
            secs[tool].append(time.time() - t0)
    med = {t: statistics.median(v) for t, v in secs.items()}
    print(f"{'Lucid s':>9} {'lucid_fast s':>13} {'speedup':>8}   (runs: Lucid "
          f"{', '.join(f'{s:.0f}' for s in secs['lucid'])}; lucid_fast "
          f"{', '.join(f'{s:.0f}' for s in secs['lucid_fast'])})", file=out)
    print(f"{med['lucid']:>9.1f} {med['lucid_fast']:>13.1f} {med['lucid'] / med['lucid_fast']:>7.2f}x", file=out,
          flush=True)
    return dict(lucid_s=med["lucid"], lucid_fast_s=med["lucid_fast"], runs=secs)


def _high_frequency(img):
    """Mean absolute difference between neighbouring pixels (both axes): the high-frequency energy of
    notebooks/feature-visualization/regularization.ipynb. ``img``: (..., H, W, C)."""
    import numpy as np

    img = np.asarray(img, np.float64)
    return float(np.abs(np.diff(img, axis=-3)).mean() + np.abs(np.diff(img, axis=-2)).mean())


def _evaluate(args):
    """Objective and high-frequency energy of saved final images, each image as it is (untransformed, at its
    own size), on lucid_fast's vgg16_hed (the weights Lucid's frozen graph holds)."""
    import numpy as np
    import tensorflow as tf

    from lucid_fast import modelzoo

    adapter = modelzoo.load_model(args.model)
    act = tf.function(adapter.activation_fn([args.layer]))
    for spec in args.files:
        path, _, channel = spec.rpartition(":")
        img = np.load(path).astype(np.float32)
        img = img[None] if img.ndim == 3 else img
        value = float(act(tf.constant(img))[args.layer].numpy()[..., int(channel)].mean())
        report(MARK, path=path, objective=value, hf=_high_frequency(img))


def bench_preset_race(args, frozen, log, out, workdir):
    """The fast preset against Lucid's default 512 steps: per channel, a whole Lucid render and a whole
    ``lucid-fast render --preset fast``, alternating, each a fresh process timed from start to PNG; then both
    final images are evaluated the same way (the channel's mean activation on the untransformed 128 px image,
    and its high-frequency energy)."""
    import numpy as np

    print(f"# fast preset vs Lucid's defaults: {args.layer}:<channel>, param.image({args.render_size}); Lucid "
          f"render_vis thresholds=({args.render_steps},) vs lucid-fast render --preset fast; each a fresh "
          f"process, start to PNG, alternating; objective = the channel's mean on the final untransformed "
          f"image; HF = mean |neighbour difference|; {load_average()}", file=out, flush=True)
    rows = []
    for k, channel in enumerate(args.preset_race):
        row = {"channel": channel}
        for tool in (("lucid", "fast") if k % 2 == 0 else ("fast", "lucid")):
            png = os.path.join(workdir, f"race_{tool}_{channel}.png")
            if tool == "lucid":
                cmd = [sys.executable, "-m", MODULE, "_render_lucid", "--frozen", frozen, "--layer", args.layer,
                       "--channel", str(channel), "--size", str(args.render_size), "--render-steps",
                       str(args.render_steps), "--out", png, "--save-npy"]
            else:
                cmd = [sys.executable, "-m", "lucid_fast", "render", "--model", args.model, "--objective",
                       f"{args.layer}:{channel}", "--size", str(args.render_size), "--preset", "fast",
                       "--seed", str(channel), "--quiet", "--save-npy", "--out", png]
            t0 = time.time()
            subprocess.run(cmd, check=True, stdout=log, stderr=log, env=worker_env())
            row[f"{tool}_s"] = time.time() - t0
            row[f"{tool}_npy"] = os.path.splitext(png)[0] + ".npy"
        rows.append(row)
        print(f"  channel {channel}: Lucid {row['lucid_s']:.0f} s, fast preset {row['fast_s']:.0f} s", file=out,
              flush=True)
    files = [f"{r[t + '_npy']}:{r['channel']}" for r in rows for t in ("lucid", "fast")]
    proc = subprocess.run([sys.executable, "-m", MODULE, "_evaluate", "--layer", args.layer, "--model",
                           args.model, "--files", *files], check=True, stdout=subprocess.PIPE,
                          stderr=log, text=True, env=worker_env())
    scores = {rec["path"]: rec for rec in read_reports(proc.stdout, MARK)}
    print(f"{'channel':>8} {'Lucid obj':>10} {'fast obj':>9} {'obj ratio':>10} {'Lucid s':>8} {'fast s':>7} "
          f"{'time ratio':>11} {'Lucid HF':>9} {'fast HF':>8} {'HF ratio':>9}", file=out)
    for r in rows:
        lo, fo = scores[r["lucid_npy"]], scores[r["fast_npy"]]
        r.update(lucid_obj=lo["objective"], fast_obj=fo["objective"], lucid_hf=lo["hf"], fast_hf=fo["hf"],
                 obj_ratio=fo["objective"] / lo["objective"], time_ratio=r["fast_s"] / r["lucid_s"],
                 hf_ratio=fo["hf"] / lo["hf"])
        print(f"{r['channel']:>8} {r['lucid_obj']:>10.1f} {r['fast_obj']:>9.1f} {r['obj_ratio']:>9.2f}x "
              f"{r['lucid_s']:>8.0f} {r['fast_s']:>7.0f} {r['time_ratio']:>10.2f}x {r['lucid_hf']:>9.3f} "
              f"{r['fast_hf']:>8.3f} {r['hf_ratio']:>8.2f}x", file=out)
    med = {k: float(np.median([r[k] for r in rows])) for k in ("obj_ratio", "time_ratio", "hf_ratio")}
    print(f"{'median':>8} {'':>10} {'':>9} {med['obj_ratio']:>9.2f}x {'':>8} {'':>7} {med['time_ratio']:>10.2f}x "
          f"{'':>9} {'':>8} {med['hf_ratio']:>8.2f}x   (targets: objective >= 1x, time <= 0.33x, HF <= 1.2x)",
          file=out, flush=True)
    grid = []
    for r in rows:
        pair = [np.load(r["lucid_npy"])[0], np.load(r["fast_npy"])[0]]
        grid.append(np.concatenate([pair[0], np.ones_like(pair[0][:, :4]), pair[1]], axis=1))
    from lucid_fast.misc import io

    sheet = os.path.join(workdir, "race_lucid_left_fast_right.png")
    io.save(np.concatenate([g for r in grid for g in (r, np.ones_like(r[:4]))][:-1], axis=0), sheet)
    print(f"# pictures (Lucid left, fast preset right, one row per channel): {sheet}", file=out, flush=True)
    return dict(rows=rows, medians=med)


def bench_lucid(args, out=sys.stdout):
    from lucid_fast.bench import lucid_compat

    try:
        from importlib.metadata import version
        version("lucid")
    except Exception:  # noqa: BLE001 - PackageNotFoundError
        raise SystemExit(f"the original Lucid is not installed; install it with: {lucid_compat.INSTALL_HINT}")
    frozen = frozen_vgg16_hed_path()
    workdir = args.workdir or tempfile.mkdtemp(prefix="lucid_fast_bench_")
    os.makedirs(workdir, exist_ok=True)
    log_path = os.path.join(workdir, "workers.log")
    print(f"# lucid_fast vs the original Lucid {lucid_compat.LUCID_VERSION} (tf.compat.v1); Lucid renders "
          f"{frozen}; worker logs and PNGs in {workdir}", file=out, flush=True)
    result = {}
    with open(log_path, "a") as log:
        if args.steps > 0:
            result["steps"] = bench_steps(args, frozen, log, out)
        if args.renders > 0:
            result["render"] = bench_renders(args, frozen, log, out, workdir)
        if args.preset_race:
            result["preset_race"] = bench_preset_race(args, frozen, log, out, workdir)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return result


def add_arguments(p):
    p.add_argument("--configs", nargs="+", default=["128x1", "224x4"], help="SIZExBATCH")
    p.add_argument("--steps", type=int, default=48, help="timed steps per library and config (0: skip)")
    p.add_argument("--warmup", type=int, default=40, help="untimed steps after the first")
    p.add_argument("--block", type=int, default=8, help="consecutive steps of one library between switches")
    p.add_argument("--renders", type=int, default=1, help="whole renders per library (0: skip)")
    p.add_argument("--render-steps", type=int, default=512, help="the render's threshold (steps = this + 1)")
    p.add_argument("--render-size", type=int, default=128)
    p.add_argument("--layer", default=DEFAULT_LAYER)
    p.add_argument("--channel", type=int, default=DEFAULT_CHANNEL)
    p.add_argument("--model", default="vgg16_hed", help="lucid_fast's model (Lucid always gets the frozen "
                                                         "vgg16_hed)")
    p.add_argument("--preset-race", type=int, nargs="*", default=[], metavar="CHANNEL",
                   help="also race the fast preset against Lucid's 512 steps on these channels of --layer")
    p.add_argument("--workdir", default=None, help="where logs and PNGs go (default: a new temp dir)")
    p.add_argument("--json", default=None, help="also write the results as JSON here")


def run(args):
    args.configs = parse_configs(args.configs)
    bench_lucid(args)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_freeze":
        return _freeze(argv[1])
    if argv and argv[0] == "_evaluate":
        p = argparse.ArgumentParser()
        p.add_argument("mode")
        p.add_argument("--layer", default=DEFAULT_LAYER)
        p.add_argument("--model", default="vgg16_hed")
        p.add_argument("--files", nargs="+", required=True, help="PATH.npy:CHANNEL")
        return _evaluate(p.parse_args(argv))
    if argv and argv[0] in ("_worker", "_render_lucid"):
        p = argparse.ArgumentParser()
        p.add_argument("mode")
        if argv[0] == "_worker":
            p.add_argument("tool", choices=["lucid", "lucid_fast"])
        p.add_argument("--size", type=int, default=128)
        p.add_argument("--batch", type=int, default=1)
        p.add_argument("--layer", default=DEFAULT_LAYER)
        p.add_argument("--channel", type=int, default=DEFAULT_CHANNEL)
        p.add_argument("--frozen", required=True)
        p.add_argument("--model", default="vgg16_hed")
        p.add_argument("--render-steps", type=int, default=512)
        p.add_argument("--out", default=None)
        p.add_argument("--save-npy", action="store_true")
        args = p.parse_args(argv)
        return _worker(args) if args.mode == "_worker" else _render_lucid(args)
    p = argparse.ArgumentParser(prog="python -m lucid_fast.bench lucid")
    add_arguments(p)
    args = p.parse_args(argv)
    args.configs = parse_configs(args.configs)
    bench_lucid(args)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
