"""A tiny Keras model the recipe tests render on."""
import pytest
import tensorflow as tf


def tiny_keras(seed=0):
    tf.keras.utils.set_random_seed(seed)
    x = tf.keras.Input((None, None, 3), name="image")
    y = tf.keras.layers.Conv2D(12, 3, padding="same", activation="relu", name="conv1")(x)
    y = tf.keras.layers.MaxPooling2D(2, name="pool1")(y)
    y = tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(y)
    return tf.keras.Model(x, y, name="tiny_recipes")


@pytest.fixture(scope="package")
def tiny_model():
    return tiny_keras()
