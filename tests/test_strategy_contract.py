"""The strategy contract (btune.strategies.base), checked against every strategy.

To put a new strategy under these tests, add one ``(name, factory)`` pair to
:data:`STRATEGY_FACTORIES`; ``factory(config, typesize, cores)`` builds a fresh
strategy.  Every test then runs over every scenario of :data:`SCENARIOS`, driven by
scripted measurements (a made-up but deterministic cost model, no real timing).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from btune.config import STRATEGIES, Behaviour, Config, PerformanceMode, RepeatMode
from btune.objective import Measurement
from btune.space import Params, Pipeline, available_codecs
from btune.strategies.base import Step, Strategy
from btune.strategies.genetic import GeneticStrategy
from btune.strategies.probe import ProbeStrategy

Factory = Callable[[Config, int, int], Strategy]

#: Every strategy under contract: (name, factory(config, typesize, cores)).
STRATEGY_FACTORIES: list[tuple[str, Factory]] = [
    (
        "genetic",
        lambda config, typesize, cores: GeneticStrategy(
            config, typesize=typesize, cores=cores
        ),
    ),
    (
        "probe",
        lambda config, typesize, cores: ProbeStrategy(
            config, typesize=typesize, cores=cores, nbytes=NCHUNKS * CHUNK_BYTES
        ),
    ),
]

NCHUNKS = 300
CHUNK_BYTES = 1 << 16
SAMPLE_BYTES = 1 << 12
#: Every this many chunks, one is special (a single repeated value).
SPECIAL_EVERY = 23

SCENARIOS = {
    "defaults-comp": (Config(perf_mode=PerformanceMode.COMP), 8, 8),
    "speed-decomp": (Config(tradeoff=0.0, perf_mode=PerformanceMode.DECOMP), 4, 2),
    "ratio-balanced": (Config(tradeoff=1.0, perf_mode=PerformanceMode.BALANCED), 2, 6),
    "bytes-one-core": (Config(tradeoff=0.4, perf_mode=PerformanceMode.COMP), 1, 1),
    "short-stop": (
        Config(
            tradeoff=0.7,
            perf_mode=PerformanceMode.COMP,
            behaviour=Behaviour(
                nwaits_before_readapt=2, nsofts_before_hard=1, nhards_before_stop=2
            ),
        ),
        4,
        4,
    ),
    "repeat-soft": (
        Config(
            tradeoff=0.3,
            perf_mode=PerformanceMode.BALANCED,
            behaviour=Behaviour(
                nsofts_before_hard=0, nhards_before_stop=1, repeat_mode=RepeatMode.SOFT
            ),
        ),
        8,
        3,
    ),
    "repeat-all": (
        Config(
            tradeoff=0.5,
            perf_mode=PerformanceMode.DECOMP,
            behaviour=Behaviour(
                nwaits_before_readapt=1,
                nsofts_before_hard=2,
                nhards_before_stop=1,
                repeat_mode=RepeatMode.ALL,
            ),
        ),
        4,
        16,
    ),
}

CODEC_RATIO = {"BLOSCLZ": 2.0, "LZ4": 2.2, "LZ4HC": 2.8, "ZLIB": 3.2, "ZSTD": 3.6}
CODEC_SECONDS = {"BLOSCLZ": 1.0, "LZ4": 0.8, "LZ4HC": 2.5, "ZLIB": 4.0, "ZSTD": 3.0}
PIPELINE_RATIO = {
    Pipeline.NOFILTER: 1.0,
    Pipeline.SHUFFLE: 1.6,
    Pipeline.BITSHUFFLE: 1.7,
    Pipeline.SHUFFLE_BYTEDELTA: 1.9,
}


def scripted(params: Params, chunk: int, nbytes: int = CHUNK_BYTES) -> Measurement:
    """A made-up, deterministic cost of ``params`` on chunk number ``chunk``.

    Ratio grows with codec strength, filters and clevel; time grows with clevel and
    shrinks with threads up to 4; a chunk-dependent factor plays the timing noise.
    """
    noise = 1.0 + 0.4 * ((chunk * 7919) % 13) / 13
    ratio = (
        CODEC_RATIO[params.codec] * PIPELINE_RATIO[params.pipeline] * (1 + params.clevel / 20)
    )
    ratio *= 1.05 if params.splitmode == "ALWAYS" else 1.0
    seconds = 1e-4 * CODEC_SECONDS[params.codec] * (1 + params.clevel / 5) * noise
    ctime = seconds / math.sqrt(min(params.nthreads, 4))
    dtime = seconds / 3 / math.sqrt(min(params.dthreads, 4))
    return Measurement(nbytes, max(1, round(nbytes / ratio)), ctime, dtime)


def special(chunk: int) -> Measurement:
    return Measurement(CHUNK_BYTES, 48, 1e-7 * (1 + chunk % 3), 1e-7, special=True)


def check_params_in_space(params: Params, cores: int) -> None:
    assert isinstance(params, Params)
    assert params.codec in available_codecs()
    assert isinstance(params.pipeline, Pipeline)
    assert 1 <= params.clevel <= 9
    assert params.splitmode in ("ALWAYS", "NEVER")
    assert 1 <= params.nthreads <= cores
    assert 1 <= params.dthreads <= cores


Record = list[tuple[Step | None, str, Params, bool]]


def run(factory: Factory, scenario: str) -> Record:
    """Drive a fresh strategy over NCHUNKS chunks; record (step, verdict, best, finished).

    Special chunks go to ``observe_special`` only (their step is None, verdict "S").
    """
    config, typesize, cores = SCENARIOS[scenario]
    strategy = factory(config, typesize, cores)
    check_params_in_space(strategy.best, cores)
    record: Record = []
    for chunk in range(NCHUNKS):
        if chunk % SPECIAL_EVERY == SPECIAL_EVERY - 1:
            strategy.observe_special(special(chunk))
            record.append((None, "S", strategy.best, strategy.finished))
            continue

        def probe(params: Params, chunk: int = chunk) -> Measurement:
            return scripted(params, chunk, SAMPLE_BYTES)

        step = strategy.propose(probe)
        verdict = strategy.observe(step, scripted(step.params, chunk))
        record.append((step, verdict, strategy.best, strategy.finished))
    return record


strategies = pytest.mark.parametrize(
    "factory",
    [factory for _, factory in STRATEGY_FACTORIES],
    ids=[n for n, _ in STRATEGY_FACTORIES],
)
scenarios = pytest.mark.parametrize("scenario", list(SCENARIOS))


@strategies
def test_name_is_a_known_strategy(factory: Factory) -> None:
    config, typesize, cores = SCENARIOS["defaults-comp"]
    assert factory(config, typesize, cores).name in STRATEGIES


@strategies
@scenarios
def test_best_is_always_valid(factory: Factory, scenario: str) -> None:
    cores = SCENARIOS[scenario][2]
    for _, _, best, _ in run(factory, scenario):
        check_params_in_space(best, cores)


@strategies
@scenarios
def test_steps_stay_in_the_search_space(factory: Factory, scenario: str) -> None:
    cores = SCENARIOS[scenario][2]
    record = run(factory, scenario)
    assert len(record) == NCHUNKS
    for step, verdict, best, _ in record:
        if step is None:
            continue
        check_params_in_space(step.params, cores)
        assert isinstance(step.state, str) and step.state
        assert verdict in ("W", "-")
        if verdict == "W":
            assert best == step.params


@strategies
@scenarios
def test_same_measurements_same_proposals(factory: Factory, scenario: str) -> None:
    assert run(factory, scenario) == run(factory, scenario)


@strategies
@scenarios
def test_finished_means_best_no_longer_changes(factory: Factory, scenario: str) -> None:
    record = run(factory, scenario)
    finished_at = next((i for i, (*_, finished) in enumerate(record) if finished), None)
    if finished_at is None:
        return
    final = record[finished_at][2]
    for step, verdict, best, finished in record[finished_at + 1 :]:
        assert finished
        assert best == final
        assert verdict != "W"
        if step is not None:
            assert step.params == final  # the engine may write the rest without asking


@strategies
def test_special_chunks_never_change_the_best(factory: Factory) -> None:
    config, typesize, cores = SCENARIOS["defaults-comp"]
    strategy = factory(config, typesize, cores)
    for chunk in range(5):

        def probe(params: Params, chunk: int = chunk) -> Measurement:
            return scripted(params, chunk, SAMPLE_BYTES)

        step = strategy.propose(probe)
        strategy.observe(step, scripted(step.params, chunk))
    best = strategy.best
    for chunk in range(20):
        strategy.observe_special(special(chunk))
        assert strategy.best == best
