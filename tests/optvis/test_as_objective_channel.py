"""Issue 23: the "layer:channel" string form refuses what the CLI refuses (a negative or non-integer channel)."""
import pytest

from lucid_fast.optvis import objectives


@pytest.mark.parametrize("spec", ["block1_conv2:-1", "block1_conv2:+3", "block1_conv2:1.5", "block1_conv2:²",
                                  "block1_conv2:1_0", "block1_conv2:"])
def test_bad_channels_are_refused(spec):
    with pytest.raises(ValueError, match=r"channel an integer >= 0"):
        objectives.as_objective(spec)  # was: "block1_conv2:-1" rendered (channel -1, the last one)


def test_good_strings_still_work():
    assert objectives.as_objective("block1_conv2:3") is not None
    assert objectives.as_objective("mixed4a:0:12") is not None
    assert objectives.as_objective(" block1_conv2 : 7 ") is not None
