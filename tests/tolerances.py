"""One table of tolerances for every numeric check (rtol, atol), by check kind.

Each entry is set from what a correct implementation reaches on the tests' data (measured worst case in the
comment), with a margin of 3-30x for other CPUs and builds (LUCID_FAST_CPU=baseline vs avx2), and no more: a
deliberate error of 1% in any op must fail every check that covers it.
"""
TOL = {
    # float32 forward vs the TensorFlow reference: TF and the kernels round coordinates and sums differently
    # (worst: 6.7e-6 abs, sample_bilinear at texel coordinates ~100 where a float32 coordinate is good to 8e-6
    # of a texel; 2e-6 for the warp, scale and the standard chain vs ImageProjectiveTransformV3)
    "fwd": (1e-5, 1e-5),
    # float32 adjoint vs tf.GradientTape on the float32 reference (worst: 7e-7 + 7e-6 relative, the warp's
    # scatter-add over up to ~10 taps per pixel)
    "grad": (3e-5, 3e-6),
    # relative error of the float32 dot-product (adjoint) identity, sums in float64 (worst: 3.2e-8)
    "dot": 1e-6,
    # finite differences (tests/adjoint.py: Richardson-extrapolated central differences) vs the analytic
    # directional derivative, relative to |gradient| |direction| (worst: 1.0e-5, roundoff bound, lowres_tensor)
    "fd": 1e-4,
    # CPU vs GPU parity (FMA contraction, -ftz on the GPU)
    "gpu": (1e-4, 1e-5),
}
