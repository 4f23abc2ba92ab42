"""Notebook run settings: full runs keep Lucid's step counts; tests run the same notebooks small and fast.

Notebooks write ``steps(512)`` and ``size(128)`` where Lucid wrote 512 and 128. Two environment variables,
read at each call, cap them:

    LUCID_FAST_NOTEBOOK_STEPS   at most this many optimization steps per render (unset: no cap)
    LUCID_FAST_NOTEBOOK_SIZE    at most this many pixels per image side (unset: no cap)

The test suite executes every notebook with small caps; a reader's run uses the notebook's own numbers.

:func:`in_notebook` tells whether the code runs inside a Jupyter kernel (the one test every display path uses:
``show``, the mesh viewer, the turntable, the progress bar).
"""
import os
import sys

STEPS_ENV = "LUCID_FAST_NOTEBOOK_STEPS"
SIZE_ENV = "LUCID_FAST_NOTEBOOK_SIZE"


def _cap(env):
    raw = os.environ.get(env, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{env} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{env} must be a positive integer, got {raw!r}")
    return value


def steps(n):
    """``n`` optimization steps, or the cap in $LUCID_FAST_NOTEBOOK_STEPS when that is smaller."""
    cap = _cap(STEPS_ENV)
    return n if cap is None else min(int(n), cap)


def size(n):
    """``n`` pixels per side, or the cap in $LUCID_FAST_NOTEBOOK_SIZE when that is smaller."""
    cap = _cap(SIZE_ENV)
    return n if cap is None else min(int(n), cap)


def is_capped():
    return _cap(STEPS_ENV) is not None or _cap(SIZE_ENV) is not None


def in_notebook():
    """True inside a Jupyter kernel (an IPython shell started by ``IPKernelApp``); False in scripts, terminals
    and a plain IPython shell. Never imports IPython: a kernel has already imported it."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # noqa: BLE001 - a partial or unusual IPython: not a kernel
        return False
