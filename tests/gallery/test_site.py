"""The static site, in a real browser (headless Chromium): every page loads without errors, every link and image
resolves, the channel pages carry the image, the objective curve and the settings; the folder works alone."""
import json
import os
import shutil
from urllib.parse import unquote, urlparse

import pytest

from browser import open_page
from lucid_fast import gallery

STEPS = 6


@pytest.fixture(scope="module")
def built_gallery(tmp_path_factory, tiny_model):
    out = tmp_path_factory.mktemp("site") / "g"
    res = gallery.run(tiny_model, "conv1,conv2", out, channels="0:5", size=16, steps=STEPS, batch=3, seed=1,
                      negative=True, progress=False)
    return out, res


def _crawl(browser, site):
    """Visits every page reachable from index.html; returns {page path: number of channel curves}."""
    seen, todo, curves = set(), [os.path.join(site, "index.html")], {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        page, errors = open_page(browser, "file://" + path)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        broken = page.eval_on_selector_all(
            "img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)")
        if broken:  # lazily loaded thumbnails: scroll them into view and wait
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            page.wait_for_function("[...document.images].every(i => i.complete)")
            broken = page.eval_on_selector_all("img", "els => els.filter(e => !(e.naturalWidth > 0)).map(e => e.src)")
        curves[path] = page.eval_on_selector_all(
            "svg polyline.curve", "els => els.map(e => e.getAttribute('points').trim().split(/\\s+/).length)")
        page.close()
        assert not errors, (path, errors)
        assert not broken, (path, broken)
        for href in hrefs:
            url = urlparse(href)
            assert url.scheme == "file", (path, href)  # self-contained: nothing outside the folder
            target = unquote(url.path)
            assert os.path.isfile(target), (path, href)
            assert os.path.commonpath([target, site]) == site, (path, href)
            if target.endswith(".html"):
                todo.append(target)
    return curves


def test_site_pages_load_and_links_resolve(browser, built_gallery):
    out, res = built_gallery
    site = os.path.join(out, "site")
    assert res.site == os.path.join(site, "index.html")
    curves = _crawl(browser, site)
    channel_pages = {p: c for p, c in curves.items() if os.path.basename(p)[0].isdigit()}
    assert len(curves) == 1 + 2 + 10 and len(channel_pages) == 10  # index, 2 layer grids, 10 channel pages
    for path, points in channel_pages.items():
        assert points == [STEPS, STEPS], path  # the objective curve and the negative optimum's, one point a step


def test_channel_page_shows_its_record(browser, built_gallery):
    out, _ = built_gallery
    rec = json.load(open(os.path.join(out, "layers", "conv2", "0003.json")))
    page, errors = open_page(browser, "file://" + os.path.join(out, "site", "conv2", "0003.html"))
    assert page.inner_text("h1") == "conv2 : 3"
    sizes = page.eval_on_selector_all("figure img", "els => els.map(e => [e.naturalWidth, e.naturalHeight])")
    assert sizes == [[16, 16], [16, 16]]
    text = page.inner_text("table")
    assert "steps\t6" in text and "negative\tTrue" in text and str(rec["unit"]["channels"]) in text
    page.click("a[rel=next]")
    assert page.url.endswith("/conv2/0004.html")
    page.click("text=all channels")
    assert page.url.endswith("/conv2/index.html") and page.locator(".cell").count() == 5
    page.click("#c2")
    assert page.url.endswith("/conv2/0002.html")
    assert not errors, errors


def test_site_folder_works_on_its_own(browser, built_gallery, tmp_path):
    out, _ = built_gallery
    alone = str(tmp_path / "copied_site")
    shutil.copytree(os.path.join(out, "site"), alone)
    curves = _crawl(browser, alone)
    assert len(curves) == 13


def test_preset_pages_show_the_schedule_that_ran(tmp_path, tiny_model):
    """--preset fast runs 128 steps at 0.15 then 32 at 0.1 without transforms: the settings tables (index and
    channel page) and gallery.json say so, not the unused default learning_rate 0.05 (issue 24)."""
    out = tmp_path / "g"
    gallery.run(tiny_model, "conv1", out, channels="0:1", size=8, preset="fast", batch=1, seed=0, progress=False)
    site = os.path.join(out, "site")
    for page in (os.path.join(site, "index.html"), os.path.join(site, "conv1", "0000.html")):
        text = open(page, encoding="utf-8").read()
        assert ("128 steps at Adam 0.15 under Lucid&#x27;s standard transforms, then 32 steps at Adam 0.1 on the "
                "image itself (no transforms)") in text, page
        assert "<th>learning_rate</th>" not in text and "<td>0.05</td>" not in text, page
    meta = json.load(open(os.path.join(site, "gallery.json")))
    assert meta["schedule"] == [{"steps": 128, "learning_rate": 0.15, "transforms": "standard"},
                                {"steps": 32, "learning_rate": 0.1, "transforms": "none"}]
    assert meta["settings"]["preset"] == "fast"  # the stored settings are unchanged (resume compares them)


def test_settings_without_a_preset_show_the_learning_rate():
    from lucid_fast.gallery.settings import Settings

    rows = dict(Settings(steps=6, learning_rate=0.07).display_rows())
    assert rows["learning_rate"] == 0.07 and rows["transforms"] == "standard" and "schedule" not in rows


def test_rebuilding_the_site_leaves_no_temporary_files(built_gallery):
    """The site links the channel PNGs in; a rebuild over links that already point at them (rename of a file onto
    itself does nothing) must not leave its <name>.tmp behind."""
    out, _ = built_gallery
    for _ in range(2):
        gallery.build_site(str(out))
    left = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(out, "site")) for f in fs if f.endswith(".tmp")]
    assert left == []
