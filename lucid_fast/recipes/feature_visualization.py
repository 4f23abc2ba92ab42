"""One-call feature visualizations of neurons or channels (Lucid's ``recipes.feature_visualization``).

``channel(model, layer, channel_indices, ...)`` renders one image per channel index (a batch, optimized
together) with Lucid's recipe: a Fourier, colour-decorrelated image at the model's nominal size, the standard
transforms and a crop back to that size, Adam; and records each image's objective at every step.
"""
import numpy as np

from lucid_fast.optvis import objectives, param, render, transform


def _main(objective_f, model, layer, channel_indices, alpha=False, negative=False, decorrelation_matrix=None,
          n_steps=128, parallel_transforms=16, lr=0.05, override_gradients=True, seed=None):
    """Renders ``objective_f(layer, i, batch=b)`` for each channel index ``i`` (batch item ``b``).

    Args:
        model: a model as render_vis takes (a lucid_fast model, a modelzoo name, a vision_models.Model).
        layer: a layer name, or a ``vision_base.Layer``.
        channel_indices: an int or a list of ints.
        alpha: render RGBA images, composited onto random backgrounds, with transparency encouraged.
        negative: minimize instead (the negative direction of each channel).
        decorrelation_matrix: not supported (as in Lucid, where it raised NotImplementedError).
        n_steps: optimization steps. lr: Adam's learning rate. override_gradients: Lucid's ReLU override.
        parallel_transforms: ignored (Lucid ignored it too).
        seed: seeds the run (lucid_fast).

    Returns:
        For one channel ``(image, losses)``; for several a list of them. ``image`` is (h, w, 3|4) in [0, 1];
        ``losses`` the image's objective at each step (computed on the untransformed image; Lucid reported the
        transformed one).
    """
    from lucid_fast import modelzoo
    from lucid_fast.modelzoo.vision_base import Layer

    if decorrelation_matrix is not None:
        raise NotImplementedError("feature_visualization: decorrelation_matrix is not supported (nor was it in "
                                  "Lucid)")
    indices = list(channel_indices) if isinstance(channel_indices, (list, tuple)) else [channel_indices]
    if isinstance(layer, Layer):
        layer_name = layer.name
    elif isinstance(layer, str):
        layer_name = layer
    else:
        raise ValueError(f"feature_visualization: layer must be a layer name or a Layer, got {layer!r}")
    adapter = modelzoo.load_model(model)
    shape = getattr(adapter, "image_shape", None) or getattr(model, "image_shape", None) or (224, 224, 3)
    h, w = (int(shape[0]), int(shape[1])) if None not in tuple(shape[:2]) else (224, 224)
    sign = -1.0 if negative else 1.0
    batch = len(indices)
    transforms = list(transform.standard_transforms) + [transform.crop_or_pad_to(h, w)]
    if alpha:
        transforms.append(transform.collapse_alpha_random())
    objs = [sign * objective_f(layer_name, i, batch=b) for b, i in enumerate(indices)]
    obj = objectives.Objective.sum(objs)
    if alpha:
        mean_alpha = objectives.Objective(lambda T: _reduce_mean_alpha(T("input")), name="mean_alpha")
        obj = obj * (1.0 - mean_alpha) - 0.1 * objectives.blur_alpha_each_step()
    vis = render.make_vis_T(adapter, obj, param_f=lambda: param.image(w, h, alpha=alpha, batch=batch),
                            optimizer=lr, transforms=transforms, relu_gradient_override=override_gradients,
                            seed=seed)
    losses = np.zeros((batch, int(n_steps)))
    for step in range(int(n_steps)):
        vis.step()
        acts = vis.activations(layer_name)
        losses[:, step] = [sign * float(_channel_value(acts[b], i, objective_f)) for b, i in enumerate(indices)]
    images = vis.image()
    if batch == 1:
        return images[0], losses[0]
    return list(zip(images, losses))


def _reduce_mean_alpha(image_t):
    from lucid_fast.models.backend import of_tensor

    return of_tensor(image_t).mean(image_t[..., -1])


def _channel_value(acts, i, objective_f):
    """The value objectives.channel / objectives.neuron take for one image's activations (h, w, c) or (c,)."""
    acts = np.asarray(acts)
    if acts.ndim == 1:
        return acts[i]
    if objective_f is objectives.neuron:
        return acts[acts.shape[0] // 2, acts.shape[1] // 2, i]
    return acts[..., i].mean()


def neuron(*args, **kwargs):
    """Visualizations of the centre neuron of channels: ``neuron(model, layer, channel_indices, ...)``."""
    return _main(objectives.neuron, *args, **kwargs)


def channel(*args, **kwargs):
    """Visualizations of whole channels: ``channel(model, layer, channel_indices, ...)``."""
    return _main(objectives.channel, *args, **kwargs)


__all__ = ["channel", "neuron"]
