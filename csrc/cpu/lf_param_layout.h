// lf_param_layout.h — the byte layout of an op's parameter struct, field by field, as the compiler lays it out.
//
// Each op's parameter struct (WarpParams, ... in csrc/include/lucid_fast/<op>.h) is declared once in C++ and
// mirrored twice on the Python side: by a Cython declaration that fills it on the CPU path
// (bindings/<op>.pxi) and by a numpy dtype whose records CuPy passes, as bytes, to the CUDA kernels
// (<OP>_PARAMS_DTYPE in bindings/op_<op>.py). Each CPU driver exports its struct's layout, built with offsetof
// (<op>_params_layout_cpu() in csrc/cpu/<op>_cpu.cpp); the CPU extension returns it as
// lucid_fast._bindings._cpu.<op>_params_layout(), and tests/ops/test_param_layouts.py checks both mirrors
// against it field by field (names, order, offsets, sizes, element types).
//
// The structs hold only 4-byte int and float fields (scalars and fixed arrays), so they have no padding and
// the numpy mirrors are plain packed dtypes. lf_fields_tile() holds each table to that: a table that
// leaves a field out, lists fields out of order, or describes a struct with padding fails its static_assert.
// The device compiler lays these structs out as the host compiler does (CUDA requires it of kernel arguments);
// tests/gpu/test_parity.py runs every op's kernels, with the numpy records, against the CPU drivers.
//
// Host-only (offsetof and <type_traits>); never included by the CUDA sources.
#pragma once
#include <cstddef>
#include <type_traits>

struct LfField {
    const char* name;
    size_t offset;  // offsetof(struct, field)
    size_t size;    // sizeof the field (the whole array for an array field)
    size_t elem;    // sizeof one element (== size for a scalar)
    char kind;      // element type, as numpy's dtype.kind: 'i' signed integer, 'u' unsigned integer, 'f' float
};

struct LfLayout {
    const char* name;       // the struct's C++ name
    size_t size;            // sizeof(struct)
    const LfField* fields;  // in declaration order
    int count;
};

template <class T>
constexpr char lf_field_kind() {
    using E = std::remove_all_extents_t<T>;
    static_assert(std::is_arithmetic<E>::value, "parameter structs hold arithmetic fields only");
    return std::is_floating_point<E>::value ? 'f' : std::is_signed<E>::value ? 'i' : 'u';
}

// One row of a layout table: LF_FIELD(WarpParams, fill).
#define LF_FIELD(S, f)                                                                              \
    LfField {                                                                                       \
        #f, offsetof(S, f), sizeof(S::f), sizeof(std::remove_all_extents_t<decltype(S::f)>),        \
            lf_field_kind<decltype(S::f)>()                                                         \
    }

// True when the fields cover bytes [0, size) in order, each starting where the previous one ended.
template <size_t N>
constexpr bool lf_fields_tile(const LfField (&fields)[N], size_t size) {
    size_t end = 0;
    for (size_t k = 0; k < N; ++k) {
        if (fields[k].offset != end) return false;
        end += fields[k].size;
    }
    return end == size;
}

template <size_t N>
LfLayout lf_layout(const char* name, size_t size, const LfField (&fields)[N]) {
    return LfLayout{name, size, fields, (int)N};
}
