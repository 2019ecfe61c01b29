"""Exceptions btune raises on purpose.

Settings that are wrong raise ``TypeError`` or ``ValueError`` (see :mod:`btune.config`);
an input that cannot be tuned raises :class:`InputError`, a ``ValueError`` so callers
that already catch bad values catch it too.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """An input file or array that btune cannot read or compress.

    The message is one line naming the input and what is wrong with it.
    """
