"""Tuning strategies, by name (see :mod:`btune.strategies.base` for the contract)."""

from __future__ import annotations

from btune.config import Config
from btune.space import Params
from btune.strategies.base import Probe, Step, Strategy
from btune.strategies.genetic import GeneticStrategy
from btune.strategies.probe import ProbeStrategy

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGY_CLASSES",
    "Probe",
    "Step",
    "Strategy",
    "make_strategy",
]

STRATEGY_CLASSES: dict[str, type[Strategy]] = {
    GeneticStrategy.name: GeneticStrategy,
    ProbeStrategy.name: ProbeStrategy,
}

#: What ``strategy="default"`` means: the strategy that measures best in the corpus report.
DEFAULT_STRATEGY = ProbeStrategy.name


def make_strategy(
    config: Config,
    *,
    typesize: int,
    cores: int,
    hint: Params | None = None,
    nbytes: int | None = None,
) -> Strategy:
    """The strategy ``config.strategy`` names, ready for one array."""
    name = DEFAULT_STRATEGY if config.strategy == "default" else config.strategy
    cls = STRATEGY_CLASSES[name]
    return cls(config, typesize=typesize, cores=cores, hint=hint, nbytes=nbytes)
