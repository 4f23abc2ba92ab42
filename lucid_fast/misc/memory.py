"""How much memory this process may still use, and a clear refusal when a job would not fit.

TensorFlow on the CPU does not fail cleanly when memory runs out: an allocation inside a kernel throws
``std::bad_alloc`` and the process aborts (a notebook kernel dies with it), or the kernel's OOM killer ends it.
So lucid_fast estimates what a render step needs before running it and refuses with
:class:`InsufficientMemoryError` (a ``MemoryError`` and a ``ValueError``) when it would not fit.

Available memory is the smaller of:

* ``MemAvailable`` in ``/proc/meminfo`` (the kernel's estimate of what can be allocated without swapping;
  ``psutil.virtual_memory().available`` where there is no /proc);
* the limit of this process's cgroup minus its usage (cgroup v2 ``memory.max``/``memory.current``, or v1
  ``memory.limit_in_bytes``/``memory.usage_in_bytes``), as in a container.

``$LUCID_FAST_MEMORY_LIMIT`` replaces that measurement when set: bytes, or a number with a K/M/G/T suffix
(powers of 1024), is taken as what is available (lower it on a machine shared with other jobs; raise it when
an estimate is too cautious for your model). ``LUCID_FAST_MEMORY_LIMIT=off`` (or ``none``) turns the checks off:
then a step that does not fit may abort the process, as plain TensorFlow would. Anything else (``inf``, ``nan``,
a negative or zero count, text) is refused with a ``ValueError`` that names the variable and these forms; there is
no "infinite" limit, write ``off`` for that.
"""
import os

__all__ = ["InsufficientMemoryError", "available_memory_bytes", "check_fits", "format_bytes", "LIMIT_ENV",
           "image_side_bytes"]

LIMIT_ENV = "LUCID_FAST_MEMORY_LIMIT"
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_NO_LIMIT = 1 << 60  # cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages)


# The image side of a render step (native arrays, float32), for image_side_bytes: per parameter array its value,
# Adam's two moments and its gradient; and about ten image-sized arrays (the image, the warped image and their
# gradients, the colour stage's input and gradient, the FFT's complex and planar buffers).
NATIVE_PARAM_ARRAYS = 4
NATIVE_IMAGE_ARRAYS = 10


def image_side_bytes(param_elements, image_elements):
    """A rough upper bound of the native arrays of a render step: ``param_elements`` optimized floats in all,
    images of ``image_elements`` floats (the larger of the parameterization's and the transformed one)."""
    return 4 * (NATIVE_PARAM_ARRAYS * int(param_elements) + NATIVE_IMAGE_ARRAYS * int(image_elements))


class InsufficientMemoryError(MemoryError, ValueError):
    """A job was refused before it started because it would need more memory than is available."""


def format_bytes(n):
    """'1.5 GiB'-style text for a byte count."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024.0 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} GiB"  # pragma: no cover


def _limit_from_env():
    """(disabled, limit bytes or None) from $LUCID_FAST_MEMORY_LIMIT."""
    raw = os.environ.get(LIMIT_ENV, "").strip()
    if not raw:
        return False, None
    if raw.lower() in ("off", "none"):
        return True, None
    text = raw.upper().removesuffix("IB").removesuffix("B") if raw.upper().endswith("B") else raw.upper()
    unit = text[-1] if text and text[-1] in _UNITS else ""
    number = text[:-1] if unit else text
    accepted = "a byte count such as 8G, 512M or 2000000000 (K/M/G/T: powers of 1024), or 'off' for no checks"
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"{LIMIT_ENV} must be {accepted}; got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):  # nan, inf: float() takes them, int() does not
        raise ValueError(f"{LIMIT_ENV} must be {accepted} (there is no infinite limit: write 'off'); got {raw!r}")
    if not value > 0:
        raise ValueError(f"{LIMIT_ENV} must be positive: {accepted}; got {raw!r}")
    return False, int(value)


def _meminfo_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil  # noqa: PLC0415 - optional, for systems without /proc

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - no psutil, or it cannot tell
        return None


def _read_int(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _inactive_file(stat_path):
    """total_inactive_file (v1) or inactive_file (v2) from a cgroup's memory.stat, else 0."""
    try:
        with open(stat_path) as f:
            fields = dict(line.split()[:2] for line in f if len(line.split()) >= 2)
    except OSError:
        return 0
    for key in ("total_inactive_file", "inactive_file"):  # v1 usage is hierarchical, as its total_ field
        try:
            return int(fields[key])
        except (KeyError, ValueError):
            continue
    return 0


def _cgroup_headroom(proc_cgroup="/proc/self/cgroup", fs_root="/sys/fs/cgroup"):
    """Limit minus usage of this process's memory cgroup (v2 or v1), or None without a limit."""
    entries = []
    try:
        with open(proc_cgroup) as f:
            for line in f:
                parts = line.strip().split(":", 2)
                if len(parts) == 3 and parts[0] == "0" and not parts[1]:
                    entries.append((fs_root, parts[2], "memory.max", "memory.current"))
                elif len(parts) == 3 and "memory" in parts[1].split(","):
                    entries.append((os.path.join(fs_root, "memory"), parts[2], "memory.limit_in_bytes",
                                    "memory.usage_in_bytes"))
    except OSError:
        return None
    best = None
    for root, rel, limit_name, usage_name in entries:
        # inside a container the process's own cgroup is often mounted as the root: look in both places
        for folder in dict.fromkeys([os.path.join(root, rel.lstrip("/")), root]):
            limit = _read_int(os.path.join(folder, limit_name))
            if limit is None or limit >= _NO_LIMIT:
                continue
            usage = _read_int(os.path.join(folder, usage_name)) or 0
            # the usage counts the page cache; its inactive part is reclaimed before the limit bites
            usage -= min(_inactive_file(os.path.join(folder, "memory.stat")), usage)
            headroom = max(limit - usage, 0)
            best = headroom if best is None else min(best, headroom)
    return best


def available_memory_bytes():
    """Bytes this process can still allocate (see the module doc), or None when the checks are off or
    nothing can be read."""
    disabled, env_limit = _limit_from_env()
    if disabled:
        return None
    if env_limit is not None:
        return env_limit
    values = [v for v in (_meminfo_available(), _cgroup_headroom()) if v is not None]
    return min(values) if values else None


def check_fits(need_bytes, what, advice):
    """Raises :class:`InsufficientMemoryError` when ``need_bytes`` exceeds the available memory.

    Args:
        need_bytes: the estimate.
        what: what needs it, e.g. "a render step at 4096x4096 ...", starting the message.
        advice: what to reduce, e.g. "reduce the size to at most 1800 px".
    """
    available = available_memory_bytes()
    if available is None or need_bytes <= available:
        return
    source = f" (${LIMIT_ENV})" if os.environ.get(LIMIT_ENV, "").strip() else ""
    raise InsufficientMemoryError(f"{what} needs about {format_bytes(need_bytes)} of memory and "
                                  f"{format_bytes(available)} is available{source}; {advice} (or set "
                                  f"{LIMIT_ENV} to the bytes you know are free)")
