"""Writes tests/data/lucid_0.3.10_api.json: the public names of Lucid 0.3.10's modules, read from its source.

    pip download --no-deps lucid==0.3.10 -d /tmp/lucid_src
    python tests/data/make_lucid_api.py /tmp/lucid_src/lucid-0.3.10-py3-none-any.whl

The source is parsed with ``ast`` (nothing of Lucid is imported or run). For every module in ``MODULES`` it
records each public top-level name (not starting with ``_``):

* ``def`` -> ``{"kind": "function", "params": [[name, has_default, kind], ...]}``;
* ``class`` -> ``{"kind": "class", "init": params, "methods": {name: params}}`` (public methods and
  properties defined in the class body);
* an assignment -> ``{"kind": "value"}``;
* ``from lucid.x import y`` in a package ``__init__`` (Lucid's re-exports) -> the entry of ``y`` in ``lucid.x``.

Module loggers (``log = logging.getLogger(...)``) are not API and are skipped; so are the names a module
imports from other libraries (``np``, ``tf``). Names listed in ``PRIVATE_BUT_USED`` are private in Lucid but
used by its notebooks, so they are recorded too.

The ``"left_out"`` section of an existing output file (the names lucid_fast deliberately does not provide,
with the reason) is kept as it is when the file is regenerated.
"""
import argparse
import ast
import json
import os
import sys
import zipfile

VERSION = "0.3.10"

# The modules whose names lucid_fast keeps (issue 15: optvis, misc.io, modelzoo, recipes; plus misc.tfutil,
# whose create_session Lucid's notebooks call).
MODULES = [
    "lucid.optvis.objectives",
    "lucid.optvis.objectives_util",
    "lucid.optvis.param",
    "lucid.optvis.param.color",
    "lucid.optvis.param.cppn",
    "lucid.optvis.param.images",
    "lucid.optvis.param.lowres",
    "lucid.optvis.param.random",
    "lucid.optvis.param.resize_bilinear_nd",
    "lucid.optvis.param.spatial",
    "lucid.optvis.param.unit_balls",
    "lucid.optvis.render",
    "lucid.optvis.style",
    "lucid.optvis.transform",
    "lucid.misc.io",
    "lucid.misc.io.collapse_channels",
    "lucid.misc.io.loading",
    "lucid.misc.io.reading",
    "lucid.misc.io.sanitizing",
    "lucid.misc.io.saving",
    "lucid.misc.io.scoping",
    "lucid.misc.io.serialize_array",
    "lucid.misc.io.showing",
    "lucid.misc.io.writing",
    "lucid.misc.tfutil",
    "lucid.modelzoo.vision_base",
    "lucid.modelzoo.vision_models",
    "lucid.recipes.caricature",
    "lucid.recipes.feature_visualization",
    "lucid.recipes.image_activations",
    "lucid.recipes.image_interpolation_params",
]

# Private in Lucid, but Lucid's notebooks import them (xy2rgb: serialize_array._normalize_array).
PRIVATE_BUT_USED = {"lucid.misc.io.serialize_array": ["_normalize_array"]}


class Source:
    """Reads module files from a directory tree or a wheel."""

    def __init__(self, path):
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.endswith(".whl") else None

    def _read(self, rel):
        if self.zip is not None:
            try:
                return self.zip.read(rel).decode("utf-8")
            except KeyError:
                return None
        full = os.path.join(self.path, rel)
        if not os.path.exists(full):
            return None
        with open(full, encoding="utf-8") as fh:
            return fh.read()

    def module(self, name):
        """(source text, is_package) of a dotted module name."""
        rel = name.replace(".", "/")
        text = self._read(rel + "/__init__.py")
        if text is not None:
            return text, True
        text = self._read(rel + ".py")
        if text is None:
            raise FileNotFoundError(f"{name} not found in {self.path}")
        return text, False


def _params(args):
    """[[name, has_default, kind]] of an ast.arguments."""
    out = []
    positional = list(args.posonlyargs) + list(args.args)
    n_default = len(args.defaults)
    for i, a in enumerate(positional):
        out.append([a.arg, i >= len(positional) - n_default, "positional"])
    if args.vararg is not None:
        out.append([args.vararg.arg, True, "var_positional"])
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        out.append([a.arg, d is not None, "keyword_only"])
    if args.kwarg is not None:
        out.append([args.kwarg.arg, True, "var_keyword"])
    return out


def _is_logger(node):
    v = node.value
    return (isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "getLogger")


def _class_entry(node):
    init, methods = None, {}
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = _params(item.args)
            is_static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in item.decorator_list)
            if not is_static and params and params[0][0] in ("self", "cls"):
                params = params[1:]
            if item.name == "__init__":
                init = params
            elif not item.name.startswith("_"):
                methods[item.name] = params
    return {"kind": "class", "init": init, "methods": methods}


def parse_module(src, name, resolve):
    text, is_package = src.module(name)
    tree = ast.parse(text)
    keep_private = set(PRIVATE_BUT_USED.get(name, ()))
    names = {}

    def public(n):
        return not n.startswith("_") or n in keep_private

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and public(node.name):
            names[node.name] = {"kind": "function", "params": _params(node.args)}
        elif isinstance(node, ast.ClassDef) and public(node.name):
            names[node.name] = _class_entry(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            if _is_logger(node):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and public(t.id):
                    names[t.id] = {"kind": "value"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lucid."):
            # Re-exports: only package __init__ files (and vision_models, Lucid's export module) re-export.
            if not (is_package or name.endswith("vision_models")):
                continue
            for alias in node.names:
                if alias.name == "*":
                    names.update({k: v for k, v in resolve(node.module).items() if not k.startswith("_")})
                    continue
                target = alias.asname or alias.name
                if not public(target):
                    continue
                origin = resolve(node.module)
                if alias.name in origin:
                    names[target] = dict(origin[alias.name], defined_in=node.module)
                else:  # a submodule imported by name
                    names[target] = {"kind": "module", "defined_in": node.module + "." + alias.name}
    return names


def build(src_path):
    src = Source(src_path)
    cache = {}

    def resolve(name):
        if name not in cache:
            cache[name] = {}
            cache[name] = parse_module(src, name, resolve)
        return cache[name]

    modules = {}
    for name in MODULES:
        entries = resolve(name)
        if name == "lucid.modelzoo.vision_models":  # its __all__ keeps only Model subclasses, + Model, Layer
            entries = {k: v for k, v in entries.items() if v["kind"] == "class"}
        modules[name] = dict(sorted(entries.items()))
    return modules


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", help="Lucid's wheel (.whl) or a directory that contains the lucid/ package")
    ap.add_argument("--out", default=os.path.join(here, f"lucid_{VERSION}_api.json"))
    args = ap.parse_args(argv)
    left_out = {}
    if os.path.exists(args.out):
        with open(args.out) as fh:
            left_out = json.load(fh).get("left_out", {})
    doc = {
        "lucid_version": VERSION,
        "generated_by": "tests/data/make_lucid_api.py (ast over Lucid's source; see its docstring)",
        "modules": build(args.source),
        "left_out": left_out,
    }
    with open(args.out, "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=False)
        fh.write("\n")
    n = sum(len(v) for v in doc["modules"].values())
    print(f"{args.out}: {len(doc['modules'])} modules, {n} names, {len(left_out)} left out", file=sys.stderr)


if __name__ == "__main__":
    main()
