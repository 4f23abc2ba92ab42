"""The static site of a gallery: ``DIR/site/index.html`` (the layers), one grid page per layer, one page per channel.

Self-contained: the pages, their CSS (inline) and copies of the images live under ``DIR/site/`` and link to each
other by relative paths, so the folder opens from disk (``file://``) or from any static host, with no server and
no script. The objective curve of a channel is an inline SVG drawn from its record.

    site/index.html                   layers, with channel counts and a strip of thumbnails
    site/<layer>/index.html           every rendered channel of the layer, in a grid (links to the channel pages)
    site/<layer>/0100.html            channel 100: image (and negative optimum), objective curve, settings
    site/<layer>/img/0100.png         the images (hard links to, or copies of, the gallery's files)
    site/<layer>/sprites.png          the layer's sprite sheet
"""
from __future__ import annotations

import html
import json
import os
import shutil

from .settings import Settings
from .store import GalleryStore, atomic_write, channel_stem

SITE = "site"
THUMBS_ON_INDEX = 12
FRAMEWORK_NAMES = {"tensorflow": "TensorFlow", "torch": "PyTorch"}  # as the site names them

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#fafafa;color:#222}
header{background:#20262e;color:#eee;padding:10px 20px}
header a{color:#9cf;text-decoration:none}
main{padding:16px 20px}
h1{font-size:20px;margin:4px 0}
h2{font-size:16px;margin:18px 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(var(--tile,96px),1fr));gap:6px}
.cell{display:block;background:#fff;border:1px solid #ddd;text-decoration:none;color:#444;font-size:11px;
      text-align:center}
.cell:hover{border-color:#36c}
.cell img{display:block;width:100%;image-rendering:pixelated}
.layer{background:#fff;border:1px solid #ddd;padding:8px 12px;margin-bottom:10px}
.layer h2{margin:2px 0 6px}
.strip{display:flex;gap:4px;flex-wrap:wrap}
.strip img{width:64px;height:64px;image-rendering:pixelated}
.pair{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}
figure{margin:0}
figure img{width:320px;height:320px;image-rendering:pixelated;border:1px solid #ccc;background:#fff}
figcaption{font-size:12px;color:#555}
table{border-collapse:collapse;font-size:13px;background:#fff}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
nav.pn{margin:10px 0;font-size:14px}
nav.pn a{margin-right:14px}
svg text{font-size:11px;fill:#444}
.muted{color:#777;font-size:13px}
"""


def _page(title, crumbs, body):
    crumb_html = " / ".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a>' if href else html.escape(text)
                            for text, href in crumbs)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n"
            f"<body><header>{crumb_html}</header><main>\n{body}\n</main></body></html>\n")


def _link_or_copy(src, dst):
    """Puts ``src`` at ``dst`` (a hard link when the file system allows it, else a copy), replacing it atomically."""
    tmp = dst + ".tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    if os.path.lexists(tmp):  # dst was already a link to src: rename() of a file onto itself leaves tmp in place
        os.unlink(tmp)


def objective_svg(trace, negative_trace=None, width=520, height=220):
    """An inline SVG line chart of the objective per step (and of the negative optimum's, dashed)."""
    series = [("objective", trace, "#1f6feb", "")]
    if negative_trace:
        series.append(("negative optimum's objective", negative_trace, "#d1242f", ' stroke-dasharray="5,3"'))
    values = [v for _, t, _, _ in series for v in t]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        lo, hi = lo - 1.0, hi + 1.0
    n = max(len(t) for _, t, _, _ in series)
    left, right, top, bottom = 56, 10, 10, 28
    w, h = width - left - right, height - top - bottom

    def xy(i, v):
        x = left + (w * i / max(n - 1, 1))
        y = top + h * (hi - v) / (hi - lo)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="objective per step">',
             f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fff" stroke="#ccc"/>']
    for frac in (0.0, 0.5, 1.0):
        v = hi - frac * (hi - lo)
        y = top + frac * h
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{v:.3g}</text>')
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
    parts.append(f'<text x="{left}" y="{height - 8}">step 1</text>')
    parts.append(f'<text x="{left + w}" y="{height - 8}" text-anchor="end">step {n}</text>')
    for label, t, color, dash in series:
        pts = " ".join(xy(i, v) for i, v in enumerate(t))
        parts.append(f'<polyline class="curve" fill="none" stroke="{color}" stroke-width="1.5"{dash} '
                     f'points="{pts}"><title>{html.escape(label)}</title></polyline>')
    parts.append("</svg>")
    return "".join(parts)


def _settings_rows(settings):
    """A settings dict (the store's or a record's) as the rows shown: the schedule that ran in place of the
    learning rate and transforms a preset overrides (:meth:`Settings.display_rows`)."""
    try:
        return Settings.from_dict(settings).display_rows()
    except (TypeError, ValueError):  # settings this version does not know: shown as stored
        return list(settings.items())


def _settings_table(settings, extra=()):
    rows = _settings_rows(settings) + list(extra)
    return "<table>" + "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                               for k, v in rows) + "</table>"


def build_site(out):
    """(Re)builds ``out/site/`` from the gallery in ``out`` (every page rewritten, atomically); returns the path of
    ``site/index.html``."""
    store = GalleryStore.open(out)
    site = os.path.join(store.root, SITE)
    os.makedirs(site, exist_ok=True)
    done = store.layers_on_disk()
    index = [e for e in store.layer_index() if done.get(e["layer"])]
    indexed = {e["layer"] for e in index}
    index += [{"layer": name, "channels": None, "dir": os.path.basename(store.layer_dir(name))}
              for name in sorted(done) if name not in indexed]
    model = store.model_name
    settings = store.settings.as_dict()
    sections = []
    for entry in index:
        layer, ldir = entry["layer"], entry["dir"]
        channels = done[layer]
        records = {c: store.read_record(layer, c) for c in channels}
        _build_layer(store, site, layer, ldir, channels, records, entry.get("channels"))
        thumbs = "".join(f'<a href="{ldir}/{channel_stem(c)}.html"><img src="{ldir}/img/{channel_stem(c)}.png" '
                         f'alt="channel {c}" title="channel {c}"></a>' for c in channels[:THUMBS_ON_INDEX])
        of = f" of {entry['channels']}" if entry.get("channels") else ""
        sections.append(f'<div class="layer"><h2><a href="{ldir}/index.html">{html.escape(layer)}</a></h2>'
                        f'<div class="muted">{len(channels)}{of} channels rendered</div>'
                        f'<div class="strip">{thumbs}</div></div>')
    total = sum(len(v) for v in done.values())
    framework = store.framework
    on = f" on {FRAMEWORK_NAMES.get(framework, framework)}" if framework else ""
    body = (f"<h1>{html.escape(model)}: feature visualizations</h1>"
            f'<p class="muted">{total} channels in {len(index)} layer(s); every image maximizes one channel\'s '
            f"mean activation (Lucid's channel objective), rendered by lucid_fast {html.escape(store.tool_version)}"
            f"{html.escape(on)}.</p>" + "".join(sections) + "<h2>Settings</h2>"
            + _settings_table(settings, [("framework", FRAMEWORK_NAMES.get(framework, framework))] if framework
                              else ()))
    path = os.path.join(site, "index.html")
    atomic_write(path, _page(f"{model} gallery", [(f"{model} gallery", None)], body))
    atomic_write(os.path.join(site, "gallery.json"), json.dumps(
        {"model": model, **({"framework": framework} if framework else {}), "settings": settings,
         "schedule": store.settings.schedule(),
         "layers": [{"layer": e["layer"], "dir": e["dir"], "channels": done[e["layer"]]} for e in index]}, indent=1))
    return path


def _build_layer(store, site, layer, ldir, channels, records, n_channels):
    out_dir = os.path.join(site, ldir)
    os.makedirs(os.path.join(out_dir, "img"), exist_ok=True)
    model = store.model_name
    sprites = os.path.join(store.layer_dir(layer), "sprites.png")
    has_sprites = os.path.exists(sprites)
    if has_sprites:
        _link_or_copy(sprites, os.path.join(out_dir, "sprites.png"))
        _link_or_copy(os.path.splitext(sprites)[0] + ".json", os.path.join(out_dir, "sprites.json"))
    tile = min(160, max(64, store.settings.size))
    cells = []
    for c in channels:
        rec = records[c]
        stem = channel_stem(c)
        _link_or_copy(store.image_path(layer, c), os.path.join(out_dir, "img", stem + ".png"))
        if "negative_image" in rec:
            _link_or_copy(store.image_path(layer, c, True), os.path.join(out_dir, "img", stem + "_neg.png"))
        final = rec["objective_trace"][-1] if rec["objective_trace"] else float("nan")
        cells.append(f'<a class="cell" id="c{c}" href="{stem}.html" title="channel {c}: objective {final:.3g}">'
                     f'<img src="img/{stem}.png" alt="channel {c}" loading="lazy">{c}</a>')
    crumbs = [(f"{model} gallery", "../index.html"), (layer, None)]
    of = f" of {n_channels}" if n_channels else ""
    sheet = ' &middot; <a href="sprites.png">sprite sheet</a> (<a href="sprites.json">index</a>)' if has_sprites else ""
    body = (f"<h1>{html.escape(layer)}</h1><p class=\"muted\">{len(channels)}{of} channels rendered{sheet}</p>"
            f'<div class="grid" style="--tile:{tile}px">{"".join(cells)}</div>')
    atomic_write(os.path.join(out_dir, "index.html"), _page(f"{layer} - {model}", crumbs, body))
    for i, c in enumerate(channels):
        _build_channel(out_dir, model, layer, c, records[c], channels[i - 1] if i else None,
                       channels[i + 1] if i + 1 < len(channels) else None)


def _build_channel(out_dir, model, layer, c, rec, prev_c, next_c):
    stem = channel_stem(c)
    figs = [f'<figure><img src="img/{stem}.png" alt="channel {c}, positive optimum">'
            f"<figcaption>maximizes {html.escape(rec['objective'])}</figcaption></figure>"]
    if "negative_image" in rec:
        figs.append(f'<figure><img src="img/{stem}_neg.png" alt="channel {c}, negative optimum">'
                    f"<figcaption>minimizes it (negative optimum)</figcaption></figure>")
    trace = rec["objective_trace"]
    neg = rec.get("negative_objective_trace")
    neg_for_plot = [-v for v in neg] if neg else None  # plotted as the channel's value: the curves diverge
    curve = objective_svg(trace, neg_for_plot)
    nav = ['<nav class="pn">']
    if prev_c is not None:
        nav.append(f'<a rel="prev" href="{channel_stem(prev_c)}.html">&larr; channel {prev_c}</a>')
    nav.append('<a href="index.html">all channels</a>')
    if next_c is not None:
        nav.append(f'<a rel="next" href="{channel_stem(next_c)}.html">channel {next_c} &rarr;</a>')
    nav.append("</nav>")
    worker = rec.get("worker", {})
    framework = rec.get("framework", worker.get("framework"))
    version = f" {worker['framework_version']}" if worker.get("framework_version") else ""
    extra = ([("framework", f"{FRAMEWORK_NAMES.get(framework, framework)}{version}")] if framework else []) + [("seed entropy of the unit", rec["unit"]["seed_entropy"]),
             ("rendered together with channels", rec["unit"]["channels"]),
             ("objective, first / last step", f"{trace[0]:.4g} / {trace[-1]:.4g}" if trace else "-"),
             ("wall time (share of the unit)", f"{rec['wall_time_s']:.1f} s"),
             ("rendered on", f"{worker.get('host', '?')} (pid {worker.get('pid', '?')}, "
                             f"{worker.get('tf_intra_op_threads', worker.get('torch_threads', '?'))} thread(s))"),
             ("lucid_fast version", rec.get("tool_version")), ("created", rec.get("created"))]
    legend = ("blue: the channel's mean activation at each step; dashed red: the same channel on the negative "
              "optimum's image") if neg else "the channel's mean activation (the objective) at each step"
    body = ("".join(nav) + f"<h1>{html.escape(layer)} : {c}</h1>"
            f'<div class="pair">{"".join(figs)}</div>'
            f"<h2>Objective</h2>{curve}<p class=\"muted\">{legend}</p>"
            f"<h2>Settings</h2>{_settings_table(rec['settings'], extra)}")
    crumbs = [(f"{model} gallery", "../index.html"), (layer, "index.html"), (f"channel {c}", None)]
    atomic_write(os.path.join(out_dir, stem + ".html"), _page(f"{layer}:{c} - {model}", crumbs, body))
