"""Lucid 0.3.10's public names exist in lucid_fast at the same module path, with compatible signatures.

The list of names is tests/data/lucid_0.3.10_api.json, generated from Lucid's source by
tests/data/make_lucid_api.py (ast only). Its "left_out" section names what lucid_fast deliberately does not
provide, with the reason; everything else must exist, so a dropped or renamed name fails here.
"""
import importlib
import inspect
import json
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
API_FILE = os.path.join(os.path.dirname(HERE), "data", "lucid_0.3.10_api.json")

with open(API_FILE) as _fh:
    API = json.load(_fh)
LEFT_OUT = API["left_out"]


def _ours(module):
    return "lucid_fast" + module[len("lucid"):]


def _all_names():
    for module, names in API["modules"].items():
        for name, entry in names.items():
            yield module, name, entry


def _left_out(module, name=None, member=None):
    keys = [module] + ([f"{module}.{name}"] if name else []) + ([f"{module}.{name}.{member}"] if member else [])
    return any(k in LEFT_OUT for k in keys)


def _params_of(obj):
    try:
        return inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return None


def signature_problems(lucid_params, ours):
    """Why a call that Lucid's signature allows could fail on ours ([] when compatible).

    Lucid's positional parameters must be ours, in order and by name; a parameter with a default in Lucid has
    one in ours; *args / **kwargs are kept; keyword-only ones are accepted; ours may add parameters only with
    defaults.
    """
    params = _params_of(ours)
    if params is None:
        return ["no inspectable signature"]
    plist = list(params.values())
    kinds = {p.kind for p in plist}
    has_var_pos = inspect.Parameter.VAR_POSITIONAL in kinds
    has_var_kw = inspect.Parameter.VAR_KEYWORD in kinds
    positional = [p for p in plist if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    problems = []
    lucid_pos = [p for p in lucid_params if p[2] == "positional"]
    for i, (name, has_default, _) in enumerate(lucid_pos):
        if i >= len(positional):
            if not has_var_pos:
                problems.append(f"positional parameter {i} {name!r} missing")
            continue
        ours_p = positional[i]
        if ours_p.name != name:
            problems.append(f"positional parameter {i} is {ours_p.name!r}, Lucid's is {name!r}")
        if has_default and ours_p.default is inspect.Parameter.empty:
            problems.append(f"{name!r} has a default in Lucid, not in ours")
    for name, has_default, kind in lucid_params:
        if kind == "var_positional" and not has_var_pos:
            problems.append(f"*{name} missing")
        if kind == "var_keyword" and not has_var_kw:
            problems.append(f"**{name} missing")
        if kind == "keyword_only" and name not in params and not has_var_kw:
            problems.append(f"keyword {name!r} missing")
    lucid_names = {p[0] for p in lucid_params}
    for p in plist:
        if p.name not in lucid_names and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY) \
                and p.default is inspect.Parameter.empty:
            problems.append(f"our extra parameter {p.name!r} has no default")
    return problems


CASES = [(m, n, e) for m, n, e in _all_names() if not _left_out(m, n)]
MODULES = sorted({m for m, _, _ in _all_names() if not _left_out(m)})


def test_the_api_file_is_what_the_script_writes():
    assert API["lucid_version"] == "0.3.10"
    assert sum(len(v) for v in API["modules"].values()) > 150  # the whole list, not a stub
    for key, reason in LEFT_OUT.items():
        assert isinstance(reason, str) and len(reason) > 20, f"left_out[{key!r}] needs a reason"


def test_left_out_names_are_lucid_names_we_do_not_provide():
    """Every left-out entry names a real Lucid name (module, name or class member) that lucid_fast lacks, so the
    list cannot rot: providing a name means removing it from left_out."""
    for key in LEFT_OUT:
        module = next((m for m in API["modules"] if key == m or key.startswith(m + ".")), None)
        assert module is not None, f"left_out[{key!r}] is not in a listed Lucid module"
        rest = key[len(module) + 1:]
        if not rest:
            with pytest.raises(ImportError):
                importlib.import_module(_ours(module))
            continue
        name, _, member = rest.partition(".")
        assert name in API["modules"][module], f"left_out[{key!r}]: Lucid's {module} has no {name!r}"
        try:
            ours = importlib.import_module(_ours(module))
        except ImportError:
            continue
        if member:
            assert member in API["modules"][module][name].get("methods", {}), key
            assert not hasattr(getattr(ours, name, None), member), f"{key} exists: remove it from left_out"
        else:
            assert not hasattr(ours, name), f"{key} exists in lucid_fast: remove it from left_out"


@pytest.mark.parametrize("module", MODULES)
def test_module_exists(module):
    importlib.import_module(_ours(module))


@pytest.mark.parametrize("module, name, entry", CASES, ids=[f"{m}.{n}" for m, n, _ in CASES])
def test_name_exists_with_a_compatible_signature(module, name, entry):
    mod = importlib.import_module(_ours(module))
    assert hasattr(mod, name), f"lucid_fast lacks {_ours(module)}.{name} (Lucid has it; add it or list it in " \
                               f"left_out with the reason)"
    obj = getattr(mod, name)
    kind = entry["kind"]
    if kind == "function":
        assert callable(obj), f"{name} is not callable"
        problems = signature_problems(entry["params"], obj)
        assert not problems, f"{_ours(module)}.{name}: {problems}"
    elif kind == "class":
        assert inspect.isclass(obj), f"{name} is not a class"
        if entry["init"] is not None and not _left_out(module, name, "__init__"):
            problems = signature_problems(entry["init"], obj)
            assert not problems, f"{_ours(module)}.{name}(...): {problems}"
        for method, params in entry["methods"].items():
            if _left_out(module, name, method):
                continue
            assert hasattr(obj, method), f"{_ours(module)}.{name} lacks {method!r}"
            raw = inspect.getattr_static(obj, method)
            if isinstance(raw, property):
                continue
            member = getattr(obj, method)
            if callable(member):
                bound = not isinstance(raw, (staticmethod, classmethod))
                problems = signature_problems(params, member if not bound else _unbound_skip_self(member))
                assert not problems, f"{_ours(module)}.{name}.{method}: {problems}"
    elif kind == "module":
        assert inspect.ismodule(obj), f"{name} should be a module"


def _unbound_skip_self(func):
    """A function's signature without its first (self) parameter, as a callable for inspect."""
    sig = inspect.signature(func)
    params = list(sig.parameters.values())[1:]

    def stub(*args, **kwargs):
        pass

    stub.__signature__ = sig.replace(parameters=params)
    return stub


def test_signature_check_catches_incompatibilities():
    """The checker above flags what would break Lucid's callers (renamed, reordered, missing, required extra)."""
    lucid = [["shape", False, "positional"], ["sd", True, "positional"]]

    def same(shape, sd=None, extra=1):
        pass

    def renamed(size, sd=None):
        pass

    def no_default(shape, sd):
        pass

    def required_extra(shape, sd=None, *, rng):
        pass

    def missing(shape):
        pass

    assert signature_problems(lucid, same) == []
    assert signature_problems(lucid, renamed) and signature_problems(lucid, no_default)
    assert signature_problems(lucid, required_extra) and signature_problems(lucid, missing)
    assert signature_problems([["args", True, "var_positional"]], same)
