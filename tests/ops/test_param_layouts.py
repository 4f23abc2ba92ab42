"""Every parameter struct shared between C++ and Python, checked field by field.

Each op's parameter struct is defined once, in C++ (``struct WarpParams`` in csrc/include/lucid_fast/warp.h, ...),
and mirrored twice in Python:
    - the numpy dtype whose records CuPy passes, as bytes, to the CUDA kernels (``WARP_PARAMS_DTYPE`` in
      bindings/op_warp.py): checked here for field names, order, offsets, sizes, element types and total size;
    - the Cython declaration that fills the struct on the CPU path (bindings/warp.pxi): checked for field names,
      order, C types and array lengths.
The reference is the layout the C++ compiler produced, read with offsetof by each CPU driver
(``warp_params_layout_cpu`` in csrc/cpu/warp_cpu.cpp, see csrc/cpu/lf_param_layout.h) and returned by the CPU
extension as ``lucid_fast._bindings._cpu.warp_params_layout()``.
"""
import os
import re

import numpy as np
import pytest

from lucid_fast import _bindings
from lucid_fast._bindings import (_cpu, cupy_module, op_adam, op_color, op_sample, op_spectrum, op_tv, op_upsample,
                                  op_warp)

# op -> (Python wrapper module, C++ struct name)
OPS = {
    "adam": (op_adam, "AdamParams"),
    "color": (op_color, "ColorParams"),
    "sample": (op_sample, "SampleParams"),
    "spectrum": (op_spectrum, "SpectrumParams"),
    "tv": (op_tv, "TvParams"),
    "upsample": (op_upsample, "UpsampleParams"),
    "warp": (op_warp, "WarpParams"),
}
# C types allowed in a parameter struct (lf_param_layout.h): (numpy kind, bytes)
C_TYPES = {"int": ("i", 4), "float": ("f", 4)}


def cpp_layout(op):
    return getattr(_cpu, f"{op}_params_layout")()


def params_dtype(op):
    return getattr(OPS[op][0], f"{op.upper()}_PARAMS_DTYPE")


def dtype_mismatches(dtype, layout):
    """How a numpy dtype differs from a C++ layout table, one readable line per difference (empty: it matches)."""
    problems = []
    cpp_names = [f[0] for f in layout["fields"]]
    names = list(dtype.names or ())
    if names != cpp_names:
        problems.append(f"fields {names} != C++ {cpp_names}")
    for name, offset, size, elem, kind in layout["fields"]:
        if name not in names:
            continue
        sub, off = dtype.fields[name][:2]
        if off != offset:
            problems.append(f"{name}: offset {off} != C++ {offset}")
        if sub.itemsize != size:
            problems.append(f"{name}: {sub.itemsize} bytes != C++ {size}")
        if (sub.base.kind, sub.base.itemsize) != (kind, elem):
            problems.append(f"{name}: element {sub.base} != C++ kind {kind!r} of {elem} bytes")
    if dtype.itemsize != layout["size"]:
        problems.append(f"itemsize {dtype.itemsize} != C++ sizeof {layout['size']}")
    return problems


def pxi_declaration(text, struct):
    """The fields of ``ctypedef struct <struct>:`` in a .pxi, as (name, C type, element count), in order."""
    m = re.search(rf"^([ \t]*)ctypedef struct {struct}:\n((?:\1[ \t]+.*\n)+)", text, re.M)
    assert m, f"no `ctypedef struct {struct}:` block"
    fields = []
    for line in m.group(2).splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        ctype, rest = line.split(None, 1)
        for decl in rest.split(","):
            d = re.fullmatch(r"\s*(\w+)\s*(?:\[(\d+)\])?\s*", decl)
            assert d, f"{struct}: cannot read the declaration {line!r}"
            fields.append((d.group(1), ctype, int(d.group(2) or 1)))
    return fields


