"""The Dask path: a LocalCluster (--workers), and an existing cluster (a real scheduler and workers started on
the loopback interface) that loses a worker in the middle of a unit; every channel is committed exactly once."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from lucid_fast import gallery


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log(root):
    return gallery.read_log(root)


def test_local_cluster_renders_every_channel_once_with_one_thread_per_worker(tiny_model_path, tmp_path):
    out = tmp_path / "g"
    res = gallery.run(tiny_model_path, "conv1", out, channels="0:6", size=16, steps=6, batch=2, seed=3, workers=2,
                      site=False, progress=False)
    assert sorted(res.committed) == [("conv1", c) for c in range(6)] and res.units_rendered == 3
    log = _log(out)
    assert sorted(e["channel"] for e in log) == list(range(6))
    assert all(e["pid"] != os.getpid() for e in log)  # rendered in the workers, committed here
    for c in range(6):
        rec = json.load(open(out / "layers" / "conv1" / f"{c:04d}.json"))
        assert rec["worker"]["tf_intra_op_threads"] == max(1, len(os.sched_getaffinity(0)) // 2)
        assert len(rec["objective_trace"]) == 6
    assert len({e["pid"] for e in log}) >= 1


def test_dask_model_must_be_loadable_by_workers(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="loads the model in every worker"):
        gallery.run(tiny_model, "conv1", tmp_path / "g", workers=2, progress=False)
    with pytest.raises(ValueError, match="not both"):
        gallery.run("vgg16_hed", "block1_conv1", tmp_path / "g", workers=2, scheduler="tcp://127.0.0.1:1")


def test_a_worker_killed_mid_unit_has_its_unit_retried_and_every_channel_lands_once(tiny_model_path, tmp_path):
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
               TF_CPP_MIN_LOG_LEVEL="2")
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    out = str(tmp_path / "g")
    job = None
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--host", "127.0.0.1", "--name", f"w{i}", "--death-timeout", "120"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        client = Client(address, timeout="60s")
        client.wait_for_workers(2, timeout=120)
        pids = client.run(os.getpid)  # worker address -> pid
        job = subprocess.Popen(
            [sys.executable, "-m", "lucid_fast", "gallery", "--model", tiny_model_path, "--layers", "conv2",
             "--size", "16", "--steps", "40", "--batch", "2", "--scheduler", address, "--out", out, "--no-site"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # wait until both workers hold a unit, let them get into it, then kill the one that is not done first
        victim, deadline = None, time.time() + 240
        while time.time() < deadline and job.poll() is None:
            busy = {w: keys for w, keys in client.processing().items() if keys}
            if len(busy) == 2 and len(_log(out)) >= 2:
                victim = sorted(busy)[0]
                victim_keys = list(busy[victim])
                break
            time.sleep(0.05)
        assert victim is not None, "the workers never got busy: " + (job.stdout.read() if job.poll() is not None else "")
        os.kill(pids[victim], signal.SIGKILL)
        stdout, _ = job.communicate(timeout=600)
        assert job.returncode == 0, stdout[-3000:]
        log = _log(out)
        channels = sorted(e["channel"] for e in log)
        assert channels == list(range(12)), channels  # every channel, exactly once
        # task keys are lucid_fast-gallery-<layer>-<first channel>-<settings>: the killed units were redone elsewhere
        killed_units = {int(k.split("-")[-2]) for k in victim_keys}
        redone = [e for e in log if e["unit"][0] in killed_units]
        assert redone and all(e["pid"] != pids[victim] for e in redone)
        survivors = {e["pid"] for e in log} - {pids[victim]}
        assert survivors == {pid for w, pid in pids.items() if w != victim}
        store = gallery.GalleryStore.open(out)
        assert store.done_channels("conv2", range(12)) == list(range(12))
        client.close()
    finally:
        if job is not None and job.poll() is None:
            job.kill()
        for p in procs[::-1]:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
