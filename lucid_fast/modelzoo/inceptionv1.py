"""Lucid's InceptionV1 ("GoogLeNet") frozen GraphDef, downloaded on first use.

InceptionV1 is the network of C. Szegedy et al., "Going Deeper with Convolutions" (CVPR 2015). The graph is the
one Lucid's modelzoo serves (``gs://modelzoo/vision/other_models/InceptionV1.pb``, i.e.
https://storage.googleapis.com/modelzoo/vision/other_models/InceptionV1.pb), trained at Google and released with
an early TensorFlow tutorial. Its input ``input`` takes RGB on the [0, 255] scale minus 117, hence
``image_value_range = (-117, 138)``; nominal size 224x224.

Layer names are Lucid's: ``conv2d0`` ... ``mixed5b``; ``<layer>_pre_relu`` for every ReLU'd layer and for the
``mixed*`` concatenations (the concatenation of the branches' pre-ReLU tensors, as Lucid adds on import).
"""
from __future__ import annotations

from lucid_fast.modelzoo.vision_base import GraphDefZooModel

# (name, kind, channels) -- the layers Lucid's modelzoo lists for this graph.
LAYERS = (
    ("conv2d0", "conv", 64), ("conv2d1", "conv", 64), ("conv2d2", "conv", 192),
    ("mixed3a", "conv", 256), ("mixed3b", "conv", 480),
    ("mixed4a", "conv", 508), ("mixed4b", "conv", 512), ("mixed4c", "conv", 512), ("mixed4d", "conv", 528),
    ("mixed4e", "conv", 832),
    ("mixed5a", "conv", 832), ("mixed5b", "conv", 1024),
    ("head0_bottleneck", "conv", 128), ("nn0", "dense", 1024), ("softmax0", "dense", 1008),
    ("head1_bottleneck", "conv", 128), ("nn1", "dense", 1024), ("softmax1", "dense", 1008),
    ("softmax2", "dense", 1008),
)


class InceptionV1(GraphDefZooModel):
    name = "inceptionv1"
    aliases = ("InceptionV1", "googlenet")
    description = ("InceptionV1 / GoogLeNet (Szegedy et al.), Lucid's frozen graph; Lucid's layer names "
                   "(mixed4a, mixed4a_pre_relu, ...)")
    model_url = "https://storage.googleapis.com/modelzoo/vision/other_models/InceptionV1.pb"
    filename = "InceptionV1.pb"
    # No SHA-256 is published for this file and it could not be fetched when this was written: the first copy's
    # SHA-256 is recorded in the cache (InceptionV1.pb.sha256) and enforced on later loads.
    checksum = None
    input_name = "input"
    image_shape = (224, 224, 3)
    image_value_range = (-117.0, 255.0 - 117.0)
    layers = LAYERS


class InceptionV1AdvFinetuned(InceptionV1):
    name = "inceptionv1_adv_finetuned"
    aliases = ("InceptionV1_adv_finetuned",)
    description = ("InceptionV1 adversarially fine-tuned with L2 PGD examples (Lucid's modelzoo); same layers "
                   "as inceptionv1")
    model_url = "https://storage.googleapis.com/modelzoo/vision/other_models/InceptionV1_adv_finetuned.pb"
    filename = "InceptionV1_adv_finetuned.pb"
    checksum = None  # not published: recorded on first download, as for InceptionV1
