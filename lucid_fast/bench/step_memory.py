"""Calibrates lucid_fast.models.STEP_MEMORY_FACTOR: a render step's peak memory against its forward tensors.

    python -m lucid_fast.bench step-memory                     # the default table (vgg16_hed, about 3 minutes, < 4 GB)
    python -m lucid_fast.bench step-memory 1024:block4_conv3:1 # size:layer:batch, as many as wanted

Each configuration runs in a fresh process (so one run's allocator state does not hide another's peak):
vgg16_hed, objective channel 1 of the layer, param.image(size, batch), no transforms (the input is exactly
size x size), the memory check off. The process reads its anonymous resident memory (RssAnon in
/proc/self/status) just before the first step, runs two steps (the ReLU override is on in a render's first 16
steps, as here) while a thread samples RssAnon every millisecond, and takes the peak. Anonymous memory is what
a step allocates; the whole RSS (getrusage's ru_maxrss) also counts the shared libraries' pages, which a loaded
machine evicts and the step faults back in, and measured up to 1.8x the step's own growth that way. It prints
the forward bytes the estimate starts from (ModelAdapter.activation_bytes), the peak growth, their ratio, and the
estimate (models.estimate_step_bytes with preflight.native_bytes) against the growth.
"""
import json
import subprocess
import sys

from lucid_fast.bench.harness import worker_env

DEFAULT = ["128:block4_conv3:1", "256:block4_conv3:1", "512:block4_conv3:1", "1024:block4_conv3:1",
           "256:block1_conv2:1", "512:block1_conv2:1", "512:block5_conv3:1", "256:block4_conv3:4",
           "128:block2_pool:8"]

CHILD = r"""
import json, os, resource, sys, threading
size, layer, batch = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
from lucid_fast import models
from lucid_fast.optvis import param, preflight, render

def anon():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024

vis = render.make_vis_T("vgg16_hed", f"{layer}:1", param_f=lambda: param.image(size, batch=batch),
                        transforms=[], seed=0)
shape = (batch, size, size, 3)
forward = vis.model.activation_bytes(list(vis.layers), shape)
estimate = models.estimate_step_bytes(forward, preflight.native_bytes(vis, shape))
before = anon()
peak = [before]
done = threading.Event()

def sample():  # every millisecond: TF runs its ops outside the GIL
    while not done.is_set():
        peak[0] = max(peak[0], anon())
        done.wait(0.001)

sampler = threading.Thread(target=sample)
sampler.start()
vis.step()
vis.step()
done.set()
sampler.join()
peak[0] = max(peak[0], anon())
print(json.dumps(dict(forward=forward, estimate=estimate, before=before, peak=peak[0],
                      maxrss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)))
"""


def measure(size, layer, batch):
    """One configuration in a fresh process: {forward, estimate, before, peak} in bytes."""
    env = worker_env(TF_CPP_MIN_LOG_LEVEL="3", LUCID_FAST_MEMORY_LIMIT="off")
    out = subprocess.run([sys.executable, "-c", CHILD, str(size), layer, str(batch)], capture_output=True,
                         text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{size}:{layer}:{batch} failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def add_arguments(p):
    p.add_argument("configs", nargs="*", metavar="SIZE:LAYER:BATCH",
                   help="configurations to measure (default: the calibration table, " + " ".join(DEFAULT) + ")")


def run(args):
    main(args.configs)


def main(argv):
    configs = argv or DEFAULT
    mib = float(1 << 20)
    print(f"{'size':>5s} {'layer':14s} {'batch':>5s} {'forward MiB':>12s} {'growth MiB':>11s} {'ratio':>6s} "
          f"{'estimate MiB':>13s} {'est/growth':>10s}")
    for config in configs:
        size, layer, batch = config.split(":")
        try:
            r = measure(size, layer, batch)
        except RuntimeError as err:
            print(err)
            continue
        growth = r["peak"] - r["before"]
        print(f"{size:>5s} {layer:14s} {batch:>5s} {r['forward'] / mib:12.0f} {growth / mib:11.0f} "
              f"{growth / r['forward']:6.2f} {r['estimate'] / mib:13.0f} {r['estimate'] / growth:10.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
