"""Rendering a gallery's units on Dask distributed: a LocalCluster here, or an existing cluster.

Work units are channel batches (one task each). A worker loads the model once (per process) and keeps it; a
task returns the unit's images (uint8) and traces to the client, where the job's one writer commits them. When
a worker dies, the scheduler gives its tasks to other workers (up to ``distributed.scheduler.allowed-failures``
deaths per task, 3 by default); a result that arrives for channels already committed is ignored by the writer.

Threads: every worker process runs the model's framework (TensorFlow's intra-op pool, or PyTorch's pool) and
the native OpenMP kernels with ``cores // workers on its host`` threads (``--workers N`` on 2 cores: 1 thread
each), so N workers do not oversubscribe the machine. A worker rendering a PyTorch zoo model never imports
TensorFlow (a GPU machine may have none; where it is installed it would cost each worker seconds and memory).
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import socket
import sys

_RENDERER = {}  # per worker process: (model, settings json) -> ChannelBatchRenderer, filled on first use


def cpu_count():
    """The CPUs this process may run on (its affinity), the limit of ``workers``."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_workers(workers, flag="workers"):
    """None, or the reason ``workers`` is refused. The rule: 1 <= workers <= the CPUs this process may use. Each
    worker is a process with its own TensorFlow and model (hundreds of MB, seconds to start) and gets
    cores // workers threads, so more workers than CPUs only add memory and start-up time (99 on 2 cores
    started ~100 processes and rendered nothing in 5 minutes)."""
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        return f"{flag} must be a positive integer, got {workers!r}"
    n = cpu_count()
    if workers > n:
        return (f"{flag} {workers} is more than the {n} CPU(s) this process may use; each worker is a process "
                f"with its own model: use at most {n} (or a cluster with scheduler)")
    return None


def thread_env(threads):
    """Environment for a worker process with ``threads`` threads for TF (intra-op) and OpenMP."""
    return {"OMP_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads),
            "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def worker_framework(model):
    """The framework a worker loads ``model`` (a zoo name or a path) with: ``"torch"`` for a PyTorch zoo model,
    else ``"tensorflow"`` (the paths a worker can load are TensorFlow's formats). Loads nothing."""
    from lucid_fast import modelzoo

    if modelzoo.is_model_name(model) and not os.path.exists(model):
        return modelzoo.get_entry(model).framework
    return "tensorflow"


def _configure_threads(threads, framework="tensorflow"):
    """Before this process first uses its framework: the thread pools to ``threads`` (environment first, so a
    value the worker was started with wins). PyTorch: ``torch.set_num_threads`` (TensorFlow is not imported);
    TensorFlow: its intra- and inter-op pools (no-op once TF runs)."""
    for k, v in thread_env(threads).items():
        os.environ.setdefault(k, v)
    if framework == "torch":
        import torch

        try:
            n = int(os.environ["OMP_NUM_THREADS"])
        except ValueError:  # a value OpenMP would not take either
            n = threads
        torch.set_num_threads(max(1, n))
        return
    if importlib.util.find_spec("tensorflow") is None:  # a machine with PyTorch only (it reads OMP_NUM_THREADS)
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ["TF_NUM_INTRAOP_THREADS"]))
        tf.config.threading.set_inter_op_parallelism_threads(int(os.environ["TF_NUM_INTEROP_THREADS"]))
    except RuntimeError:  # TF already initialized in this process: it keeps its pools
        pass


def render_unit_task(model, settings_json, layer, channels, workers_per_host):
    """The task a worker runs: render one unit with this process's renderer (loaded on first use)."""
    return worker_renderer(model, settings_json, workers_per_host).render_unit(layer, channels)


