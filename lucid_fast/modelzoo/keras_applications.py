"""``keras.applications`` models with ImageNet weights, fetched into lucid_fast's cache on first use.

Weights URLs and MD5 checksums are those Keras publishes (``keras/src/applications/*.py``). Each model takes RGB
in [0, 1]; the application's own preprocessing runs inside the model (layer ``preprocess``).

* ``vgg16``: K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
  Recognition" (ICLR 2015). Caffe preprocessing.
* ``resnet50``: K. He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016). Caffe preprocessing.
* ``inceptionv3``: C. Szegedy et al., "Rethinking the Inception Architecture for Computer Vision" (CVPR 2016).
  Inputs scaled to [-1, 1].
"""
from __future__ import annotations

from lucid_fast.modelzoo.vision_base import KerasApplicationZooModel

_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"


class VGG16(KerasApplicationZooModel):
    name = "vgg16"
    description = "VGG16 (Simonyan & Zisserman), keras.applications ImageNet weights"
    constructor = "VGG16"
    base_url = _KERAS_APPS + "vgg16/"
    files = {
        False: ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "md5:6d6bbae143d832006294945121d1f1fc"),
        True: ("vgg16_weights_tf_dim_ordering_tf_kernels.h5", "md5:64373286793e3c8b2b4e3219cbf3544b"),
    }
    preprocess = "caffe"
    image_shape = (224, 224, 3)


class ResNet50(KerasApplicationZooModel):
    name = "resnet50"
    description = "ResNet50 (He et al.), keras.applications ImageNet weights"
    constructor = "ResNet50"
    base_url = _KERAS_APPS + "resnet/"
    files = {
        False: ("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "md5:4d473c1dd8becc155b73f8504c6f6626"),
        True: ("resnet50_weights_tf_dim_ordering_tf_kernels.h5", "md5:2cb95161c43110f7111970584f804107"),
    }
    preprocess = "caffe"
    image_shape = (224, 224, 3)


class InceptionV3(KerasApplicationZooModel):
    name = "inceptionv3"
    description = "InceptionV3 (Szegedy et al.), keras.applications ImageNet weights"
    constructor = "InceptionV3"
    base_url = _KERAS_APPS + "inception_v3/"
    files = {
        False: ("inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "md5:bcbd6486424b2319ff4ef7d526e38f63"),
        True: ("inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "md5:9a0d58056eeedaa3f26cb7ebd46da564"),
    }
    preprocess = "tf"
    image_shape = (299, 299, 3)
