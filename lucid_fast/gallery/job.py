"""A gallery job: plan the units, render what is missing (here or on Dask), commit each channel, then build the
sprite sheets and the site.

    result = lucid_fast.gallery.run("vgg16_hed", ["block1_conv2"], "gallery/", size=128, steps=512)

The process that calls :func:`run` is the only writer: units rendered elsewhere (Dask workers) send their
images and traces back, and :class:`Writer` commits them. A channel already done is never written again, so
a unit that runs twice (a worker died after finishing it) still commits each channel once.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import re
import sys
import time

from .dask_runner import check_workers
from .settings import DEFAULT_BATCH, Settings, parse_channels, plan_units, unit_seed
from .store import LOG, GalleryMismatchError, GalleryStore, atomic_write, out_dir_problem


class GalleryError(RuntimeError):
    """Some units of a gallery job failed (the others are committed; rerunning resumes)."""


class GalleryResult:
    """What a :func:`run` did: ``committed`` [(layer, channel)] this run, ``skipped`` (already done),
    ``failed`` [(layer, channels, message)], ``layers`` {layer: channels requested}, ``wall_time_s``."""

    def __init__(self, out, layers):
        self.out, self.layers = out, layers
        self.committed, self.failed, self.skipped = [], [], 0
        self.units_rendered = 0
        self.wall_time_s = 0.0
        self.site = None

    def __repr__(self):
        return (f"GalleryResult(out={self.out!r}, committed={len(self.committed)}, skipped={self.skipped}, "
                f"failed={len(self.failed)}, wall_time_s={self.wall_time_s:.1f})")


def tool_version():
    import lucid_fast

    return lucid_fast.__version__


def check_scheduler(scheduler, flag="scheduler"):
    """None, or the reason ``scheduler`` (an address, or a ``distributed.Client``) is refused."""
    if scheduler is None or not isinstance(scheduler, (str, bytes)):
        return None  # a Client (checked when used)
    if not isinstance(scheduler, str) or not re.fullmatch(r"([a-z][a-z0-9+.-]*://)?[^\s:/][^\s]*", scheduler):
        return (f"{flag} must be a Dask scheduler address such as tcp://HOST:8786 (or HOST:8786), "
                f"got {scheduler!r}")
    return None


_ITEM = re.compile(r"[0-9]*")


def check_channel_syntax(spec, flag="channels"):
    """None, or the reason the string channel spec ``spec`` is refused (ASCII digits only: '²' is refused)."""
    if not isinstance(spec, str):
        return None
    for item in spec.split(","):
        parts = [p.strip() for p in item.split(":")]
        if len(parts) > 2 or parts == [""] or not all(_ITEM.fullmatch(p) for p in parts):
            return (f"{flag}: bad item {item!r} in {spec!r}: write N, A:B, :B or A: with non-negative integers "
                    "(digits 0-9), comma-separated")
    return None


def check_channels(spec, n_channels, layer):
    """The sorted channels ``spec`` selects of a layer with ``n_channels`` channels (see
    :func:`~lucid_fast.gallery.settings.parse_channels`), refusing what would be clipped or rounded: a range
    that starts or ends past the layer, a channel that is not an integer (1.7)."""
    problem = check_channel_syntax(spec)
    if problem:
        raise ValueError(f"gallery: {problem}")
    return parse_channels(spec, n_channels, layer)


def report_problems(store, stream=None):
    """Prints each damaged file the store met (once) and what happens to it."""
    stream = stream or sys.stderr
    done = getattr(store, "_printed", set())
    for path, what in store.problems:
        if path in done:
            continue
        done.add(path)
        then = ("rewritten from the layers of this run" if os.path.basename(path) == "layers.json"
                else "its channel is rendered again")
        stream.write(f"gallery: damaged file {path}: {what}; {then}\n")
    store._printed = done
    stream.flush()


def resolve_layers(adapter, layers):
    """Canonical layer names from a list, a comma-separated string, or "all": every convolution's output, after
    its ReLU where the next layer is one of the same shape (what a Keras convolution with a fused ReLU is, so
    ``vgg16_hed_torch``'s "all" is ``vgg16_hed``'s 13 layers, not their ``_pre_relu`` tensors)."""
    if layers is None or layers == "all" or layers == ["all"]:
        table = adapter.layers()
        names = []
        for i, info in enumerate(table):
            if info.kind != "conv" or not info.channels:
                continue
            nxt = table[i + 1] if i + 1 < len(table) else None
            fused = (nxt is not None and nxt.kind == "relu" and nxt.channels == info.channels
                     and nxt.spatial == info.spatial)
            names.append(nxt.name if fused else info.name)
        if not names:
            raise ValueError(f"gallery: model {adapter.name!r} has no convolution layers for layers='all'; "
                             "name the layers")
        return names
    if isinstance(layers, str):
        layers = [s for s in layers.split(",") if s.strip()]
    layers = [str(n).strip() for n in layers]
    if not layers:
        raise ValueError("gallery: no layers given (a list of names, a comma-separated string, or 'all')")
    out = []
    for name in layers:
        canon = adapter.resolve(name)
        if canon not in out:
            out.append(canon)
    return out


class Writer:
    """The one place that commits results: checks each unit's result, writes the channels not yet done."""

    def __init__(self, store, fingerprint, progress=None):
        self.store, self.fingerprint, self.progress = store, fingerprint, progress
        self.committed = []

    def commit_unit(self, result):
        store, s = self.store, self.store.settings
        if result.info.get("model_fingerprint") != self.fingerprint:
            raise GalleryMismatchError(
                f"gallery: a worker on {result.info.get('host')} rendered with a different model (weights "
                f"{str(result.info.get('model_fingerprint'))[:12]}, here {self.fingerprint[:12]}); every worker "
                "must load the same model")
        n = len(result.channels)
        for b, c in enumerate(result.channels):
            if store.read_record(result.layer, c) is not None:
                continue  # already committed (a unit rendered twice): never written again
            rec = {
                "format": 1, "model": store.model_name, "model_fingerprint": self.fingerprint,
                **({"framework": store.framework} if store.framework else {}),
                "layer": result.layer, "channel": c,
                "objective": f"channel({result.layer!r}, {c})",
                "settings": s.as_dict(), "seed": s.seed,
                "unit": {"channels": result.channels, "index": b,
                         "seed_entropy": unit_seed(s.seed, result.layer, result.channels)},
                "objective_trace": [float(v) for v in result.traces[:, b]],
                "wall_time_s": result.wall_time_s / n, "unit_wall_time_s": result.wall_time_s,
                "tool_version": store.tool_version,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "worker": {k: v for k, v in result.info.items() if k != "model_fingerprint"},
            }
            neg = None
            if result.negatives_u8 is not None:
                neg = result.negatives_u8[b]
                rec["negative_objective_trace"] = [float(v) for v in result.negative_traces[:, b]]
                rec["negative_objective"] = f"-channel({result.layer!r}, {c})"
            store.commit(result.layer, c, result.images_u8[b], rec, negative_u8=neg)
            self.committed.append((result.layer, c))
            _append_log(store.root, {"layer": result.layer, "channel": c, "unit": result.channels,
                                     "host": result.info.get("host"), "pid": result.info.get("pid"),
                                     "time": time.time()})


