"""Test helpers: dot-product (adjoint) tests, finite differences, closeness with useful messages."""
import numpy as np

from tolerances import TOL


def assert_close(actual, expected, kind="fwd", what=""):
    rtol, atol = TOL[kind]
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = np.abs(actual - expected)
    bad = err > atol + rtol * np.abs(expected)
    if bad.any():
        idx = np.unravel_index(np.argmax(err), err.shape)
        raise AssertionError(f"{what}: {bad.sum()} of {bad.size} elements differ; max abs err {err.max():.3g} at "
                             f"{idx} (actual {actual[idx]:.6g}, expected {expected[idx]:.6g}), rtol={rtol} atol={atol}")


def dot_product_test(forward, adjoint, x, y, tol=None, what=""):
    """<A x, y> == <x, A^T y> for random x, y; returns the relative error (asserted below tol)."""
    ax = np.asarray(forward(x), dtype=np.float64)
    aty = np.asarray(adjoint(y), dtype=np.float64)
    lhs = float(np.sum(ax * np.asarray(y, dtype=np.float64)))
    rhs = float(np.sum(np.asarray(x, dtype=np.float64) * aty))
    scale = max(abs(lhs), abs(rhs), np.linalg.norm(ax) * np.linalg.norm(y), 1e-30)
    rel = abs(lhs - rhs) / scale
    tol = TOL["dot"] if tol is None else tol
    assert rel < tol, f"{what}: dot-product test failed: <Ax,y>={lhs:.9g} <x,A^T y>={rhs:.9g} rel={rel:.3g}"
    return rel


def finite_difference_test(f, grad, x, v, eps=1e-3, tol=None, what=""):
    """(f(x+eps v) - f(x-eps v)) / 2 eps == <grad(x), v>, with f scalar, evaluated in float64 where possible."""
    fp = float(f((x + eps * v).astype(x.dtype)))
    fm = float(f((x - eps * v).astype(x.dtype)))
    fd = (fp - fm) / (2 * eps)
    an = float(np.sum(np.asarray(grad, dtype=np.float64) * v))
    tol = TOL["fd"] if tol is None else tol
    rel = abs(fd - an) / max(abs(fd), abs(an), 1e-12)
    assert rel < tol, f"{what}: finite differences {fd:.6g} vs analytic {an:.6g} (rel {rel:.3g})"
    return rel


def graph_finite_difference_test(graph, rng, rtol, eps=1e-2):
    """A ParamGraph's backward equals central differences of the random linear functional <graph(), w>,
    along a random direction for every parameter (a parameter the output does not depend on must get none)."""
    w = rng.normal(size=graph.output.shape).astype(np.float32)
    graph.forward()
    grads = graph.backward(w)
    for p in graph.params:
        d = rng.normal(size=p.shape).astype(np.float32)
        base = p.value.copy()
        p.value[...] = base + eps * d
        fp = float(np.sum(graph.forward().astype(np.float64) * w))
        p.value[...] = base - eps * d
        fm = float(np.sum(graph.forward().astype(np.float64) * w))
        p.value[...] = base
        fd = (fp - fm) / (2 * eps)
        an = float(np.sum(grads[p].astype(np.float64) * d)) if p in grads else 0.0
        assert abs(fd - an) <= rtol * max(abs(fd), abs(an), 1e-3), f"{p.name}: fd {fd:.6g} vs backward {an:.6g}"
