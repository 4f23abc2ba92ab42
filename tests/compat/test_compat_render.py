"""render's Lucid names and TF's upgrade path: optimizers after tf_upgrade_v2, use_fixed_seed, import_model, the
transformed alpha, make_vis_T's TF1 idioms, normalize_gradient, handle_batch, create_session, and Lucid-style
vision_base.Model classes."""
import json

import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast import models, ops
from lucid_fast.misc.tfutil import create_session
from lucid_fast.modelzoo import vision_base, vision_models
from lucid_fast.optvis import objectives, param, render, transform

SIZE = 16


def _sum_input(T):
    return tf.reduce_sum(T("input"))  # d/d input = 1 everywhere: the update is the optimizer's alone


def _pixel_vis(model, optimizer, x0, objective=_sum_input):
    return render.make_vis_T(model, objectives.as_objective(objective),
                             param_f=lambda: param.pixel_image(x0.shape, init_val=x0), transforms=[],
                             optimizer=optimizer, seed=0)


# ---- optimizers ------------------------------------------------------------------------------------------------

def test_tf_upgrade_v2_adam_runs_natively_with_its_hyperparameters(tiny_model):
    """tf_upgrade_v2 turns tf.train.AdamOptimizer(lr) into tf.compat.v1.train.AdamOptimizer(lr): render_vis reads
    lr, beta1, beta2 and epsilon from it (and from a Keras Adam) and runs the same update natively."""
    v1 = tf.compat.v1.train.AdamOptimizer(0.02, beta1=0.7, beta2=0.99, epsilon=1e-5)
    opt = render.make_optimizer(v1)
    assert isinstance(opt, render.Adam)
    assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == pytest.approx((0.02, 0.7, 0.99, 1e-5))
    keras_opt = render.make_optimizer(tf.keras.optimizers.Adam(0.03, beta_1=0.6, epsilon=1e-4))
    assert (keras_opt.learning_rate, keras_opt.beta_1, keras_opt.epsilon) == pytest.approx((0.03, 0.6, 1e-4))
    assert render.make_optimizer(lambda: v1).beta_1 == pytest.approx(0.7)  # Lucid's optimizer factories

    kw = dict(param_f=lambda: param.image(SIZE), transforms=[], thresholds=(6,), verbose=False, seed=1)
    with_v1 = render.render_vis(tiny_model, "mixed4a:3", optimizer=v1, **kw)[-1]
    native = render.render_vis(tiny_model, "mixed4a:3", optimizer=render.Adam(0.02, 0.7, 0.99, 1e-5), **kw)[-1]
    defaults = render.render_vis(tiny_model, "mixed4a:3", optimizer=0.02, **kw)[-1]
    assert np.array_equal(with_v1, native)
    assert not np.allclose(with_v1, defaults)  # the betas were not ignored


def test_the_native_adam_is_tf1s_adam():
    """Three steps of tf.compat.v1.train.AdamOptimizer on a variable equal ops.adam_update with its settings."""
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(3, 4)).astype(np.float32)
    grads = [rng.normal(size=x0.shape).astype(np.float32) for _ in range(3)]
    var = tf.Variable(x0)
    opt = tf.compat.v1.train.AdamOptimizer(0.1, beta1=0.8, beta2=0.95, epsilon=1e-3)
    for g in grads:
        opt.apply_gradients([(tf.constant(g), var)])
    x = ops.empty_aligned(x0.shape)
    x[...] = x0
    m, v = ops.zeros_aligned(x0.shape), ops.zeros_aligned(x0.shape)
    for t, g in enumerate(grads, 1):
        ops.adam_update(x, g, m, v, t, learning_rate=0.1, beta_1=0.8, beta_2=0.95, epsilon=1e-3)
    assert_close(x, var.numpy(), "fwd", "native Adam vs TF1 Adam")


@pytest.mark.parametrize("make, expect", [
    (lambda: tf.keras.optimizers.SGD(0.1), 3 * 0.1),
    (lambda: tf.compat.v1.train.GradientDescentOptimizer(0.1), 3 * 0.1),
    (lambda: tf.keras.optimizers.SGD(0.1, momentum=0.9), 0.1 * (1 + 1.9 + 2.71)),  # the momentum persists
    (lambda: tf.compat.v1.train.MomentumOptimizer(0.1, momentum=0.9), 0.1 * (1 + 1.9 + 2.71)),
])
def test_other_tf_optimizers_run_through_tensorflow(tiny_model, make, expect):
    """Optimizers render_vis has no native version of run through TF, ascending: with a gradient of 1 everywhere,
    three SGD steps add 3 lr; with momentum 0.9, lr (1 + 1.9 + 2.71)."""
    x0 = np.random.default_rng(0).uniform(size=(1, 4, 4, 3)).astype(np.float32)
    vis = _pixel_vis(tiny_model, make(), x0)
    assert isinstance(vis.optimizer, render.TFOptimizer)
    for _ in range(3):
        vis.step()
    assert_close(vis.image(), x0 + expect, "fwd", "TF optimizer update")


