"""docs/MIGRATING.md keeps its promise: every row of its table names tests, and those tests exist; the README
links to it."""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _table_rows():
    with open(os.path.join(ROOT, "docs", "MIGRATING.md")) as fh:
        lines = fh.read().splitlines()
    start = lines.index("| Lucid (TF1) | lucid_fast (TF2) | tests |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        rows.append(cells)
    return rows


def _test_functions():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "tests", "**", "test_*.py"), recursive=True):
        with open(path) as fh:
            names.update(re.findall(r"^def (test_\w+)\(", fh.read(), flags=re.M))
    return names


def test_every_row_names_tests_that_exist():
    rows = _table_rows()
    assert len(rows) >= 30, "the table lost rows"
    existing = _test_functions()
    for lucid, ours, tests in rows:
        named = re.findall(r"`(test_\w+)`", tests)
        assert named, f"row {lucid!r} names no test"
        missing = [t for t in named if t not in existing]
        assert not missing, f"row {lucid!r}: no test called {missing}"


def test_the_readme_links_the_guide():
    with open(os.path.join(ROOT, "README.md")) as fh:
        assert "docs/MIGRATING.md" in fh.read()
