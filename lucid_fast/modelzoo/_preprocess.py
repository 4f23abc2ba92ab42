"""Input preprocessing layers, so that every modelzoo model takes RGB images in [0, 1]."""
from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="lucid_fast")
class CaffeBGRPreprocess(keras.layers.Layer):
    """Caffe-style preprocessing inside the model: RGB in [0, 1] -> BGR in [0, 255] minus a per-channel mean.

    ``out[..., c] = 255 * x[..., 2 - c] - mean_bgr[c]``. This is what Caffe-trained VGG16 weights (and
    ``keras.applications`` "caffe"-mode models) expect.

    Args:
        mean_bgr: The per-channel mean to subtract, in BGR order, on the [0, 255] scale.
    """

    lucid_fast_kind = "preprocess"  # the LayerInfo kind lucid_fast's KerasAdapter reports

    def __init__(self, mean_bgr, **kwargs):
        super().__init__(**kwargs)
        self.mean_bgr = tuple(float(m) for m in mean_bgr)
        if len(self.mean_bgr) != 3:
            raise ValueError(f"CaffeBGRPreprocess: mean_bgr must have 3 values, got {mean_bgr!r}")

    def call(self, x):
        bgr = keras.ops.flip(x, axis=-1) * 255.0
        return bgr - keras.ops.convert_to_tensor(self.mean_bgr, dtype=bgr.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["mean_bgr"] = list(self.mean_bgr)
        return config
