"""The OpenGL rasterizer (misc.gl.glrenderer) and camera utilities (misc.gl.meshutil), checked against geometry
computed independently: ray casting a sphere, projecting vertices with the matrices, Lucid's conventions."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

from lucid_fast.misc.gl import glrenderer, meshes, meshutil

SIZE = (96, 80)  # (width, height): not square, so a transposed image or aspect ratio shows


@pytest.fixture(scope="module")
def renderer():
    r = glrenderer.MeshRenderer(SIZE)
    yield r
    r.release()


def _pixel_rays(renderer, modelview):
    """World-space ray (origin, unit directions (h, w, 3)) through every pixel centre, row 0 at the top, from the
    renderer's projection: an independent inverse of what the rasterizer should do."""
    w, h = renderer.size
    proj_gl = renderer.proj_matrix().T  # back to OpenGL's column-vector layout
    xs = (np.arange(w) + 0.5) / w * 2 - 1
    ys = 1 - (np.arange(h) + 0.5) / h * 2  # row 0 is the top
    ndc = np.stack(list(np.meshgrid(xs, ys, indexing="xy")) + [np.ones((h, w)), np.ones((h, w))], -1)
    inv = np.linalg.inv(proj_gl.astype(np.float64) @ modelview.astype(np.float64))
    far = ndc @ inv.T
    far = far[..., :3] / far[..., 3:]
    eye = np.linalg.inv(modelview.astype(np.float64))[:3, 3]
    d = far - eye
    return eye, d / np.linalg.norm(d, axis=-1, keepdims=True)


def test_sphere_fragments_match_ray_casting(renderer):
    """Every pixel's UV equals that of the point where its ray meets the unit sphere (uv_sphere's mapping), and
    coverage is exactly the pixels whose rays hit it (up to the tessellation near the silhouette)."""
    mesh = meshes.uv_sphere(128, 64)
    mv = meshutil.lookat([3.0, 4.0, 10.0])
    frags = renderer.render_mesh(modelview=mv, **mesh)
    assert frags.shape == (SIZE[1], SIZE[0], 4) and frags.dtype == np.float32
    eye, d = _pixel_rays(renderer, mv)
    b = d @ eye
    disc = b * b - (eye @ eye - 1.0)
    hit = disc > 0
    t = -b - np.sqrt(np.maximum(disc, 0))
    p = eye + t[..., None] * d
    lon = np.arctan2(-p[..., 2], p[..., 0]) % (2 * np.pi)
    lat = np.arcsin(np.clip(p[..., 1], -1, 1))
    u_ref, v_ref = lon / (2 * np.pi), lat / np.pi + 0.5
    alpha = frags[..., 3]
    assert np.all((alpha == 0.0) | (np.abs(alpha - 1.0) < 1e-6))  # 1 interpolated perspective-correctly
    inner = disc > 0.02 * disc.max()   # clearly inside the silhouette
    outer = ~hit
    assert alpha[inner].min() > 0.999 and alpha[outer].max() == 0.0
    assert inner.sum() > 500
    du = np.abs(frags[..., 0] - u_ref)
    du = np.minimum(du, 1 - du)  # the seam at u = 0 = 1
    sel = inner & (np.abs(lat) < 1.2)  # away from the poles, where u is ill-defined
    assert np.percentile(du[sel], 99) < 0.01, np.percentile(du[sel], 99)
    assert np.percentile(np.abs(frags[..., 1] - v_ref)[inner], 99) < 0.01
    # the unused channel is 0, background pixels are the clear colour
    assert np.all(frags[..., 2] == 0.0) and np.all(frags[~hit] == 0.0)


