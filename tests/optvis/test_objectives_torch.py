"""The built-in objectives on PyTorch tensors: every factory gives the same value and the same gradient as on
TensorFlow tensors of the same activations (lucid_fast.models.backend), and a custom objective receives torch
tensors. TensorFlow is the reference: its formulas are checked against numpy versions of Lucid's in
test_objectives.py and test_style.py."""
import numpy as np
import pytest
import tensorflow as tf

from lucid_fast.models import backend
from lucid_fast.models.accessor import LayerAccessor
from lucid_fast.optvis import objectives as obj
from lucid_fast.optvis import style

torch = pytest.importorskip("torch")

N = 4


@pytest.fixture
def arrays(rng):
    return {
        "input": rng.uniform(size=(N, 9, 8, 3)).astype(np.float32),
        "conv": rng.normal(size=(N, 5, 6, 6)).astype(np.float32),
        "conv2": rng.normal(size=(N, 3, 3, 5)).astype(np.float32),
        "logits": rng.normal(size=(N, 10)).astype(np.float32),
    }


def _accessor(tensors, framework):
    names = set(tensors)

    def resolve(name):
        if name not in names:
            raise ValueError(f"unknown layer {name!r}")
        return name

    return LayerAccessor(resolve, lambda canon: (tensors[canon], None), {"input": tensors["input"]},
                         backend=backend.get(framework) if framework == "torch" else None)


def tf_value_and_grads(objective, arrays):
    names = sorted(arrays)

    @tf.function(autograph=False)
    def run(*ts):
        tensors = dict(zip(names, ts))
        with tf.GradientTape() as tape:
            tape.watch(ts)
            value_t = objective(_accessor(tensors, "tensorflow"))
        return value_t, tape.gradient(value_t, list(ts), unconnected_gradients=tf.UnconnectedGradients.ZERO)

    value_t, grads = run(*[tf.constant(arrays[k]) for k in names])
    return float(value_t), {k: g.numpy() for k, g in zip(names, grads)}


def torch_value_and_grads(objective, arrays):
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    value_t = objective(_accessor(tensors, "torch"))
    assert isinstance(value_t, torch.Tensor) and value_t.dim() == 0
    value_t.backward()
    return float(value_t.detach()), {k: (t.grad.numpy() if t.grad is not None else np.zeros_like(arrays[k]))
                            for k, t in tensors.items()}


def _style_loss(arrays):
    return style.StyleLoss(["conv", lambda T: T("conv2")[1:]], style={"conv": arrays["conv"][:1] * 0.5,
                                                                      "conv2": arrays["conv2"] + 0.1})


def _content_loss(arrays):
    return style.ActivationLoss(["conv2"], loss_func=style.mean_l2_loss, target={"conv2": arrays["conv2"][::-1]})


