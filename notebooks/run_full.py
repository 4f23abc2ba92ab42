"""Executes notebooks in place at the step counts and sizes written in their cells (no caps), for the outputs
committed with them.

    python notebooks/run_full.py notebooks/tutorial.ipynb [more.ipynb ...]

For each notebook: runs it with nbclient (the LUCID_FAST_NOTEBOOK_* caps removed from the environment),
replaces the paragraph that states the cap used for the committed outputs, and drops TensorFlow's start-up
log lines (absl, CUDA probing, CPU-feature notes) from the stderr outputs and nbclient's per-cell execution
timestamps. A notebook that fails is left as it was.
"""
import os
import re
import sys
import time

CAP_VARS = ("LUCID_FAST_NOTEBOOK_STEPS", "LUCID_FAST_NOTEBOOK_SIZE")
TF_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} |.*cudart_stub|.*cuda_platform"
                      r"|.*cpu_feature_guard|To enable the following instructions|.*rebuild TensorFlow"
                      r"|.*oneDNN custom operations)")


def _restate_header(nb, minutes):
    text = (f"*Outputs below come from a full run: the step counts and sizes written in the cells, no caps "
            f"({minutes:.0f} min on a 2-core CPU).* The environment variables `LUCID_FAST_NOTEBOOK_STEPS` and "
            f"`LUCID_FAST_NOTEBOOK_SIZE` cap them for quick runs; the test suite runs this notebook with steps "
            f"capped at 12 and images capped at 64 px.")
    for cell in nb.cells:
        if cell.cell_type == "markdown" and ("capped at" in cell.source or "full run" in cell.source):
            paras = cell.source.split("\n\n")
            k = next(j for j, p in enumerate(paras) if "capped at" in p or "full run" in p)
            paras[k] = text
            cell.source = "\n\n".join(paras)
            return
    raise ValueError("no paragraph stating how the outputs were produced (it mentions 'capped at')")


def _strip_tf_noise(nb):
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                lines = [ln for ln in out.text.splitlines(keepends=True) if ln.strip() and not TF_NOISE.match(ln)]
                if not lines:
                    continue
                out.text = "".join(lines)
            kept.append(out)
        cell.outputs = kept


def _strip_execution_metadata(nb):
    """Drops the per-cell execution timestamps nbclient records: they change on every run and say nothing."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def run(path):
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    env = {k: os.environ.pop(k) for k in CAP_VARS if k in os.environ}
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t0 = time.time()
    try:
        nbclient.NotebookClient(nb, timeout=3600, kernel_name="python3",
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}}).execute()
    finally:
        os.environ.update(env)
    minutes = (time.time() - t0) / 60
    _restate_header(nb, minutes)
    _strip_tf_noise(nb)
    _strip_execution_metadata(nb)
    nbformat.write(nb, path)
    return minutes


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        print(f"{p}: {run(p):.1f} min", flush=True)
