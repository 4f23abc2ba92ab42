"""Fixtures for the gallery tests: a small real Keras model (two convolutions and a dense head), in memory and
saved as a .keras file that Dask workers load by path."""
import os

import numpy as np
import pytest

TINY_SIZE = 24  # render size of most gallery tests: the tiny model sees 24 x 24 images


def build_tiny_model():
    """conv1 (8 ch, ReLU) -> pool -> conv2 (12 ch, ReLU) -> global mean -> dense (5, linear): seeded weights."""
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


@pytest.fixture(scope="session")
def tiny_model():
    return build_tiny_model()


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, tiny_model):
    path = os.path.join(tmp_path_factory.mktemp("tiny_model"), "tiny.keras")
    tiny_model.save(path)
    return path
