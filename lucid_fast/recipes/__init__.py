"""Recipes built on lucid_fast.optvis (Lucid's ``lucid.recipes``): ready-made renders and parameterizations.

* :mod:`.activation_grid` - a feature visualization for every position of a layer, as one optimization;
* :mod:`.caricature` - feature inversion and caricatures of a photo;
* :mod:`.feature_visualization` - one call renders neurons or channels (Lucid's recipe);
* :mod:`.image_activations` - a photo's activations at a model's layers;
* :mod:`.image_interpolation_params` - an aligned parameterization interpolating between N objectives;
* :mod:`.neuron_interaction` - a grid of neuron pairs rendered jointly with shared parameters;
* :mod:`.batch_nodes` - parameterization stages along the batch axis (take, reverse, stop-gradient,
  batch interpolation) that these recipes are made of.
"""
from . import (
    activation_grid,
    batch_nodes,
    caricature,
    feature_visualization,
    image_activations,
    image_interpolation_params,
    neuron_interaction,
)

__all__ = ["activation_grid", "batch_nodes", "caricature", "feature_visualization", "image_activations",
           "image_interpolation_params", "neuron_interaction"]
