"""The gallery directory: the job manifest, one record and PNG(s) per finished channel, the sprite sheets.

    DIR/gallery.json                      the job: model, model fingerprint, settings, format, tool version
    DIR/layers.json                       the layers rendered so far, in model order, with their channel counts
    DIR/commits.log                       one JSON line per committed channel (for people and tests)
    DIR/layers/<layer>/0100.png           channel 100's image (tile x tile RGB)
    DIR/layers/<layer>/0100_neg.png       its negative optimum (when the job renders negatives)
    DIR/layers/<layer>/0100.json          its record; written last: the channel is done iff this exists
    DIR/layers/<layer>/sprites.png/.json  the layer's sprite sheet and its index
    DIR/site/                             the static site (lucid_fast.gallery.site)

Every file is written to a temporary name in the same directory and renamed over its final name
(:func:`atomic_write`), and a channel's record is written after its images. A process killed at any moment
(``kill -9``) leaves each channel either done (record present and complete) or not done (no record; an image
without a record is overwritten when the channel is rendered again): nothing half-written is taken for done.
"""
from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np

from lucid_fast.misc.atomic import TEMP_SUFFIX
from lucid_fast.misc.atomic import atomic_write as _atomic_write
from lucid_fast.misc.image import encode_png

from .settings import FORMAT, Settings

MANIFEST = "gallery.json"
LAYER_INDEX = "layers.json"
TMP_SUFFIX = TEMP_SUFFIX  # what temporary files end with (lucid_fast.misc.atomic)


class GalleryMismatchError(ValueError):
    """The directory holds a gallery job with different settings (or model) from the one asked for."""


def atomic_write(path, data):
    """Writes ``data`` (bytes or str) to ``path`` so that ``path`` is either its old content or all of ``data``
    (:func:`lucid_fast.misc.atomic.atomic_write`: a temporary file in the same directory, flushed and fsynced,
    then renamed over ``path``; removed if anything interrupts the write)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with _atomic_write(path) as f:
        f.write(data)


def read_png(path):
    """A PNG as an (h, w, 3) float32 array in [0, 1]."""
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32) / np.float32(255.0)


def layer_dirname(layer):
    """A file-system-safe directory name for a layer (names with '/' or ':' get a short hash suffix)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", layer)
    if safe != layer or safe in ("", ".", ".."):
        safe = f"{safe}-{hashlib.sha1(layer.encode()).hexdigest()[:8]}"
    return safe


def channel_stem(channel):
    return f"{int(channel):04d}"


