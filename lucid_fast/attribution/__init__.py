"""Attribution: which activations of a layer made a model produce a score, on one image (Lucid's "Building
Blocks of Interpretability" notebooks, Olah et al. 2018).

    from lucid_fast import attribution
    acts = attribution.activations("vgg16_hed", image, "block4_conv3")["block4_conv3"]    # (1, H, W, C)
    a = attribution.attribute(fer, face, "add_3", ("happy", "neutral"), method="path")   # an Attribution
    a.channel(), a.spatial(), a.completeness_error                                       # (C,), (H, W), float
    attribution.channel(fer, face, "add_3", "happy")                                     # the same, shorter
    attribution.spatial_to_spatial(model, image, "block4_conv3", "block5_conv3")         # (H2, W2, H1, W1)

Every function takes a model (anything :func:`lucid_fast.modelzoo.load_model` accepts: a modelzoo name, a Keras
model, a GraphDef, a PyTorch ``nn.Module``, an adapter), an image in [0, 1] (``(H, W, C)`` or a batch of one,
``C`` the model's input channels; uint8 images are divided by 255) and layer names. TensorFlow and PyTorch models
take the same calls and give the same results (numpy arrays, NHWC): ``vgg16_hed`` and ``vgg16_hed_torch`` agree
to float32 rounding (``tests/attribution/test_attribution_torch.py``).

**Scores** (:func:`score`): a class label of ``model.labels`` (``"happy"``: its pre-softmax logit, as Lucid's
notebooks used ``softmax2_pre_activation``), a class index, ``"logsumexp"`` (of the logits), a
``"layer:channel"`` spec (the channel's mean activation), a difference of two of these (``("happy",
"neutral")``, ``"happy - neutral"`` or ``score(m, "happy") - score(m, "neutral")``), or a callable
``T -> tensor`` reading the model's layers through ``T(name)`` and returning one score per image.
A :class:`Score` is a :class:`lucid_fast.optvis.objectives.Objective` (its value on a batch is the sum of the
images' scores; :meth:`Score.tf_per_item` gives each image's) and combines with the objectives' algebra
(``-``, ``+``, negation, ``*`` and ``/`` by numbers).

**Methods.** ``"linear"``: gradient x activation, the first-order estimate of what each activation contributed.
``"path"``: integrated gradients on the layer (Sundararajan et al. 2017): the gradient averaged along the
straight path of activations ``alpha * acts``, ``alpha`` from 0 to 1 (midpoint rule, ``steps`` points), times
``acts``; the attributions then sum to ``score(acts) - score(0)`` up to the quadrature error
(*completeness*; :attr:`Attribution.completeness_error`). ``"stochastic_path"``: the same along a random
monotone path on which every channel has its own schedule ``alpha_c(t)`` (seeded), so that channels do not
all saturate together; completeness still holds. Lucid's notebook drew random per-channel scales instead
(which does not keep completeness) and summed left Riemann steps.

**Batched.** The path points, and in :func:`spatial_to_spatial` the positions, go through the model as batches,
never as one backward pass per position or per step as Lucid's notebooks looped; ``python -m lucid_fast.bench
attribution`` measures the difference. TensorFlow: inside one ``tf.function`` (traced once per model, layer and
score, and cached on the model's adapter: :func:`function_cache`; gradients are only computed inside
``tf.function``, as TF 2.21's eager gradient through 1x1 stride-2 convolutions crashes on some CPUs). PyTorch:
the adapter's spliced forward (the image once, a forward hook putting the batch of path points in place of the
layer's output) and one ``torch.autograd.grad`` per batch; :func:`spatial_to_spatial` runs its forward once and
each chunk of positions as one batched backward pass (``is_grads_batched``). The framework seam is
:mod:`~lucid_fast.attribution.frameworks`.

``maxpool_grad="smooth"`` / ``"smooth_blur"`` replace the max-pool gradient by Lucid's smooth relaxation (and
blur) from the AttrSpatial notebook (see :func:`lucid_fast.models.smooth_maxpool_grad`; for PyTorch models every
2-D max-pool, ``nn.MaxPool2d`` or ``F.max_pool2d``: :mod:`lucid_fast.models.torch_splice`).

Layout: :mod:`~lucid_fast.attribution.core` (inputs, activations, batching, the attribution functions, written
once), :mod:`~lucid_fast.attribution.tf_impl` / :mod:`~lucid_fast.attribution.torch_impl` (each framework's
batched gradient functions) and :mod:`~lucid_fast.attribution.scores` (:class:`Score`, :func:`score`, computed
through :mod:`lucid_fast.models.backend`). ``Score`` and ``score`` are loaded on first use. Importing this
package imports no framework; attribution on a PyTorch model never loads TensorFlow.
"""
from lucid_fast.attribution.core import (
    DEFAULT_BATCH,  # noqa: F401 - module constants of the former attribution.py
    DEFAULT_STEPS,  # noqa: F401 - module constants of the former attribution.py
    METHODS,
    NORM_FLOOR,  # noqa: F401 - module constants of the former attribution.py
    STOCHASTIC_MAX_WIGGLE,  # noqa: F401 - module constants of the former attribution.py
    Attribution,
    activations,
    attribute,
    channel,
    function_cache,
    group,
    neuron_groups,
    score_with,
    spatial,
    spatial_to_spatial,
)

__all__ = ["Score", "Attribution", "score", "activations", "attribute", "score_with", "channel", "spatial", "group",
           "spatial_to_spatial", "neuron_groups", "function_cache", "METHODS"]

_FROM_SCORES = ("Score", "score")  # lucid_fast.attribution.scores (and the objectives): loaded on first use


def __getattr__(name):
    if name in _FROM_SCORES:
        from lucid_fast.attribution import scores  # noqa: PLC0415

        return getattr(scores, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_FROM_SCORES))
