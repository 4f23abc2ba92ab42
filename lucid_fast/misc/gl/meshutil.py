"""Mesh and camera utilities (Lucid's ``misc.gl.meshutil``): projection and view matrices, random views, OBJ files.

Matrix conventions follow Lucid: :func:`lookat` returns an OpenGL modelview matrix (column vectors,
``p_eye = M @ [x, y, z, 1]``), while :func:`frustum`/:func:`perspective` return the *transposed* OpenGL
projection (row-vector layout), which is how Lucid's renderer multiplies them (``modelview.T @ proj``).

Randomness is explicit: :func:`sample_view` draws from the generator it is given (a render's views come from
the render's seed).
"""
import numbers

import numpy as np


def frustum(left, right, bottom, top, znear, zfar):
    """The perspective frustum matrix of OpenGL's glFrustum, transposed (Lucid's layout)."""
    if right == left or top == bottom or znear == zfar:
        raise ValueError(f"frustum: degenerate volume left={left} right={right} bottom={bottom} top={top} "
                         f"znear={znear} zfar={zfar}")
    m = np.zeros((4, 4), np.float32)
    m[0, 0] = 2.0 * znear / (right - left)
    m[1, 1] = 2.0 * znear / (top - bottom)
    m[2, 0] = (right + left) / (right - left)
    m[3, 1] = (top + bottom) / (top - bottom)
    m[2, 2] = -(zfar + znear) / (zfar - znear)
    m[3, 2] = -2.0 * znear * zfar / (zfar - znear)
    m[2, 3] = -1.0
    return m


def perspective(fovy, aspect, znear, zfar):
    """A symmetric perspective projection with vertical field of view ``fovy`` degrees (Lucid's layout)."""
    if znear == zfar:
        raise ValueError("perspective: znear and zfar must differ")
    half_h = np.tan(np.radians(fovy) / 2.0) * znear
    half_w = half_h * aspect
    return frustum(-half_w, half_w, -half_h, half_h, znear, zfar)


def anorm(x, axis=None, keepdims=False):
    """Euclidean norm along ``axis``."""
    x = np.asarray(x)
    return np.sqrt((x * x).sum(axis=axis, keepdims=keepdims))


def normalize(v, axis=None, eps=1e-10):
    """``v`` scaled to unit length along ``axis`` (lengths below ``eps`` are treated as ``eps``)."""
    return v / np.maximum(anorm(v, axis=axis, keepdims=True), eps)


def lookat(eye, target=(0.0, 0.0, 0.0), up=(0.0, 1.0, 0.0)):
    """The modelview matrix of a camera at ``eye`` looking at ``target``, ``up`` pointing up on screen.

    Returns float32 (4, 4) mapping world points to eye space (camera at the origin looking down -z).
    """
    eye = np.asarray(eye, np.float32)
    forward = normalize(np.asarray(target, np.float32) - eye)
    side = normalize(np.cross(forward, np.asarray(up, np.float32)))
    true_up = np.cross(side, forward)
    m = np.eye(4, dtype=np.float32)
    m[0, :3], m[1, :3], m[2, :3] = side, true_up, -forward
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def _generator(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, numbers.Integral):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def sample_view(min_dist, max_dist=None, rng=None):
    """A random camera looking at the origin from a distance in [min_dist, max_dist] (Lucid's ``sample_view``).

    The direction is uniform on the sphere (a normalized Gaussian vector), the distance uniform in the range;
    ``up`` is +y.

    Args:
        min_dist, max_dist: the distance range (max_dist defaults to min_dist).
        rng: a ``numpy.random.Generator`` (a render passes its own), an int seed, or None (fresh entropy).

    Returns:
        float32 (4, 4) modelview matrix (:func:`lookat`).
    """
    max_dist = min_dist if max_dist is None else max_dist
    if not (np.isfinite(min_dist) and np.isfinite(max_dist) and 0 < min_dist <= max_dist):
        raise ValueError(f"sample_view: need 0 < min_dist <= max_dist, got {min_dist!r}, {max_dist!r}")
    rng = _generator(rng)
    dist = rng.uniform(min_dist, max_dist)
    direction = rng.normal(size=3)
    while anorm(direction) < 1e-6:  # (probability zero) a direction is needed
        direction = rng.normal(size=3)
    eye = normalize(direction) * dist
    if anorm(np.cross(eye, (0.0, 1.0, 0.0))) < 1e-6 * dist:  # straight above or below: "up" is undefined
        eye = eye + np.array([1e-3 * dist, 0.0, 0.0])
    return lookat(eye)


