"""Feature inversion and caricatures (Lucid's ``recipes.caricature``).

Given a photo and a layer, optimize a fresh image so that its activations at that layer point the way the
photo's do. The photo travels in the same batch as the images being optimized (batch item 0, held fixed), so
every random transformation of a step moves photo and images alike and their activations stay aligned
position by position. The objective for image ``i`` is the dot product of its activations with the photo's,
optionally weighted by their cosine similarity:

    dot(A_i, A_photo) * max(0.1, cos(A_i, A_photo)) ** cossim_pow

With ``cossim_pow = 0`` the image is free to exaggerate whatever the layer sees in the photo (a caricature);
larger powers keep it closer to the photo's own mix of features (a feature inversion, in the spirit of
Mahendran & Vedaldi 2015, with a dot product instead of an L2 distance and with transformation robustness).
"""
import numpy as np

from lucid_fast.optvis import objectives, param, render, transform

__all__ = ["dot_compare", "caricature", "feature_inversion", "fit_image", "activation_similarity", "make_caricature"]

MIN_COSSIM = 0.1  # the cosine factor is clamped from below, as Lucid's, so a bad start still gets a gradient


@objectives.wrap_objective()
def dot_compare(layer, batch=1, cossim_pow=0.0, target=0):
    """Dot product of batch item ``batch``'s activations at ``layer`` with item ``target``'s, times
    ``max(0.1, cos) ** cossim_pow`` (``cos``: their cosine similarity over the whole activation tensor).

    Lucid divided the dot product by one norm only (a projection length, so its ``cossim_pow`` scaled with the
    activations' magnitude); here ``cos`` is the cosine proper, so the clamp at 0.1 and the powers mean the
    same on every layer.
    """
    from lucid_fast.models import backend

    for name, v in (("batch", batch), ("target", target)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise TypeError(f"dot_compare: {name} must be an int batch index, got {v!r}")
    if not np.isfinite(cossim_pow) or cossim_pow < 0:
        raise ValueError(f"dot_compare: cossim_pow must be a finite number >= 0, got {cossim_pow!r}")

    def inner(T):
        acts_t = T(layer)
        B = backend.of_accessor(T)
        x_t, y_t = acts_t[batch], acts_t[target]
        dot_t = B.sum(x_t * y_t)
        if cossim_pow == 0:
            return dot_t
        norms_t = B.sqrt(B.sum(x_t ** 2)) * B.sqrt(B.sum(y_t ** 2))
        cos_t = dot_t / (1e-6 + norms_t)
        return dot_t * B.maximum(cos_t, MIN_COSSIM) ** cossim_pow
    return inner


def fit_image(img, size):
    """A photo as the model input: float32 RGB in [0, 1], centre-cropped to the aspect of ``size`` and resized.

    Args:
        img: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array; integers are read as 0..255, floats as 0..1.
            Alpha is dropped, gray is repeated to RGB.
        size: an int (square) or (height, width).

    Returns:
        (height, width, 3) float32 array (antialiased bilinear resize).
    """
    import tensorflow as tf

    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4) or min(arr.shape[:2]) < 1:
        raise ValueError(f"fit_image: img must be an (H, W[, 1|3|4]) image, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32)[..., :3]
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    h_out, w_out = (size, size) if np.isscalar(size) else tuple(size)
    h_out, w_out = int(h_out), int(w_out)
    if h_out < 1 or w_out < 1:
        raise ValueError(f"fit_image: size must be positive, got {size!r}")
    h, w = arr.shape[:2]
    scale = max(h_out / h, w_out / w)  # crop to the target aspect: keep the largest centred window
    ch, cw = min(h, int(round(h_out / scale))), min(w, int(round(w_out / scale)))
    top, left = (h - ch) // 2, (w - cw) // 2
    arr = arr[top:top + ch, left:left + cw]
    out = tf.image.resize(arr[None], (h_out, w_out), method="bilinear", antialias=True)[0].numpy()
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _as_list(name, value, n):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"caricature: {name} has {len(value)} entries for {n} layer(s)")
        return list(value)
    return [value] * n


