# bindings/spectrum.pxi — the CPU entry points of the spectrum op, part of the extension lucid_fast._bindings._cpu
# (included by bindings/cpu_ops.pxi). Binds csrc/cpu/spectrum_cpu.h over csrc/include/lucid_fast/spectrum.h; called by
# bindings/op_spectrum.py (lucid_fast._bindings.op_spectrum, public as lucid_fast.ops). Op map: bindings/README.md.

cdef extern from "spectrum_cpu.h" nogil:
    # SpectrumParams of lucid_fast/spectrum.h, field for field (checked: tests/ops/test_param_layouts.py)
    ctypedef struct SpectrumParams:
        int b, c, h, w, wf, wp
        float decay_power
        float out_scale
    void spectrum_scale_fwd_cpu(const SpectrumParams& p, const float* spectrum, float* z)
    void spectrum_scale_adj_cpu(const SpectrumParams& p, const float* grad_z, float* grad_spectrum)
    void spectrum_layout_fwd_cpu(const SpectrumParams& p, const float* planar, float* image)
    void spectrum_layout_adj_cpu(const SpectrumParams& p, const float* grad_image, float* grad_planar)
    LfLayout spectrum_params_layout_cpu()


def spectrum_params_layout():
    """SpectrumParams as the C++ compiler lays it out (see bindings/param_layout.pxi)."""
    return _layout_dict(spectrum_params_layout_cpu())


cdef SpectrumParams _spectrum_params(int b, int c, int h, int w, int wf, float decay_power, float out_scale):
    cdef SpectrumParams p
    p.b = b; p.c = c; p.h = h; p.w = w; p.wf = wf; p.wp = 2 * (wf - 1)
    p.decay_power = decay_power
    p.out_scale = out_scale
    return p


def spectrum_scale_fwd(const float[:, :, :, :, ::1] spectrum, float[:, :, :, ::1] z, int w, float decay_power):
    """spectrum (2, b, c, h, wf) planar -> z (b, c, h, 2*wf): complex64 viewed as float32, scaled."""
    cdef SpectrumParams p = _spectrum_params(spectrum.shape[1], spectrum.shape[2], spectrum.shape[3], w,
                                             spectrum.shape[4], decay_power, 0.0)
    with nogil:
        spectrum_scale_fwd_cpu(p, &spectrum[0, 0, 0, 0, 0], &z[0, 0, 0, 0])


def spectrum_scale_adj(const float[:, :, :, ::1] grad_z, float[:, :, :, :, ::1] grad_spectrum, int w,
                       float decay_power):
    """grad_z (b, c, h, 2*wf) = rfft2 of the real gradient, viewed as float32 -> grad_spectrum (2, b, c, h, wf)."""
    cdef SpectrumParams p = _spectrum_params(grad_spectrum.shape[1], grad_spectrum.shape[2], grad_spectrum.shape[3],
                                             w, grad_spectrum.shape[4], decay_power, 0.0)
    with nogil:
        spectrum_scale_adj_cpu(p, &grad_z[0, 0, 0, 0], &grad_spectrum[0, 0, 0, 0, 0])


def spectrum_layout_fwd(const float[:, :, :, ::1] planar, float[:, :, :, ::1] image, float out_scale):
    """planar (b, c, h, wp) -> image (b, h, w, c), cropped to w and times out_scale."""
    cdef SpectrumParams p = _spectrum_params(planar.shape[0], planar.shape[1], planar.shape[2], image.shape[2],
                                             planar.shape[3] // 2 + 1, 0.0, out_scale)
    with nogil:
        spectrum_layout_fwd_cpu(p, &planar[0, 0, 0, 0], &image[0, 0, 0, 0])


def spectrum_layout_adj(const float[:, :, :, ::1] grad_image, float[:, :, :, ::1] grad_planar, float out_scale):
    """grad_image (b, h, w, c) -> grad_planar (b, c, h, wp), zero in the cropped column."""
    cdef SpectrumParams p = _spectrum_params(grad_planar.shape[0], grad_planar.shape[1], grad_planar.shape[2],
                                             grad_image.shape[2], grad_planar.shape[3] // 2 + 1, 0.0, out_scale)
    with nogil:
        spectrum_layout_adj_cpu(p, &grad_image[0, 0, 0, 0], &grad_planar[0, 0, 0, 0])
