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


def richardson_difference(f, eps):
    """The derivative at 0 of a scalar function of a step size: central differences at eps and eps/2 combined
    so that their eps^2 error terms cancel (Richardson): (4 D(eps/2) - D(eps)) / 3, error O(eps^4).

    In float32 this is what makes a tight tolerance possible: a plain central difference is either truncation
    bound (eps^2 times the third derivative: up to ~1e-3 relative for the sigmoid colour map after an fft_image
    at eps = 1e-2) or roundoff bound (~1e-7 |f| / eps for small eps); the extrapolated one reaches ~1e-5."""
    d1 = (f(eps) - f(-eps)) / (2 * eps)
    d2 = (f(eps / 2) - f(-eps / 2)) / eps
    return (4 * d2 - d1) / 3


def finite_difference_test(f, grad, x, v, eps=1e-3, tol=None, what=""):
    """<grad(x), v> == the derivative of the scalar f along v (Richardson-extrapolated central differences, see
    richardson_difference; f summed in float64 where possible).

    The error is measured against |grad| |v|, the Cauchy-Schwarz bound of the directional derivative: the
    scale of both the float32 roundoff and of the derivative along v. Returns it (asserted < tol)."""
    fd = richardson_difference(lambda e: float(f((x + e * v).astype(x.dtype))), eps)
    grad = np.asarray(grad, dtype=np.float64)
    an = float(np.sum(grad * v))
    tol = TOL["fd"] if tol is None else tol
    rel = abs(fd - an) / max(float(np.linalg.norm(grad) * np.linalg.norm(v)), 1e-30)
    assert rel < tol, f"{what}: finite differences {fd:.6g} vs analytic {an:.6g} (error {rel:.3g} of |grad||v|, " \
                      f"tol {tol})"
    return rel


def graph_finite_difference_test(graph, rng, rtol=None, step=0.02):
    """A ParamGraph's backward is the gradient of the random linear functional <graph(), w>: for every
    parameter, its derivative along a random direction and along the backward's own gradient (which a scaled
    or partly wrong gradient cannot pass) equals Richardson-extrapolated central differences, to rtol (default
    TOL["fd"]) of |gradient| |direction|. A parameter the output does not depend on must get no gradient.

    The difference step is set per direction so that the largest change of the graph's output is ``step``:
    large enough that float32 roundoff (~1e-7 of the output) stays far below the change, small enough that the
    O(step^4) truncation of the extrapolated difference is negligible. Returns the worst error."""
    rtol = TOL["fd"] if rtol is None else rtol
    w = rng.normal(size=graph.output.shape).astype(np.float32)
    base_out = graph.forward().astype(np.float64)
    grads = graph.backward(w)
    worst = 0.0
    for p in graph.params:
        g = np.asarray(grads[p], np.float64) if p in grads else np.zeros(p.shape)
        base = p.value.copy()
        d_random = rng.normal(size=p.shape).astype(np.float32)
        g_norm = float(np.linalg.norm(g))
        directions = [d_random]
        if g_norm > 0:
            directions.append((g * (np.linalg.norm(d_random) / g_norm)).astype(np.float32))

        def out(e, d):
            p.value[...] = base + e * d
            return graph.forward().astype(np.float64)

        for d in directions:
            probe = 1e-3
            change = float(np.abs(out(probe, d) - base_out).max())
            eps = probe * step / change if change > 0 else probe
            fd = richardson_difference(lambda e: float(np.sum(out(e, d) * w)), eps)
            an = float(np.sum(g * d))
            rel = abs(fd - an) / max(g_norm * float(np.linalg.norm(d)), 1e-30)
            worst = max(worst, rel)
            p.value[...] = base
            assert rel <= rtol, f"{p.name}: fd {fd:.6g} vs backward {an:.6g} (error {rel:.3g} of |grad||d|, " \
                                f"rtol {rtol})"
        p.value[...] = base
    graph.forward()
    return worst
