"""The ``lucid-fast`` command: render, layers, gallery, bench.

    lucid-fast render --model vgg16_hed --objective block4_conv3:100 --size 128 --steps 256 --out out.png
    lucid-fast render --objective block4_conv3:100 --objective block5_conv1:7 --out grid.png   (one batch)
    lucid-fast render --model efficientnet_lite0 --class espresso --out espresso.png   (a classifier's class)
    lucid-fast layers --model vgg16_hed
    lucid-fast gallery --model vgg16_hed --layers block1_conv2 --size 128 --steps 512 --out gallery/
    lucid-fast bench kernels | render

Exit status: 0 done; 2 bad arguments or input (one line per error on stderr, checked before the model loads
where possible), or a render refused before it starts (e.g. not enough memory); 130 interrupted (Ctrl-C: the
image so far is saved, and said to be partial); 1 anything else, e.g. a failed write.
"""
import argparse
import os
import signal
import sys
import tempfile

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
MIN_SIZE = 8
OUT_EXTS = (".png", ".jpg", ".jpeg")  # what --out can write (lucid_fast.misc.io image formats)


class _Interrupted:
    """A SIGINT handler that remembers it fired, then interrupts as Python's default one does."""

    def __init__(self):
        self.fired = False

    def __call__(self, signum, frame):
        self.fired = True
        raise KeyboardInterrupt


