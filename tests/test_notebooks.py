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


def test_full_run_tool_restates_the_header_and_strips_only_tf_noise():
    """notebooks/run_full.py (which makes the committed outputs) rewrites the cap paragraph and drops
    TensorFlow's start-up lines and the execution timestamps, keeping every other output and metadata entry."""
    import importlib.util

    nbformat = pytest.importorskip("nbformat", reason="nbformat is a test dependency")
    spec = importlib.util.spec_from_file_location("run_full", os.path.join(ROOT, "notebooks", "run_full.py"))
    run_full = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_full)
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# Title\n\n*Outputs below were produced with steps capped at 96*.\n\nMore text."),
        v4.new_code_cell("x = 1", outputs=[
            v4.new_output("stream", name="stderr", text="WARNING: All log messages before absl::InitializeLog()"
                          " is called are written to STDERR\nI0000 00:00:1 cudart_stub.cc:31] no GPU\n"),
            v4.new_output("stream", name="stderr", text="I0000 00:00:1 cudart_stub.cc:31] no GPU\nreal warning\n"),
            v4.new_output("stream", name="stdout", text="objective 1.0 -> 9.0\n")]),
    ])
    nb.cells[1].metadata["execution"] = {"iopub.status.idle": "2026-11-28T17:49:21.537628Z"}
    nb.cells[1].metadata["tags"] = ["keep"]
    run_full._restate_header(nb, 12.4)
    run_full._strip_tf_noise(nb)
    run_full._strip_execution_metadata(nb)
    paras = nb.cells[0].source.split("\n\n")
    assert paras[0] == "# Title" and paras[2] == "More text."
    assert paras[1].startswith("*Outputs below come from a full run") and "(12 min" in paras[1]
    outs = nb.cells[1].outputs
    assert [o.text for o in outs] == ["real warning\n", "objective 1.0 -> 9.0\n"]
    assert nb.cells[1].metadata == {"tags": ["keep"]}
