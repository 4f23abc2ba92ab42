"""The activation grid: one optimization over all cells with random subsets per step; the objective rises and
each cell comes to match its own position's activations better than other positions'. A small model and image
built here, so it runs in seconds."""
import numpy as np
import pytest

from lucid_fast.misc.channel_reducer import ChannelReducer
from lucid_fast.models import load_model
from lucid_fast.recipes.activation_grid import GridParam, render_activation_grid


def _model():
    """c1: six colour detectors, relu(+-(channel - 0.5)) for R, G and B; pool: 4x4 max-pool."""
    import keras

    inputs = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(6, 1, activation="relu", name="c1")(inputs)
    x = keras.layers.MaxPooling2D(4, name="pool")(x)
    model = keras.Model(inputs, x)
    kernel = np.concatenate([np.eye(3), -np.eye(3)], 1).reshape(1, 1, 3, 6).astype(np.float32)
    model.get_layer("c1").set_weights([kernel, np.array([-0.5] * 3 + [0.5] * 3, np.float32)])
    return load_model(model)


def _image():
    """A 3 x 3 grid of 4-pixel colour blocks: the eight corners of the colour cube and one more colour."""
    colours = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1],
               [0.9, 0.5, 0.1]]
    img = np.zeros((12, 12, 3), np.float32)
    for k, colour in enumerate(colours):
        i, j = divmod(k, 3)
        img[4 * i:4 * i + 4, 4 * j:4 * j + 4] = colour
    return img


def _cos_matrix(model, cells, targets):
    from lucid_fast import attribution

    h, w = cells.shape[:2]
    acts = attribution.activations(model, cells.reshape(h * w, *cells.shape[2:]), ["pool"])["pool"]
    a = acts.reshape(h * w, -1, acts.shape[-1]).mean(1)
    v = targets.reshape(h * w, -1)
    return (a / (1e-6 + np.linalg.norm(a, axis=1, keepdims=True))) @ (
        v / (1e-6 + np.linalg.norm(v, axis=1, keepdims=True))).T


def test_grid_optimization_raises_the_objective_and_matches_each_cell(tmp_path):
    model = _model()
    r = render_activation_grid(model, _image(), "pool", cell_size=16, n_groups=2, shared_res=2, steps=60,
                               batch=4, seed=0)
    assert r.cells.shape == (3, 3, 16, 16, 3) and r.targets.shape == (3, 3, 6)
    assert r.group_weights.shape == (3, 3, 2) and len(r.history) == 60
    assert np.mean(r.history[-10:]) > 1.5 * np.mean(r.history[:10])
    cos = _cos_matrix(model, r.cells, r.targets)
    off = cos[~np.eye(9, dtype=bool)].reshape(9, 8)
    # each cell points towards its own target more than towards the average other target
    assert np.mean(np.diag(cos)) > np.mean(off) + 0.1, cos
    assert np.all(np.diag(cos) > off.mean(1)), cos
    # seeded: the same result again
    again = render_activation_grid(model, _image(), "pool", cell_size=16, n_groups=2, shared_res=2, steps=5,
                                   batch=4, seed=3)
    same = render_activation_grid(model, _image(), "pool", cell_size=16, n_groups=2, shared_res=2, steps=5,
                                  batch=4, seed=3)
    np.testing.assert_array_equal(again.cells, same.cells)


def test_grid_param_only_computes_the_sampled_cells_and_shares_windows():
    """Cells are computed for any subset; the shared image's windows of neighbours overlap (coherence)."""
    rng = np.random.default_rng(0)
    weights = ChannelReducer(2, "NMF", random_state=0).fit_transform(rng.uniform(size=(6, 5)))
    grid = GridParam((2, 3), 8, weights, shared_res=2, rng=rng, sd=0.5)
    all_cells = grid.images()
    some = grid.images([4, 1])
    np.testing.assert_allclose(some, all_cells[[4, 1]], rtol=1e-6)
    # the window of cell (0, 1) starts 2 low-res pixels right of cell (0, 0)'s and overlaps it by half
    win = grid._windows(np.array([0, 1]))
    np.testing.assert_array_equal(win[0][:, 2:], win[1][:, :2])
    # one step moves the sampled cells' own spectra and the shared parameters, not the other cells' own spectra
    before_own, before_low = grid.own.value.copy(), grid.low.value.copy()
    grid.forward_cells(np.array([0, 5]))
    grid.backward_and_update(np.ones((2, 8, 8, 3), np.float32))
    moved = np.abs(grid.own.value - before_own).reshape(2, 6, -1).max(axis=(0, 2)) > 0
    assert list(moved) == [True, False, False, False, False, True]
    assert np.abs(grid.low.value - before_low).max() > 0
    assert list(grid.own_steps) == [1, 0, 0, 0, 0, 1]


def test_grid_errors():
    model = _model()
    with pytest.raises(ValueError, match="n_groups=7 is larger"):
        render_activation_grid(model, _image(), "pool", n_groups=7, steps=1)
    with pytest.raises(ValueError, match="cell_size must be an int"):
        render_activation_grid(model, _image(), "pool", cell_size=4, steps=1)
    with pytest.raises(ValueError, match="post-ReLU"):
        render_activation_grid(model, _image(), "c1_pre_relu", n_groups=2, steps=1)
    with pytest.raises(ValueError, match="unknown layer"):
        render_activation_grid(model, _image(), "pool2", steps=1)
