# Part of the CPU extension lucid_fast._bindings._cpu (bindings/cpu_ops.pxi includes it first).
# The C++ layout tables of the parameter structs (csrc/cpu/lf_param_layout.h), as Python values: each op's .pxi
# defines <op>_params_layout() over its driver's <op>_params_layout_cpu(); tests/ops/test_param_layouts.py
# compares them with the numpy dtypes (bindings/op_<op>.py) and with the .pxi declarations, field by field.

cdef extern from "lf_param_layout.h" nogil:
    ctypedef struct LfField:
        const char* name
        size_t offset
        size_t size
        size_t elem
        char kind
    ctypedef struct LfLayout:
        const char* name
        size_t size
        const LfField* fields
        int count


cdef dict _layout_dict(LfLayout layout):
    """{"name": C++ struct name, "size": sizeof, "fields": [(name, offset, size, element size, kind), ...]}."""
    cdef int k
    fields = []
    for k in range(layout.count):
        f = layout.fields[k]
        fields.append((f.name.decode(), f.offset, f.size, f.elem, chr(f.kind)))
    return {"name": layout.name.decode(), "size": layout.size, "fields": fields}
