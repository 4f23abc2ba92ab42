"""lucid_fast: Lucid's feature visualization for TensorFlow 2, with the image side in native kernels.

Submodules are imported on use (``lucid_fast.ops``, ``lucid_fast.optvis``, ``lucid_fast.modelzoo``,
``lucid_fast.misc``) so that ``import lucid_fast`` stays cheap and starts nothing.

A quiet TensorFlow start. TensorFlow prints C++ start-up lines on stderr (absl's "All log messages before
absl::InitializeLog()" warning, oneDNN and CUDA-stub notes, "failed call to cuInit ... UNKNOWN ERROR (303)" on a
machine without a GPU). Unless TensorFlow is already imported or the environment sets ``TF_CPP_MIN_LOG_LEVEL``
(any value: then yours wins and nothing here acts), importing lucid_fast sets ``TF_CPP_MIN_LOG_LEVEL=3`` (TF's C++
log: fatal errors only) and, when TensorFlow is first imported (by lucid_fast or by you), drops those start-up
lines from what the import writes on stderr (file descriptor 2); any other output of the import is written back,
and all of it when the import fails. ``lucid_fast.show_tensorflow_log()`` before TensorFlow is imported undoes
both (the command line's ``--verbose`` calls it).

OpenMP threads that wait passively. Unless the environment sets ``OMP_WAIT_POLICY``, importing lucid_fast sets it
to ``PASSIVE``: the native kernels and PyTorch (whose OpenMP runtime reads it once, when torch is imported: so
import lucid_fast before torch, or set it yourself) then sleep between parallel regions instead of spinning. On a
2-core machine with one other busy process, a PyTorch step of ``efficientnet_lite0`` at 128 px measured
3.2 s with spinning threads and 20-50 ms with passive ones (about 2x slower than spinning on an idle machine).
"""
import os as _os
import re as _re
import sys as _sys

__version__ = "0.1.0"

_QUIET_LEVEL = "3"
# TensorFlow's start-up lines: absl's pre-initialization warning, absl-formatted log lines (I/W/E + MMDD or the
# zero date absl prints before initialization), and the CPU-feature note's second line
_START_NOISE = _re.compile(rb"^(WARNING: All log messages before absl::InitializeLog|[IWE]\d{4} |"
                           rb"To enable the following instructions)")


class _QuietTensorFlowImport:
    """A one-shot ``sys.meta_path`` finder: the first ``import tensorflow`` runs with fd 2 captured and the
    start-up lines dropped (see the module's docstring). It removes itself on first use."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        _remove_hook()
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        if _os.environ.get("TF_CPP_MIN_LOG_LEVEL") != _QUIET_LEVEL:  # changed since: the user's setting wins
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader:
    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        import tempfile

        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        try:
            _sys.stderr.flush()
            saved = _os.dup(2)
        except (OSError, ValueError, AttributeError):
            self._loader.exec_module(module)
            return
        with tempfile.TemporaryFile() as captured:
            _os.dup2(captured.fileno(), 2)
            ok = False
            try:
                self._loader.exec_module(module)
                ok = True
            finally:
                try:
                    _sys.stderr.flush()
                except (OSError, ValueError, AttributeError):
                    pass
                _os.dup2(saved, 2)
                _os.close(saved)
                captured.seek(0)
                lines = captured.read().splitlines(keepends=True)
                kept = b"".join(l for l in lines if not ok or not _START_NOISE.match(l))
                if kept:
                    _os.write(2, kept)


_HOOK = None


def _remove_hook():
    global _HOOK
    if _HOOK is not None and _HOOK in _sys.meta_path:
        _sys.meta_path.remove(_HOOK)
    _HOOK = None


def show_tensorflow_log():
    """Undo lucid_fast's quiet TensorFlow start (call it before TensorFlow is imported): the start-up lines are
    shown, and ``TF_CPP_MIN_LOG_LEVEL`` is 2 (TensorFlow's C++ errors) unless you had set it yourself."""
    global _LEVEL_SET_HERE
    _remove_hook()
    if _LEVEL_SET_HERE and _os.environ.get("TF_CPP_MIN_LOG_LEVEL") == _QUIET_LEVEL:
        _os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    _LEVEL_SET_HERE = False


# see the module docstring; bindings/_cpu.py sets the same before the native extension loads. Whether it was
# set here (not by the user) is kept for the benchmarks, whose peers run as their users run them.
openmp_wait_policy_set_here = "OMP_WAIT_POLICY" not in _os.environ
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_LEVEL_SET_HERE = "tensorflow" not in _sys.modules and "TF_CPP_MIN_LOG_LEVEL" not in _os.environ
if _LEVEL_SET_HERE:
    _os.environ["TF_CPP_MIN_LOG_LEVEL"] = _QUIET_LEVEL
    _HOOK = _QuietTensorFlowImport()
    _sys.meta_path.insert(0, _HOOK)
