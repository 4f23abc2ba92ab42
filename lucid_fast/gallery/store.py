"""The gallery directory: the job manifest, one record and PNG(s) per finished channel, the sprite sheets.

    DIR/gallery.json                      the job: model, its framework, model fingerprint, settings, format,
                                          tool version
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

A record or image damaged after the fact (a record that is not this job's complete record, e.g. ``"image": null``
or no ``objective_trace``; a PNG that is truncated or not a PNG) makes its channel not done: the store notes the
file and what is wrong in :attr:`GalleryStore.problems`, the job prints each one and renders the channel again. A
``layers.json`` that is not a list of layer entries is reported the same way and rewritten.

Temporary files: only the gallery's own (``.<final name>.<8 random characters>.tmp``, as
:func:`lucid_fast.misc.atomic.atomic_write` names them, ``<final name>.<pid>.<hex>.tmp`` of earlier versions, and
the site's ``<name>.tmp``, next to the files they replace) are removed by :meth:`GalleryStore.remove_stale_temporaries`, and only in the folders the gallery writes
(the directory itself, ``layers/<layer>/`` and ``site/``); any other ``*.tmp`` file is left alone.
"""
from __future__ import annotations

import contextlib
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
LOG = "commits.log"
TMP_SUFFIX = TEMP_SUFFIX  # what temporary files end with (lucid_fast.misc.atomic)
# atomic_write's temporary names: "." + final name + "." + tempfile's 8 random characters + ".tmp"
_ATOMIC_TMP = re.compile(r"\.(?P<final>.+)\.[a-z0-9_]{8}" + re.escape(TMP_SUFFIX))
# and the names of earlier versions' writer: final name + "." + pid + "." + hex + ".tmp"
_LEGACY_TMP = re.compile(r"(?P<final>.+\.(?:png|json))\.\d+\.[0-9a-f]{4,32}" + re.escape(TMP_SUFFIX))
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk every complete PNG ends with


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
    """A PNG as an (h, w, 3) float32 array in [0, 1]; a file that cannot be decoded raises a ``ValueError``
    naming it."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.float32) / np.float32(255.0)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, SyntaxError) as err:  # PIL: truncated, not an image
        raise ValueError(f"gallery: {path} is not a readable PNG ({err}); delete it (or its channel's record) "
                         "and rerun the job to render it again") from err


def png_problem(path):
    """None if ``path`` looks like a complete PNG (its signature and final IEND chunk), else what is wrong."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            f.seek(max(size - len(_PNG_END), 0))
            tail = f.read()
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if head != _PNG_SIGNATURE:
        return "is not a PNG"
    if tail != _PNG_END:
        return "is truncated (no final IEND chunk)"
    return None


def _is_number_list(v):
    return isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)


