"""The offline meshes (misc.gl.meshes): procedural shapes cover the texture, PyVista's globe shows the Earth the
right way round, xatlas atlases are valid, and every mesh renders."""
import numpy as np
import pytest

from lucid_fast import ops
from lucid_fast.misc.gl import glrenderer, meshes, meshutil


@pytest.fixture(scope="module")
def renderer():
    r = glrenderer.MeshRenderer((128, 128))
    yield r
    r.release()


def _check_mesh(mesh):
    pos, uv, face = mesh["position"], mesh["uv"], mesh["face"]
    assert pos.dtype == np.float32 and uv.dtype == np.float32 and face.dtype == np.int32
    assert pos.shape[1] == 3 and uv.shape == (len(pos), 2) and face.ndim == 1 and face.size % 3 == 0
    assert face.min() == 0 and face.max() == len(pos) - 1
    assert np.abs(pos).max() == pytest.approx(1.0)  # normalized into [-1, 1]^3
    assert uv.min() >= 0.0 and uv.max() <= 1.0


def _triangle_uv_area(mesh):
    t = mesh["uv"][mesh["face"].reshape(-1, 3)]
    e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    return 0.5 * (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])


@pytest.mark.parametrize("make", [meshes.torus, meshes.uv_sphere])
def test_procedural_meshes_cover_the_texture(make, renderer):
    mesh = make()
    _check_mesh(mesh)
    area = _triangle_uv_area(mesh)
    assert abs(area).sum() == pytest.approx(1.0, rel=1e-4)  # the UV charts tile [0, 1]^2 exactly once
    frags = renderer.render_mesh(modelview=meshutil.lookat([2, 5, 10]), **mesh)
    assert 0.05 < frags[..., 3].mean() < 0.9


def test_globe_and_earth_texture(renderer):
    """Seen from above the Gulf of Guinea (longitude 0, latitude 0, in the texture's centre), the centre of the
    view shows the texture's centre, and north (+y) is the texture's top half."""
    globe = meshes.globe()
    _check_mesh(globe)
    assert len(globe["position"]) == 540 and globe["face"].size == 980 * 3
    tex = meshes.earth_texture((256, 128))
    assert tex.shape == (128, 256, 3) and tex.dtype == np.float32 and 0 <= tex.min() and tex.max() <= 1
    full = meshes.earth_texture()
    assert full.shape == (1024, 2048, 3)
    # the direction of the texture's centre on the globe: the surface point whose UV is (0.5, 0.5)
    k = np.argmin(np.abs(globe["uv"] - 0.5).sum(1))
    centre = globe["position"][k] / np.linalg.norm(globe["position"][k])
    frags = renderer.render_mesh(modelview=meshutil.lookat(12 * centre), **globe)
    np.testing.assert_allclose(frags[64, 64, :2], [0.5, 0.5], atol=0.02)
    top, bottom = frags[20, 64], frags[108, 64]
    assert top[3] == bottom[3] == 1 and top[1] > 0.6 and bottom[1] < 0.4  # v up: the northern half on top
    view = ops.sample_bilinear(tex, np.ascontiguousarray(frags[..., :2])) * frags[..., 3:]
    ocean = np.array([0.1, 0.2, 0.4])
    assert np.abs(view[64, 64] - ocean).max() < 0.15  # the Gulf of Guinea is ocean


@pytest.mark.parametrize("make, n_faces", [(meshes.ant, 912), (meshes.airplane, 2452)])
def test_unwrapped_examples(make, n_faces, renderer):
    mesh = make(resolution=512)
    _check_mesh(mesh)
    assert mesh["face"].size == 3 * n_faces
    area = _triangle_uv_area(mesh)
    assert abs(area).sum() > 0.3  # the atlas uses a good part of the texture
    # no two charts overlap: rasterizing the UV layout itself, each texel is covered at most once
    uv3 = np.concatenate([mesh["uv"] * 2 - 1, np.zeros((len(mesh["uv"]), 1), np.float32)], 1)
    flat = glrenderer.MeshRenderer((256, 256))
    ortho_like = meshutil.lookat([0, 0, 1 / np.tan(np.radians(flat.fovy / 2))])  # [-1, 1]^2 fills the view
    cover = flat.render_mesh(uv3, np.ones_like(mesh["uv"]), face=mesh["face"], modelview=ortho_like)[..., 3]
    assert 0.3 < cover.mean() < 0.95
    flat.release()
    frags = renderer.render_mesh(modelview=meshutil.lookat([0, 3, 11]), **mesh)
    assert frags[..., 3].mean() > 0.02
    assert frags[..., :2][frags[..., 3] > 0].std(0).min() > 0.05  # visible UVs spread over the atlas


def test_pyvista_missing_file_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="missing from the installed PyVista"):
        meshes.pyvista_example_path("no_such_mesh.ply")


def test_shape_arguments_are_checked():
    with pytest.raises(ValueError, match="minor_radius < major_radius"):
        meshes.torus(1.0, 2.0)
    with pytest.raises(ValueError, match="n_lon >= 3"):
        meshes.uv_sphere(2, 8)
