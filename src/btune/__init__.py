"""btune: automatic per-chunk compression tuning for Blosc2."""

from __future__ import annotations

from btune.api import asarray, compress, tune
from btune.config import (
    Behaviour,
    Config,
    PerformanceMode,
    RepeatMode,
    get_params_defaults,
    reset_params_defaults,
    set_params_defaults,
)

__version__ = "0.1.0"

__all__ = [
    "Behaviour",
    "Config",
    "PerformanceMode",
    "RepeatMode",
    "__version__",
    "asarray",
    "compress",
    "tune",
    "get_params_defaults",
    "reset_params_defaults",
    "set_params_defaults",
]
