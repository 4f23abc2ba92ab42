"""Download-only models: cache directory, checksums, the offline error, and loading from the cache (InceptionV1
from a small GraphDef the test builds, a keras.applications model from a weights file the test writes).
No test touches the network: the fetch is monkeypatched."""
import hashlib
import io
import os
import urllib.error

import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast import modelzoo
from lucid_fast.modelzoo import _download
from lucid_fast.modelzoo.inceptionv1 import InceptionV1


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("LUCID_FAST_CACHE", str(path))
    return path


@pytest.fixture
def offline(monkeypatch):
    calls = []

    def refuse(url, timeout=60):
        calls.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(_download, "_urlopen", refuse)
    return calls


def _serve(monkeypatch, payload):
    calls = []

    def fake(url, timeout=60):
        calls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(_download, "_urlopen", fake)
    return calls


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("LUCID_FAST_CACHE", str(tmp_path / "x"))
    assert _download.cache_dir() == str(tmp_path / "x")
    monkeypatch.delenv("LUCID_FAST_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _download.cache_dir() == os.path.join(str(tmp_path), ".cache", "lucid_fast")


def test_offline_error_names_the_url_and_the_cache_path(cache, offline):
    with pytest.raises(modelzoo.OfflineError) as info:
        _download.ensure_file("https://example.invalid/m.pb", "m.pb", "sha256:" + "0" * 64)
    message = str(info.value)
    assert "https://example.invalid/m.pb" in message and str(cache / "m.pb") in message
    assert "LUCID_FAST_CACHE" in message
    assert offline == ["https://example.invalid/m.pb"]
    assert not (cache / "m.pb").exists() and os.listdir(cache) == []  # no partial file left


def test_download_verifies_known_checksums(cache, monkeypatch):
    payload = b"model bytes"
    good = "sha256:" + hashlib.sha256(payload).hexdigest()
    calls = _serve(monkeypatch, payload)
    path = _download.ensure_file("https://example.invalid/a.bin", "a.bin", good)
    assert open(path, "rb").read() == payload
    _download.ensure_file("https://example.invalid/a.bin", "a.bin", good)
    assert len(calls) == 1  # the second call used the cache
    md5 = "md5:" + hashlib.md5(payload).hexdigest()
    _download.ensure_file("https://example.invalid/a.bin", "a.bin", md5)  # md5 accepted too
    with pytest.raises(modelzoo.ChecksumError, match="wrong checksum"):
        _download.ensure_file("https://example.invalid/b.bin", "b.bin", "sha256:" + "1" * 64)
    assert not (cache / "b.bin").exists()
    with pytest.raises(modelzoo.ChecksumError, match="delete it"):  # a cached file that does not match
        _download.ensure_file("https://example.invalid/a.bin", "a.bin", "md5:" + "2" * 32)
    with pytest.raises(ValueError, match="md5"):
        _download.ensure_file("https://example.invalid/a.bin", "a.bin", "crc32:1234")


def test_unknown_checksum_is_recorded_then_enforced(cache, monkeypatch):
    payload = b"first copy"
    _serve(monkeypatch, payload)
    path = _download.ensure_file("https://example.invalid/c.pb", "c.pb", None)
    record = open(path + ".sha256").read().split()[0]
    assert record == hashlib.sha256(payload).hexdigest()
    _download.ensure_file("https://example.invalid/c.pb", "c.pb", None)  # unchanged: fine
    with open(path, "ab") as fh:
        fh.write(b"corruption")
    with pytest.raises(modelzoo.ChecksumError, match="recorded"):
        _download.ensure_file("https://example.invalid/c.pb", "c.pb", None)


def _fake_inception_graph_def():
    """A small graph with InceptionV1's input and a few of Lucid's layer names (conv2d0, mixed3a)."""
    rng = np.random.default_rng(3)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
        k0 = tf.constant((rng.normal(size=(3, 3, 3, 4)) * 0.01).astype(np.float32))
        h = tf.nn.bias_add(tf.nn.conv2d(x, k0, 2, "SAME", name="conv2d0_pre_relu/conv"),
                           tf.constant(np.full(4, 0.1, np.float32)), name="conv2d0_pre_relu")
        h = tf.nn.relu(h, name="conv2d0")
        k1 = tf.constant(rng.normal(size=(1, 1, 4, 2)).astype(np.float32))
        k2 = tf.constant(rng.normal(size=(1, 1, 4, 3)).astype(np.float32))
        a = tf.nn.relu(tf.nn.conv2d(h, k1, 1, "SAME", name="mixed3a_1x1_pre_relu"), name="mixed3a_1x1")
        b = tf.nn.relu(tf.nn.conv2d(h, k2, 1, "SAME", name="mixed3a_3x3_pre_relu"), name="mixed3a_3x3")
        tf.concat([a, b], 3, name="mixed3a")
    return graph.as_graph_def()


def test_inceptionv1_loads_from_the_cache(cache, offline, rng):
    assert modelzoo.get_entry("InceptionV1") is modelzoo.get_entry("inceptionv1")
    status = {m.name: m.availability for m in modelzoo.list_models()}
    assert status["inceptionv1"] == "needs download" and status["vgg16_hed"].startswith("embedded")
    with pytest.raises(modelzoo.OfflineError, match=InceptionV1.model_url):
        modelzoo.load("inceptionv1")
    cache.mkdir(exist_ok=True)
    (cache / "InceptionV1.pb").write_bytes(_fake_inception_graph_def().SerializeToString())
    assert {m.name: m.availability for m in modelzoo.list_models()}["inceptionv1"].startswith("downloaded")
    model = modelzoo.load("inceptionv1")
    assert offline == [InceptionV1.model_url]  # only the first, failed attempt touched the "network"
    assert os.path.exists(str(cache / "InceptionV1.pb.sha256"))  # checksum recorded on first use
    assert model.image_value_range == (-117.0, 138.0) and model.image_shape == (224, 224, 3)
    infos = {i.name: i for i in model.layers()}
    assert list(infos) == ["conv2d0", "mixed3a"]  # the curated table, restricted to what this graph has
    assert infos["conv2d0"].spatial == (112, 112) and infos["mixed3a"].channels == 5
    x = rng.uniform(size=(2, 8, 8, 3)).astype(np.float32)
    names = ["conv2d0_pre_relu", "mixed3a_pre_relu", "mixed3a", "input", "mixed3a_1x1_pre_relu",
             "mixed3a_3x3_pre_relu"]
    acts = tf.function(model.activation_fn(names))(tf.constant(x))
    assert_close(acts["input"].numpy(), -117.0 + 255.0 * x, "fwd", "InceptionV1 input range")
    pre = np.concatenate([acts["mixed3a_1x1_pre_relu"].numpy(), acts["mixed3a_3x3_pre_relu"].numpy()], -1)
    assert (pre < 0).any() and (pre > 0).any()
    assert_close(acts["mixed3a_pre_relu"].numpy(), pre, "fwd", "mixed3a_pre_relu")
    assert_close(np.maximum(pre, 0), acts["mixed3a"].numpy(), "fwd", "mixed3a")
    # the recorded checksum now protects the cached file
    with open(cache / "InceptionV1.pb", "ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(modelzoo.ChecksumError):
        modelzoo.load("inceptionv1")


def test_static_layer_info_needs_no_download(cache, offline):
    infos = modelzoo.layer_info("inceptionv1")
    assert [i.name for i in infos][:3] == ["conv2d0", "conv2d1", "conv2d2"]
    assert {i.name: i.channels for i in infos}["mixed4a"] == 508
    assert all(i.spatial is None for i in infos)
    assert offline == []


def test_keras_application_offline_error(cache, offline):
    with pytest.raises(modelzoo.OfflineError) as info:
        modelzoo.load("vgg16")
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in str(info.value)
    assert offline[0].startswith("https://storage.googleapis.com/tensorflow/keras-applications/vgg16/")


def test_keras_application_layer_info_builds_no_weights(cache, offline):
    infos = {i.name: i for i in modelzoo.layer_info("vgg16")}
    assert infos["block5_conv3"] == infos["block5_conv3"].__class__("block5_conv3", 512, (14, 14), "conv")
    assert infos["preprocess"].kind == "preprocess" and offline == []


def test_unknown_zoo_name():
    with pytest.raises(ValueError, match="inceptionv1"):
        modelzoo.load("inceptionv")
    assert modelzoo.is_model_name("ResNet50") and not modelzoo.is_model_name("resnet")


def test_keras_application_loads_cached_weights(cache, offline, monkeypatch, rng):
    """A weights file in the cache (written here, checksum patched to it) is what the loaded model uses."""
    import keras

    from lucid_fast.modelzoo.keras_applications import VGG16

    reference = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    filename = VGG16.files[False][0]
    cache.mkdir(exist_ok=True)
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(str(cache / filename), "w") as fh:  # the legacy layout Keras publishes its weights in
        legacy_h5_format.save_weights_to_hdf5_group(fh, reference)
    digest = _download.file_digest(str(cache / filename), "md5")
    monkeypatch.setattr(VGG16, "files", {False: (filename, "md5:" + digest), True: VGG16.files[True]})
    model = modelzoo.load("vgg16")
    assert offline == []
    x = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    acts = model.activation_fn(["block3_conv3"])(tf.constant(x))
    caffe = x[..., ::-1] * 255.0 - np.array([103.939, 116.779, 123.68], np.float32)
    expected = keras.Model(reference.input, reference.get_layer("block3_conv3").output)(caffe).numpy()
    scale = np.abs(expected).max()
    assert_close(acts["block3_conv3"].numpy() / scale, expected / scale, "grad", "vgg16 from the cache")