def pxi_mismatches(fields, layout):
    """How a Cython declaration differs from a C++ layout table (empty: it matches)."""
    problems = []
    cpp_names = [f[0] for f in layout["fields"]]
    if [f[0] for f in fields] != cpp_names:
        problems.append(f"fields {[f[0] for f in fields]} != C++ {cpp_names}")
    cpp = {f[0]: f for f in layout["fields"]}
    for name, ctype, count in fields:
        if name not in cpp:
            continue
        _, _, size, elem, kind = cpp[name]
        if ctype not in C_TYPES:
            problems.append(f"{name}: C type {ctype!r} is not one of {sorted(C_TYPES)}")
        elif C_TYPES[ctype] != (kind, elem):
            problems.append(f"{name}: {ctype} != C++ kind {kind!r} of {elem} bytes")
        elif count * elem != size:
            problems.append(f"{name}: {count} elements != C++ {size // elem}")
    return problems


@pytest.mark.parametrize("op", sorted(OPS))
def test_numpy_dtype_matches_the_cpp_struct(op):
    layout = cpp_layout(op)
    assert layout["name"] == OPS[op][1]
    assert dtype_mismatches(params_dtype(op), layout) == []


@pytest.mark.parametrize("op", sorted(OPS))
def test_cython_declaration_matches_the_cpp_struct(op):
    with open(os.path.join(os.path.dirname(_bindings.__file__), f"{op}.pxi")) as f:
        fields = pxi_declaration(f.read(), OPS[op][1])
    assert pxi_mismatches(fields, cpp_layout(op)) == []


def test_every_parameter_struct_is_checked():
    """A new op's struct (csrc/include/lucid_fast/*.h) must join OPS, with its layout table and dtype."""
    root = os.path.join(cupy_module.csrc_root(), "include", "lucid_fast")
    structs = set()
    for name in os.listdir(root):
        with open(os.path.join(root, name)) as f:
            structs |= set(re.findall(r"^struct (\w+Params) \{", f.read(), re.M))
    assert structs == {s for _, s in OPS.values()}
    assert sorted(k[:-len("_params_layout")] for k in dir(_cpu) if k.endswith("_params_layout")) == sorted(OPS)


def test_the_checks_report_each_kind_of_difference():
    layout = cpp_layout("warp")
    good = params_dtype("warp")
    assert dtype_mismatches(good, layout) == []
    swapped = np.dtype([("h", np.int32), ("n", np.int32)] + [(n, good.fields[n][0]) for n in good.names[2:]])
    assert any("fields" in p for p in dtype_mismatches(swapped, layout))
    short = np.dtype([(n, good.fields[n][0]) for n in good.names[:-1]] + [("fill", np.float32, (3,))])
    assert any("fill: 12 bytes" in p for p in dtype_mismatches(short, layout))
    as_int = np.dtype([(n, good.fields[n][0]) for n in good.names[:-1]] + [("fill", np.int32, (4,))])
    assert any("fill: element int32" in p for p in dtype_mismatches(as_int, layout))
    shifted = np.dtype({"names": list(good.names), "formats": [good.fields[n][0] for n in good.names],
                        "offsets": [good.fields[n][1] + (4 if n == "fill" else 0) for n in good.names],
                        "itemsize": good.itemsize + 4})
    assert any("fill: offset 36" in p for p in dtype_mismatches(shifted, layout))

    pxi = "cdef extern from 'x.h':\n    ctypedef struct WarpParams:\n        int n, h, w, c\n        int ho, wo\n" \
          "        int pad_mode\n        int fill_per_channel\n        float fill[4]\n    void f()\n"
    assert pxi_mismatches(pxi_declaration(pxi, "WarpParams"), layout) == []
    assert any("fill: 3 elements" in p
               for p in pxi_mismatches(pxi_declaration(pxi.replace("fill[4]", "fill[3]"), "WarpParams"), layout))
    assert any("pad_mode: float" in p for p in pxi_mismatches(
        pxi_declaration(pxi.replace("int pad_mode", "float pad_mode"), "WarpParams"), layout))
    assert any("fields" in p for p in pxi_mismatches(
        pxi_declaration(pxi.replace("int ho, wo", "int wo, ho"), "WarpParams"), layout))
