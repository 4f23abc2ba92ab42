"""NeuronGroups keeps each spatial factor's height and width (issue 23: transposed maps passed the view tests,
which use square factors only): the page's data and the static PNG, on 12x20 factors."""
import base64

import numpy as np
import pytest

from lucid_fast import views

H, W, S = 12, 20, 80


@pytest.fixture()
def factors():
    """Group 0 fires in the five leftmost columns (every row); group 1 in the bottom-right corner."""
    f = np.zeros((2, H, W), np.float32)
    f[0, :, :5] = 1.0
    f[1, 9:, 15:] = 1.0
    return f


def _view(factors):
    image = np.full((36, 60, 3), 0.5, np.float32)
    return views.NeuronGroups(image, factors, icons=np.full((2, 8, 8, 3), 0.5, np.float32), size=S, icon_size=16)


def test_neuron_groups_data_keeps_height_and_width(factors):
    d = _view(factors).data()
    assert (d["g"], d["h"], d["w"]) == (2, H, W)
    got = np.frombuffer(base64.b64decode(d["factors"]), np.uint8)
    assert got.size == 2 * H * W
    got = got.reshape(2, H, W)  # the page reads the bytes as (g, h, w), row by row
    np.testing.assert_array_equal(got, np.round(factors * 255).astype(np.uint8))


def test_neuron_groups_static_image_keeps_height_and_width(factors):
    v = _view(factors)
    img = np.asarray(v.static_image())[..., :3]
    img = img / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
    panel = img[16:16 + S, S + 12:2 * S + 12]  # the composite of the groups, resized to S x S
    assert panel.shape == (S, S, 3)
    bright = panel.max(-1)
    q = S // 4
    # group 0: a stripe down the left edge, all the way from top to bottom
    assert bright[:, : q - 2].min() > 0.5, bright[:, : q - 2].min()
    # nothing in the top right, nor in the middle of the bottom edge
    assert bright[: S // 2, q + 2:].max() < 0.05, bright[: S // 2, q + 2:].max()
    assert bright[-4:, q + 2: S // 2].max() < 0.05
    # group 1: the bottom-right corner, in a colour other than group 0's
    corner, stripe = panel[-4:, -4:].mean((0, 1)), panel[S // 2, 2]
    assert corner.max() > 0.5 and np.abs(corner - stripe).max() > 0.2, (corner, stripe)
