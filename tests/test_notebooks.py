"""Every notebook in notebooks/ runs headlessly, small (capped steps and sizes), and its final cell's checks
pass — so a silently broken feature fails the suite. Full runs (Lucid's step counts) are how the committed
outputs were made; see notebooks/README.md."""
import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "**", "*.ipynb"), recursive=True))
QUICK_STEPS = "12"
QUICK_SIZE = "64"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.relpath(p, ROOT) for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is a test dependency")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is a test dependency")
    nb = nbformat.read(path, as_version=4)
    env_keep = {k: os.environ.get(k) for k in ("LUCID_FAST_NOTEBOOK_STEPS", "LUCID_FAST_NOTEBOOK_SIZE")}
    os.environ["LUCID_FAST_NOTEBOOK_STEPS"] = QUICK_STEPS
    os.environ["LUCID_FAST_NOTEBOOK_SIZE"] = QUICK_SIZE
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        for k, v in env_keep.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert any(c.cell_type == "code" and "assert" in c.source for c in nb.cells[-3:]), \
        f"{os.path.relpath(path, ROOT)} must end with a cell that asserts what it showed"


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"
