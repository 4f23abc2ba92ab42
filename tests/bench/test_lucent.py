"""``python -m lucid_fast.bench lucent``: its arithmetic and report on synthetic timings (no timing is asserted),
and a quick run of lucid_fast's side on a tiny torch model when the peer environment is missing."""
import io
import json

import pytest

from lucid_fast.bench import lucent


def _samples(times, cpu=None):
    return {"times": list(times), "cpu": list(cpu or times), "losses": [0.0] * len(times)}


def test_step_row_medians_and_speedup():
    samples = {"lucent": _samples([0.30, 0.10, 0.20, 0.90], [0.6, 0.2, 0.4, 1.0]),
               "lucid_fast": _samples([0.10, 0.05, 0.30], [0.2, 0.1, 0.3])}
    row = lucent.step_row("vgg16_hed", 128, 1, samples)
    assert row["tools"]["lucent"]["ms"] == pytest.approx(250.0)  # median of 4: mean of the middle two
    assert row["tools"]["lucid_fast"]["ms"] == pytest.approx(100.0)
    assert row["speedup"] == pytest.approx(2.5)  # Lucent's time / lucid_fast's
    assert row["cpu_speedup"] == pytest.approx(500.0 / 200.0)
    line = lucent.format_step_row(row)
    assert "250.0" in line and "100.0" in line and "2.50x" in line and "vgg16_hed" in line and "128x1" in line


def test_step_row_per_image_and_horama_line():
    samples = {"lucent": _samples([1.2] * 3), "lucid_fast": _samples([0.8] * 3),
               "horama_fourier": _samples([1.8] * 3)}
    row = lucent.step_row("m", 224, 4, samples, {"horama_fourier": 6})
    assert row["tools"]["lucid_fast"]["ms_per_image"] == pytest.approx(200.0)
    assert row["tools"]["horama_fourier"]["ms_per_image"] == pytest.approx(300.0)
    assert row["speedup"] == pytest.approx(1.5)
    text = lucent.format_step_row(row)
    assert "1.50x" in text and "300.0 ms per model image" in text and "200.0 ms per model image" in text


def test_step_row_without_lucent_has_no_ratio():
    row = lucent.step_row("m", 64, 1, {"lucid_fast": _samples([0.02, 0.04])})
    assert row["speedup"] is None and row["cpu_speedup"] is None
    assert "n/a" in lucent.format_step_row(row)


def test_race_row_reached_and_not():
    row = lucent.race_row("m", lucent_s=90.0, fast_s=20.0, lucent_obj=10.0, fast_obj=12.0)
    assert row["reached"] is True
    assert row["sooner"] == pytest.approx(4.5) and row["time_ratio"] == pytest.approx(20.0 / 90.0)
    assert row["obj_ratio"] == pytest.approx(1.2)
    assert "yes" in lucent.format_race_row(row) and "4.50x" in lucent.format_race_row(row)
    short = lucent.race_row("m", lucent_s=90.0, fast_s=20.0, lucent_obj=10.0, fast_obj=8.0)
    assert short["reached"] is False and short["sooner"] is None
    assert "NO" in lucent.format_race_row(short)
    alone = lucent.race_row("m", None, 20.0, None, 8.0)
    assert alone["reached"] is None and alone["sooner"] is None and alone["time_ratio"] is None
    assert "n/a" in lucent.format_race_row(alone)


def test_fingerprints_must_agree():
    lucent.check_fingerprints({"lucent": 0.1234567, "lucid_fast": 0.1234568})
    with pytest.raises(RuntimeError, match="differ"):
        lucent.check_fingerprints({"lucent": 0.12, "lucid_fast": 0.13})


def test_parsers():
    assert lucent.parse_configs(["128x1", "224x4"]) == [(128, 1), (224, 4)]
    assert lucent.parse_objective("_blocks.10:20") == ("_blocks.10", 20)
    with pytest.raises(SystemExit):
        lucent.parse_configs(["128"])
    with pytest.raises(SystemExit):
        lucent.parse_objective("block4_conv3")


def test_registered_in_the_bench_table():
    from lucid_fast.bench.__main__ import COMMANDS

    assert COMMANDS["lucent"][0] == "lucent"


def test_missing_peer_prints_the_commands_and_runs_lucid_fast_alone(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("lucid_fast.models.torch_adapter")
    import argparse

    p = argparse.ArgumentParser()
    lucent.add_arguments(p)
    args = p.parse_args(["--quick", "--peer-python", str(tmp_path / "no-such-env" / "python"),
                         "--out", str(tmp_path / "out")])
    args.configs = lucent.parse_configs(["64x1"])
    args.models, args.steps, args.warmup, args.block, args.race_steps, args.horama_steps = \
        ["standin"], 2, 0, 1, 4, 0
    out = io.StringIO()
    result = lucent.bench_lucent(args, out=out)
    text = out.getvalue()
    assert "does not exist" in text
    assert 'pip install --isolated "torch==2.13.0" "torchvision==0.28.0"' in text
    assert "torch-lucent==0.1.8" in text and "bash bench/peers_torch_env.sh" in text
    assert result["tools"] == ["lucid_fast"]
    (row,) = result["steps"]
    assert row["speedup"] is None and row["tools"]["lucid_fast"]["n"] == 2
    (race,) = result["race"]
    assert race["lucent_obj"] is None and race["fast_s"] > 0 and race["fast_obj"] == race["fast_obj"]  # finite
    assert (tmp_path / "out" / "race_standin.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_peers_get_torch_default_openmp_waiting(tmp_path, monkeypatch):
    """lucid_fast sets OMP_WAIT_POLICY=PASSIVE at import; Lucent's process must run as its users run it (torch's
    default waiting), unless the user set the policy, which then holds for both sides."""
    import lucid_fast

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"pythonpath": "/somewhere"}))
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    monkeypatch.setattr(lucid_fast, "openmp_wait_policy_set_here", True)
    env = lucent.peer_env(str(spec))
    assert "OMP_WAIT_POLICY" not in env and env["PYTHONPATH"] == "/somewhere"
    assert lucent.worker_cmd("lucid_fast", None, str(spec), 64, 1, "l", 0)[1]["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setattr(lucid_fast, "openmp_wait_policy_set_here", False)
    assert lucent.peer_env(str(spec))["OMP_WAIT_POLICY"] == "PASSIVE"
