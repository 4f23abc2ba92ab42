"""The ``lucid-fast`` command: render, layers, gallery, bench.

    lucid-fast render --model vgg16_hed --objective block4_conv3:100 --size 128 --steps 256 --out out.png
    lucid-fast render --objective block4_conv3:100 --objective block5_conv1:7 --out grid.png   (one batch)
    lucid-fast layers --model vgg16_hed
    lucid-fast gallery --model vgg16_hed --layers block1_conv2 --size 128 --steps 512 --out gallery/
    lucid-fast bench kernels | render
"""
import argparse
import os
import sys


def _render(args):
    import numpy as np

    from lucid_fast.misc import io
    from lucid_fast.optvis import objectives, param, render, transform

    objs = args.objective
    n = len(objs)
    if n == 1:
        objective = objectives.as_objective(objs[0])
    else:
        parts = []
        for b, spec in enumerate(objs):
            layer, _, ch = spec.rpartition(":")
            if not layer or not ch.lstrip("-").isdigit():
                raise SystemExit(f"lucid-fast render: --objective must be LAYER:CHANNEL, got {spec!r}")
            parts.append(objectives.channel(layer, int(ch), batch=b))
        objective = objectives.Objective.sum(parts)
    batch = n * args.batch if n == 1 else n
    if n > 1 and args.batch != 1:
        raise SystemExit("lucid-fast render: with several --objective, the batch holds one image per objective; "
                         "drop --batch")

    def param_f():
        return param.image(args.size, batch=batch, decorrelate=not args.no_decorrelate, fft=not args.pixel)

    transforms = [] if args.no_transforms else transform.standard_transforms
    images = render.render_vis(args.model, objective, param_f=param_f, transforms=transforms,
                               thresholds=(args.steps - 1,), verbose=False, progress=not args.quiet,
                               seed=args.seed, relu_gradient_override=not args.no_relu_override)
    final = images[-1]
    io.save(io.image_grid(final), args.out)
    if args.save_npy:
        np.save(os.path.splitext(args.out)[0] + ".npy", final)
    if not args.quiet:
        print(f"wrote {args.out} ({final.shape[0]} image(s) of {final.shape[1]}x{final.shape[2]})")


def _layers(args):
    from lucid_fast import models

    adapter = models.load_model(args.model)
    rows = adapter.layers()
    print(f"{'layer':40s} {'channels':>8s}  spatial")
    for info in rows:
        sp = "x".join(str(s) for s in info.spatial) if info.spatial else "-"
        ch = "-" if info.channels is None else str(info.channels)
        print(f"{info.name:40s} {ch:>8s}  {sp}")


def _gallery(args):
    from lucid_fast import gallery

    try:
        result = gallery.run(args.model, args.layers, args.out, channels=args.channels, size=args.size,
                             steps=args.steps, batch=args.batch, seed=args.seed, negative=args.negative,
                             workers=args.workers, scheduler=args.scheduler, site=not args.no_site,
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


def build_parser():
    p = argparse.ArgumentParser(prog="lucid-fast", description="Feature visualization for TensorFlow 2 models.")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="render what a layer's channel responds to, into a PNG")
    r.add_argument("--model", default="vgg16_hed", help="modelzoo name, SavedModel dir, .pb or .keras file")
    r.add_argument("--objective", action="append", required=True,
                   help="LAYER:CHANNEL (repeat for several images in one batch, saved as a grid)")
    r.add_argument("--size", type=int, default=128)
    r.add_argument("--steps", type=int, default=256)
    r.add_argument("--batch", type=int, default=1, help="images per objective (diverse starts)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default="out.png")
    r.add_argument("--save-npy", action="store_true", help="also save the float images as .npy")
    r.add_argument("--pixel", action="store_true", help="pixel parameterization instead of Fourier")
    r.add_argument("--no-decorrelate", action="store_true")
    r.add_argument("--no-transforms", action="store_true")
    r.add_argument("--no-relu-override", action="store_true")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(fn=_render)
    lay = sub.add_parser("layers", help="list a model's layers, channel counts and spatial sizes")
    lay.add_argument("--model", default="vgg16_hed")
    lay.set_defaults(fn=_layers)
    g = sub.add_parser("gallery", help="render every channel of layers into a resumable gallery with a static site",
                       description="Renders every channel of the layers (K channels per optimization), writes each "
                                   "one atomically, resumes where a previous run stopped, and builds OUT/site/.")
    g.add_argument("--model", default="vgg16_hed", help="modelzoo name or model path (every worker must read it)")
    g.add_argument("--layers", required=True, help="comma-separated layer names, or 'all' (every convolution)")
    g.add_argument("--channels", default=None, help="e.g. 0:64 or 3,7,10:20 (default: every channel)")
    g.add_argument("--size", type=int, default=128)
    g.add_argument("--steps", type=int, default=512)
    g.add_argument("--batch", type=int, default=None, help="channels per optimization (default 8)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--negative", action="store_true", help="also render each channel's negative optimum")
    g.add_argument("--out", required=True, help="the gallery directory (resumed if it holds the same job)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, help="render on a Dask LocalCluster of N processes")
    where.add_argument("--scheduler", default=None, help="render on an existing Dask cluster (tcp://HOST:PORT)")
    g.add_argument("--no-site", action="store_true", help="do not (re)build OUT/site/")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(fn=_gallery)
    b = sub.add_parser("bench", help="benchmarks: kernels | kernels-gpu | render | gallery")
    b.add_argument("what", choices=["kernels", "kernels-gpu", "render", "gallery"])
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(fn=_bench)
    return p


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    if getattr(args, "steps", 1) < 1 or getattr(args, "size", 8) < 8:
        raise SystemExit("lucid-fast: --steps must be >= 1 and --size >= 8")
    try:
        args.fn(args)
    except ValueError as err:  # user errors (unknown layer, bad channel...) read as messages, not tracebacks
        print(f"lucid-fast: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