def out_dir_problem(out, what="out"):
    """None if a gallery directory can be made or resumed at ``out``, else a sentence saying why not (checked
    before anything loads: ``out`` names a file, sits under a file, or its nearest existing folder is not
    writable)."""
    if isinstance(out, bool) or not isinstance(out, (str, os.PathLike)):
        return f"{what} must be a directory path, got {out!r}"
    out = os.fspath(out)
    if not out.strip():
        return f"{what} must name a directory, got {out!r}"
    path = os.path.abspath(out)
    if os.path.exists(path) and not os.path.isdir(path):
        return f"{what} {out!r} is a file; a gallery is a directory: name a new or gallery directory"
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{what} {out!r}: {existing!r} is a file, not a folder"
    import tempfile

    verb = "write in" if existing == path else "create folders in"
    try:  # the only reliable test (permissions, read-only file systems, /proc, root): make a folder there
        os.rmdir(tempfile.mkdtemp(prefix=".lucid-fast-probe.", dir=existing))
    except OSError as err:
        return f"{what} {out!r}: cannot {verb} {existing!r} ({err.strerror or err})"
    return None


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

    def __init__(self, root, model_name, model_fingerprint, settings, tool_version, create=True, framework=None):
        self.root = os.path.abspath(os.fspath(root))
        self.model_name = model_name
        self.framework = framework  # "tensorflow" / "torch" (None: a manifest written before it was recorded)
        self.model_fingerprint = model_fingerprint
        self.settings = settings
        self.tool_version = tool_version
        self.manifest = {"format": FORMAT, "model": model_name, "model_fingerprint": model_fingerprint,
                         "settings": settings.as_dict(), "tool_version": tool_version}
        if framework is not None:
            self.manifest["framework"] = framework
        self.problems = []  # [(path, what is wrong)] of damaged files met so far (see the module doc)
        self.replaced = None  # what differed in a job that committed no channel and was replaced by this one
        self._reported = set()
        path = os.path.join(self.root, MANIFEST)
        if os.path.exists(path):
            try:
                self._check_manifest(path)
            except GalleryMismatchError as err:
                if not create or self._has_records():
                    raise
                self.replaced = str(err).split(" (", 1)[-1].split("). ", 1)[0]
                # the job there never committed a channel (refused or failed before its first): replace it
                atomic_write(path, json.dumps(self.manifest, indent=1))
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.root, LAYER_INDEX))
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
            return cls(root, m["model"], m["model_fingerprint"], settings, m["tool_version"], create=False,
                       framework=m.get("framework"))
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

    def _has_records(self):
        """Whether any channel record (``layers/*/NNNN.json``) exists, whichever job wrote it."""
        base = os.path.join(self.root, "layers")
        try:
            dirs = os.listdir(base)
        except OSError:
            return False
        for d in dirs:
            try:
                if any(re.fullmatch(r"\d{4,}\.json", n) for n in os.listdir(os.path.join(base, d))):
                    return True
            except OSError:
                continue
        return False

    def _problem(self, path, what):
        if path not in self._reported:
            self._reported.add(path)
            self.problems.append((path, what))

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
        path = self.record_path(layer, channel)
        try:
            with open(path) as f:
                rec = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            self._problem(path, f"is not readable JSON ({err})")
            return None
        return rec if self._is_done(rec, layer, channel, path) else None

    def _is_done(self, rec, layer, channel, path=None):
        """Whether ``rec`` is this job's complete record of (layer, channel) with intact images; a record of
        this channel that is damaged is noted in :attr:`problems` (a record of another job is just not done)."""
        path = path or self.record_path(layer, channel)
        if not isinstance(rec, dict):
            self._problem(path, f"is not a record (a JSON {type(rec).__name__}, not an object)")
            return False
        if (rec.get("layer") != layer or rec.get("channel") != channel
                or rec.get("model_fingerprint") != self.model_fingerprint
                or rec.get("settings") != self.settings.as_dict()):
            return False
        wrong = self._record_problem(rec, layer, channel)
        if wrong:
            self._problem(path, wrong)
            return False
        return True

    def _record_problem(self, rec, layer, channel):
        """What is wrong with a record of this job (fields the site and sheets read, images), or None."""
        negative = bool(self.settings.negative)
        names = {"image": os.path.basename(self.image_path(layer, channel))}
        if negative:
            names["negative_image"] = os.path.basename(self.image_path(layer, channel, True))
        for key, name in names.items():
            if rec.get(key) != name:
                return f"its {key!r} is {rec.get(key)!r}, not {name!r}"
        traces = ["objective_trace"] + (["negative_objective_trace"] if negative else [])
        for key in traces:
            if not _is_number_list(rec.get(key)):
                return f"its {key!r} is missing or not a list of numbers"
        for key in ("objective",) + (("negative_objective",) if negative else ()):
            if not isinstance(rec.get(key), str):
                return f"its {key!r} is missing or not a string"
        unit = rec.get("unit")
        if not isinstance(unit, dict) or not {"channels", "seed_entropy"} <= set(unit):
            return "its 'unit' is missing or incomplete"
        wall = rec.get("wall_time_s")
        if isinstance(wall, bool) or not isinstance(wall, (int, float)):
            return "its 'wall_time_s' is missing or not a number"
        if "worker" in rec and not isinstance(rec["worker"], dict):
            return "its 'worker' is not an object"
        layer_dir = self.layer_dir(layer)
        for name in names.values():
            wrong = png_problem(os.path.join(layer_dir, name))
            if wrong:
                return f"its image {os.path.join(layer_dir, name)} {wrong}"
        return None

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
        """The entries of ``layers.json`` (``[]`` if it is missing; a damaged file is noted in :attr:`problems`
        and read as ``[]``, and the next :meth:`update_layer_index` rewrites it)."""
        path = os.path.join(self.root, LAYER_INDEX)
        try:
            with open(path) as f:
                index = json.load(f)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as err:
            self._problem(path, f"is not readable JSON ({err})")
            return []
        if not isinstance(index, list):
            self._problem(path, f"is a JSON {type(index).__name__}, not a list of layer entries")
            return []
        for e in index:
            if not (isinstance(e, dict) and isinstance(e.get("layer"), str) and isinstance(e.get("dir"), str)
                    and isinstance(e.get("position"), int) and not isinstance(e.get("position"), bool)
                    and (e.get("channels") is None or isinstance(e.get("channels"), int))):
                self._problem(path, f"holds an entry that is not {{'layer', 'channels', 'position', 'dir'}}: "
                                    f"{str(e)[:80]}")
                return []
        return index

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
                if not isinstance(rec, dict):
                    continue
                name_, ch = rec.get("layer"), rec.get("channel")
                if isinstance(name_, str) and isinstance(ch, int) and (layer is None or name_ == layer) \
                        and self._is_done(rec, name_, ch, os.path.join(base, d, name)):
                    out.setdefault(name_, []).append(ch)
        return {k: sorted(v) for k, v in out.items()}

    def remove_stale_temporaries(self):
        """Deletes the temporary files the gallery's killed writers left (they never hold a committed result):
        only names the gallery makes, in the folders it writes (see the module doc); returns their paths."""
        removed = []
        folders = [self.root]
        base = os.path.join(self.root, "layers")
        if os.path.isdir(base):
            folders += [os.path.join(base, d) for d in sorted(os.listdir(base))]
        site = os.path.join(self.root, "site")
        if os.path.isdir(site):
            folders += [dirpath for dirpath, _, _ in os.walk(site)]
        for folder in folders:
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            in_site = folder == site or folder.startswith(site + os.sep)
            for name in names:
                if not name.endswith(TMP_SUFFIX):
                    continue
                m = _ATOMIC_TMP.fullmatch(name) or _LEGACY_TMP.fullmatch(name)
                ours = m is not None and (folder != self.root
                                          or m.group("final") in (MANIFEST, LAYER_INDEX, LOG))
                # the site's hard links: "<page or image>.tmp" next to it (lucid_fast.gallery.site)
                ours = ours or (in_site and name[:-len(TMP_SUFFIX)].endswith((".png", ".html", ".json")))
                if ours:
                    path = os.path.join(folder, name)
                    try:
                        os.unlink(path)
                        removed.append(path)
                    except OSError:
                        pass
        return removed
