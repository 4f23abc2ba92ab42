"""The old home of :mod:`lucid_fast.misc.download` (the download cache moved down to ``misc`` so that
``misc.io`` no longer imports ``modelzoo``).

Importing this module gives that very module object, not a copy: ``lucid_fast.modelzoo._download`` and
``lucid_fast.misc.download`` are one module, so every name works under both, and a test that monkeypatches
``_download._urlopen`` patches the fetch that ``ensure_file`` and ``open_url`` make.
"""
import sys

from lucid_fast.misc import download as _download

sys.modules[__name__] = _download