def test_clear_color_depth_test_and_faces(renderer):
    """Two squares at different depths: the nearer one wins where they overlap, whatever the draw order."""
    quad = np.float32([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, -1, 0], [1, 1, 0], [-1, 1, 0]])
    near = quad * [0.5, 0.5, 1] + [0.2, 0, 0.5]
    far = quad * [0.5, 0.5, 1] + [-0.2, 0, -0.5]
    uv_near = np.tile([[0.9, 0.1]], (6, 1))
    uv_far = np.tile([[0.3, 0.7]], (6, 1))
    mv = meshutil.lookat([0, 0, 12])
    for order in ((near, uv_near, far, uv_far), (far, uv_far, near, uv_near)):
        pos = np.concatenate(order[0::2])
        uv = np.concatenate(order[1::2])
        frags = renderer.render_mesh(pos, uv, clear_color=(0.25, 0.5, 0.75, 0.0), modelview=mv)
        h, w = frags.shape[:2]
        centre = frags[h // 2, w // 2]
        np.testing.assert_allclose(centre, [0.9, 0.1, 0, 1], atol=1e-6)
        np.testing.assert_allclose(frags[0, 0], [0.25, 0.5, 0.75, 0.0])
        uvs = {(round(float(f[0]), 3), round(float(f[1]), 3)) for f in frags.reshape(-1, 4) if f[3] > 0}
        assert uvs == {(0.9, 0.1), (0.3, 0.7)}
    # the same triangles through an index buffer
    idx_pos, inverse = np.unique(pos, axis=0, return_inverse=True)
    idx_uv = np.zeros((len(idx_pos), 2), np.float32)
    idx_uv[inverse.ravel()] = uv
    frags2 = renderer.render_mesh(idx_pos, idx_uv, face=inverse.ravel(), clear_color=(0.25, 0.5, 0.75, 0.0),
                                  modelview=mv)
    np.testing.assert_array_equal(frags2, frags)


def test_orientation_row0_is_top(renderer):
    """A triangle above the view centre (+y, the camera's up) lands in the top rows; one to the right (+x) in the
    right columns (Lucid's orientation: OpenGL's bottom-up read-back is flipped)."""
    tri_up = np.float32([[-0.3, 0.3, 0], [0.3, 0.3, 0], [0, 0.8, 0]])
    tri_right = np.float32([[0.4, -0.2, 0], [0.9, 0.0, 0], [0.4, 0.2, 0]])
    mv = meshutil.lookat([0, 0, 12])
    for tri, check in ((tri_up, lambda ys, xs: ys.max() < SIZE[1] / 2),
                       (tri_right, lambda ys, xs: xs.min() > SIZE[0] / 2)):
        frags = renderer.render_mesh(tri, np.zeros((3, 2)), modelview=mv)
        ys, xs = np.nonzero(frags[..., 3])
        assert len(ys) > 5 and check(ys, xs)


def test_projection_matches_lucid_conventions(renderer):
    """A vertex projects where modelview.T @ proj (Lucid's row-vector product) puts it."""
    mv = meshutil.sample_view(10.0, 12.0, rng=np.random.default_rng(5))
    vertex = np.float32([0.1, -0.2, 0.3])
    clip = np.append(vertex, 1.0) @ (mv.T @ renderer.proj_matrix())
    ndc = clip[:2] / clip[3]
    w, h = renderer.size
    col, row = (ndc[0] + 1) / 2 * w, (1 - ndc[1]) / 2 * h
    # homotrans takes column-vector matrices: the same point, the same divide
    np.testing.assert_allclose(meshutil.homotrans((mv.T @ renderer.proj_matrix()).T, vertex[None])[0, :2], ndc,
                               rtol=1e-5, atol=1e-6)
    # a tiny triangle around the vertex covers the pixel it projects to
    tri = vertex + np.float32([[-0.02, -0.02, 0], [0.02, -0.02, 0], [0, 0.03, 0]]) @ mv[:3, :3]
    frags = renderer.render_mesh(tri, np.zeros((3, 2)), modelview=mv)
    ys, xs = np.nonzero(frags[..., 3])
    assert len(ys) and abs(ys.mean() + 0.5 - row) < 1.5 and abs(xs.mean() + 0.5 - col) < 1.5


def test_meshutil_matrices():
    m = meshutil.lookat([0, 0, 5])
    np.testing.assert_allclose(m @ [0, 0, 0, 1], [0, 0, -5, 1], atol=1e-6)  # the target is straight ahead
    np.testing.assert_allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3), atol=1e-6)
    m = meshutil.lookat([3, 4, 0], target=[3, 4, -1])
    np.testing.assert_allclose(m @ [3, 5, -1, 1], [0, 1, -1, 1], atol=1e-6)  # +y stays up
    p = meshutil.perspective(90.0, 2.0, 1.0, 10.0).T  # OpenGL layout
    for z, ndc_z in ((-1.0, -1.0), (-10.0, 1.0)):
        q = p @ [0, 0, z, 1]
        assert q[2] / q[3] == pytest.approx(ndc_z, abs=1e-6)
    q = p @ [1, 1, -1, 1]  # 45 degrees up at fovy 90 is the top edge; x is squeezed by the aspect ratio
    np.testing.assert_allclose(q[:2] / q[3], [0.5, 1.0], atol=1e-6)
    with pytest.raises(ValueError, match="degenerate"):
        meshutil.frustum(1, 1, 0, 1, 0.1, 10)


