"""The package's structure, read from the source (tests/structure.py holds the rules and the analysis):

(a) no import cycles between modules; (b) no underscore-private names imported across top-level subpackages
(``lucid_fast._bindings`` is open to ``ops`` and ``optvis`` only); (c) no import that runs up the layers
_bindings < ops < misc < models < modelzoo < optvis < recipes/attribution/gallery/views < cli/bench/__main__;
(d) no Python file over 600 lines; (e) no benchmark-only module at the package's top level; (f) the engine step,
lucid_fast/optvis/engine.py, loads no TensorFlow.

Each failure lists the offending modules with file:line. ``python tests/structure.py [REPO_ROOT]`` prints the
same facts as a summary. The last tests check the analysis itself on small made-up trees.
"""
import os
import textwrap

import pytest

import structure

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


@pytest.fixture(scope="module")
def graph():
    return structure.build_graph(ROOT)


def _fail(title, lines, hint):
    pytest.fail(f"{title}\n" + "\n".join(f"  {line}" for line in lines) + f"\n{hint}", pytrace=False)


# ------------------------------------------------------------------------------------------------ the package

def test_no_import_cycles(graph):
    cycles = structure.import_cycles(graph)
    if cycles:
        lines = []
        for comp, edges in cycles:
            lines.append(f"cycle of {len(comp)} modules: {', '.join(comp)}")
            lines.extend(f"    {imp.describe(module_only=True)}" for imp in edges)
        _fail(f"(a) {len(cycles)} import cycle(s); the imports inside each:", lines,
              "Function-level imports count: cut one edge of each cycle (move the shared code down a layer).")


def test_no_private_imports_across_subpackages(graph):
    found = structure.private_imports(graph)
    if found:
        _fail(f"(b) {len(found)} import(s) of underscore-private names owned by another subpackage:",
              [imp.describe() for imp in found],
              "Make the name public in its owner (drop the underscore, document it), or move the code into the "
              "owner. lucid_fast._bindings is open to lucid_fast.ops and lucid_fast.optvis only; others go "
              "through lucid_fast.ops.")


def test_imports_follow_the_layers(graph):
    up = structure.upward_imports(graph)
    unlayered = structure.unlayered_modules(graph)
    lines = [f"{imp.describe()}  [{structure.layer_name(li)} < {structure.layer_name(lt)}]" for imp, li, lt in up]
    lines += [f"{m}: in no layer (add its subpackage to LAYERS in tests/structure.py)" for m in unlayered]
    if lines:
        order = " < ".join("(" + ", ".join(u for u in layer if u) + ")" for layer in structure.LAYERS)
        _fail(f"(c) {len(up)} upward import(s), {len(unlayered)} module(s) outside the layering:", lines,
              f"Layers, lowest first: {order}. A module may import its own layer or below.")


def test_no_python_file_over_600_lines():
    long = structure.long_files(ROOT, structure.MAX_LINES)
    if long:
        _fail(f"(d) {len(long)} Python file(s) over {structure.MAX_LINES} lines:", [f"{p}: {n} lines" for p, n in long],
              "Split each along its seams.")


def test_no_benchmark_modules_at_package_top_level():
    found = structure.bench_modules_at_top(ROOT)
    if found:
        _fail(f"(e) {len(found)} benchmark-only module(s) at the top level of lucid_fast:", found,
              "Move them into a bench package (lucid_fast/bench/) or out of the package.")


def test_engine_step_loads_no_tensorflow(graph):
    chains = structure.engine_tensorflow(graph)
    if chains is None:
        pytest.fail(f"(f) {structure.ENGINE} does not exist (lucid_fast/optvis/engine.py): nothing to check",
                    pytrace=False)
    if chains:
        _fail(f"(f) {structure.ENGINE} reaches TensorFlow ({'/'.join(structure.TF_MODULES)}) {len(chains)} way(s):",
              [structure.format_chain(chain) for chain in chains],
              "The engine may not import TensorFlow even lazily, nor import (at any level) a lucid_fast module "
              "that imports it at module level, directly or through its own module-level imports or parent "
              "packages.")


# ------------------------------------------------------------------------------------------------ the analysis