def test_schedules_and_amsgrad_run_through_tensorflow(tiny_model):
    sched = tf.keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=1, decay_rate=0.5)
    for opt in (tf.keras.optimizers.Adam(sched), tf.keras.optimizers.Adam(0.05, amsgrad=True),
                tf.keras.optimizers.RMSprop(0.01)):
        made = render.make_optimizer(opt)
        assert isinstance(made, render.TFOptimizer)
        imgs = render.render_vis(tiny_model, "mixed4a:3", param_f=lambda: param.image(SIZE), optimizer=opt,
                                 transforms=[], thresholds=(0, 8), verbose=False, seed=0)
        assert not np.allclose(imgs[0], imgs[1])


def test_bad_optimizers_say_what_to_pass():
    for bad in (object(), "adam"):
        with pytest.raises(ValueError, match=r"tf\.keras\.optimizers\.Adam\(0\.05\)"):
            render.make_optimizer(bad)
    with pytest.raises(ValueError, match="is a class; pass an instance"):
        render.make_optimizer(tf.keras.optimizers.Adam)


@pytest.mark.parametrize("optimizer", [lambda: tf.compat.v1.train.AdamOptimizer(0.01),
                                       lambda: tf.keras.optimizers.SGD(0.05)])
def test_cppn_with_tf1_or_other_optimizers(tiny_model, optimizer):
    """xy2rgb's XOR objective on a CPPN, with the optimizer the notebook passes after tf_upgrade_v2, and with an
    optimizer that runs through TensorFlow: the objective rises."""
    def xor_objective(T):
        a = T("input")[0]
        return -(tf.square(a[0, 0]) + tf.square(a[-1, -1]) + tf.square(1.0 - a[-1, 0]) + tf.square(1.0 - a[0, -1]))

    vis = render.make_vis_T(tiny_model, xor_objective, param_f=lambda: param.cppn(16, num_layers=2),
                            optimizer=optimizer(), transforms=[], seed=0)
    losses = [vis.step() for _ in range(25)]
    assert losses[-1] > losses[0] + 1.0, losses  # from about -3 towards 0


# ---- render_vis and make_vis_T ---------------------------------------------------------------------------------

def test_use_fixed_seed_makes_runs_reproducible(tiny_model):
    kw = dict(param_f=lambda: param.image(SIZE), thresholds=(3,), verbose=False)
    a = render.render_vis(tiny_model, "mixed4a:2", use_fixed_seed=True, **kw)[-1]
    b = render.render_vis(tiny_model, "mixed4a:2", use_fixed_seed=True, **kw)[-1]
    c = render.render_vis(tiny_model, "mixed4a:2", **kw)[-1]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(a, render.render_vis(tiny_model, "mixed4a:2", seed=0, **kw)[-1])


