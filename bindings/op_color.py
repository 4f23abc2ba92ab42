def _todo(*a, **k):
    raise NotImplementedError("placeholder while the op is written")
to_valid_rgb = to_valid_rgb_adjoint = _todo
COLOR_CORRELATION_SVD_SQRT = COLOR_MEAN = None
