"""Shared test setup: --run-slow, the gpu/slow markers (GPU policy: tests/gpu_harness.py), seeded generators."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

import gpu_harness


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_configure(config):
    gpu_harness.configure(config)  # under LUCID_FAST_REQUIRE_GPU=1, no usable GPU is an error (bench/gpu_check.sh)


def pytest_collection_modifyitems(config, items):
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    no_gpu = gpu_harness.skip_marker(config)
    for item in items:
        if "slow" in item.keywords and not config.getoption("--run-slow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and no_gpu is not None:
            item.add_marker(no_gpu)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    """A small two-convolution Keras model saved as a .keras file (the CLI tests load it by path)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    x = tf.keras.Input((None, None, 3))
    y = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    y = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv2")(y)
    path = str(tmp_path_factory.mktemp("m") / "tiny.keras")
    tf.keras.Model(x, y).save(path)
    return path


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's) through playwright, shared by the session's page tests."""
    from playwright.sync_api import sync_playwright

    from browser import launch

    with sync_playwright() as p:
        b = launch(p)
        try:
            yield b
        finally:
            b.close()