def test_make_vis_T_answers_lucids_T_names(tiny_model):
    vis = render.make_vis_T(tiny_model, "mixed4a:1", param_f=lambda: param.image(SIZE), seed=0)
    with pytest.raises(ValueError, match=r"vis\.step\(\)"):
        vis("vis_op")
    loss = vis.step()
    assert vis("loss") == loss and vis("global_step") == 1
    assert vis("input").shape == (1, SIZE, SIZE, 3)
    assert vis("mixed4a:0").shape == (1, SIZE // 2, SIZE // 2, 12)


def test_tensor_param_f_gets_a_clear_error(tiny_model):
    t = tf.zeros([1, 8, 8, 3])
    for param_f in (t, lambda: t):
        with pytest.raises(TypeError, match="param.TFParam"):
            render.render_vis(tiny_model, "mixed4a:1", param_f=param_f, thresholds=(1,), verbose=False)


def test_import_model_gives_activations_of_an_image(tiny_model, rng):
    img = rng.uniform(size=(2, SIZE, SIZE, 3)).astype(np.float32)
    T = render.import_model(tiny_model, img)
    expect = tiny_model(img).numpy()
    assert_close(T("mixed4a").numpy(), expect, "fwd", "import_model")
    assert np.array_equal(T("input").numpy(), img)
    value = objectives.channel("mixed4a", 3)(T).numpy()
    assert np.isclose(value, expect[..., 3].mean(), rtol=1e-5)

    @tf.function
    def grad(x_t):  # gradients flow to the image
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            v = objectives.channel("mixed4a", 3)(render.import_model(tiny_model, x_t))
        return tape.gradient(v, x_t)

    assert np.abs(grad(tf.constant(img)).numpy()).sum() > 0
    with pytest.raises(ValueError, match="input_map"):
        render.import_model(tiny_model, img, input_map={"a": 1})
    render.make_print_objective_func([objectives.channel("mixed4a", 3)], T)()  # prints, as at thresholds


def test_make_t_image_and_make_transform_f():
    assert render.make_t_image(None).shape == (1, 128, 128, 3)
    assert render.make_transform_f("anything but a list").transforms == transform.standard_transforms
    assert render.make_transform_f([]).is_identity


# ---- the transformed alpha --------------------------------------------------------------------------------------

def test_objectives_see_the_transformed_alpha(tiny_model, rng):
    """T("alpha_transformed") is the alpha after the same warp as the image: with a centre crop 8 -> 4, an
    objective sum(W * alpha_transformed) has gradient W at the crop's place in the alpha channel, 0 elsewhere
    (seen through one SGD step of lr 1)."""
    x0 = rng.uniform(size=(1, 8, 8, 4)).astype(np.float32)
    W = rng.normal(size=(1, 4, 4, 1)).astype(np.float32)
    vis = render.make_vis_T(tiny_model, lambda T: tf.reduce_sum(W * T("alpha_transformed")),
                            param_f=lambda: param.pixel_image(x0.shape, init_val=x0),
                            transforms=[transform.collapse_alpha_random(), transform.crop_or_pad_to(4, 4)],
                            optimizer=tf.keras.optimizers.SGD(1.0), seed=0)
    loss = vis.step()
    assert np.isclose(loss, np.sum(W * x0[:, 2:6, 2:6, 3:]), rtol=1e-5)
    expect = x0.copy()
    expect[:, 2:6, 2:6, 3:] += W
    assert_close(vis.image(), expect, "fwd", "alpha_transformed gradient")


def test_alpha_transformed_needs_an_rgba_image_and_collapse(tiny_model):
    with pytest.raises(ValueError, match="collapse_alpha_random"):
        render.make_vis_T(tiny_model, lambda T: tf.reduce_mean(T("alpha_transformed")),
                          param_f=lambda: param.image(SIZE), transforms=[])


def test_transparency_objective_on_the_crop_alpha(tiny_model):
    """Lucid's transparency loss, objective * (1 - mean alpha of the crop), rises and makes the image more
    transparent."""
    mean_crop_alpha = objectives.Objective(lambda T: tf.reduce_mean(T("alpha_transformed")))
    obj = objectives.channel("mixed4a", 5) * (1.0 - mean_crop_alpha)
    vis = render.make_vis_T(tiny_model, obj, param_f=lambda: param.image(24, alpha=True),
                            transforms=[transform.collapse_alpha_random(sd=0.2),
                                        transform.random_scale([0.8, 0.9, 1.0]), transform.crop_or_pad_to(12, 12)],
                            optimizer=0.05, seed=0)
    alpha0 = vis("input")[..., 3].mean()
    losses = [vis.step() for _ in range(30)]
    assert np.mean(losses[-5:]) > np.mean(losses[:5])
    assert vis("input")[..., 3].mean() < alpha0


# ---- transforms and objectives ----------------------------------------------------------------------------------

def test_normalize_gradient_gives_each_item_a_unit_gradient(rng):
    x = tf.constant(rng.normal(size=(3, 5, 5, 3)).astype(np.float32))
    scale = np.array([1, 100, 0.01], np.float32)[:, None, None, None]  # very different gradient sizes per item
    w = tf.constant(rng.normal(size=(3, 5, 5, 3)).astype(np.float32) * scale)
    for scales, want in ((None, [1, 1, 1]), ([1.0, 2.0, 0.5], [1, 2, 0.5])):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = transform.normalize_gradient(scales)(x)
            loss = tf.reduce_sum(w * y)
        g = tape.gradient(loss, x).numpy()
        assert np.array_equal(y.numpy(), x.numpy())
        assert np.allclose(np.sqrt((g ** 2).sum(axis=(1, 2, 3))), want, rtol=1e-5)
        unit_w = w.numpy() / np.linalg.norm(w.numpy().reshape(3, -1), axis=1)[:, None, None, None]
        assert np.allclose(g, unit_w * np.array(want, np.float32)[:, None, None, None], atol=1e-6)  # direction kept
    with pytest.raises(ValueError, match="grad_scales"):
        transform.normalize_gradient([[1.0]])


def test_normalize_gradient_in_a_render(tiny_model):
    imgs = render.render_vis(tiny_model, objectives.channel("mixed4a", 2, batch=0) + objectives.channel("mixed4a", 7, batch=1),
                             param_f=lambda: param.image(SIZE, batch=2),
                             transforms=[transform.jitter(2), transform.normalize_gradient()], thresholds=(0, 10),
                             verbose=False, seed=0)
    assert not np.allclose(imgs[0], imgs[1])


def test_handle_batch_restricts_T_to_one_item(rng):
    acts = tf.constant(rng.normal(size=(3, 2, 2, 4)).astype(np.float32))

    def inner(T):
        return tf.reduce_mean(T("layer"))

    obj = objectives.Objective(objectives.handle_batch(2)(inner))
    assert np.isclose(obj(lambda name: acts).numpy(), acts.numpy()[2].mean())
    assert np.isclose(objectives.handle_batch(None)(inner)(lambda name: acts).numpy(), acts.numpy().mean())


def test_wrap_objective_takes_lucids_forms():
    @objectives.wrap_objective()
    def a(layer):
        return lambda T: tf.reduce_mean(T(layer))

    @objectives.wrap_objective("NHWC")
    def b(layer):
        return lambda T: tf.reduce_mean(T(layer)[..., 0])

    @objectives.wrap_objective
    def c(layer):
        return lambda T: tf.reduce_mean(T(layer))

    dense = tf.constant([[1.0, 2.0]])
    assert float(a("x")(lambda n: dense)) == 1.5 and float(b("x")(lambda n: dense)) == 1.0
    assert c("y").description == "C [y]"


def test_create_session_names_the_tf2_way():
    with pytest.raises(RuntimeError, match=r"vis\.step\(\)"):
        create_session()


# ---- Lucid-style model classes ----------------------------------------------------------------------------------

def test_a_lucid_style_model_class_renders(tiny_model, tiny_pb, rng):
    """A vision_base.Model subclass declared as in Lucid (model_path, image_shape, image_value_range,
    input_name) goes to render_vis; its activations equal the Keras model with the same weights."""
    from compat_models import VALUE_RANGE

    class TinyLucid(vision_base.Model):
        model_path = tiny_pb
        image_shape = [SIZE, SIZE, 3]
        image_value_range = VALUE_RANGE
        input_name = "input"

    model = TinyLucid()
    with pytest.warns(DeprecationWarning):
        model.load_graphdef()
    img = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)
    T = model.import_graph(img)
    assert_close(T("mixed4a").numpy(), tiny_model(img).numpy(), "fwd", "GraphDef model vs Keras")
    assert_close(model.get_activations("mixed4a", img[0], center_only=True), tiny_model(img).numpy()[0, 4, 4],
                 "fwd", "get_activations")
    with pytest.raises(RuntimeError, match="import_model"):
        model.import_graph()
    images = render.render_vis(model, "mixed4a_pre_relu:3", param_f=lambda: param.image(SIZE), thresholds=(0, 10),
                               verbose=False, seed=0)
    start, end = (models.load_model(model).activation_fn(["mixed4a_pre_relu"])(i)["mixed4a_pre_relu"].numpy()
                  [..., 3].mean() for i in images)
    assert end > start