class GalleryStore:
    """A gallery directory bound to one job (model fingerprint + settings).

    Opening a directory that already holds a job checks that it is the same job; a different model or any
    different setting raises :class:`GalleryMismatchError`, so old and new results never mix.
    """

    def __init__(self, root, model_name, model_fingerprint, settings, tool_version, create=True):
        self.root = os.path.abspath(os.fspath(root))
        self.model_name = model_name
        self.model_fingerprint = model_fingerprint
        self.settings = settings
        self.tool_version = tool_version
        self.manifest = {"format": FORMAT, "model": model_name, "model_fingerprint": model_fingerprint,
                         "settings": settings.as_dict(), "tool_version": tool_version}
        path = os.path.join(self.root, MANIFEST)
        if os.path.exists(path):
            self._check_manifest(path)
        elif create:
            if os.path.isdir(self.root) and any(not n.startswith(".") for n in os.listdir(self.root)):
                raise GalleryMismatchError(f"gallery: {self.root} exists, is not empty and holds no {MANIFEST}: "
                                           "choose an empty or new directory for a gallery")
            os.makedirs(self.root, exist_ok=True)
            atomic_write(path, json.dumps(self.manifest, indent=1))
        else:
            raise FileNotFoundError(f"gallery: no gallery in {self.root} (no {MANIFEST})")

    @classmethod
    def open(cls, root):
        """The gallery already in ``root``, bound to the job its manifest describes."""
        path = os.path.join(os.fspath(root), MANIFEST)
        try:
            with open(path) as f:
                m = json.load(f)
            settings = Settings.from_dict(m["settings"])
            return cls(root, m["model"], m["model_fingerprint"], settings, m["tool_version"], create=False)
        except FileNotFoundError:
            raise FileNotFoundError(f"gallery: no gallery in {os.fspath(root)!r} (no {MANIFEST})") from None
        except (ValueError, KeyError, TypeError) as err:
            raise GalleryMismatchError(f"gallery: {path} is not a readable gallery manifest ({err})") from err

    def _check_manifest(self, path):
        try:
            with open(path) as f:
                old = json.load(f)
            old_settings = Settings.from_dict(old["settings"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise GalleryMismatchError(f"gallery: {path} is not a readable gallery manifest ({err}); "
                                       "use another directory") from err
        problems = []
        if old.get("format") != FORMAT:
            problems.append(f"format: {old.get('format')!r} there, {FORMAT!r} here")
        if old.get("model_fingerprint") != self.model_fingerprint:
            problems.append(f"model: {old.get('model')!r} (weights {str(old.get('model_fingerprint'))[:12]}) there, "
                            f"{self.model_name!r} (weights {self.model_fingerprint[:12]}) here")
        if old.get("tool_version") != self.tool_version:
            problems.append(f"lucid_fast version: {old.get('tool_version')!r} there, {self.tool_version!r} here")
        problems += [d.replace(" vs ", " there, ", 1) + " here" for d in old_settings.differences(self.settings)]
        if problems:
            raise GalleryMismatchError(
                f"gallery: {self.root} holds a job with different settings ({'; '.join(problems)}). Results of "
                "different settings are never mixed: rerun with the directory's settings to resume it, or "
                "write this job to another directory.")

    # -- paths ------------------------------------------------------------------------------------------------
    def layer_dir(self, layer):
        return os.path.join(self.root, "layers", layer_dirname(layer))

    def image_path(self, layer, channel, negative=False):
        return os.path.join(self.layer_dir(layer), channel_stem(channel) + ("_neg" if negative else "") + ".png")

    def record_path(self, layer, channel):
        return os.path.join(self.layer_dir(layer), channel_stem(channel) + ".json")

    # -- records ----------------------------------------------------------------------------------------------
    def read_record(self, layer, channel):
        """The channel's record if the channel is done (record readable, this job's, images present), else
        None."""
        try:
            with open(self.record_path(layer, channel)) as f:
                rec = json.load(f)
        except (OSError, ValueError):
            return None
        return rec if self._is_done(rec, layer, channel) else None

    def _is_done(self, rec, layer, channel):
        if (not isinstance(rec, dict) or rec.get("layer") != layer or rec.get("channel") != channel
                or rec.get("model_fingerprint") != self.model_fingerprint
                or rec.get("settings") != self.settings.as_dict()):
            return False
        layer_dir = self.layer_dir(layer)
        return all(os.path.exists(os.path.join(layer_dir, rec[key])) for key in ("image", "negative_image")
                   if key in rec)

    def done_channels(self, layer, channels):
        return [c for c in channels if self.read_record(layer, c) is not None]

    def commit(self, layer, channel, image_u8, record, negative_u8=None):
        """Writes a finished channel: image(s) first, then the record (the commit point)."""
        os.makedirs(self.layer_dir(layer), exist_ok=True)
        atomic_write(self.image_path(layer, channel), encode_png(image_u8))
        record = dict(record)
        record["image"] = os.path.basename(self.image_path(layer, channel))
        if negative_u8 is not None:
            atomic_write(self.image_path(layer, channel, True), encode_png(negative_u8))
            record["negative_image"] = os.path.basename(self.image_path(layer, channel, True))
        atomic_write(self.record_path(layer, channel), json.dumps(record, indent=1))

    def update_layer_index(self, layers):
        """Adds ``[(layer, channel count, position in the model)]`` to ``layers.json`` (the site's layer order)."""
        index = self.layer_index()
        known = {e["layer"]: e for e in index}
        for name, n, pos in layers:
            known[name] = {"layer": name, "channels": int(n), "position": int(pos), "dir": layer_dirname(name)}
        entries = sorted(known.values(), key=lambda e: (e["position"], e["layer"]))
        atomic_write(os.path.join(self.root, LAYER_INDEX), json.dumps(entries, indent=1))

    def layer_index(self):
        try:
            with open(os.path.join(self.root, LAYER_INDEX)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return []

    def layers_on_disk(self, layer=None):
        """``{layer name: [done channels]}`` for every layer with at least one done channel (only ``layer``'s
        directory is read when it is given)."""
        out = {}
        base = os.path.join(self.root, "layers")
        if not os.path.isdir(base):
            return out
        dirs = [layer_dirname(layer)] if layer is not None else sorted(os.listdir(base))
        for d in dirs:
            if not os.path.isdir(os.path.join(base, d)):
                continue
            for name in sorted(os.listdir(os.path.join(base, d))):
                if not re.fullmatch(r"\d{4,}\.json", name):
                    continue
                try:
                    with open(os.path.join(base, d, name)) as f:
                        rec = json.load(f)
                except (OSError, ValueError):
                    continue
                name_, ch = rec.get("layer"), rec.get("channel")
                if isinstance(name_, str) and isinstance(ch, int) and (layer is None or name_ == layer) \
                        and self._is_done(rec, name_, ch):
                    out.setdefault(name_, []).append(ch)
        return {k: sorted(v) for k, v in out.items()}

    def remove_stale_temporaries(self):
        """Deletes temporary files left by killed writers (they never hold a committed result)."""
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                if name.endswith(TMP_SUFFIX):
                    try:
                        os.unlink(os.path.join(dirpath, name))
                    except OSError:
                        pass