OBJECTIVES = {
    "channel": lambda a: obj.channel("conv", 3),
    "channel_batch": lambda a: obj.channel("conv", 2, batch=1),
    "neuron": lambda a: obj.neuron("conv", 4, x=1, y=2),
    "neuron_centre": lambda a: obj.neuron("conv", 1, batch=-1),
    "direction": lambda a: obj.direction("conv", np.linspace(-1, 1, 6)),
    "direction_cossim": lambda a: obj.direction("conv", np.linspace(-1, 1, 6), cossim_pow=2),
    "direction_neuron": lambda a: obj.direction_neuron("conv", np.arange(6.0) - 2, cossim_pow=1),
    "tensor_direction": lambda a: obj.tensor_direction("conv", a["conv"][0, 1:4, 2:5]),
    "deepdream": lambda a: obj.deepdream("conv2"),
    "class_logit": lambda a: obj.class_logit("logits", 7),
    "class_logit_label": lambda a: obj.class_logit("logits", "c3", labels=[f"c{i}" for i in range(10)]),
    "logits_as_nhwc": lambda a: obj.channel("logits", 5),
    "total_variation_layer": lambda a: obj.total_variation("conv2"),
    "L1": lambda a: obj.L1(constant=0.5),
    "L1_array": lambda a: obj.L1("conv2", constant=a["conv2"][0]),
    "L2": lambda a: obj.L2("conv", batch=2),
    "blur_input": lambda a: obj.blur_input_each_step(),
    "channel_interpolate": lambda a: obj.channel_interpolate("conv", 1, "conv2", 4),
    "penalize_boundary": lambda a: obj.penalize_boundary_complexity((N, 9, 8, 3), w=2),
    "alignment": lambda a: obj.alignment("conv2"),
    "diversity": lambda a: obj.diversity("conv"),
    "input_diff": lambda a: obj.input_diff(a["input"][::-1]),
    "channels_per_image": lambda a: obj.channels_per_image("conv", [0, 5, 2, 2], [1.0, -1.0, 1.0, -1.0]),
    "algebra": lambda a: 2 * obj.channel("conv", 0) - obj.L1() / 3 + 0.5 - obj.diversity("conv2") * 1e-2,
    "product": lambda a: obj.channel("conv", 0) * obj.neuron("conv2", 1),
    "sum": lambda a: sum([obj.channel("conv", c, batch=c) for c in range(N)]),
    "constant_only": lambda a: obj.Objective.sum([obj.channel("conv", 1) * 0, 3.0]),
    "native_tv_fallback": lambda a: obj.channel("conv", 0) - 0.01 * obj.total_variation(),
    "style": _style_loss,
    "content": _content_loss,
    "activation_difference": lambda a: style.activation_difference(["conv", "conv2"],
                                                                   transform_f=style.gram_style, difference_to=2),
}


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_objective_on_torch_equals_tensorflow(name, arrays):
    objective = OBJECTIVES[name](arrays)
    tf_value, tf_grads = tf_value_and_grads(objective, arrays)
    objective = OBJECTIVES[name](arrays)  # a fresh one (style losses keep per-framework state)
    torch_value, torch_grads = torch_value_and_grads(objective, arrays)
    np.testing.assert_allclose(torch_value, tf_value, rtol=2e-5, atol=2e-5)
    assert any(np.abs(g).max() > 0 for g in tf_grads.values()) or name == "constant_only"
    for k in arrays:
        np.testing.assert_allclose(torch_grads[k], tf_grads[k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_per_item_values_on_torch(arrays):
    objective = obj.channels_per_image("conv", [3, 1, 0, 3], [1.0, 1.0, -1.0, 2.0])
    tensors = {k: torch.tensor(v) for k, v in arrays.items()}
    per_item = objective.tf_per_item(_accessor(tensors, "torch")).numpy()
    means = arrays["conv"].mean(axis=(1, 2))
    np.testing.assert_allclose(per_item, [means[0, 3], means[1, 1], -means[2, 0], 2 * means[3, 3]], 1e-5, 1e-6)


def test_style_moving_average_on_torch(arrays):
    """The PyTorch moving average follows the same recurrence as TensorFlow's (values over three steps)."""
    def run(framework):
        loss = style.StyleLoss(["conv"], ema_decay=0.7, loss_func=style.mean_l2_loss,
                               style={"conv": arrays["conv"][:1]})
        values = []
        for k in range(3):
            a = arrays["conv"] * (1 + k)
            if framework == "torch":
                values.append(float(loss(_accessor({"conv": torch.tensor(a), "input": torch.tensor(0.0)},
                                                   "torch"))))
            else:
                values.append(float(loss(_accessor({"conv": tf.constant(a), "input": tf.constant(0.0)},
                                                   "tensorflow"))))
        return values

    np.testing.assert_allclose(run("torch"), run("tensorflow"), rtol=1e-5)


def test_custom_objective_receives_torch_tensors(arrays):
    seen = {}

    def mine(T):
        seen["type"] = type(T("conv"))
        return T("conv")[..., 2].mean()

    tensors = {k: torch.tensor(v) for k, v in arrays.items()}
    value = obj.as_objective(mine)(_accessor(tensors, "torch"))
    assert seen["type"] is torch.Tensor
    assert float(value) == pytest.approx(float(arrays["conv"][..., 2].mean()), rel=1e-6)


def test_backend_lookup():
    assert backend.of_tensor(torch.zeros(1)).name == "torch"
    assert backend.of_tensor(tf.zeros(1)).name == "tensorflow"
    assert backend.of_accessor(lambda name: None).name == "tensorflow"
    with pytest.raises(ValueError, match="unknown framework 'jax'"):
        backend.get("jax")