def homotrans(m, p):
    """Applies the 4x4 (or (k+1)x(k+1)) matrix ``m`` to points ``p`` (..., k) with the perspective divide."""
    p = np.asarray(p, np.float64)
    if p.shape[-1] == m.shape[1] - 1:
        p = np.concatenate([p, np.ones_like(p[..., :1])], -1)
    q = p @ np.asarray(m, np.float64).T
    return q[..., :-1] / q[..., -1:]


def _face_vertex(token, counts):
    """(position, uv, normal) indices of an OBJ face corner 'i', 'i/j', 'i//k' or 'i/j/k', 1-based, 0 = absent;
    negative (relative) indices count back from the last one read."""
    parts = token.split("/")
    if len(parts) > 3 or not parts[0]:
        raise ValueError(f"load_obj: bad face vertex {token!r}")
    out = []
    for k in range(3):
        s = parts[k] if k < len(parts) else ""
        if not s:
            out.append(0)
            continue
        i = int(s)
        out.append(i if i > 0 else counts[k] + 1 + i)
    return tuple(out)


# numbers an OBJ line may hold: v x y z [w] (w, a curve weight, is not used for polygons) or x y z r g b
# (a common vertex-colour extension; the colour is not read); vt u [v [w]] (missing ones are 0, as the format
# says); vn x y z. Fewer is an error, never padded.
_OBJ_ARITY = {"v": (3, 7, "3 coordinates x y z (optionally w, or r g b colours)"),
              "vt": (1, 3, "1 to 3 texture coordinates u [v [w]]"),
              "vn": (3, 3, "3 components x y z")}


def check_mesh(who, mesh, need_uv=True):
    """Checks Lucid's mesh dict before anything is rendered: ``position`` (n, 3|4) finite with n >= 1, ``uv``
    (n, 1..4) finite (when ``need_uv``), ``face`` integer triangles (k * 3,) or (k, 3) with k >= 1 and indices in
    [0, n) (or no ``face``: n a positive multiple of 3). A mesh without triangles renders nothing, so it is an
    error. Raises ValueError naming ``who`` and the entry."""
    if not isinstance(mesh, dict):
        raise ValueError(f"{who}: mesh must be a dict with position, uv and face (Lucid's mesh dict, "
                         f"lucid_fast.misc.gl.meshes), got {type(mesh).__name__}")
    for key in ("position",) + (("uv",) if need_uv else ()):
        if mesh.get(key) is None:
            raise ValueError(f"{who}: the mesh needs {key!r} (a dict of position, uv, face; see "
                             f"lucid_fast.misc.gl.meshes), got keys {sorted(mesh)}")
    pos = np.asarray(mesh["position"])
    if pos.ndim != 2 or pos.shape[1] not in (3, 4) or pos.shape[0] < 1 or not np.issubdtype(pos.dtype, np.number):
        raise ValueError(f"{who}: mesh['position'] must be (n_vertices >= 1, 3) numbers, got shape {pos.shape}")
    if not np.isfinite(pos).all():
        raise ValueError(f"{who}: mesh['position'] contains NaN or inf")
    n = pos.shape[0]
    if need_uv:
        uv = np.asarray(mesh["uv"])
        if (uv.ndim != 2 or uv.shape[0] != n or not 1 <= uv.shape[1] <= 4
                or not np.issubdtype(uv.dtype, np.number)):
            raise ValueError(f"{who}: mesh['uv'] must be (n_vertices={n}, 2) numbers, got shape {uv.shape}")
        if not np.isfinite(uv).all():
            raise ValueError(f"{who}: mesh['uv'] contains NaN or inf")
    face = mesh.get("face")
    if face is None:
        if n % 3:
            raise ValueError(f"{who}: a mesh without 'face' is drawn as vertex triples; got {n} vertices")
        return
    face = np.asarray(face)
    if (not np.issubdtype(face.dtype, np.integer) or face.ndim not in (1, 2) or face.size % 3
            or (face.ndim == 2 and face.shape[1] != 3)):
        raise ValueError(f"{who}: mesh['face'] must be integer triangle indices, (k * 3,) or (k, 3), got "
                         f"{face.dtype} {face.shape}")
    if face.size == 0:
        raise ValueError(f"{who}: the mesh has no faces (mesh['face'] is empty): it would render nothing")
    if face.min() < 0 or face.max() >= n:
        raise ValueError(f"{who}: mesh['face'] indices must be in [0, {n}), got {face.min()}..{face.max()}")


