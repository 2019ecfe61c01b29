"""The Python front: ``btune.asarray`` and ``btune.tune``."""

from __future__ import annotations

from typing import Any

import blosc2
import numpy as np

from btune import engine
from btune.config import resolve

__all__ = ["asarray", "compress", "tune"]

_SETTINGS = (
    "tradeoff",
    "perf_mode",
    "bandwidth",
    "behaviour",
    "cparams_hint",
    "use_inference",
    "models_dir",
    "trace",
    "strategy",
)


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = {k: kwargs.pop(k) for k in _SETTINGS if k in kwargs}
    return settings, kwargs


def _as_input(array: Any) -> Any:
    if isinstance(array, (np.ndarray, blosc2.NDArray)):
        return array
    if hasattr(array, "shape") and hasattr(array, "dtype") and hasattr(array, "__getitem__"):
        return array  # array-likes that slice (h5py, zarr, memmaps)
    return np.asarray(array)


def compress(array: Any, **kwargs: Any) -> engine.Result:
    """Like :func:`asarray`, but return the whole :class:`btune.engine.Result`.

    The result carries the per-chunk record (parameters, sizes, times, states).
    """
    settings, storage = _split(dict(kwargs))
    config = resolve(**settings)
    return engine.compress(_as_input(array), config, **storage)


def asarray(array: Any, **kwargs: Any) -> blosc2.NDArray:
    """Compress ``array`` into a ``blosc2.NDArray``, tuning every chunk.

    Accepts btune's settings (``tradeoff``, ``perf_mode``, ``bandwidth``,
    ``behaviour``, ``cparams_hint``, ``trace``, ``strategy`` …; see
    :class:`btune.Config`) and the storage keyword arguments of ``blosc2.asarray``
    (``urlpath``, ``chunks``, ``blocks``, ``cparams``, ``dparams``, ``meta``,
    ``contiguous``, ``mode``).  The output is a standard Blosc2 array that plain
    python-blosc2 reads.

    Note: ``cparams`` only matter with ``cparams_hint=True`` (the search then starts
    from them); otherwise btune chooses every compression parameter itself.
    """
    return compress(array, **kwargs).array


def tune(array: Any, **settings: Any) -> blosc2.CParams:
    """The recommended ``blosc2.CParams`` for data like ``array`` ("tuning advice").

    Runs the tuner over ``array`` in memory and returns the parameters it settled
    on; pass them to ``blosc2.asarray(..., cparams=...)`` for similar data.
    """
    layout = {k: settings.pop(k) for k in ("chunks", "blocks", "cparams") if k in settings}
    unknown = sorted(set(settings) - set(_SETTINGS))
    if unknown:
        names = ", ".join(map(repr, unknown))
        msg = (
            f"btune.tune takes btune's settings, `chunks`, `blocks` and `cparams` (with"
            f" cparams_hint); got {names}"
        )
        raise TypeError(msg)
    result = compress(array, **settings, **layout)
    itemsize = np.dtype(result.array.dtype).itemsize
    return result.best.cparams(typesize=itemsize)
