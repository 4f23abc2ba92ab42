"""Meshes with texture coordinates that need no download: procedural shapes and the example files of PyVista.

Lucid's 3D notebooks downloaded ``article_models`` (a bunny, a skull, ...). lucid_fast uses what installs with
packages instead:

* :func:`torus` and :func:`uv_sphere`: procedural, with seam-split UVs covering the whole [0, 1]^2 texture;
* :func:`globe` and :func:`earth_texture`: PyVista's ``examples/globe.vtk`` (a UV sphere) and its texture
  ``2k_earth_daymap.jpg``;
* :func:`ant` and :func:`airplane`: PyVista's ``examples/ant.ply`` and ``airplane.ply``, which have no UVs:
  ``xatlas`` unwraps them into a texture atlas (deterministic for a given xatlas version).

A mesh is Lucid's dict: ``position`` float32 (n, 3), ``uv`` float32 (n, 2), ``face`` int32 (k * 3,), ready for
``MeshRenderer.render_mesh(modelview=..., **mesh)``; all are centred and scaled into [-1, 1]^3
(:func:`meshutil.normalize_mesh`). Credits and licenses: CREDITS.md at the repository root.
"""
import importlib.util
import os

import numpy as np

from .meshutil import normalize_mesh

PYVISTA_EXAMPLES = ("globe.vtk", "2k_earth_daymap.jpg", "ant.ply", "airplane.ply")


def _grid_mesh(n_u, n_v, point):
    """A (n_u + 1) x (n_v + 1) vertex grid over (u, v) in [0, 1]^2, seam vertices duplicated, two triangles per
    cell (counter-clockwise seen from outside for the shapes here); ``point(u, v)`` -> (..., 3) positions."""
    u, v = np.meshgrid(np.linspace(0.0, 1.0, n_u + 1), np.linspace(0.0, 1.0, n_v + 1), indexing="xy")
    pos = point(u, v).reshape(-1, 3)
    uv = np.stack([u, v], -1).reshape(-1, 2)
    row = n_u + 1
    i, j = np.meshgrid(np.arange(n_v), np.arange(n_u), indexing="ij")
    a = (i * row + j).ravel()
    b, c, d = a + 1, a + row, a + row + 1
    face = np.stack([a, b, d, a, d, c], -1).reshape(-1)
    return {"position": pos.astype(np.float32), "uv": uv.astype(np.float32), "face": face.astype(np.int32)}


def torus(major_radius=1.0, minor_radius=0.4, n_major=64, n_minor=32):
    """A torus around the y axis: u runs around the ring, v around the tube. Normalized into [-1, 1]^3."""
    if not 0 < minor_radius < major_radius:
        raise ValueError(f"torus: need 0 < minor_radius < major_radius, got {minor_radius}, {major_radius}")
    if n_major < 3 or n_minor < 3:
        raise ValueError(f"torus: need at least 3 segments each way, got {n_major}, {n_minor}")

    def point(u, v):
        phi, theta = 2 * np.pi * u, 2 * np.pi * v
        r = major_radius + minor_radius * np.cos(theta)
        return np.stack([r * np.cos(phi), minor_radius * np.sin(theta), -r * np.sin(phi)], -1)

    return normalize_mesh(_grid_mesh(n_major, n_minor, point))


def uv_sphere(n_lon=64, n_lat=32):
    """A unit sphere, u = longitude (around +y), v = latitude from the south pole (v = 0) to the north (v = 1):
    an equirectangular texture maps onto it the usual way (v = 1 is the texture's top row)."""
    if n_lon < 3 or n_lat < 2:
        raise ValueError(f"uv_sphere: need n_lon >= 3 and n_lat >= 2, got {n_lon}, {n_lat}")

    def point(u, v):
        lon, lat = 2 * np.pi * u, np.pi * (v - 0.5)
        return np.stack([np.cos(lat) * np.cos(lon), np.sin(lat), -np.cos(lat) * np.sin(lon)], -1)

    return normalize_mesh(_grid_mesh(n_lon, n_lat, point))


