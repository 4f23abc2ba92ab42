"""Interactive views of the building blocks of interpretability, as self-contained HTML.

    from lucid_fast import views
    v = views.SemanticDictionary(image, acts, sprites=sheet, layer="block4_conv3")
    v                       # in Jupyter: the interactive view (a static PNG where scripts do not run)
    v.save("dict.html")     # a standalone page (data inline, works offline); v.save("dict.png"): the PNG

Lucid built these as Svelte widgets fetched from its servers; these are plain HTML + JavaScript generated here,
with no network access and no notebook extension. Every view checks its inputs (a ``ValueError`` naming the
argument for mismatched shapes, NaN, missing sprites).

* :class:`SemanticDictionary`: hover a position; its top channels' feature visualizations with bars.
* :class:`SpatialAttribution`: two layers side by side; hover either to see what it draws from / gives to the
  other, with class hints (orange / blue) when nothing is hovered.
* :class:`ChannelAttribution`: the top positive and negative channels with sprites and values, and the
  distribution of all channels (hover a bar or an entry for details).
* :class:`NeuronGroups`: group icons; hovering one shows where its neurons fire on the image.
* :class:`ActivationGrid`: the image next to a feature visualization for each of its positions.
"""
from lucid_fast.views._base import View
from lucid_fast.views.activation_grid import ActivationGrid
from lucid_fast.views.channel_attribution import ChannelAttribution
from lucid_fast.views.neuron_groups import NeuronGroups
from lucid_fast.views.semantic_dictionary import SemanticDictionary
from lucid_fast.views.spatial_attribution import SpatialAttribution, orange_blue

__all__ = ["View", "SemanticDictionary", "SpatialAttribution", "ChannelAttribution", "NeuronGroups",
           "ActivationGrid", "orange_blue"]
