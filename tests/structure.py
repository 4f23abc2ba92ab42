"""The structure of the ``lucid_fast`` package, read from its source files (stdlib only: ``ast``, ``os``).

Builds the import graph of ``lucid_fast`` (``lucid_fast/``) and of its native layer ``lucid_fast._bindings``
(``bindings/``, which setup.py installs under that name), and reports what ``tests/test_structure.py`` keeps
empty:

(a) import cycles: strongly connected components of the module graph with more than one module;
(b) underscore-private names imported across top-level subpackages;
(c) imports that run up the layering (``LAYERS``), and modules that sit in no layer;
(d) Python files longer than ``MAX_LINES``;
(e) benchmark-only modules at the top level of the package (``BENCH_ONLY_AT_TOP``);
(f) TensorFlow reached from the engine step, ``lucid_fast/optvis/engine.py`` (``ENGINE``).

Nothing is imported or run: every fact comes from ``ast`` over the files as they are on disk.

The rules
---------
Graph. Every ``import``/``from ... import`` counts, at module level and inside functions, plus
``importlib.import_module("literal")`` and ``__import__("literal")``. Relative imports are resolved against the
importing module's package. ``from P import n`` is an edge to the module ``P.n`` when that is a module, else to
``P`` (the attribute ``n`` of ``P``). An import of ``a.b.c`` that names no module file is an edge to the longest
prefix that does. Imports under ``if TYPE_CHECKING:`` never run, so they make no cycle and load nothing for (f);
they still count as a design dependency for (b) and (c).

Units. The unit of a module is its first component below ``lucid_fast``: ``lucid_fast.optvis.param.core`` is in
unit ``optvis``, ``lucid_fast.models`` in ``models``, ``lucid_fast._bindings.checks`` in ``_bindings``, the package's
own ``lucid_fast/__init__.py`` in the root unit ``""``.

(b) Private. A path is private when one of its components below ``lucid_fast`` starts with ``_`` and is not a
dunder (``_bindings``, ``_preprocess``, ``_x``; not ``__version__``, ``__main__``). An import (or an attribute
reached through an imported module, ``render._x``) of a private path is allowed only inside its own unit. The one
exception: the native layer ``_bindings`` is the private back end of the kernels, so the units in
``BINDINGS_USERS`` (``ops``, which is its public face; ``optvis``, the engine that drives the kernels; ``models``,
whose adapters hand images to their framework through the DLPack seam, ``bindings/dlpack.py``; ``bench``, which
times the kernels themselves) may import its public modules and names (``lucid_fast._bindings.checks``); its own
private parts (``_cpu``) stay private to it, and every other unit goes through ``lucid_fast.ops``.

(c) Layers. ``LAYERS`` lists the units lowest first; a module may import modules of its own layer or a lower one.
The leaf utilities of ``BASE_MODULES`` (``misc.memory``, ``misc.image``, ...: stdlib and numpy only) count in the
lowest layer, so that the native layer's checks can use them.
The root ``lucid_fast/__init__.py`` is in the lowest layer (importing it is always allowed; it must import nothing
above ``_bindings``, which keeps ``import lucid_fast`` cheap). The benchmark-only top-level modules (``bench_*``,
``render_baseline``, ``_lucid_compat``) are counted in the ``bench`` layer, where they belong. A unit that is in
no layer is a failure of (c) as well: a new top-level module has to be placed in the layering.

(d) Long files: ``.py`` files under ``lucid_fast/`` and ``bindings/`` with more than ``MAX_LINES`` lines.

(e) Bench at top: ``lucid_fast/bench*.py``, ``lucid_fast/render_baseline.py``, ``lucid_fast/_lucid_compat.py``
(a ``lucid_fast/bench/`` package is the place for them and is not flagged).

(f) Engine without TensorFlow. The modules named in ``TF_MODULES`` load TensorFlow (``keras`` too: Keras 3's
default backend is TensorFlow, and this project installs it with TensorFlow). ``optvis/engine.py`` may not import
them at all, not even inside a function; and no ``lucid_fast`` module that it imports (at any level) may import them
at module level, nor any module those import at module level, transitively. Importing a module also runs its
parent packages' ``__init__.py``, so those are followed too. A missing ``engine.py`` is reported as a failure
rather than passing vacuously.

Usage: ``python tests/structure.py [REPO_ROOT]`` prints the metrics of the tree at REPO_ROOT (default: this
checkout).
"""
import ast
import os
import sys

