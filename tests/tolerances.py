"""One table of tolerances for every numeric check (rtol, atol), by check kind."""
TOL = {
    "fwd": (1e-5, 1e-5),        # float32 forward vs the TensorFlow reference
    "grad": (1e-4, 1e-5),       # float32 adjoint vs tf.GradientTape on the reference
    "dot": 1e-5,                # relative error of the float32 dot-product (adjoint) identity
    "fd": 2e-2,                 # relative error of float32 central differences vs the analytic derivative
    "gpu": (1e-4, 1e-5),        # CPU vs GPU parity (FMA contraction, -ftz on the GPU)
}
