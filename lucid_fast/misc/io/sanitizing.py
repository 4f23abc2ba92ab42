"""Strings made safe as file names (Lucid's ``misc.io.sanitizing``)."""


def sanitize(string):
    """``string`` with every ``/`` replaced by ``_`` (so a layer name like ``mixed4a/conv`` is one file name)."""
    return string.replace("/", "_")


__all__ = ["sanitize"]
