"""The timing harness every benchmark of ``python -m lucid_fast.bench`` shares: medians, interleaved medians,
peak memory, the machine's load, the environment of worker processes, and the report lines workers send back.

Only the standard library here, and nothing from the benchmarks: they import this module, never the other way
round (and the GPU check runs ``kernels-gpu`` where TensorFlow is not installed).
"""
import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def median_ms(fn, reps, warmup=3):
    """Median ms per call of ``fn`` over ``reps`` timed calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def interleaved_median_ms(fns, reps, warmup=3, block=1):
    """Median ms per call of each function, timed in alternation after ``warmup`` untimed calls of each:
    rounds of ``block`` consecutive calls of each function, the order rotating every round, until each has
    ``reps`` timed calls. On a shared, noisy machine this exposes every variant to the same conditions, and
    no variant pays for caches (e.g. oneDNN's per-shape primitives) that another warmed. A block longer than
    1 keeps each variant's calls back to back, so that a call rarely follows the other variant's (whose
    thread pools may still be spinning on the 2 cores; only the first call of a block does, and the median
    discards it)."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    r = 0
    while min(len(t) for t in times) < reps:
        for j in range(len(fns)):  # the order rotates each round: no variant always runs first
            k = (j + r) % len(fns)
            for _ in range(min(block, reps - len(times[k]))):
                t0 = time.perf_counter()
                fns[k]()
                times[k].append(time.perf_counter() - t0)
        r += 1
    return [1000.0 * statistics.median(t) for t in times]


def peak_rss_mb():
    """This process's resident-memory high-water mark, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_average():
    """The machine's load averages as a phrase for a table's header or footer."""
    try:
        return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "load average unknown"


def worker_env(**overrides):
    """The environment of a benchmark's worker process: this one's, TensorFlow's C++ start-up lines silenced
    unless the caller set their level, then ``overrides``."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(overrides)
    return env


def cpu_build():
    """Which build of the native CPU kernels this process runs, e.g. ``"avx2 CPU build"``."""
    from lucid_fast import ops

    return f"{ops.cpu_build()} CPU build"


def parse_configs(configs):
    """``["128x1", "224x4"]`` -> ``[(128, 1), (224, 4)]`` (``--configs`` of the benchmarks: SIZExBATCH)."""
    out = []
    for c in configs:
        size, _, batch = c.partition("x")
        if not (size.isdigit() and batch.isdigit()):
            raise SystemExit(f"--configs: expected SIZExBATCH such as 128x1, got {c!r}")
        out.append((int(size), int(batch)))
    return out


def report(mark, **kw):
    """A worker's report to its driver: one line on stdout, ``mark`` then the JSON of ``kw``."""
    sys.stdout.write(mark + json.dumps(kw) + "\n")
    sys.stdout.flush()


def read_report(lines, mark):
    """The next report (a dict) among ``lines`` (a worker's stdout), skipping other lines; None at the end."""
    for line in lines:
        if line.startswith(mark):
            return json.loads(line[len(mark):])
    return None


def read_reports(text, mark):
    """Every report in ``text`` (a finished worker's whole stdout), in order."""
    return [json.loads(line[len(mark):]) for line in text.splitlines() if line.startswith(mark)]
