"""Benchmarks, each timed against a baseline run in the same process (medians; ratios are what to quote).

    python -m lucid_fast.bench kernels [--sizes 128 224] [--batches 1 4 16] [--reps 40]
    python -m lucid_fast.bench kernels-gpu                 (on a GPU machine, CuPy; no TensorFlow needed)
    python -m lucid_fast.bench sample  [--tex 1024] [--frame 512]  (also run at the end of `kernels`)
    python -m lucid_fast.bench render  [--model vgg16_hed] [--layer block4_conv3] [--configs 128x1 224x4]
    python -m lucid_fast.bench lucid   [--configs 128x1 224x4] [--renders 1]  (the original Lucid 0.3.10, in
                                       processes of its own)
    python -m lucid_fast.bench attribution [--cases fer-path fer-s2s vgg-path vgg-s2s] [--reps 3]
    python -m lucid_fast.bench gallery [--layer block3_conv1] [--steps 64] [--workers 2] [--rounds 2]
                                       (channels/hour: Lucid's loop, ours, ours on Dask)
    python -m lucid_fast.bench step-memory [SIZE:LAYER:BATCH ...]  (calibrates models.STEP_MEMORY_FACTOR)

One module per benchmark, each with ``add_arguments(parser)`` and ``run(args)`` (``__main__`` imports only the
one asked for): :mod:`.kernels` (``kernels``, ``kernels-gpu``), :mod:`.sample`, :mod:`.render`, :mod:`.lucid`
(with :mod:`.lucid_compat`, which runs the original Lucid under TF2), :mod:`.attribution`, :mod:`.gallery` and
:mod:`.step_memory`. They share one timing harness, :mod:`.harness`, and import nothing private from each other.
The library never imports this package. On a GPU machine, ``bash bench/gpu_check.sh`` (at the repository's root)
runs the GPU tests and ``kernels-gpu``.
"""