def load_obj(fn):
    """Reads a Wavefront .obj file into Lucid's mesh dict (Lucid's ``load_obj``).

    Each distinct (position, uv, normal) corner becomes one output vertex, so UV seams split vertices, and
    polygons are split into triangle fans.

    Args:
        fn: a path or an open text file.

    Returns:
        dict with ``position`` float32 (n, 3), ``face`` int32 (k * 3,) and, when the file has them, ``uv`` float32
        (n, 2) and ``normal`` float32 (n, 3).

    Raises:
        ValueError: naming the line: a ``v`` with fewer than 3 numbers, a ``vn`` without exactly 3, a ``vt``
            without 1 to 3, numbers that do not parse, a face corner that refers to a missing entry; or a file
            without faces.
    """
    lists = {"v": [], "vt": [], "vn": []}
    corners = {}
    tris = []
    f = open(fn) if isinstance(fn, (str, bytes)) or hasattr(fn, "__fspath__") else fn
    try:
        for lineno, line in enumerate(f, 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            tag, rest = fields[0], fields[1:]
            if tag in lists:
                try:
                    row = [float(x) for x in rest]
                except ValueError:
                    raise ValueError(f"load_obj: line {lineno}: bad numbers in {line.strip()!r}") from None
                lo, hi, want = _OBJ_ARITY[tag]
                if not lo <= len(row) <= hi:
                    raise ValueError(f"load_obj: line {lineno}: {tag!r} needs {want}, got {len(row)} numbers in "
                                     f"{line.strip()!r}")
                lists[tag].append(row)
            elif tag == "f":
                counts = (len(lists["v"]), len(lists["vt"]), len(lists["vn"]))
                ids = []
                for tok in rest:
                    key = _face_vertex(tok, counts)
                    if not 1 <= key[0] <= counts[0] or key[1] > counts[1] or key[2] > counts[2] or min(key) < 0:
                        raise ValueError(f"load_obj: line {lineno}: face vertex {tok!r} refers to a missing entry")
                    ids.append(corners.setdefault(key, len(corners)))
                for k in range(1, len(ids) - 1):
                    tris.extend((ids[0], ids[k], ids[k + 1]))
    finally:
        if f is not fn:
            f.close()
    if not corners:
        raise ValueError("load_obj: the file has no faces")
    keys = np.array(list(corners), dtype=np.int64)
    out = {"face": np.asarray(tris, np.int32)}
    for col, (tag, name, width) in enumerate((("v", "position", 3), ("vt", "uv", 2), ("vn", "normal", 3))):
        idx = keys[:, col]
        if not idx.any():
            continue
        table = np.zeros((len(lists[tag]) + 1, width), np.float32)
        for i, row in enumerate(lists[tag], 1):
            n = min(len(row), width)
            table[i, :n] = row[:n]
        out[name] = table[idx]
    return out


def normalize_mesh(mesh):
    """A copy of ``mesh`` centred on its bounding box and scaled so that it fits in [-1, 1]^3 (Lucid's)."""
    mesh = dict(mesh)
    pos = np.asarray(mesh["position"], np.float32)[:, :3].copy()
    pos -= (pos.max(0) + pos.min(0)) / 2.0
    extent = np.abs(pos).max()
    if extent > 0:
        pos /= extent
    mesh["position"] = pos
    return mesh
