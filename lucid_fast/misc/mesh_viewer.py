"""An interactive viewer of textured meshes (Lucid's ``show.textured_mesh``), offline: three.js ships inside.

:func:`textured_mesh` writes one self-contained HTML page: the vendored three.js module
(``misc/_vendor/three``, MIT), the mesh's vertices, UVs and faces (base64 binary) and the texture (a PNG or JPEG
data URL). Drag to turn the model, scroll to zoom. In Jupyter the page is shown inline, in an iframe; elsewhere
(or with ``path=``) it is saved as a standalone page. Nothing is fetched at run time.

For places that run no scripts (a committed notebook on a code host, a report), render a turntable animation
with lucid_fast's own rasterizer instead: :func:`lucid_fast.misc.gl.turntable.turntable`.
"""
import base64
import html
import io as _io
import os

import numpy as np

from lucid_fast.misc.image import encode_png, to_uint8
from lucid_fast.misc.notebook import in_notebook

THREE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_vendor", "three")
THREE_VERSION = "0.170.0"

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
html, body {{ margin: 0; height: 100%; background: {background}; overflow: hidden; }}
#view {{ width: 100%; height: 100%; display: block; cursor: grab; touch-action: none; }}
#hint {{ position: absolute; left: 8px; bottom: 6px; font: 12px sans-serif; color: #888; user-select: none; }}
</style></head>
<body>
<canvas id="view"></canvas><div id="hint">drag to turn, scroll to zoom</div>
<!-- three.js {three_version} (MIT License, Copyright 2010-2024 three.js authors), vendored by lucid_fast -->
<script id="three-src" type="text/plain">{three_src}</script>
<script id="mesh-data" type="application/json">{mesh_json}</script>
<script type="module">
const src = document.getElementById("three-src").textContent;
const THREE = await import(URL.createObjectURL(new Blob([src], {{type: "text/javascript"}})));
const data = JSON.parse(document.getElementById("mesh-data").textContent);
const decode = (b64, Type) => {{
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  return new Type(bytes.buffer);
}};
const canvas = document.getElementById("view");
const renderer = new THREE.WebGLRenderer({{canvas, antialias: true, preserveDrawingBuffer: true}});
renderer.setPixelRatio(window.devicePixelRatio || 1);
const scene = new THREE.Scene();
scene.background = new THREE.Color(data.background);
const camera = new THREE.PerspectiveCamera(data.fovy, 1, 0.01, 100);
camera.position.set(0, 0, data.distance);
const geometry = new THREE.BufferGeometry();
geometry.setAttribute("position", new THREE.BufferAttribute(decode(data.position, Float32Array), 3));
geometry.setAttribute("uv", new THREE.BufferAttribute(decode(data.uv, Float32Array), 2));
geometry.setIndex(new THREE.BufferAttribute(decode(data.face, Uint32Array), 1));
const image = new Image();
image.src = data.texture;
await image.decode();
const texture = new THREE.Texture(image);
texture.colorSpace = THREE.SRGBColorSpace;
texture.wrapS = texture.wrapT = THREE.RepeatWrapping;  // GL_REPEAT, as the renders that made it
texture.needsUpdate = true;
const material = new THREE.MeshBasicMaterial({{map: texture, side: THREE.DoubleSide}});
const model = new THREE.Mesh(geometry, material);
scene.add(model);
const state = {{yaw: 0, pitch: 0, distance: data.distance, frames: 0}};
window.lucidFastViewer = state;
function draw() {{
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.floor(w * renderer.getPixelRatio()) || canvas.height !== Math.floor(h * renderer.getPixelRatio())) {{
    renderer.setSize(w, h, false);
  }}
  camera.aspect = w / Math.max(h, 1);
  camera.position.set(0, 0, state.distance);
  camera.updateProjectionMatrix();
  model.rotation.set(state.pitch, state.yaw, 0, "XYZ");
  renderer.render(scene, camera);
  state.frames += 1;
}}
let drag = null;
canvas.addEventListener("pointerdown", e => {{
  drag = {{x: e.clientX, y: e.clientY, yaw: state.yaw, pitch: state.pitch}};
  canvas.setPointerCapture(e.pointerId);
  canvas.style.cursor = "grabbing";
}});
canvas.addEventListener("pointermove", e => {{
  if (!drag) return;
  const s = Math.PI / Math.max(canvas.clientHeight, 1);
  state.yaw = drag.yaw + (e.clientX - drag.x) * s;
  state.pitch = Math.max(-Math.PI / 2, Math.min(Math.PI / 2, drag.pitch + (e.clientY - drag.y) * s));
  draw();
}});
const end = () => {{ drag = null; canvas.style.cursor = "grab"; }};
canvas.addEventListener("pointerup", end);
canvas.addEventListener("pointercancel", end);
canvas.addEventListener("wheel", e => {{
  e.preventDefault();
  state.distance = Math.max(2, Math.min(60, state.distance * Math.exp(e.deltaY * 0.001)));
  draw();
}}, {{passive: false}});
window.addEventListener("resize", draw);
draw();
document.body.dataset.ready = "1";
</script>
</body></html>
"""


def _b64(arr, dtype):
    return base64.b64encode(np.ascontiguousarray(arr, dtype=dtype).tobytes()).decode("ascii")


def _texture_data_url(texture, fmt):
    from PIL import Image

    tex = np.asarray(texture)
    if tex.ndim == 4 and tex.shape[0] == 1:
        tex = tex[0]
    if tex.ndim != 3 or tex.shape[-1] not in (1, 3, 4):
        raise ValueError(f"textured_mesh: texture must be an (H, W, 1|3|4) image (or a batch of one), got shape "
                         f"{tex.shape}")
    if tex.dtype != np.uint8 and np.issubdtype(tex.dtype, np.floating) and np.isfinite(tex).all() and (
            tex.size and (tex.min() < -1e-3 or tex.max() > 1 + 1e-3)):
        raise ValueError(f"textured_mesh: texture must hold values in [0, 1] (or uint8), got range "
                         f"[{tex.min():.4g}, {tex.max():.4g}]")
    try:
        tex = to_uint8(tex)
    except ValueError as err:
        raise ValueError(f"textured_mesh: texture: {err}") from None
    if tex.shape[-1] == 1:
        tex = np.repeat(tex, 3, -1)  # an RGB texture, also as PNG
    if fmt == "jpeg":
        buf = _io.BytesIO()
        Image.fromarray(tex[..., :3]).save(buf, format="JPEG", quality=90)
        data = buf.getvalue()
    else:
        data = encode_png(tex)
    return f"data:image/{fmt};base64," + base64.b64encode(data).decode("ascii")


def page(mesh, texture, title="lucid_fast mesh", background="#ffffff", distance=14.0, fovy=10.0,
         texture_format="jpeg"):
    """The viewer as a standalone HTML string (see :func:`textured_mesh` for the arguments)."""
    import json

    from lucid_fast.misc.gl.meshutil import check_mesh

    for key in ("position", "uv", "face"):
        if key not in mesh:
            raise ValueError(f"textured_mesh: the mesh needs {key!r} (Lucid's mesh dict), got keys {sorted(mesh)}")
    check_mesh("textured_mesh", mesh)  # finite positions and uvs, at least one triangle, indices in range
    if np.shape(mesh["uv"])[1] < 2:
        raise ValueError(f"textured_mesh: mesh['uv'] must be (n, 2), got shape {np.shape(mesh['uv'])}")
    for name, value in (("title", title), ("background", background)):
        if not isinstance(value, str):
            raise ValueError(f"textured_mesh: {name} must be a string, got {type(value).__name__} {value!r}")
    for name, value, hi in (("distance", distance, None), ("fovy", fovy, 180.0)):
        if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
                or not np.isfinite(value) or value <= 0 or (hi is not None and value >= hi)):
            rng = "> 0" if hi is None else f"in (0, {hi:g})"
            raise ValueError(f"textured_mesh: {name} must be a finite number {rng}, got {value!r}")
    pos = np.asarray(mesh["position"], np.float32)[:, :3]
    uv = np.asarray(mesh["uv"], np.float32)[:, :2]
    face = np.asarray(mesh["face"]).reshape(-1)
    if len(uv) != len(pos) or face.size % 3 or (face.size and (face.min() < 0 or face.max() >= len(pos))):
        raise ValueError(f"textured_mesh: inconsistent mesh: {len(pos)} positions, {len(uv)} uvs, face indices "
                         f"{face.min() if face.size else '-'}..{face.max() if face.size else '-'} ({face.size} of them)")
    if texture_format not in ("jpeg", "png"):
        raise ValueError(f"textured_mesh: texture_format must be 'jpeg' or 'png', got {texture_format!r}")
    with open(os.path.join(THREE_DIR, "three.module.min.js"), encoding="utf-8") as f:
        three_src = f.read()
    data = {"position": _b64(pos, "<f4"), "uv": _b64(uv, "<f4"), "face": _b64(face, "<u4"),
            "texture": _texture_data_url(texture, texture_format), "background": background,
            "distance": float(distance), "fovy": float(fovy)}
    return _PAGE.format(title=html.escape(title), background=html.escape(background), three_version=THREE_VERSION,
                        three_src=three_src, mesh_json=json.dumps(data).replace("</", "<\\/"))


def textured_mesh(mesh, texture, path=None, width=512, height=512, title="lucid_fast mesh", background="#ffffff",
                  distance=14.0, fovy=10.0, texture_format="jpeg", display=None):
    """Shows a textured mesh in an interactive three.js viewer: drag to turn it, scroll to zoom.

    Args:
        mesh: Lucid's mesh dict (``position`` (n, 3), ``uv`` (n, 2), ``face``), e.g. ``lucid_fast.misc.gl.meshes``.
        texture: (H, W, 3) image in [0, 1] (or uint8), or a batch of one: texture coordinates (u, v) look it up
            as the renders did (v = 1 is the image's top row, the texture repeats).
        path: also save the standalone page there (a ``.html`` file that opens in any browser, offline).
        width, height: size of the inline view in a notebook, in pixels (ints in [1, 8192]).
        distance, fovy: the camera's distance and vertical field of view (degrees), as ``MeshRenderer``'s views.
        texture_format: "jpeg" (smaller pages) or "png" (exact).
        display: show inline (default: when running in a notebook).

    Returns:
        The path of the saved page, or None when only shown inline.
    """
    from lucid_fast.misc.atomic import atomic_write

    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 8192:
            raise ValueError(f"textured_mesh: {name} must be an int in [1, 8192] pixels, got {value!r}")
    text = page(mesh, texture, title=title, background=background, distance=distance, fovy=fovy,
                texture_format=texture_format)
    if path is not None:
        with atomic_write(path, "w", encoding="utf-8") as f:  # a failure leaves the file that was there
            f.write(text)
    if display is None:
        display = in_notebook()
    if display:
        from IPython.display import HTML, display as ipy_display

        ipy_display(HTML(f'<div><iframe srcdoc="{html.escape(text, quote=True)}" width="{int(width)}" '
                         f'height="{int(height)}" style="border: 1px solid #ddd" '
                         f'title="{html.escape(title)}"></iframe></div>'))
    elif path is None:
        import tempfile

        fd, path = tempfile.mkstemp(suffix=".html", prefix="lucid_fast_mesh_")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"textured_mesh: saved the viewer to {path} (open it in a browser)")
    return path