def _append_log(root, entry):
    """One JSON line per commit (a log for people; a torn last line after a kill is ignored by readers)."""
    with open(os.path.join(root, LOG), "a") as f:
        f.write(json.dumps(entry) + "\n")


def read_log(root):
    out = []
    try:
        with open(os.path.join(root, LOG)) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


@contextlib.contextmanager
def _job_lock(root):
    """An exclusive lock on the gallery directory for the run (released by the OS even after kill -9)."""
    path = os.path.join(root, ".lock")
    f = open(path, "a")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise GalleryError(f"gallery: another run is writing {root} (its lock {path} is held); wait for it "
                               "or use another directory") from None
        yield
    finally:
        f.close()


class _Progress:
    def __init__(self, total, enabled, stream=None):
        self.total, self.enabled, self.stream = total, enabled, stream or sys.stderr
        self.done = 0
        self.t0 = time.perf_counter()

    def add(self, n, what=""):
        self.done += n
        if not self.enabled:
            return
        dt = time.perf_counter() - self.t0
        rate = self.done / dt * 3600 if dt > 0 else 0.0
        left = (self.total - self.done) / (self.done / dt) if self.done else float("nan")
        eta = f", about {left / 60:.1f} min left" if self.done and self.done < self.total else ""
        self.stream.write(f"gallery: {self.done}/{self.total} channels rendered this run "
                          f"({rate:.0f} channels/hour{eta}){what}\n")
        self.stream.flush()