PACKAGE = "lucid_fast"
BINDINGS = PACKAGE + "._bindings"
ENGINE = PACKAGE + ".optvis.engine"
MAX_LINES = 600

# lowest first; a module may import its own layer or below
LAYERS = (
    ("", "_bindings"),
    ("ops",),
    ("misc",),
    ("models",),
    ("modelzoo",),
    ("optvis",),
    ("recipes", "attribution", "gallery", "views"),
    ("cli", "bench", "__main__"),
)
BENCH_LAYER_EXTRA = ("render_baseline", "_lucid_compat")  # plus every unit named bench*
BINDINGS_USERS = ("ops", "optvis", "models", "bench")
# Leaf utilities that import nothing of lucid_fast (stdlib and numpy only), so the lowest layer can use them:
# ``bindings/checks.py`` refuses an allocation that would not fit in memory (``misc.memory``).
BASE_MODULES = ("misc.memory", "misc.atomic", "misc.image", "misc.notebook", "misc.download", "misc.seeding")
BENCH_ONLY_AT_TOP = ("render_baseline.py", "_lucid_compat.py")  # plus bench*.py
TF_MODULES = ("tensorflow", "keras", "tf_keras")
SKIP_DIRS = ("__pycache__", "build")
PY_EXT = (".py",)
CYTHON_EXT = (".pyx", ".pxi")
CXX_EXT = (".cpp", ".cc", ".cxx", ".c", ".h", ".hpp", ".hh", ".cu", ".cuh")


class Import:
    """One imported module or name. ``target`` is a lucid_fast module name, or ``None`` for an outside module
    (then ``external`` is its top-level name). ``path`` is the full dotted path imported (module plus name)."""

    __slots__ = ("importer", "file", "line", "target", "external", "path", "function_level", "type_only", "kind")

    def __init__(self, importer, file, line, target, external, path, function_level, type_only, kind="import"):
        self.importer = importer
        self.file = file
        self.line = line
        self.target = target
        self.external = external
        self.path = path
        self.function_level = function_level
        self.type_only = type_only
        self.kind = kind

    def where(self):
        return f"{self.file}:{self.line}"

    def describe(self, module_only=False):
        level = " (in a function)" if self.function_level else ""
        level += " (TYPE_CHECKING)" if self.type_only else ""
        what = self.target if module_only and self.target is not None else self.path
        verb = "uses" if self.kind == "attribute" else "imports"
        return f"{self.where()}: {self.importer} {verb} {what}{level}"


class Graph:
    def __init__(self, root, modules, packages, imports):
        self.root = root
        self.modules = modules  # name -> path relative to root
        self.packages = packages  # names whose file is an __init__.py
        self.imports = imports  # list of Import

    def edges(self, runtime_only=False, module_level_only=False):
        """lucid_fast-internal imports, importer != target."""
        for imp in self.imports:
            if imp.target is None or imp.target == imp.importer or imp.kind != "import":
                continue
            if runtime_only and imp.type_only:
                continue
            if module_level_only and imp.function_level:
                continue
            yield imp


# --------------------------------------------------------------------------------------------------- discovery

def _walk(top, exts):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(exts):
                yield os.path.join(dirpath, name)


def discover_modules(root):
    """{module name: path relative to root} for lucid_fast/ and bindings/, and the set of package names."""
    modules, packages = {}, set()
    for top, prefix in ((PACKAGE, PACKAGE), ("bindings", BINDINGS)):
        base = os.path.join(root, top)
        if not os.path.isdir(base):
            continue
        for path in _walk(base, PY_EXT + (".pyx",)):
            rel = os.path.relpath(path, base)
            parts = rel[: rel.rindex(".")].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
                name = ".".join([prefix] + parts)
                packages.add(name)
            else:
                name = ".".join([prefix] + parts)
            if name not in modules or path.endswith(".py"):  # a .py wins over a .pyx of the same name
                modules[name] = os.path.relpath(path, root)
    return modules, packages


# --------------------------------------------------------------------------------------------------- parsing