def test_model_load_from_metadata_graphdef_and_manifest(tiny_pb, tmp_path):
    from compat_models import VALUE_RANGE, tiny_graphdef

    meta = {"input_name": "input", "image_shape": [SIZE, SIZE, 3], "image_value_range": list(VALUE_RANGE)}
    graph_def = tiny_graphdef()
    node = graph_def.node.add()
    node.name, node.op = vision_base.METADATA_NODE_NAME, "Const"
    node.attr["dtype"].type = tf.string.as_datatype_enum
    node.attr["value"].tensor.dtype = tf.string.as_datatype_enum
    node.attr["value"].tensor.string_val.append(json.dumps(meta).encode())
    pb = tmp_path / "with_meta.pb"
    pb.write_bytes(graph_def.SerializeToString())
    model = vision_base.Model.load(str(pb))
    assert model.input_name == "input" and tuple(model.image_value_range) == VALUE_RANGE
    with pytest.raises(ValueError, match="lucid_metadata_json"):
        vision_base.Model.load(tiny_pb)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "graph.pb").write_bytes(open(tiny_pb, "rb").read())
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(dict(
        meta, model_path="./graph.pb", layers=[{"name": "mixed4a", "depth": 12, "tags": ["conv"]}])))
    frozen = vision_base.Model.load(str(tmp_path / "m" / "manifest.json"))
    assert isinstance(frozen, vision_base.FrozenGraphModel) and frozen.layer_names == ["mixed4a"]
    assert frozen.get_layer("mixed4a").depth == 12
    assert models.load_model(frozen).resolve("mixed4a") == "mixed4a"


def test_vision_models_classes():
    model = vision_models.Vgg16Hed()
    assert model.get_layer("block4_conv3").depth == 512 and model.name == "Vgg16Hed"
    assert vision_models.InceptionV1().get_layer("mixed4a").depth == 508
    with pytest.raises(RuntimeError, match="Keras model"):
        model.graph_def  # noqa: B018
