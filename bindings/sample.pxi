# bindings/sample.pxi — the CPU entry points of the sample op, part of the extension lucid_fast._bindings._cpu
# (included by bindings/cpu_ops.pxi). Binds csrc/cpu/sample_cpu.h over csrc/include/lucid_fast/sample.h; called by
# bindings/op_sample.py (lucid_fast._bindings.op_sample, public as lucid_fast.ops). Op map: bindings/README.md.

cdef extern from "sample_cpu.h" nogil:
    # SampleParams of lucid_fast/sample.h, field for field (checked: tests/ops/test_param_layouts.py)
    ctypedef struct SampleParams:
        int n, uv_n
        int th, tw, c
        int npix
    void sample_fwd_cpu(const SampleParams& p, const float* tex, const float* uv, float* out)
    void sample_adj_cpu(const SampleParams& p, const float* grad_out, const float* uv, float* grad_tex)
    LfLayout sample_params_layout_cpu()


def sample_params_layout():
    """SampleParams as the C++ compiler lays it out (see bindings/param_layout.pxi)."""
    return _layout_dict(sample_params_layout_cpu())


cdef SampleParams _sample_params(const float[:, :, :, ::1] tex, const float[:, :, ::1] uv):
    cdef SampleParams p
    p.n = tex.shape[0]; p.th = tex.shape[1]; p.tw = tex.shape[2]; p.c = tex.shape[3]
    p.uv_n = uv.shape[0]; p.npix = uv.shape[1]
    return p


def sample_fwd(const float[:, :, :, ::1] tex, const float[:, :, ::1] uv, float[:, :, ::1] out):
    """out (n, npix, c) = tex (n, th, tw, c) sampled at uv (uv_n, npix, 2)."""
    cdef SampleParams p = _sample_params(tex, uv)
    with nogil:
        sample_fwd_cpu(p, &tex[0, 0, 0, 0], &uv[0, 0, 0], &out[0, 0, 0])


def sample_adj(const float[:, :, ::1] grad_out, const float[:, :, ::1] uv, float[:, :, :, ::1] grad_tex):
    """grad_tex (n, th, tw, c) = sample^T(grad_out (n, npix, c)) at uv (grad_tex is overwritten)."""
    cdef SampleParams p = _sample_params(grad_tex, uv)
    with nogil:
        sample_adj_cpu(p, &grad_out[0, 0, 0], &uv[0, 0, 0], &grad_tex[0, 0, 0, 0])