def test_sample_view_uses_the_given_generator():
    a = meshutil.sample_view(10.0, 12.0, rng=np.random.default_rng(3))
    b = meshutil.sample_view(10.0, 12.0, rng=np.random.default_rng(3))
    c = meshutil.sample_view(10.0, 12.0, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    rng = np.random.default_rng(0)
    dists, dirs = [], []
    for _ in range(400):
        m = meshutil.sample_view(10.0, 12.0, rng=rng)
        eye = -m[:3, :3].T @ m[:3, 3]
        dists.append(np.linalg.norm(eye))
        dirs.append(eye / np.linalg.norm(eye))
    assert 10.0 <= min(dists) and max(dists) <= 12.0 + 1e-4
    assert np.abs(np.mean(dirs, 0)).max() < 0.12  # directions spread over the sphere
    with pytest.raises(ValueError, match="min_dist <= max_dist"):
        meshutil.sample_view(12.0, 10.0, rng=rng)
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        meshutil.sample_view(10.0, rng="seed")


OBJ = """# a unit square split into two triangles, one UV seam, and a quad given with relative indices
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vt 0.5 0.5
vn 0 0 1
f 1/1/1 2/2/1 3/3/1
f 1/1/1 3/3/1 4/4/1
f -4/-1 -3/2 -2/3 -1/4
"""


def test_load_obj_and_normalize():
    mesh = meshutil.load_obj(io.StringIO(OBJ))
    assert mesh["face"].tolist() == [0, 1, 2, 0, 2, 3, 4, 5, 6, 4, 6, 7]
    assert mesh["position"].shape == (8, 3) and mesh["uv"].shape == (8, 2) and mesh["normal"].shape == (8, 3)
    np.testing.assert_array_equal(mesh["uv"][4], [0.5, 0.5])  # vertex 1 with another UV: a new vertex
    np.testing.assert_array_equal(mesh["position"][4], mesh["position"][0])
    np.testing.assert_array_equal(mesh["normal"][4], [0, 0, 0])  # that corner has no normal
    norm = meshutil.normalize_mesh(mesh)
    np.testing.assert_allclose(norm["position"].min(0), [-1, -1, 0])
    np.testing.assert_allclose(norm["position"].max(0), [1, 1, 0])
    assert mesh["position"].max() == 1.0  # the input is not modified
    with pytest.raises(ValueError, match="refers to a missing entry"):
        meshutil.load_obj(io.StringIO("v 0 0 0\nf 1 2 3\n"))
    with pytest.raises(ValueError, match="no faces"):
        meshutil.load_obj(io.StringIO("v 0 0 0\n"))


@pytest.mark.parametrize("kwargs, match", [
    (dict(position=np.zeros((4, 2)), uv=np.zeros((4, 2))), r"position must be \(n_vertices, 3\)"),
    (dict(position=np.zeros((3, 3)), uv=np.zeros((4, 2))), r"uv must be \(n_vertices=3, 1..4\)"),
    (dict(position=np.zeros((4, 3)), uv=np.zeros((4, 2))), "drawn as triples"),
    (dict(position=np.zeros((3, 3)), uv=np.zeros((3, 2)), face=[0, 1, 3]), r"face indices must be in \[0, 3\)"),
    (dict(position=np.zeros((3, 3)), uv=np.zeros((3, 2)), face=[0.0, 1.0, 2.0]), "face must be integer"),
    (dict(position=np.full((3, 3), np.nan), uv=np.zeros((3, 2))), "position contains NaN"),
    (dict(position=np.zeros((3, 3)), uv=np.zeros((3, 2)), modelview=np.eye(3)), "modelview must be a finite 4x4"),
])
def test_render_mesh_bad_input(renderer, kwargs, match):
    with pytest.raises(ValueError, match=match):
        renderer.render_mesh(**kwargs)


def test_renderer_bad_size():
    with pytest.raises(ValueError, match=r"size must be \(width, height\)"):
        glrenderer.MeshRenderer((0, 10))


def test_no_opengl_is_a_clear_error():
    """Without an EGL library the error names the Debian packages to install (not a crash)."""
    with pytest.raises(glrenderer.OpenGLUnavailableError, match="apt-get install libegl1 libgl1-mesa-dri"):
        glrenderer.create_context(libegl="libEGL_does_not_exist.so.1")


_BOTH_ORDERS = """
import sys
import numpy as np
if sys.argv[1] == "tf_first":
    import tensorflow as tf
from lucid_fast.misc.gl import glrenderer, meshes, meshutil
r = glrenderer.MeshRenderer((64, 64))
if sys.argv[1] == "gl_first":
    import tensorflow as tf
x = tf.reduce_sum(tf.nn.conv2d(tf.ones((1, 8, 8, 3)), tf.ones((3, 3, 3, 4)), 1, "SAME"))
frags = r.render_mesh(modelview=meshutil.lookat([0, 0, 12]), **meshes.torus())
print("ok", float(x), float(frags[..., 3].mean()))
"""


@pytest.mark.parametrize("order", ["tf_first", "gl_first"])
def test_renders_in_a_process_with_tensorflow(order):
    """Mesa's llvmpipe and TensorFlow both carry LLVM; rendering and running TF work in one process whichever is
    imported first (without the precautions of create_context, both orders crash)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    res = subprocess.run([sys.executable, "-c", _BOTH_ORDERS, order], capture_output=True, text=True, timeout=300,
                         env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    ok = [line for line in res.stdout.splitlines() if line.startswith("ok")]
    assert ok, res.stdout
    assert float(ok[0].split()[1]) > 0 and float(ok[0].split()[2]) > 0.05


def test_two_renderers_interleaved(renderer):
    """Each renderer draws in its own context, whichever was created (made current) last."""
    mesh = meshes.torus()
    mv = meshutil.lookat([1, 4, 11])
    alone = renderer.render_mesh(modelview=mv, **mesh)
    other = glrenderer.MeshRenderer((40, 30))
    small = other.render_mesh(modelview=mv, **mesh)
    np.testing.assert_array_equal(renderer.render_mesh(modelview=mv, **mesh), alone)
    np.testing.assert_array_equal(other.render_mesh(modelview=mv, **mesh), small)
    assert small.shape == (30, 40, 4) and small[..., 3].mean() > 0.05
    other.release()


def test_gl_info_names_the_driver(renderer):
    info = renderer.gl_info
    assert info["GL_RENDERER"] and info["GL_VERSION"][:1].isdigit()