def worker_renderer(model, settings_json, workers_per_host):
    """This worker process's renderer for (model, settings), created (threads set, model loaded) on first use."""
    key = (model, settings_json)
    renderer = _RENDERER.get(key)
    if renderer is None:
        n_here = workers_per_host.get(_my_host())
        if n_here is None:  # an address the scheduler lists differently: one host means this one
            n_here = next(iter(workers_per_host.values())) if len(workers_per_host) == 1 else 1
        n_here = max(1, int(n_here))
        _configure_threads(max(1, cpu_count() // n_here), worker_framework(model))
        from .engine import ChannelBatchRenderer
        from .settings import Settings

        _RENDERER.clear()  # one model per worker process
        renderer = ChannelBatchRenderer(model, Settings.from_dict(json.loads(settings_json)))
        _RENDERER[key] = renderer
    return renderer


def _my_host():
    """The host part of this worker's address, as the scheduler lists it."""
    from distributed import get_worker

    try:
        return get_worker().address.split("://")[-1].rsplit(":", 1)[0]
    except ValueError:  # not in a worker (called directly)
        return socket.gethostname()


def warm_workers(client, model, settings):
    """Loads the model in every worker of ``client`` now (what their first task would do)."""
    per_host = _workers_per_host(client)
    settings_json = json.dumps(settings.as_dict(), sort_keys=True)
    client.run(lambda: worker_renderer(os.fspath(model), settings_json, per_host).fingerprint)


def _workers_per_host(client):
    """{host address: number of workers there}, from the scheduler."""
    hosts = {}
    for info in client.scheduler_info()["workers"].values():
        hosts[info.get("host")] = hosts.get(info.get("host"), 0) + 1
    return hosts


def start_local_cluster(workers):
    """A LocalCluster of ``workers`` processes, one task at a time each, cores // workers threads each."""
    from distributed import LocalCluster

    problem = check_workers(workers)
    if problem:  # the rule of gallery.run, also for direct callers: never more worker processes than CPUs
        raise ValueError(f"gallery: {problem}")
    threads = max(1, cpu_count() // workers)
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None, silence_logs=logging.ERROR, env=thread_env(threads))


def run_units(units, model, settings, on_result, on_failure, workers=None, scheduler=None, progress=True,
              wait_for_workers_s=60):
    """Renders ``units`` [(layer, channels)] on Dask: a LocalCluster of ``workers`` processes started for the call,
    or the cluster at ``scheduler`` (an address, or a connected ``distributed.Client``, left open).
    ``on_result(UnitResult)`` / ``on_failure(layer, channels, message)`` are called in this process, one at a
    time, as units finish."""
    from distributed import Client, as_completed

    model = os.fspath(model)
    settings_json = json.dumps(settings.as_dict(), sort_keys=True)
    cluster = start_local_cluster(workers) if workers is not None else None
    own_client = not isinstance(scheduler, Client)
    try:
        client = Client(cluster if cluster is not None else scheduler, timeout="30s") if own_client else scheduler
    except OSError as err:
        if cluster is not None:
            cluster.close()
        raise ValueError(f"gallery: cannot reach the Dask scheduler at {scheduler!r}: {err}") from err
    try:
        if cluster is None:
            client.wait_for_workers(1, timeout=wait_for_workers_s)
        per_host = _workers_per_host(client)
        if progress:
            n = sum(per_host.values())
            where = f"LocalCluster of {workers}" if cluster is not None else f"cluster {client.scheduler.address}"
            sys.stderr.write(f"gallery: rendering {len(units)} unit(s) on {where} ({n} worker(s): "
                             f"{', '.join(f'{h}: {k}' for h, k in sorted(per_host.items()))})\n")
        futures = {}
        for layer, chans in units:
            fut = client.submit(render_unit_task, model, settings_json, layer, list(chans), per_host,
                                key=f"lucid_fast-gallery-{layer}-{chans[0]}-{settings.key()}", pure=False)
            futures[fut] = (layer, list(chans))
        for fut in as_completed(list(futures)):
            layer, chans = futures.pop(fut)
            if fut.status == "finished":
                on_result(fut.result())
            else:
                err = fut.exception()
                on_failure(layer, chans, f"{type(err).__name__}: {err}")
            fut.release()
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()
