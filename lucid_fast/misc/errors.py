"""The library's one error class of its own, for bad input of the wrong kind (stdlib only).

``lucid_fast.misc.errors`` sits low (layer 2, with ``misc``) so that ``misc.channel_reducer``, ``optvis`` and
``attribution`` all raise the same class; ``lucid_fast._bindings`` is reserved to ``ops`` / ``optvis`` / ``models``
/ ``bench`` (``tests/structure.py``, rule b), so the class does not live in ``bindings/checks.py``.
"""

__all__ = ["ArgumentError"]


class ArgumentError(ValueError, TypeError):
    """Bad input of the wrong kind (an int where an objective or a parameterization is expected, a string channel
    index, an unknown keyword argument): a ``ValueError`` naming the argument and what is accepted, as the README
    promises for every bad input, and also a ``TypeError``, so that code written for the ``TypeError`` these
    raised before (``except TypeError``) keeps working. Raised by ``optvis.render.make_param``,
    ``optvis.objectives`` (``as_objective``, channel indices, the objectives' algebra) and
    ``misc.channel_reducer.ChannelReducer``."""
