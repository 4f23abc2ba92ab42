"""``python -m lucid_fast.bench NAME ...``: runs one benchmark (see :mod:`lucid_fast.bench`)."""
import argparse
import importlib
import sys

# name: (module under lucid_fast.bench, its add-arguments and run functions, help)
COMMANDS = {
    "kernels": ("kernels", "add_arguments", "run",
                "image-side step: lucid_fast kernels vs TF autodiff, same process (then `sample`)"),
    "kernels-gpu": ("kernels", "add_gpu_arguments", "run_gpu",
                    "the image-side step on the GPU (CuPy) vs the CPU kernels; no TensorFlow needed"),
    "sample": ("sample", "add_arguments", "run",
               "mesh texture lookup (fwd + adjoint) vs Lucid's gather version"),
    "render": ("render", "add_arguments", "run",
               "render step time vs a pure-TF2 Lucid port vs the model-only floor"),
    "lucid": ("lucid", "add_arguments", "run",
              "against the original Lucid 0.3.10, each in its own process (see lucid_fast/bench/lucid.py)"),
    "lucent": ("lucent", "add_arguments", "run",
               "against Lucent and Horama (PyTorch), in an environment of their own (see lucid_fast/bench/lucent.py)"),
    "attribution": ("attribution", "add_arguments", "run",
                    "batched path / spatial attribution vs Lucid's per-step / per-position loops"),
    "gallery": ("gallery", "add_arguments", "run",
                "gallery channels/hour: Lucid's render_vis loop, ours, ours on Dask (see lucid_fast/bench/gallery.py)"),
    "step-memory": ("step_memory", "add_arguments", "run",
                    "a render step's peak memory against its forward tensors (calibrates STEP_MEMORY_FACTOR)"),
}


def _functions(name):
    module, add, run, _ = COMMANDS[name]
    module = importlib.import_module(f"lucid_fast.bench.{module}")
    return getattr(module, add), getattr(module, run)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m lucid_fast.bench",
                                description="Benchmarks, each timed against a baseline run in the same process "
                                            "(medians; ratios are what to quote).")
    sub = p.add_subparsers(dest="what", required=True, metavar="NAME")
    # only the benchmark named is imported (and given its arguments); the others are listed by name and help
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    run = None
    for name, (_, _, _, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        if name == chosen:
            add_arguments, run = _functions(name)
            add_arguments(sp)
    args = p.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    main()