def _is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self):
        self.found = []  # (node, kind, payload, function_level, type_only)
        self._depth = 0
        self._type_only = 0
        self.attributes = []  # (dotted list, line)

    def _function(self, node):
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node):
        if _is_type_checking(node.test):
            self.visit(node.test)
            self._type_only += 1
            for stmt in node.body:
                self.visit(stmt)
            self._type_only -= 1
            for stmt in node.orelse:
                self.visit(stmt)
        else:
            self.generic_visit(node)

    def _add(self, node, kind, payload):
        self.found.append((node, kind, payload, self._depth > 0, self._type_only > 0))

    def visit_Import(self, node):
        self._add(node, "import", None)

    def visit_ImportFrom(self, node):
        self._add(node, "from", None)

    def visit_Call(self, node):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in ("import_module", "__import__") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and not arg.value.startswith("."):
                self._add(node, "dynamic", arg.value)
        self.generic_visit(node)

    def visit_Attribute(self, node):
        chain, cur = [], node
        while isinstance(cur, ast.Attribute):
            chain.append(cur.attr)
            cur = cur.value
        if isinstance(cur, ast.Name):
            self.attributes.append(([cur.id] + chain[::-1], node.lineno))
        # no generic_visit on the chain's inner Attributes: the outermost one carries the whole chain
        if not isinstance(cur, ast.Name):
            self.generic_visit(node)


def _longest_module(dotted, modules):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in modules:
            return cand
    return None


def _is_ours(dotted):
    return dotted == PACKAGE or dotted.startswith(PACKAGE + ".")


def _resolve_relative(importer, is_package, level, module):
    pkg = importer if is_package else importer.rpartition(".")[0]
    for _ in range(level - 1):
        pkg = pkg.rpartition(".")[0]
    return f"{pkg}.{module}" if module else pkg


def parse_imports(name, rel, root, modules, packages):
    path = os.path.join(root, rel)
    if not path.endswith(".py"):
        return []  # a Cython module: a node of the graph, its cimports are not read
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=rel)
    visitor = _ImportVisitor()
    visitor.visit(tree)
    out, bound = [], {}  # bound: local name -> dotted path of the lucid_fast module it stands for

    def record(node, dotted, fn, tc, kind="import"):
        if _is_ours(dotted):
            target = _longest_module(dotted, modules) or PACKAGE
            imp = Import(name, rel, node.lineno, target, None, dotted, fn, tc, kind)
        else:
            imp = Import(name, rel, node.lineno, None, dotted.split(".")[0], dotted, fn, tc, kind)
        out.append(imp)
        return imp

    for node, kind, payload, fn, tc in visitor.found:
        if kind == "dynamic":
            record(node, payload, fn, tc)
        elif kind == "import":
            for alias in node.names:
                record(node, alias.name, fn, tc)
                if _is_ours(alias.name):
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        bound[alias.name.split(".")[0]] = alias.name.split(".")[0]
        else:
            base = node.module or ""
            if node.level:
                base = _resolve_relative(name, name in packages, node.level, node.module)
            for alias in node.names:
                if alias.name == "*":
                    record(node, base, fn, tc)
                    continue
                full = f"{base}.{alias.name}" if base else alias.name
                if full in modules:
                    record(node, full, fn, tc)
                    bound[alias.asname or alias.name] = full
                else:
                    # an attribute of module ``base``: the path is still ``base.name`` for the privacy rule
                    imp = record(node, base, fn, tc)
                    imp.path = full

    # attributes reached through an imported lucid_fast module: ``render._x``
    for chain, line in visitor.attributes:
        if chain[0] not in bound:
            continue
        dotted = ".".join([bound[chain[0]]] + chain[1:])
        mod = _longest_module(dotted, modules)
        if mod is None:
            continue
        rest = dotted[len(mod) + 1:].split(".") if len(dotted) > len(mod) else []
        if any(_private(part) for part in rest):
            out.append(Import(name, rel, line, mod, None, dotted, False, False, "attribute"))
    return out


def build_graph(root):
    root = os.path.abspath(root)
    modules, packages = discover_modules(root)
    imports = []
    for name in sorted(modules):
        imports.extend(parse_imports(name, modules[name], root, modules, packages))
    return Graph(root, modules, packages, imports)


