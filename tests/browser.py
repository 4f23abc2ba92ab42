"""A real browser for the tests of our HTML pages: Debian's Chromium driven by playwright (no browser download).

    def test_page(browser):                       # the session-wide fixture from tests/conftest.py
        page, errors = open_page(browser, "file:///.../index.html")
        page.hover("#cell-3")
        assert not errors, errors

`.ci/run` installs the `chromium` package. Where it is missing the fixture fails with what to install: a page
test that cannot run is a failure, not a skip.
"""
import shutil

# Chromium's background services try the network at start-up; this machine's closed network refuses them
# many times over, so switch them off (and the sandbox, which needs privileges a CI container lacks).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def chromium_path():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("no Chromium on PATH: install Debian's `chromium` package (`apt-get install -y chromium`, "
                       "as .ci/run does) to run the browser tests")


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def open_page(browser, url, wait_until="load"):
    """Opens ``url`` in a new page; returns (page, errors): console errors, page errors and failed requests
    are appended to ``errors`` as they happen."""
    page = browser.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("requestfailed", lambda req: errors.append(f"requestfailed: {req.url} ({req.failure})"))
    page.goto(url, wait_until=wait_until)
    return page, errors
