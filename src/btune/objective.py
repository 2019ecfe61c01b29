"""What "better" means: the objective of DESIGN.md, computed from one measurement."""

from __future__ import annotations

import dataclasses
import math

from btune.config import PerformanceMode

__all__ = ["Measurement", "mode_time", "objective", "speed"]


@dataclasses.dataclass(frozen=True)
class Measurement:
    """What compressing (and maybe decompressing) one buffer cost.

    ``dtime`` is 0 when the perf mode does not need it.  ``special`` marks a chunk
    stored as a run of one repeated value, which never counts as a winner.
    """

    nbytes: int
    cbytes: int
    ctime: float
    dtime: float = 0.0
    special: bool = False

    @property
    def cratio(self) -> float:
        return self.nbytes / max(self.cbytes, 1)


def mode_time(m: Measurement, mode: PerformanceMode, bandwidth: float) -> float:
    """Seconds that count in ``mode``: the codec's time plus the transfer time."""
    transfer = m.cbytes / bandwidth
    if mode is PerformanceMode.DECOMP:
        return m.dtime + transfer
    if mode is PerformanceMode.BALANCED:
        return m.ctime + m.dtime + transfer
    if mode is PerformanceMode.COMP:
        return m.ctime + transfer
    msg = f"`perf_mode` must be resolved to COMP, DECOMP or BALANCED; got {mode.name!r}"
    raise ValueError(msg)


def speed(m: Measurement, mode: PerformanceMode, bandwidth: float) -> float:
    """Bytes per second in ``mode``."""
    return m.nbytes / max(mode_time(m, mode, bandwidth), 1e-12)


def objective(
    m: Measurement, mode: PerformanceMode, tradeoff: float, bandwidth: float
) -> float:
    """``tradeoff * ln(cratio) + (1 - tradeoff) * ln(speed)``; higher is better."""
    return tradeoff * math.log(m.cratio) + (1.0 - tradeoff) * math.log(
        speed(m, mode, bandwidth)
    )