# --------------------------------------------------------------------------------------------------- rules

def unit_of(module):
    if module == PACKAGE:
        return ""
    return module.split(".")[1]


def _private(part):
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def layer_of(unit):
    """Index into LAYERS, or None for a unit in no layer."""
    for i, units in enumerate(LAYERS):
        if unit in units:
            return i
    if unit.startswith("bench") or unit in BENCH_LAYER_EXTRA:
        return layer_of("bench")
    return None


def layer_name(i):
    return "/".join(u for u in LAYERS[i] if u)


def import_cycles(graph):
    """Strongly connected components (more than one module) of the runtime import graph: [(sorted module
    names, the imports inside the component, one per statement and target module)]."""
    adj = {m: set() for m in graph.modules}
    adj.setdefault(PACKAGE, set())
    for imp in graph.edges(runtime_only=True):
        adj.setdefault(imp.importer, set()).add(imp.target)
        adj.setdefault(imp.target, set())
    # Tarjan, iterative
    index, low, on_stack, stack, sccs, counter = {}, {}, set(), [], [], [0]
    for start in sorted(adj):
        if start in index:
            continue
        work = [(start, iter(sorted(adj[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(adj[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        sccs.append(sorted(comp))
    sccs.sort(key=lambda c: (-len(c), c))
    result = []
    for comp in sccs:
        members = set(comp)
        edges, seen = [], set()
        for imp in graph.edges(runtime_only=True):
            key = (imp.file, imp.line, imp.target)
            if imp.importer in members and imp.target in members and key not in seen:
                seen.add(key)
                edges.append(imp)
        result.append((comp, edges))
    return result


def private_imports(graph):
    """Imports (and attribute uses) of private paths owned by another unit, per the rule in the docstring."""
    found = []
    for imp in graph.imports:
        if imp.target is None or not _is_ours(imp.path):
            continue
        importer_unit = unit_of(imp.importer)
        parts = imp.path.split(".")[1:]
        if not parts:
            continue
        owner_unit = parts[0]
        if owner_unit == importer_unit:
            continue
        private = [p for p in parts if _private(p)]
        if owner_unit == "_bindings" and importer_unit in BINDINGS_USERS:
            private = [p for p in parts[1:] if _private(p)]
        if private:
            found.append(imp)
    return found


def module_layer(module):
    """The layer of a module: its unit's, or the lowest for the leaf utilities of ``BASE_MODULES``."""
    if module.split(".", 1)[-1] in BASE_MODULES:
        return 0
    return layer_of(unit_of(module))


def upward_imports(graph):
    """Imports whose target is in a higher layer than the importer: (Import, importer layer, target layer)."""
    found = []
    for imp in graph.edges():
        li, lt = module_layer(imp.importer), module_layer(imp.target)
        if li is not None and lt is not None and lt > li:
            found.append((imp, li, lt))
    return found


def unlayered_modules(graph):
    return sorted(m for m in graph.modules if layer_of(unit_of(m)) is None)


def count_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return sum(1 for _ in f)


def python_files(root):
    for top in (PACKAGE, "bindings"):
        base = os.path.join(root, top)
        if os.path.isdir(base):
            yield from _walk(base, PY_EXT)


def long_files(root, limit=MAX_LINES):
    """[(path relative to root, lines)] of .py files over ``limit`` lines, longest first."""
    out = []
    for path in python_files(root):
        n = count_lines(path)
        if n > limit:
            out.append((os.path.relpath(path, root), n))
    return sorted(out, key=lambda t: (-t[1], t[0]))


def bench_modules_at_top(root):
    base = os.path.join(root, PACKAGE)
    names = sorted(os.listdir(base)) if os.path.isdir(base) else []
    return [f"{PACKAGE}/{n}" for n in names if os.path.isfile(os.path.join(base, n)) and (
        (n.startswith("bench") and n.endswith(".py")) or n in BENCH_ONLY_AT_TOP)]


def _parents(module):
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def engine_tensorflow(graph, engine=ENGINE):
    """Ways the engine reaches TensorFlow: each a list of steps, the last one the TF import. Returns None when
    the engine module does not exist."""
    if engine not in graph.modules:
        return None
    by_importer = {}
    for imp in graph.imports:
        if imp.kind == "import" and not imp.type_only:
            by_importer.setdefault(imp.importer, []).append(imp)
    found = []
    # the engine's own imports, at any level
    for imp in by_importer.get(engine, []):
        if imp.target is None and imp.external in TF_MODULES:
            found.append([imp])
    # lucid_fast modules it loads: its imports at any level, then module-level imports from there on; each
    # module loaded also runs its parent packages
    via = {}  # module -> the chain of Imports (or parent-package steps) that loads it
    queue = []

    def reach(module, chain):
        if module not in via and module in graph.modules and module != engine:
            via[module] = chain
            queue.append(module)

    for parent in _parents(engine):
        reach(parent, [f"{engine} is in package {parent}"])
    for imp in by_importer.get(engine, []):
        if imp.target is not None:
            reach(imp.target, [imp])
    while queue:
        module = queue.pop(0)
        chain = via[module]
        for parent in _parents(module):
            reach(parent, chain + [f"{module} is in package {parent}"])
        for imp in by_importer.get(module, []):
            if imp.function_level:
                continue
            if imp.target is None and imp.external in TF_MODULES:
                found.append(chain + [imp])
            elif imp.target is not None:
                reach(imp.target, chain + [imp])
    return found


def format_chain(chain):
    return " -> ".join(step.describe() if isinstance(step, Import) else step for step in chain)


def total_lines(root):
    py = sum(count_lines(p) for p in python_files(root))
    cy = sum(count_lines(p) for p in _walk(os.path.join(root, "bindings"), CYTHON_EXT)) \
        if os.path.isdir(os.path.join(root, "bindings")) else 0
    cxx = sum(count_lines(p) for p in _walk(os.path.join(root, "csrc"), CXX_EXT)) \
        if os.path.isdir(os.path.join(root, "csrc")) else 0
    return py, cy, cxx


def largest_file(root):
    sizes = [(count_lines(p), os.path.relpath(p, root)) for p in python_files(root)]
    return max(sizes) if sizes else (0, None)


# --------------------------------------------------------------------------------------------------- metrics

def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), os.pardir))
    graph = build_graph(root)
    py_files = list(python_files(root))
    print(f"repository: {root}")
    print(f"modules: {len(graph.modules)} ({len(py_files)} .py files in {PACKAGE}/ + bindings/)")

    cycles = import_cycles(graph)
    print(f"(a) import cycles: {len(cycles)} ({sum(len(c) for c, _ in cycles)} modules in them)")
    for comp, edges in cycles:
        print(f"    {len(comp)} modules: {', '.join(comp)}")
        for imp in edges:
            print(f"        {imp.describe(module_only=True)}")

    private = private_imports(graph)
    print(f"(b) cross-package private imports: {len(private)}")
    for imp in private:
        print(f"    {imp.describe()}")

    up = upward_imports(graph)
    print(f"(c) upward imports: {len(up)}")
    for imp, li, lt in up:
        print(f"    {imp.describe()}  [{layer_name(li)} < {layer_name(lt)}]")
    unlayered = unlayered_modules(graph)
    print(f"    modules in no layer: {len(unlayered)}{': ' + ', '.join(unlayered) if unlayered else ''}")

    long = long_files(root)
    lines, path = largest_file(root)
    print(f"(d) Python files over {MAX_LINES} lines: {len(long)}")
    for p, n in long:
        print(f"    {p}: {n}")
    print(f"    largest Python file: {path} ({lines} lines)")

    bench = bench_modules_at_top(root)
    print(f"(e) benchmark-only modules at the package top level: {len(bench)}{': ' + ', '.join(bench) if bench else ''}")

    tf = engine_tensorflow(graph)
    if tf is None:
        print(f"(f) {ENGINE}: no such module ({PACKAGE}/optvis/engine.py does not exist)")
    else:
        print(f"(f) ways {ENGINE} reaches TensorFlow: {len(tf)}")
        for chain in tf:
            print(f"    {format_chain(chain)}")

    py, cy, cxx = total_lines(root)
    print(f"lines: Python {py} ({PACKAGE}/ + bindings/ .py), Cython {cy} (bindings/ .pyx/.pxi), "
          f"C++/CUDA {cxx} (csrc/)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