def _check_out_path(out, flag="--out"):
    """Errors (strings) for an output path that cannot be written: checked before anything is rendered."""
    exts = ", ".join(OUT_EXTS)
    if not out or not out.strip():
        return [f"{flag} must name an image file ({exts}), got {out!r}"]
    if os.path.isdir(out):
        return [f"{flag} {out!r} is a folder; name a file in it"]
    ext = os.path.splitext(out)[1].lower()
    if ext not in OUT_EXTS:
        return [f"{flag} {out!r}: unsupported extension {ext or '(none)'!r}; use {exts}"]
    folder = os.path.dirname(os.path.abspath(out))
    existing = folder
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return [f"{flag} {out!r}: {existing!r} is a file, not a folder"]
    if existing != folder:  # io.save creates the missing folders
        if not os.access(existing, os.W_OK | os.X_OK):
            return [f"{flag} {out!r}: cannot create folders in {existing!r} (not writable)"]
        return []
    import tempfile

    try:  # the only reliable test (permissions, read-only file systems, /proc): create a file there
        fd, probe = tempfile.mkstemp(prefix=".lucid-fast-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return [f"{flag} {out!r}: cannot write in {folder!r} ({err.strerror or err})"]
    return []


def _check_render_args(args):
    """Every error of the render arguments that can be found without loading the model, one line each."""
    errors = []
    for name, minimum in (("steps", 1), ("size", MIN_SIZE), ("batch", 1), ("seed", 0)):
        value = getattr(args, name)
        if value < minimum:
            errors.append(f"--{name} must be an integer >= {minimum}, got {value}")
    if bool(args.objective) == bool(args.classes):
        errors.append("give either --objective LAYER:CHANNEL or --class LABEL (each repeatable), not both or "
                      "neither")
    for label in args.classes:
        if not label.strip():
            errors.append("--class needs a class name (e.g. espresso) or index, got an empty string")
    for spec in args.objective:
        layer, sep, ch = spec.rpartition(":")
        if not sep or not layer.strip() or not ch.strip().isdigit():
            errors.append(f"--objective must be LAYER:CHANNEL with CHANNEL an integer >= 0, got {spec!r}")
    if len(args.objective) + len(args.classes) > 1 and args.batch != 1:
        errors.append("with several --objective or --class, the batch holds one image per objective; drop --batch")
    errors += _check_out_path(args.out)
    errors += _check_model_arg(args.model)
    if not errors:
        errors += _check_layers_in_zoo_table(args.model, args.objective)
    if not errors:
        errors += _check_image_memory(args)
    return errors


def _check_layers_in_zoo_table(model, specs):
    """--objective's layers and channels against the zoo's layer table, before the model loads (about 12 s for
    vgg16_hed on 2 cores). Only for zoo models whose table lists every layer the adapter resolves, without
    TensorFlow (vgg16_hed); other models are checked once loaded."""
    from lucid_fast import modelzoo

    if not modelzoo.is_model_name(model) or modelzoo.get_entry(model).name != "vgg16_hed":
        return []
    import difflib

    table = {info.name: info.channels for info in modelzoo.layer_info(model)}
    errors = []
    for spec in specs:
        layer, _, ch = spec.rpartition(":")
        name = layer.strip()
        name = name[len("import/"):] if name.startswith("import/") else name
        if name not in table:
            close = difflib.get_close_matches(name, list(table), n=4, cutoff=0.5)
            hint = f" (closest: {', '.join(close)})" if close else ""
            errors.append(f"--objective {spec!r}: model {model!r} has no layer {layer.strip()!r}{hint}; list them "
                          f"with: lucid-fast layers --model {model}")
        elif table[name] is not None and int(ch) >= table[name]:
            errors.append(f"--objective {spec!r}: layer {name!r} has {table[name]} channels (0 to "
                          f"{table[name] - 1}); list them with: lucid-fast layers --model {model}")
    return errors


def _check_model_arg(model):
    from lucid_fast import modelzoo

    if modelzoo.is_model_name(model) or os.path.exists(model):
        return []
    import difflib

    close = difflib.get_close_matches(model.lower(), [m.name for m in modelzoo.list_models()], n=3)
    hint = f" (closest modelzoo names: {', '.join(close)})" if close else ""
    return [f"--model {model!r} is neither a modelzoo name nor an existing file or folder{hint}; "
            f"see lucid_fast.modelzoo.list_models()"]


def _check_image_memory(args):
    """The image side alone at --size (the model's share is checked once it is loaded)."""
    from lucid_fast.misc import memory

    n = len(args.objective) + len(args.classes)
    batch = args.batch if n == 1 else n
    h = w = args.size
    params = batch * h * w * 3 if args.pixel else 2 * batch * 3 * h * (w // 2 + 2)
    need = memory.image_side_bytes(params, batch * h * w * 3)
    try:
        memory.check_fits(need, f"--size {args.size}: the image side of a render step (before the model)",
                          "reduce --size or --batch")
    except ValueError as err:
        return [str(err)]
    return []


def _render(args):
    from lucid_fast.misc import io
    from lucid_fast.optvis import objectives, param, render, transform

    from lucid_fast import modelzoo

    model = modelzoo.load_model(args.model)  # loaded once: its input channel count sets the image's
    objs = args.objective
    n = len(objs) + len(args.classes)
    if args.classes:
        indices = [_class_index(model, args.model, label) for label in args.classes]
        objective = objectives.Objective.sum([objectives.class_logit(model.logits_layer, i, batch=None if n == 1 else b)
                                              for b, i in enumerate(indices)])
    elif n == 1:
        objective = objectives.as_objective(objs[0])
    else:
        parts = []
        for b, spec in enumerate(objs):
            layer, _, ch = spec.rpartition(":")
            parts.append(objectives.channel(layer, int(ch), batch=b))
        objective = objectives.Objective.sum(parts)
    batch = n * args.batch if n == 1 else n
    c_in = model.input_channels

    def param_f():
        if c_in not in (None, 3):  # e.g. fer_emotion's grayscale input: no colour to decorrelate
            return param.image(args.size, batch=batch, fft=not args.pixel, channels=c_in)
        return param.image(args.size, batch=batch, decorrelate=not args.no_decorrelate, fft=not args.pixel)

    if args.preset:  # the preset sets the steps, the learning rate and the transforms
        schedule = dict(preset=args.preset)
    else:
        schedule = dict(transforms=[] if args.no_transforms else transform.standard_transforms,
                        thresholds=(args.steps - 1,))
    sigint = _Interrupted()
    previous = signal.signal(signal.SIGINT, sigint)
    try:
        images = render.render_vis(model, objective, param_f=param_f, verbose=False, progress=not args.quiet,
                                   seed=args.seed, relu_gradient_override=not args.no_relu_override, **schedule)
        final = images[-1]
        # atomic (a second Ctrl-C leaves the old file); the values as rendered (save alone would stretch them)
        io.save(io.image_grid(final), args.out, domain=(0, 1))
        if args.save_npy:
            io.save(final, os.path.splitext(args.out)[0] + ".npy")
    finally:
        signal.signal(signal.SIGINT, previous)
    shape = f"{final.shape[0]} image(s) of {final.shape[1]}x{final.shape[2]}"
    if sigint.fired:
        print(f"lucid-fast render: interrupted: wrote {args.out} ({shape}), a PARTIAL render: it stopped before "
              f"its {args.steps} steps", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(f"wrote {args.out} ({shape})")
    return 0


def _class_index(model, model_arg, label):
    """--class LABEL as a logit index of the model: a class name (case and spaces as in the model's labels, or
    any case) or an index; a ValueError naming the closest names otherwise."""
    import difflib

    labels = list(model.labels) if model.labels is not None else None
    if model.logits_layer is None:
        raise ValueError(f"--class: model {model_arg!r} names no logits layer (it is not a classifier lucid_fast "
                         f"knows); use --objective LAYER:CHANNEL")
    label = label.strip()
    if label.isdigit():
        index = int(label)
        count = len(labels) if labels is not None else None
        if count is not None and index >= count:
            raise ValueError(f"--class {label}: model {model_arg!r} has {count} classes (0 to {count - 1})")
        return index
    if labels is None:
        raise ValueError(f"--class {label!r}: model {model_arg!r} has no class names; give the class index")
    folded = {name.lower(): i for i, name in enumerate(labels)}
    if label.lower() in folded:
        return folded[label.lower()]
    close = difflib.get_close_matches(label.lower(), list(folded), n=5, cutoff=0.6)
    hint = f" Closest: {', '.join(labels[folded[c]] for c in close)}." if close else ""
    raise ValueError(f"--class {label!r}: not a class name of model {model_arg!r}.{hint} "
                     f"(lucid_fast.modelzoo.load({model_arg!r}).labels lists all {len(labels)})")


def _layers(args):
    from lucid_fast import modelzoo

    adapter = modelzoo.load_model(args.model)
    rows = adapter.layers()
    print(f"{'layer':40s} {'channels':>8s}  spatial")
    for info in rows:
        sp = "x".join(str(s) for s in info.spatial) if info.spatial else "-"
        ch = "-" if info.channels is None else str(info.channels)
        print(f"{info.name:40s} {ch:>8s}  {sp}")


def _models(args):
    """The modelzoo's models: name, framework, availability, description (nothing is loaded)."""
    from lucid_fast import modelzoo

    rows = modelzoo.list_models()
    width = max(len(m.name) for m in rows)
    print(f"{'model':{width}s}  {'framework':10s}  availability")
    for m in rows:
        print(f"{m.name:{width}s}  {m.framework:10s}  {m.availability}")
        print(f"{'':{width}s}  {'':10s}  {m.description}")


def _check_gallery_args(args):
    """Every error of the gallery arguments that can be found without TensorFlow or the model, one line each."""
    from lucid_fast.gallery import dask_runner, job, store

    errors = []
    for name, lo, hi in (("size", MIN_SIZE, 4096), ("steps", 1, None), ("batch", 1, 256), ("seed", 0, 2**63 - 1)):
        value = getattr(args, name)
        if value is not None and (value < lo or (hi is not None and value > hi)):
            what = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
            errors.append(f"--{name} must be an integer {what}, got {value}")
    if not [s for s in args.layers.split(",") if s.strip()]:
        errors.append(f"--layers must name layers (comma-separated) or be 'all', got {args.layers!r}")
    if args.channels is not None:
        problem = job.check_channel_syntax(args.channels, "--channels")
        errors += [problem] if problem else []
    problem = dask_runner.check_workers(args.workers, "--workers")
    errors += [problem] if problem else []
    if args.scheduler is not None:
        problem = job.check_scheduler(args.scheduler, "--scheduler")
        errors += [problem] if problem else []
    problem = store.out_dir_problem(args.out, "--out")
    errors += [problem] if problem else []
    errors += _check_model_arg(args.model)
    return errors


def _gallery(args):
    from lucid_fast import gallery

    try:
        result = gallery.run(args.model, args.layers, args.out, channels=args.channels, size=args.size,
                             steps=args.steps, batch=args.batch, seed=args.seed, negative=args.negative,
                             preset=args.preset, workers=args.workers, scheduler=args.scheduler, site=not args.no_site,
                             progress=not args.quiet)
    except gallery.GalleryError as err:
        print(f"lucid-fast: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    if not args.quiet:
        print(f"{len(result.committed)} channel(s) rendered, {result.skipped} already done, in "
              f"{result.wall_time_s:.0f} s; gallery in {result.out}"
              + (f"; open {result.site}" if result.site else ""))


def _bench(args):
    from lucid_fast import bench

    bench.main([args.what] + args.rest)


def _needs_tensorflow(args):
    """Whether the command's model may run on TensorFlow: not for a PyTorch zoo model (``--model
    vgg16_hed_torch``), whose commands never import it (a machine with PyTorch only has none)."""
    from lucid_fast import modelzoo

    model = getattr(args, "model", None)
    if isinstance(model, str) and modelzoo.is_model_name(model) and not os.path.exists(model):
        return modelzoo.get_entry(model).framework != "torch"
    return True


def _quiet_tensorflow_start():
    """Imports TensorFlow and lets it probe for devices with the process's stderr (file descriptor 2) pointed
    at a temporary file, so that its C++ start-up lines (absl's "All log messages before absl::InitializeLog()"
    warning, oneDNN and CPU-feature notes, "failed call to cuInit ... UNKNOWN ERROR" on a machine without a
    GPU) do not reach the terminal; later C++ logging is limited to fatal errors. If the import fails, what
    was captured is printed before the error."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the device probe (cuInit) runs here
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


DEFAULT_STEPS = 256


def _resolve_steps(args):
    """--steps and --preset: the preset sets the steps (and the transforms); otherwise --steps defaults to
    DEFAULT_STEPS (render; the gallery's default, 512, is Settings'). Returns a list of errors (one line
    each)."""
    if getattr(args, "cmd", None) == "gallery":
        if args.preset and args.steps is not None:
            return [f"--preset {args.preset} sets the steps; drop --steps"]
        return []
    if getattr(args, "cmd", None) != "render":
        return []
    if args.preset:
        clashes = [flag for flag, on in (("--steps", args.steps is not None), ("--no-transforms", args.no_transforms))
                   if on]
        if clashes:
            return [f"--preset {args.preset} sets the steps and the transforms; drop {' and '.join(clashes)}"]
        from lucid_fast.optvis.presets import preset_steps

        args.steps = preset_steps(args.preset)
    elif args.steps is None:
        args.steps = DEFAULT_STEPS
    return []


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (and exit status 2, as argparse)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    p = _Parser(prog="lucid-fast", description="Feature visualization for TensorFlow 2 models.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up log")
    r = sub.add_parser("render", help="render what a layer's channel responds to, into a PNG", parents=[common])
    r.add_argument("--model", default="vgg16_hed", help="modelzoo name, SavedModel dir, .pb or .keras file")
    r.add_argument("--objective", action="append", default=[],
                   help="LAYER:CHANNEL (repeat for several images in one batch, saved as a grid)")
    r.add_argument("--class", dest="classes", action="append", default=[], metavar="LABEL",
                   help="a class of a classifier (efficientnet_lite0), by name or index: its logit is the objective "
                        "(repeat for several images in one batch)")
    r.add_argument("--size", type=int, default=128)
    r.add_argument("--steps", type=int, default=None, help=f"optimization steps (default {DEFAULT_STEPS}; "
                                                            "set by --preset fast)")
    r.add_argument("--preset", choices=["fast"], default=None,
                   help="fast: Lucid's 512-step objective in 160 steps (higher learning rate, then the image "
                        "itself; see the README); sets --steps and the transforms")
    r.add_argument("--batch", type=int, default=1, help="images per objective (diverse starts)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default="out.png", help="the image to write: .png, .jpg or .jpeg")
    r.add_argument("--save-npy", action="store_true", help="also save the float images as .npy")
    r.add_argument("--pixel", action="store_true", help="pixel parameterization instead of Fourier")
    r.add_argument("--no-decorrelate", action="store_true")
    r.add_argument("--no-transforms", action="store_true")
    r.add_argument("--no-relu-override", action="store_true")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(fn=_render, check=_check_render_args)
    lay = sub.add_parser("layers", help="list a model's layers, channel counts and spatial sizes", parents=[common])
    lay.add_argument("--model", default="vgg16_hed")
    lay.set_defaults(fn=_layers, check=lambda args: _check_model_arg(args.model))
    mod = sub.add_parser("models", help="list the modelzoo's models, their framework and whether they work offline")
    mod.set_defaults(fn=_models)
    g = sub.add_parser("gallery", help="render every channel of layers into a resumable gallery with a static site",
                       description="Renders every channel of the layers (K channels per optimization), writes each "
                                   "one atomically, resumes where a previous run stopped, and builds OUT/site/.",
                       parents=[common])
    g.add_argument("--model", default="vgg16_hed", help="modelzoo name or model path (every worker must read it)")
    g.add_argument("--layers", required=True, help="comma-separated layer names, or 'all' (every convolution)")
    g.add_argument("--channels", default=None, help="e.g. 0:64 or 3,7,10:20 (default: every channel); a range "
                                                         "past the layer is refused, not clipped")
    g.add_argument("--size", type=int, default=128)
    g.add_argument("--steps", type=int, default=None, help="optimization steps (default 512, Lucid's; set by "
                                                            "--preset fast)")
    g.add_argument("--preset", choices=["fast"], default=None,
                   help="fast: 128 steps at Adam 0.15 under Lucid's transforms, then 32 at 0.1 on the image "
                        "itself (Lucid's 512-step objective in 160 steps; see docs/GALLERY.md); sets --steps")
    g.add_argument("--batch", type=int, default=None, help="channels per optimization (default 8)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--negative", action="store_true", help="also render each channel's negative optimum")
    g.add_argument("--out", required=True, help="the gallery directory (resumed if it holds the same job)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="render on a Dask LocalCluster of N processes (at most the CPUs; more is refused)")
    where.add_argument("--scheduler", default=None, help="render on an existing Dask cluster (tcp://HOST:PORT)")
    g.add_argument("--no-site", action="store_true", help="do not (re)build OUT/site/")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(fn=_gallery, check=_check_gallery_args)
    benches = ["kernels", "kernels-gpu", "sample", "render", "lucid", "attribution", "gallery"]
    b = sub.add_parser("bench", help="benchmarks: " + " | ".join(benches))
    b.add_argument("what", choices=benches)
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(fn=_bench)
    return p


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    from lucid_fast.misc.download import OfflineError

    try:
        check = getattr(args, "check", None)
        errors = _resolve_steps(args)
        errors = errors or (check(args) if check is not None else [])
        if errors:
            for message in errors:
                print(f"lucid-fast {args.cmd}: error: {message}", file=sys.stderr)
            return EXIT_USAGE
        if getattr(args, "verbose", True) is False and _needs_tensorflow(args):
            _quiet_tensorflow_start()
        elif getattr(args, "verbose", False):
            import lucid_fast

            lucid_fast.show_tensorflow_log()  # undo the quiet start that importing lucid_fast arranged
        return args.fn(args) or 0
    except (ValueError, OfflineError) as err:  # user errors (unknown layer, bad channel, model not cached): one line
        message = _one_line(err)
        model = getattr(args, "model", None)
        if model:  # the adapter's advice is for Python; on the command line, the command that lists the layers
            message = message.replace(_PYTHON_LAYERS_HINT, f"List all layers with: lucid-fast layers --model {model}")
        print(f"lucid-fast {args.cmd}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        after = "; nothing was written (a file already at the output path is unchanged)" if args.cmd == "render" else ""
        print(f"lucid-fast {args.cmd}: interrupted{after}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as err:
        print(f"lucid-fast {args.cmd}: error: {_one_line(err)}", file=sys.stderr)
        return 1


_PYTHON_LAYERS_HINT = "List all layers with model.layers() (or lucid_fast.modelzoo.layer_info(model))"


def _one_line(err):
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