def _tree(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return structure.build_graph(str(tmp_path))


def test_analysis_resolves_relative_and_bindings_imports(tmp_path):
    g = _tree(tmp_path, {
        "lucid_fast/__init__.py": "",
        "lucid_fast/ops.py": "from lucid_fast._bindings.op_tv import total_variation\n",
        "lucid_fast/optvis/__init__.py": "",
        "lucid_fast/optvis/param/__init__.py": "from . import core\n",
        "lucid_fast/optvis/param/core.py": "from ..transform import jitter\nfrom ... import ops\n",
        "lucid_fast/optvis/transform.py": "def jitter():\n    from lucid_fast._bindings import warp_matrices\n",
        "bindings/__init__.py": "",
        "bindings/op_tv.py": "from . import checks\n",
        "bindings/checks.py": "",
        "bindings/warp_matrices.py": "",
    })
    edges = {(i.importer, i.target, i.function_level) for i in g.edges()}
    assert ("lucid_fast.optvis.param", "lucid_fast.optvis.param.core", False) in edges
    assert ("lucid_fast.optvis.param.core", "lucid_fast.optvis.transform", False) in edges
    assert ("lucid_fast.optvis.param.core", "lucid_fast.ops", False) in edges
    assert ("lucid_fast.optvis.transform", "lucid_fast._bindings.warp_matrices", True) in edges
    assert ("lucid_fast._bindings.op_tv", "lucid_fast._bindings.checks", False) in edges
    assert ("lucid_fast.ops", "lucid_fast._bindings.op_tv", False) in edges
    assert structure.import_cycles(g) == []
    assert structure.private_imports(g) == []  # ops and optvis may use _bindings
    assert structure.upward_imports(g) == []


def test_analysis_finds_each_kind_of_problem(tmp_path):
    g = _tree(tmp_path, {
        "lucid_fast/__init__.py": "",
        "lucid_fast/ops.py": "",
        "lucid_fast/misc/__init__.py": "",
        "lucid_fast/misc/io.py": "def f():\n    from lucid_fast.models import load\n",  # upward, and a cycle
        "lucid_fast/models.py": "from lucid_fast.misc import io\nload = 1\n",
        "lucid_fast/optvis/__init__.py": "from . import render\n",
        "lucid_fast/optvis/render.py": "import tensorflow as tf\n_x = 1\n",
        "lucid_fast/optvis/engine.py": "from lucid_fast.ops import *\nfrom lucid_fast.misc import io\n",
        "lucid_fast/gallery/__init__.py": "",
        "lucid_fast/gallery/job.py": (
            "from lucid_fast.optvis.render import _x\n"
            "from lucid_fast._bindings import checks\n"
            "from lucid_fast.optvis import render\n"
            "y = render._x\n"
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    import lucid_fast.cli\n"
        ),
        "lucid_fast/cli.py": "",
        "lucid_fast/bench_x.py": "",
        "lucid_fast/widgets.py": "",
        "bindings/__init__.py": "",
        "bindings/checks.py": "\n" * 601,
    })
    cycles = structure.import_cycles(g)
    assert [c for c, _ in cycles] == [["lucid_fast.misc.io", "lucid_fast.models"]]
    private = {(i.importer, i.path, i.kind) for i in structure.private_imports(g)}
    assert private == {("lucid_fast.gallery.job", "lucid_fast.optvis.render._x", "import"),
                       ("lucid_fast.gallery.job", "lucid_fast._bindings.checks", "import"),
                       ("lucid_fast.gallery.job", "lucid_fast.optvis.render._x", "attribute")}
    up = {(i.importer, i.target) for i, _, _ in structure.upward_imports(g)}
    assert up == {("lucid_fast.misc.io", "lucid_fast.models"), ("lucid_fast.gallery.job", "lucid_fast.cli")}
    assert structure.unlayered_modules(g) == ["lucid_fast.widgets"]
    assert structure.long_files(str(tmp_path)) == [("bindings/checks.py", 601)]
    assert structure.bench_modules_at_top(str(tmp_path)) == ["lucid_fast/bench_x.py"]
    # the engine's package lucid_fast.optvis imports render at module level, which imports TensorFlow;
    # the models reached through misc.io are imported in a function there, so they do not count
    chains = structure.engine_tensorflow(g)
    assert len(chains) == 1
    assert structure.format_chain(chains[0]).endswith("lucid_fast.optvis.render imports tensorflow")
    assert [structure.format_chain(c).split(" -> ")[0] for c in chains] == [
        "lucid_fast.optvis.engine is in package lucid_fast.optvis"]


def test_analysis_reports_a_missing_engine_and_lazy_tensorflow_in_it(tmp_path):
    g = _tree(tmp_path, {"lucid_fast/__init__.py": "", "lucid_fast/optvis/__init__.py": ""})
    assert structure.engine_tensorflow(g) is None
    (tmp_path / "lucid_fast/optvis/engine.py").write_text("def step():\n    import tensorflow\n")
    g = structure.build_graph(str(tmp_path))
    assert [structure.format_chain(c) for c in structure.engine_tensorflow(g)] == [
        "lucid_fast/optvis/engine.py:2: lucid_fast.optvis.engine imports tensorflow (in a function)"]