def pyvista_example_path(name):
    """The path of a file PyVista ships in ``pyvista/examples`` (found without importing PyVista).

    Raises:
        FileNotFoundError: PyVista is not installed (``pip install pyvista``) or lacks the file.
    """
    spec = importlib.util.find_spec("pyvista")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the example mesh {name!r} comes with PyVista: pip install pyvista "
                                f"(or pip install \"lucid_fast[mesh]\")")
    path = os.path.join(list(spec.submodule_search_locations)[0], "examples", name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is missing from the installed PyVista (its wheel ships "
                                f"{', '.join(PYVISTA_EXAMPLES)})")
    return path


def globe():
    """PyVista's globe: a UV sphere of 540 vertices (980 triangles) textured by :func:`earth_texture`, north up
    (+y)."""
    import pyvista  # reads the legacy-VTK polydata file (meshio reads only VTK grids)

    poly = pyvista.read(pyvista_example_path("globe.vtk")).triangulate()
    faces = np.asarray(poly.faces).reshape(-1, 4)[:, 1:]
    uv = np.asarray(poly.active_texture_coordinates, np.float32)
    x, y, z = np.asarray(poly.points, np.float32).T
    position = np.stack([x, z, -y], -1)  # the file's north pole is +z: turn it to +y, the cameras' "up"
    mesh = {"position": position, "uv": uv, "face": faces.reshape(-1).astype(np.int32)}
    return normalize_mesh(mesh)


def earth_texture(size=None):
    """PyVista's ``2k_earth_daymap.jpg`` (2048 x 1024, equirectangular) as float32 (H, W, 3) in [0, 1], resized
    to ``size`` = (width, height) when given."""
    from PIL import Image

    img = Image.open(pyvista_example_path("2k_earth_daymap.jpg")).convert("RGB")
    if size is not None:
        img = img.resize(tuple(int(s) for s in size), Image.LANCZOS)
    return np.asarray(img, np.float32) / 255.0


def load_mesh(path):
    """Reads a triangle mesh file with trimesh (PLY, STL, OFF, GLB, ...; OBJ too, but
    :func:`meshutil.load_obj` keeps Lucid's vertex splitting) into ``position`` and ``face`` (and ``uv`` when the
    file has texture coordinates), not normalized."""
    import trimesh

    mesh = trimesh.load(path, process=False, force="mesh")
    out = {"position": np.asarray(mesh.vertices, np.float32),
           "face": np.asarray(mesh.faces, np.int32).reshape(-1)}
    uv = getattr(mesh.visual, "uv", None)
    if uv is not None and len(uv) == len(out["position"]):
        out["uv"] = np.asarray(uv, np.float32)
    return out


def unwrap_uv(mesh, resolution=1024, padding=4):
    """A copy of ``mesh`` with a texture atlas computed by xatlas: vertices split along the charts' seams
    (``position``, ``uv`` in [0, 1]^2, ``face``). ``resolution``/``padding`` (texels) set the gaps between
    charts, so that bilinear lookups in a texture of about that size do not bleed across charts."""
    import xatlas

    pos = np.asarray(mesh["position"], np.float32)[:, :3]
    faces = np.asarray(mesh["face"], np.uint32).reshape(-1, 3)
    atlas = xatlas.Atlas()
    atlas.add_mesh(pos, faces)
    pack = xatlas.PackOptions()
    pack.resolution = int(resolution)
    pack.padding = int(padding)
    atlas.generate(pack_options=pack)
    vmapping, new_faces, uv = atlas[0]
    out = dict(mesh)
    out.pop("normal", None)
    out.update(position=pos[vmapping], uv=np.asarray(uv, np.float32),
               face=np.asarray(new_faces, np.int32).reshape(-1))
    return out


def _unwrapped_example(name, resolution):
    return normalize_mesh(unwrap_uv(load_mesh(pyvista_example_path(name)), resolution=resolution))


def ant(resolution=1024):
    """PyVista's ant (486 vertices, 912 triangles), UV-unwrapped by xatlas for a ``resolution`` texture."""
    return _unwrapped_example("ant.ply", resolution)


def airplane(resolution=1024):
    """PyVista's airplane (1335 vertices, 2452 triangles), UV-unwrapped by xatlas for a ``resolution`` texture."""
    return _unwrapped_example("airplane.ply", resolution)