def run(model="vgg16_hed", layers="all", out="gallery", *, channels=None, size=128, steps=None, batch=None,
        seed=0, negative=False, preset=None, workers=None, scheduler=None, site=True, sprites=True, progress=True,
        settings=None):
    """Renders every requested channel of the layers into ``out`` (resuming a job already there).

    Args:
        model: a modelzoo name (TensorFlow or PyTorch: ``"vgg16_hed"``, ``"vgg16_hed_torch"``), a model path
            (for ``workers``/``scheduler``: a zoo name or a path every worker can read), or (in-process runs only)
            a ``tf.keras.Model``, a ``torch.nn.Module`` in eval mode or a ``lucid_fast.models`` adapter. The
            manifest, each record and the site name the framework (``"tensorflow"`` / ``"torch"``).
        layers: names (a list or "a,b"), or "all" (every convolution).
        out: the gallery directory (created; if it holds a job, it must be the same job, unless that job never
            committed a channel, e.g. it was refused for memory or its scheduler was unreachable: then it is
            replaced). Damaged records, images and ``layers.json`` are reported on stderr and rendered again.
        channels: which channels of each layer (None: all; see :func:`~lucid_fast.gallery.settings.parse_channels`);
            nothing is clipped or rounded: a range that reaches past a layer (``"0:99999"`` on 8 channels) and a
            channel that is not an integer are refused (:func:`check_channels`).
        size, steps, batch, seed, negative, preset: the render settings (:class:`Settings`); ``batch`` None
            means :data:`DEFAULT_BATCH`; ``steps`` None means 512 (Lucid's default), or the preset's number of
            steps with ``preset="fast"`` (which sets the learning rate and transforms per phase).
        workers: render on a Dask ``LocalCluster`` of this many worker processes, at most the CPUs this process
            may use (:func:`check_workers`: more is refused, not capped).
        scheduler: render on an existing Dask cluster (``"tcp://host:8786"``, or a ``distributed.Client``).
        site: build the static site under ``out/site`` at the end.
        sprites: write each layer's sprite sheet at the end.
        progress: print progress lines on stderr.
        settings: a :class:`Settings` (instead of size/steps/batch/seed/negative/preset).

    Returns:
        A :class:`GalleryResult`. Raises :class:`GalleryError` if some units failed (after committing and
        publishing the others), :class:`GalleryMismatchError` if ``out`` holds a different job.
    """
    from .engine import ChannelBatchRenderer, model_framework

    t0 = time.perf_counter()
    if settings is None:
        settings = Settings(size=size, steps=steps, batch=DEFAULT_BATCH if batch is None else batch, seed=seed,
                            negative=negative, preset=preset)
    if workers is not None and scheduler is not None:
        raise ValueError("gallery: give workers (a LocalCluster) or scheduler (an existing cluster), not both")
    # every check that needs no model comes before it loads (22-45 s for a zoo model)
    for problem in (check_workers(workers), check_scheduler(scheduler), out_dir_problem(out),
                    check_channel_syntax(channels)):
        if problem:
            raise ValueError(f"gallery: {problem}")
    distributed = workers is not None or scheduler is not None
    if distributed and not isinstance(model, (str, os.PathLike)):
        raise ValueError("gallery: a Dask run loads the model in every worker: pass a modelzoo name or a path "
                         f"the workers can read, not a {type(model).__name__}")
    renderer = ChannelBatchRenderer(model, settings)
    adapter = renderer.adapter
    layer_names = resolve_layers(adapter, layers)
    requested = {name: check_channels(channels, renderer.layer_channels(name), name) for name in layer_names}
    model_name = os.fspath(model) if isinstance(model, (str, os.PathLike)) else adapter.name
    store = GalleryStore(out, model_name, renderer.fingerprint, settings, tool_version(),
                         framework=model_framework(adapter))
    result = GalleryResult(store.root, requested)
    if store.replaced:
        sys.stderr.write(f"gallery: {store.root} held a job that committed no channel ({store.replaced}); "
                         "replaced by this one\n")
    with _job_lock(store.root):
        store.remove_stale_temporaries()
        order = {name: i for i, name in enumerate(adapter._canonical_names())}  # model order, every resolved name
        store.update_layer_index([(name, renderer.layer_channels(name), order.get(name, len(order)))
                                  for name in layer_names])
        units = []
        for name, chans in requested.items():
            done = set(store.done_channels(name, chans))
            result.skipped += len(done)
            units += [(name, u) for u in plan_units(chans, settings.batch) if not set(u) <= done]
        report_problems(store)
        todo = sum(len(u) for _, u in units)
        bar = _Progress(todo, progress)
        if progress:
            sys.stderr.write(f"gallery: {store.root}: {len(layer_names)} layer(s), "
                             f"{sum(len(c) for c in requested.values())} channels, {result.skipped} already done, "
                             f"{len(units)} unit(s) of up to {settings.batch} to render\n")
        writer = Writer(store, renderer.fingerprint)

        def on_result(unit_result):
            before = len(writer.committed)
            writer.commit_unit(unit_result)
            result.units_rendered += 1
            bar.add(len(writer.committed) - before, f" [{unit_result.layer} {unit_result.channels[0]}..]")

        def on_failure(layer, chans, message):
            result.failed.append((layer, list(chans), message))
            if progress:
                sys.stderr.write(f"gallery: unit {layer} {chans} failed: {message}\n")

        if units:
            if distributed:
                from .dask_runner import run_units

                run_units(units, model, settings, on_result, on_failure, workers=workers, scheduler=scheduler,
                          progress=progress)
            else:
                _run_units_here(renderer, units, on_result, on_failure)
        result.committed = list(writer.committed)
        if sprites:
            from .spritesheet import write_layer_sprites

            for name in layer_names:
                write_layer_sprites(store, name)
        report_problems(store)
        if site:
            from .site import build_site

            result.site = build_site(store.root)
    result.wall_time_s = time.perf_counter() - t0
    if result.failed:
        err = GalleryError(f"gallery: {len(result.failed)} unit(s) failed: "
                           + "; ".join(f"{lay} {ch}: {msg}" for lay, ch, msg in result.failed[:5])
                           + ". The rest is committed; rerun the same command to retry.")
        err.result = result
        raise err
    return result


def _run_units_here(renderer, units, on_result, on_failure):
    for layer, chans in units:
        try:
            res = renderer.render_unit(layer, chans)
        except FloatingPointError as err:
            on_failure(layer, chans, str(err))
            continue
        on_result(res)


def open_manifest(root):
    with open(os.path.join(root, "gallery.json")) as f:
        return json.load(f)


__all__ = ["run", "GalleryResult", "GalleryError", "Writer", "resolve_layers", "read_log", "open_manifest",
           "atomic_write"]
