"""inceptionv1_lucent: the download (URL, cache, recorded checksum, one-line offline error) from a real HTTP server
on 127.0.0.1 serving a state dict the test writes with the keys and shapes of Lucent's inception5h.pth, the
architecture's forward pass, and the key/shape check that stands in for the unpublished checksum."""
import functools
import http.server
import os
import threading
import urllib.error

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lucid_fast import cli, modelzoo  # noqa: E402
from lucid_fast.modelzoo import _download, inceptionv1_lucent  # noqa: E402
from lucid_fast.modelzoo.torch_entries import InceptionV1Lucent  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("LUCID_FAST_CACHE", str(path))
    return path


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Serves tmp_path/www at http://127.0.0.1:PORT/ and points the entry's URL there."""
    root = tmp_path / "www"
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 - http.server's name
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/{InceptionV1Lucent.filename}"
    monkeypatch.setattr(InceptionV1Lucent, "url", url)
    try:
        yield root, requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _fake_weights(seed=0):
    """A state dict with the keys and shapes of inception5h.pth (random weights, small enough to keep the
    activations finite through 57 convolutions)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in inceptionv1_lucent.expected_state_shapes().items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        state[key] = torch.randn(shape, generator=gen) * (np.sqrt(2.0 / fan_in) if len(shape) > 1 else 0.01)
    return state


def test_downloads_checks_and_runs(cache, server):
    pytest.importorskip("lucid_fast.models.torch_adapter")
    root, requests = server
    torch.save(_fake_weights(), root / InceptionV1Lucent.filename)
    status = {m.name: m for m in modelzoo.list_models()}["inceptionv1_lucent"]
    assert status.framework == "torch" and status.availability == "needs download"
    adapter = modelzoo.load("inception5h")
    assert requests == ["/" + InceptionV1Lucent.filename]
    assert (cache / "inception5h.pth.sha256").exists()  # no published checksum: the first copy's is recorded
    assert {m.name: m.availability for m in modelzoo.list_models()}["inceptionv1_lucent"].startswith("downloaded")
    assert adapter.image_value_range == (-117.0, 138.0) and adapter.logits_layer == "softmax2_pre_activation"
    x_np = np.random.default_rng(2).uniform(size=(2, 224, 224, 3)).astype(np.float32)
    names = ["conv2d0_pre_relu", "mixed4a_pre_relu", "mixed4a", "mixed5b", "softmax2_pre_activation", "softmax2"]
    acts = {k: v.detach().cpu().numpy() for k, v in adapter.activation_fn(names)(x_np).items()}
    assert acts["mixed4a"].shape == (2, 14, 14, 508) and acts["mixed5b"].shape == (2, 7, 7, 1024)
    assert acts["conv2d0_pre_relu"].shape == (2, 112, 112, 64)
    np.testing.assert_allclose(np.maximum(acts["mixed4a_pre_relu"], 0), acts["mixed4a"], rtol=1e-6, atol=1e-6)
    logits = acts["softmax2_pre_activation"].reshape(2, -1)
    assert logits.shape == (2, 1008) and np.isfinite(logits).all()
    probs = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(acts["softmax2"].reshape(2, -1), probs / probs.sum(1, keepdims=True), rtol=1e-4,
                               atol=1e-7)
    modelzoo.load("inceptionv1_lucent")  # from the cache now
    assert len(requests) == 1
    with open(cache / InceptionV1Lucent.filename, "ab") as fh:  # the recorded checksum protects the cached file
        fh.write(b"\0")
    with pytest.raises(modelzoo.ChecksumError, match="recorded"):
        modelzoo.load("inceptionv1_lucent")


def test_a_file_with_other_keys_or_shapes_is_refused(cache, server):
    root, _ = server
    state = _fake_weights()
    state["mixed4a_3x3_pre_relu_conv.weight"] = state["mixed4a_3x3_pre_relu_conv.weight"][:10]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, root / InceptionV1Lucent.filename)
    with pytest.raises(ValueError, match=r"mixed4a_3x3_pre_relu_conv\.weight.*\(10, 96, 3, 3\)"):
        modelzoo.load("inceptionv1_lucent")
    (cache / InceptionV1Lucent.filename).write_bytes(b"not a torch file")
    os.remove(cache / (InceptionV1Lucent.filename + ".sha256"))
    with pytest.raises(ValueError, match="not a PyTorch state dict"):
        modelzoo.load("inceptionv1_lucent")


def test_offline_is_one_clear_line(cache, monkeypatch, capfd):
    def refuse(url, timeout=60):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(_download, "_urlopen", refuse)
    with pytest.raises(modelzoo.OfflineError) as info:
        modelzoo.load("inceptionv1_lucent")
    assert InceptionV1Lucent.url in str(info.value) and str(cache / "inception5h.pth") in str(info.value)
    assert cli.main(["layers", "--model", "inceptionv1_lucent"]) == 2
    lines = capfd.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "not in the cache" in lines[0], lines


def test_layer_info_needs_no_download(cache, monkeypatch):
    pytest.importorskip("lucid_fast.models.torch_adapter")
    monkeypatch.setattr(_download, "_urlopen", lambda *a, **k: pytest.fail("downloaded"))
    infos = {i.name: i for i in modelzoo.layer_info("inceptionv1_lucent")}
    assert infos["mixed4a"].channels == 508 and infos["mixed4a"].spatial == (14, 14)
    assert infos["mixed4a_pre_relu"].channels == 508 and infos["softmax2_pre_activation"].channels == 1008
    assert not (cache / "inception5h.pth").exists()


def test_state_dict_check_names_the_problem():
    with pytest.raises(ValueError, match="not a state dict"):
        inceptionv1_lucent.check_state_dict([1, 2])
    state = _fake_weights()
    del state["softmax2_pre_activation_matmul.bias"]
    with pytest.raises(ValueError, match="missing.*softmax2_pre_activation_matmul.bias"):
        inceptionv1_lucent.build(state=state)
