"""The contract every tuning strategy follows.

A strategy is pure decision logic.  For each chunk that is not special the engine

1. calls :meth:`Strategy.propose` with a :data:`Probe` (a way to measure candidate
   parameters on a sample of the array without storing anything) and gets
   a :class:`Step`: the parameters to store this chunk with, plus the state and
   readapt kind for the trace (a strategy is also told ``nbytes``, the array's
   uncompressed size, to budget its exploration against the whole write);
2. compresses and stores the chunk with ``step.params`` and measures it;
3. calls :meth:`Strategy.observe` with that :class:`Measurement`, which answers the
   trace's Winner column: ``"W"`` (new best) or ``"-"``.

A special chunk (one repeated value) is only reported through
:meth:`Strategy.observe_special`; it never becomes a winner.

Every strategy must:

- touch no blosc2 container, file, clock or environment: all it knows of the world
  comes through ``probe`` and ``observe``, so tests drive it with scripted
  measurements;
- be deterministic for the same measurements (any randomness comes from its own
  ``numpy.random.Generator`` seeded from the constructor);
- keep :attr:`best` valid at all times (the engine may stop asking at any chunk);
- set :attr:`finished` once its choice will not change, so the engine can write the
  remaining chunks through blosc2's own fast path with :attr:`best`.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable
from typing import ClassVar

from btune.config import Config, PerformanceMode
from btune.objective import Measurement, objective
from btune.space import Params

__all__ = ["Probe", "Step", "Strategy"]

#: Measures parameters on a sample of the array (a few chunks spread over it) without
#: storing anything; the measurement covers the whole sample.
Probe = Callable[[Params], Measurement]


@dataclasses.dataclass(frozen=True)
class Step:
    """What to store the next chunk with, and why (for the trace)."""

    params: Params
    state: str
    readapt: str = "-"


class Strategy(abc.ABC):
    """Base class: see the module docstring for the contract."""

    name: ClassVar[str]

    #: The probe's sample is about 1/sample_fraction of the array's bytes, in whole
    #: blocks (at least one) unless ``sample_min_bytes`` allows a shorter piece when
    #: the share is less than a block; a strategy may ask for more or less.
    sample_fraction: int = 32
    sample_min_bytes: int | None = None

    def __init__(
        self,
        config: Config,
        *,
        typesize: int,
        cores: int,
        hint: Params | None = None,
        nbytes: int | None = None,
        seed: int = 0,
    ) -> None:
        for label, value in (("typesize", typesize), ("cores", cores)):
            if isinstance(value, bool) or not isinstance(value, int):
                msg = f"`{label}` must be an integer >= 1; got {value!r}"
                raise TypeError(msg)
            if value < 1:
                msg = f"`{label}` must be an integer >= 1; got {value!r}"
                raise ValueError(msg)
        if config.perf_mode is PerformanceMode.AUTO:
            msg = "a strategy needs a resolved config (perf_mode COMP, DECOMP or BALANCED)"
            raise ValueError(msg)
        self.config = config
        self.typesize = typesize
        self.cores = cores
        self.hint = hint
        self.nbytes = nbytes
        self.seed = seed

    def score(self, m: Measurement) -> float:
        """The objective of ``m`` under this run's mode, tradeoff and bandwidth."""
        c = self.config
        return objective(m, c.perf_mode, c.tradeoff, c.bandwidth)

    @abc.abstractmethod
    def propose(self, probe: Probe) -> Step:
        """The parameters for the next (non-special) chunk."""

    @abc.abstractmethod
    def observe(self, step: Step, m: Measurement) -> str:
        """Learn from the stored chunk's measurement; return ``"W"`` or ``"-"``."""

    def observe_special(self, m: Measurement) -> None:  # noqa: B027 - optional hook
        """A special chunk was stored; by default nothing is learnt from it."""

    @property
    @abc.abstractmethod
    def best(self) -> Params:
        """The best parameters found so far."""

    @property
    def finished(self) -> bool:
        """True once :attr:`best` will not change any more."""
        return False
