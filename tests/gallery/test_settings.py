"""Settings, channel specs and the command line's checks (no rendering)."""
import pytest

from lucid_fast import cli, gallery
from lucid_fast.gallery.settings import Settings, parse_channels, unit_seed


def test_parse_channels():
    assert parse_channels(None, 5) == [0, 1, 2, 3, 4]
    assert parse_channels("0:3", 64) == [0, 1, 2]
    assert parse_channels("0:64", 64) == list(range(64))
    with pytest.raises(ValueError, match="reaches past .* nothing is clipped"):
        parse_channels("0:512", 64)  # README: nothing is clamped
    with pytest.raises(ValueError, match="reaches past"):
        parse_channels("70:", 64)
    assert parse_channels("60:", 64) == [60, 61, 62, 63]
    assert parse_channels(":2, 7, 5:6", 64) == [0, 1, 5, 7]
    assert parse_channels([9, 3, 3], 10) == [3, 9]
    assert parse_channels(4, 10) == [4]
    for bad, msg in [("64", "outside"), ([10], "outside"), ("a:b", "bad channel item"), ("1:2:3", "bad channel"),
                     ("-1", "bad channel"), ("", "bad channel"), ("70:80", "reaches past"), ("3:3", "selects no channel"), ([1.5], "integers"),
                     (True, "channels must be")]:
        with pytest.raises(ValueError, match=msg):
            parse_channels(bad, 64 if not isinstance(bad, list) else 10)


def test_settings_validate_and_key():
    s = Settings()
    assert s.batch == gallery.DEFAULT_BATCH and s.steps == 512 and s.size == 128
    assert Settings.from_dict(s.as_dict()) == s and Settings().key() == s.key()
    assert Settings(steps=256).key() != s.key()
    assert Settings(steps=256).differences(s) == ["steps: 256 vs 512"]
    for kw, msg in [({"size": 4}, "size"), ({"steps": 0}, "steps"), ({"batch": 0}, "batch"),
                    ({"batch": 2.0}, "batch"), ({"seed": -1}, "seed"), ({"negative": 1}, "negative"),
                    ({"transforms": "some"}, "transforms"), ({"learning_rate": 0}, "learning_rate")]:
        with pytest.raises(ValueError, match=msg):
            Settings(**kw)
    with pytest.raises(ValueError, match="unknown settings"):
        Settings.from_dict({**s.as_dict(), "colour": "blue"})


def test_unit_seed_depends_on_layer_and_channels():
    assert unit_seed(0, "a", [1, 2]) == unit_seed(0, "a", [1, 2])
    assert len({tuple(unit_seed(0, "a", [1, 2])), tuple(unit_seed(1, "a", [1, 2])), tuple(unit_seed(0, "b", [1, 2])),
                tuple(unit_seed(0, "a", [1, 3]))}) == 4


def test_cli_reports_bad_input_as_one_line(tiny_model_path, tmp_path, capsys):
    base = ["gallery", "--model", tiny_model_path, "--out", str(tmp_path / "g"), "--quiet"]
    assert cli.main(base + ["--layers", "conv9"]) == 2
    assert "unknown layer 'conv9'" in capsys.readouterr().err
    assert cli.main(base + ["--layers", "conv1", "--channels", "8"]) == 2
    assert "channel 8 is outside 'conv1'" in capsys.readouterr().err
    assert cli.main(base + ["--layers", "conv1", "--batch", "0"]) == 2
    assert "batch must be" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(base + ["--layers", "conv1", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()  # nothing was created by a refused command
