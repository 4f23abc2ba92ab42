"""Available memory (meminfo, cgroups, $LUCID_FAST_MEMORY_LIMIT) and the refusal when a job would not fit."""
import pytest

from lucid_fast import ops
from lucid_fast.misc import memory


@pytest.mark.parametrize("text, expected", [
    ("8G", 8 << 30), ("8GiB", 8 << 30), ("8gb", 8 << 30), ("512M", 512 << 20), ("1.5G", 3 << 29),
    ("2000000000", 2_000_000_000), ("64k", 64 << 10),
])
def test_limit_env_sets_available_memory(monkeypatch, text, expected):
    monkeypatch.setenv(memory.LIMIT_ENV, text)
    assert memory.available_memory_bytes() == expected


def test_limit_env_off_disables_and_bad_values_are_errors(monkeypatch):
    monkeypatch.setenv(memory.LIMIT_ENV, "off")
    assert memory.available_memory_bytes() is None
    memory.check_fits(1 << 60, "x", "y")  # checks off: never refuses
    for bad in ("lots", "-1G", "0", "G"):
        monkeypatch.setenv(memory.LIMIT_ENV, bad)
        with pytest.raises(ValueError, match=memory.LIMIT_ENV):
            memory.available_memory_bytes()


def test_meminfo_is_read(monkeypatch):
    monkeypatch.delenv(memory.LIMIT_ENV, raising=False)
    with open("/proc/meminfo") as f:
        avail = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    got = memory.available_memory_bytes()
    assert 0 < got <= avail * 1.5 + (1 << 30)  # the kernel's number, give or take what changed meanwhile


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_headroom_excludes_reclaimable_cache(tmp_path):
    _write(tmp_path / "proc_cgroup", "0::/jobs/a\n")
    folder = tmp_path / "fs" / "jobs" / "a"
    _write(folder / "memory.max", "1000000\n")
    _write(folder / "memory.current", "400000\n")
    _write(folder / "memory.stat", "anon 250000\ninactive_file 100000\nactive_file 50000\n")
    got = memory._cgroup_headroom(str(tmp_path / "proc_cgroup"), str(tmp_path / "fs"))
    assert got == 1000000 - (400000 - 100000)
    _write(folder / "memory.max", "max\n")
    assert memory._cgroup_headroom(str(tmp_path / "proc_cgroup"), str(tmp_path / "fs")) is None


def test_cgroup_v1_headroom_and_no_limit(tmp_path):
    _write(tmp_path / "proc_cgroup", "4:memory:/docker/abc\n3:cpu:/\n")
    folder = tmp_path / "fs" / "memory" / "docker" / "abc"
    _write(folder / "memory.limit_in_bytes", str(2 << 30))
    _write(folder / "memory.usage_in_bytes", str(1 << 30))
    _write(folder / "memory.stat", f"inactive_file 5\ntotal_inactive_file {1 << 28}\n")
    got = memory._cgroup_headroom(str(tmp_path / "proc_cgroup"), str(tmp_path / "fs"))
    assert got == (2 << 30) - ((1 << 30) - (1 << 28))
    _write(folder / "memory.limit_in_bytes", "9223372036854771712")  # v1's "no limit"
    assert memory._cgroup_headroom(str(tmp_path / "proc_cgroup"), str(tmp_path / "fs")) is None


def test_check_fits_message_and_types(monkeypatch):
    monkeypatch.setenv(memory.LIMIT_ENV, "1G")
    memory.check_fits(1 << 29, "small job", "nothing")
    with pytest.raises(memory.InsufficientMemoryError) as info:
        memory.check_fits(3 << 30, "a big job", "make it smaller")
    assert isinstance(info.value, MemoryError) and isinstance(info.value, ValueError)
    msg = str(info.value)
    assert "a big job needs about 3.0 GiB" in msg and "1.0 GiB is available" in msg and "make it smaller" in msg


def test_empty_aligned_refuses_what_does_not_exist(monkeypatch):
    """A huge array is refused before numpy's allocator hands out (overcommitted) memory that is not there."""
    monkeypatch.setenv(memory.LIMIT_ENV, "256M")
    with pytest.raises(memory.InsufficientMemoryError, match=r"empty_aligned: an array of shape \(4096, 4096, 8\)"):
        ops.empty_aligned((4096, 4096, 8))  # 512 MiB
    assert ops.empty_aligned((1024, 1024, 8)).shape == (1024, 1024, 8)  # 32 MiB: under the checked size


@pytest.mark.parametrize("bad", ["inf", "INF", "-inf", "nan", "infG", "1e400", "Infinity"])
def test_limit_env_inf_and_nan_are_refused_naming_the_variable(monkeypatch, bad):
    # issue 23: LUCID_FAST_MEMORY_LIMIT=inf raised OverflowError (int(float('inf'))) from every memory check
    monkeypatch.setenv(memory.LIMIT_ENV, bad)
    with pytest.raises(ValueError, match=rf"{memory.LIMIT_ENV} must be a byte count.*'off'") as info:
        memory.available_memory_bytes()
    assert not isinstance(info.value, OverflowError)
    with pytest.raises(ValueError, match=memory.LIMIT_ENV):
        memory.check_fits(1, "x", "y")
