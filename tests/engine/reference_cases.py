"""The engine's reference renders: small, seeded runs of every way the library optimizes an image, hashed.

`tests/data/engine_reference.json` holds the hashes these cases gave on main before the engine was written once
(issue 20: "same seed, same machine: the same bytes"); `tests/engine/test_reference_bytes.py` checks that the
engine still gives them. Regenerate (only when a change of results is intended, and say so in the commit) with

    python tests/engine/reference_cases.py --write
"""
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "data", "engine_reference.json")


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def tiny_model():
    """conv1 (8, ReLU) -> pool -> conv2 (12, ReLU) -> gap -> dense logits (5): seeded weights."""
    import keras

    rng = np.random.default_rng(7)
    inp = keras.Input((None, None, 3), name="input")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(12, 3, padding="same", activation="relu", name="conv2")(x)
    g = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(5, name="logits")(g)
    model = keras.Model(inp, out, name="tiny")
    for w in model.weights:
        w.assign(rng.normal(0, 0.4, w.shape).astype(np.float32))
    return model


def grid_model():
    import keras

    inputs = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(6, 1, activation="relu", name="c1")(inputs)
    x = keras.layers.MaxPooling2D(4, name="pool")(x)
    model = keras.Model(inputs, x)
    kernel = np.concatenate([np.eye(3), -np.eye(3)], 1).reshape(1, 1, 3, 6).astype(np.float32)
    model.get_layer("c1").set_weights([kernel, np.array([-0.5] * 3 + [0.5] * 3, np.float32)])
    return model


def grid_image():
    colours = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1],
               [0.9, 0.5, 0.1]]
    img = np.zeros((12, 12, 3), np.float32)
    for k, colour in enumerate(colours):
        i, j = divmod(k, 3)
        img[4 * i:4 * i + 4, 4 * j:4 * j + 4] = colour
    return img


def case_render_default():
    """Lucid's defaults: fft + decorrelated colour, standard transforms, Adam 0.05, redirected ReLU."""
    from lucid_fast.optvis import param, render

    imgs = render.render_vis(tiny_model(), "conv2:3", lambda: param.image(32), thresholds=(5, 20), seed=0,
                             verbose=False)
    return digest(*imgs)


def case_render_fast():
    from lucid_fast.optvis import param, render

    imgs = render.render_vis(tiny_model(), "conv2:5", lambda: param.image(32, batch=2), seed=1, verbose=False,
                             preset="fast")
    return digest(*imgs)


def case_render_terms():
    """A batch with per-image channels, a native TV term and an L2 on the input, pixel parameterization."""
    from lucid_fast.optvis import objectives, param, render

    obj = (objectives.channel("conv1", 2, batch=0) + objectives.channel("logits", 1, batch=1)
           - 1e-3 * objectives.total_variation() - 0.1 * objectives.L2())
    imgs = render.render_vis(tiny_model(), obj, lambda: param.image(28, batch=2, fft=False, decorrelate=False),
                             thresholds=(12,), seed=2, verbose=False)
    return digest(*imgs)


def case_session_trace():
    """make_vis_T driven by hand: the objective values of each step, and the image."""
    from lucid_fast.optvis import objectives, param, render

    vis = render.make_vis_T(tiny_model(), objectives.neuron("conv2", 4) + objectives.diversity("conv1"),
                            lambda: param.image(24, batch=3), seed=3)
    trace = np.array([vis.step() for _ in range(20)], np.float64)
    return digest(trace, vis.image())


def case_gallery_unit():
    from lucid_fast.gallery import Settings
    from lucid_fast.gallery.engine import ChannelBatchRenderer

    s = Settings(size=24, steps=20, batch=4, seed=1, negative=True)
    res = ChannelBatchRenderer(tiny_model(), s).render_unit("conv2", [2, 7, 11])
    return digest(res.images_u8, res.negatives_u8, res.traces, res.negative_traces)


def case_gallery_unit_fast():
    from lucid_fast.gallery import Settings
    from lucid_fast.gallery.engine import ChannelBatchRenderer

    s = Settings(size=24, batch=2, seed=4, preset="fast")
    res = ChannelBatchRenderer(tiny_model(), s).render_unit("logits", [0, 3])
    return digest(res.images_u8, res.traces)


def case_activation_grid():
    from lucid_fast.recipes.activation_grid import render_activation_grid

    r = render_activation_grid(grid_model(), grid_image(), "pool", cell_size=16, n_groups=2, shared_res=2,
                               steps=12, batch=4, seed=0)
    return digest(r.cells, np.array(r.history, np.float64))


def case_mesh_texture():
    from lucid_fast.misc.gl import glrenderer, meshes
    from lucid_fast.optvis import param, render

    renderer = glrenderer.MeshRenderer((40, 32))
    try:
        view = param.mesh_view(param.image(32), meshes.torus(n_major=32, n_minor=16), renderer)
        render.render_vis(tiny_model(), "conv2:1", view, transforms=[], thresholds=(8,), seed=5, verbose=False)
        return digest(view.texture())
    finally:
        renderer.release()


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items()) if name.startswith("case_")}


def main(argv):
    got = {name: fn() for name, fn in CASES.items()}
    if "--write" in argv:
        with open(REFERENCE, "w") as f:
            json.dump(got, f, indent=1, sort_keys=True)
            f.write("\n")
    print(json.dumps(got, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