def caricature(img, model, layer, n_steps=512, cossim_pow=0.0, verbose=False, size=None, transforms=None, blur=0.0,
               param_f=None, optimizer=None, seed=None):
    """Feature inversion / caricature of ``img`` at ``layer`` (one image per layer, optimized jointly).

    Args:
        img: the photo, (H, W, 3) (see :func:`fit_image` for what else is accepted).
        model: anything :func:`lucid_fast.optvis.render.render_vis` accepts ("vgg16_hed", a Keras model, ...).
        layer: a layer name, or a list of them: one optimized image per entry (the same layer may repeat, e.g.
            with different ``cossim_pow``).
        n_steps: optimization steps (Lucid's 512). ``0`` returns the starting images.
        cossim_pow: cosine-similarity power (see :func:`dot_compare`), one number or one per layer.
        verbose: show the photo and the results when done (Lucid's default was True).
        size: image side (int) or (height, width); default the model's nominal input size, else 224.
        transforms: default Lucid's recipe: ``transform.standard_transforms`` then a crop back to ``size``.
        blur: weight of a ``blur_input_each_step`` penalty (0 = none), which smooths high-frequency noise.
        param_f: a function ``(batch, h, w) -> parameterization`` of the optimized images (default
            ``param.image(w, h, batch=batch)``: Fourier, decorrelated colour).
        optimizer: as render_vis (default Adam 0.05).
        seed: seeds initialization and transforms.

    Returns:
        ``(1 + len(layers), h, w, 3)`` float32 in [0, 1]: the resized photo, then one image per layer.
    """
    layers = [layer] if isinstance(layer, str) else list(layer) if isinstance(layer, (list, tuple)) else None
    if not layers or not all(isinstance(name, str) for name in layers):
        raise TypeError(f"caricature: layer must be a layer name or a non-empty list of them, got {layer!r}")
    pows = _as_list("cossim_pow", cossim_pow, len(layers))
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"caricature: n_steps must be an int >= 0, got {n_steps!r}")

    from lucid_fast import modelzoo

    adapter = modelzoo.load_model(model)
    if size is None:
        nominal = getattr(adapter, "image_shape", None)
        size = tuple(nominal[:2]) if nominal is not None and None not in nominal[:2] else 224
    photo = fit_image(img, size)
    h, w = photo.shape[:2]
    n = len(layers)

    obj = objectives.Objective.sum([dot_compare(name, batch=i + 1, cossim_pow=p)
                                    for i, (name, p) in enumerate(zip(layers, pows))])
    if blur:
        obj = obj - float(blur) * objectives.blur_input_each_step()
    images = param_f(n, h, w) if param_f is not None else param.image(w, h, batch=n)
    if tuple(images.shape) != (n, h, w, 3):
        raise ValueError(f"caricature: param_f must make a ({n}, {h}, {w}, 3) parameterization, "
                         f"got {images.shape}")
    batch = param.concat([photo[None], images], axis=0)
    if transforms is None:
        transforms = list(transform.standard_transforms) + [transform.crop_or_pad_to(h, w)]

    vis = render.make_vis_T(adapter, obj, param_f=batch, optimizer=optimizer, transforms=transforms, seed=seed)
    for _ in range(int(n_steps)):
        vis.step()
    result = vis.image()
    if verbose:
        from lucid_fast.misc import io

        io.show(np.hstack(list(result)))
    return result


def feature_inversion(*args, **kwargs):
    """Same as :func:`caricature` (Lucid's alias): raise ``cossim_pow`` (e.g. 1 or 2) for a closer inversion."""
    return caricature(*args, **kwargs)


def make_caricature(image_url, saved_model_folder_url, to, *args, **kwargs):
    """Lucid's batch job: caricatures of the image at ``image_url`` at every layer a saved model's manifest
    lists (``<saved_model_folder_url>/manifest.json``, see ``vision_base.Model.load_from_manifest``), saved as
    ``<to>/input.jpg``, ``<to>/<layer>.jpg`` and ``<to>/results.json``; returns the results dict.
    ``args``/``kwargs`` go to :func:`caricature`."""
    import os

    from lucid_fast.misc.io import load, save
    from lucid_fast.modelzoo.vision_base import Model

    image = load(image_url)
    model = Model.load_from_manifest(os.path.join(saved_model_folder_url, "manifest.json"))
    layers = list(getattr(model, "layer_names", []))
    if not layers:
        raise ValueError(f"make_caricature: the manifest in {saved_model_folder_url} lists no layers")
    kwargs.pop("verbose", None)
    result = caricature(image, model, layers, *args, verbose=False, **kwargs)
    results = {"type": "caricature"}
    input_url = os.path.join(to, "input.jpg")
    save(result[0], input_url, domain=(0, 1))
    results["input_image"] = input_url
    values = []
    for img, layer in zip(result[1:], layers):
        url = os.path.join(to, layer.replace("/", "_") + ".jpg")
        save(img, url, domain=(0, 1))
        values.append({"type": "image", "url": url, "shape": img.shape})
    results["values"] = values
    save(results, os.path.join(to, "results.json"))
    return results


def activation_similarity(model, images, reference, layer):
    """Cosine similarity of each image's activations at ``layer`` with those of ``reference``.

    Args:
        model: a model as render_vis accepts.
        images: (N, H, W, 3) or (H, W, 3) images in [0, 1].
        reference: (H, W, 3) or (1, H, W, 3) image of the same size.
        layer: the layer name.

    Returns:
        (N,) float array in [-1, 1] (the whole activation tensor flattened).
    """
    from lucid_fast import attribution, modelzoo

    adapter = modelzoo.load_model(model)
    imgs = np.asarray(images, np.float32)
    ref = np.asarray(reference, np.float32)
    imgs = imgs[None] if imgs.ndim == 3 else imgs
    ref = ref[None] if ref.ndim == 3 else ref
    if imgs.ndim != 4 or ref.shape[0] != 1 or ref.shape[1:] != imgs.shape[1:]:
        raise ValueError(f"activation_similarity: images {imgs.shape} and reference {ref.shape} must be "
                         f"(N, H, W, C) and (H, W, C) of one size")
    name = adapter.resolve(layer)
    acts = attribution.activations(adapter, np.concatenate([ref, imgs], 0), [name])[name]
    flat = acts.reshape(acts.shape[0], -1).astype(np.float64)
    norms = np.linalg.norm(flat, axis=1)
    return (flat[1:] @ flat[0]) / np.maximum(norms[1:] * norms[0], 1e-12)
