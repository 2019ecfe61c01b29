"""The probe strategy, driven by scripted measurements (no real timing)."""

from __future__ import annotations

import math

import pytest

from btune.config import PerformanceMode, resolve
from btune.objective import Measurement
from btune.space import Params, Pipeline
from btune.strategies.probe import (
    RATIO_SAMPLE_FRACTION,
    SPEED_SAMPLE_FRACTION,
    ProbeStrategy,
    _ladder,
    budget,
)

SAMPLE = 64 * 1024
NBYTES = 100 * SAMPLE  # the array is 100 times the sample


class Scripted:
    """A probe whose cost and size per candidate come from a table.

    Unknown candidates compress 2x in 100 us (compression and decompression alike).
    """

    def __init__(self, table: dict[str, tuple[float, int]] | None = None) -> None:
        self.table = table or {}
        self.calls: list[Params] = []

    def __call__(self, params: Params) -> Measurement:
        self.calls.append(params)
        seconds, cbytes = self.table.get(params.label(), (100e-6, SAMPLE // 2))
        return Measurement(SAMPLE, cbytes, seconds, seconds)


def make(tradeoff: float, mode: str = "COMP", typesize: int = 4) -> ProbeStrategy:
    config = resolve(tradeoff=tradeoff, perf_mode=mode, strategy="probe")
    return ProbeStrategy(config, typesize=typesize, cores=2, nbytes=NBYTES)


def labels(calls: list[Params]) -> list[str]:
    return [p.label() for p in calls]


def test_settles_on_the_first_chunk_and_serves_the_rest():
    strategy = make(0.5)
    probe = Scripted()
    step = strategy.propose(probe)
    assert (step.state, step.readapt) == ("PROBE", "HARD")
    assert strategy.finished
    assert strategy.best == step.params
    calls = len(probe.calls)
    assert strategy.propose(probe).state == "STOP"
    assert len(probe.calls) == calls  # no more probing once settled


def test_tries_the_prior_in_order_and_keeps_the_best():
    ladder = _ladder(0.5, PerformanceMode.COMP, 4)
    first, second = (Params(c, p, lv, s).label() for c, p, lv, s in ladder[:2])
    # the second candidate compresses 4x at the same speed: it must win
    probe = Scripted({second: (100e-6, SAMPLE // 8)})
    strategy = make(0.5)
    strategy.propose(probe)
    assert labels(probe.calls)[:3] == [first, first, second]  # the first twice (cold)
    assert strategy.best.label() == second


def test_a_gain_within_the_noise_margin_does_not_win():
    ladder = _ladder(0.0, PerformanceMode.COMP, 4)
    first, second = (Params(c, p, lv, s).label() for c, p, lv, s in ladder[:2])
    # 1 % faster is noise; 30 % faster is not
    noise = make(0.0)
    noise.propose(Scripted({first: (100e-6, SAMPLE // 2), second: (99e-6, SAMPLE // 2)}))
    assert noise.best.label() == first
    real = make(0.0)
    real.propose(Scripted({first: (100e-6, SAMPLE // 2), second: (70e-6, SAMPLE // 2)}))
    assert real.best.label() == second


def test_budget_bounds_the_probing_time():
    # every candidate costs 1 ms on the sample; the write would cost 100 ms
    calls: list[Params] = []

    def slow(params: Params) -> Measurement:
        calls.append(params)
        return Measurement(SAMPLE, SAMPLE // 2, 1e-3, 0.0)

    make(0.5).propose(slow)
    spent = len(calls) * 1e-3
    assert spent <= budget(0.5, PerformanceMode.COMP) * 100 * 1e-3 + 1e-9
    assert len(calls) >= 2  # but always one look past the first candidate


def test_decomp_may_explore_more_than_comp():
    def cost(params: Params) -> Measurement:
        return Measurement(SAMPLE, SAMPLE // 2, 1e-3, 1e-3)

    counts = {}
    for mode in ("COMP", "DECOMP"):
        strategy = make(0.5, mode)
        calls: list[Params] = []
        strategy.propose(lambda p, calls=calls: (calls.append(p), cost(p))[1])
        counts[mode] = len(calls)
    assert counts["DECOMP"] > counts["COMP"]


def test_raw_storage_stops_the_search_when_speed_is_what_counts():
    ladder = _ladder(0.0, PerformanceMode.COMP, 1)
    first = Params(*ladder[0]).label()
    probe = Scripted({first: (20e-6, SAMPLE + 32)})  # the codec gave up: stored raw
    strategy = make(0.0, typesize=1)
    strategy.propose(probe)
    assert set(labels(probe.calls)) == {first}
    assert strategy.best.label() == first


def test_ratio_leaning_screens_filters_cheaply_then_tries_level_9():
    # ZSTD at level 5 is cheap; the filter that compresses best there is tried at 9
    table = {
        "ZSTD/SHUFFLE/5/always": (1e-3, 20000),
        "ZSTD/SHUFFLE+BYTEDELTA/5/always": (1e-3, 15000),
        "ZSTD/NOFILTER/5/always": (1e-3, 30000),
        "ZSTD/BITSHUFFLE/5/always": (1e-3, 25000),
        "ZSTD/SHUFFLE+BYTEDELTA/9/always": (20e-3, 14000),
    }
    probe = Scripted(table)
    strategy = make(1.0)
    strategy.propose(probe)
    tried = labels(probe.calls)
    assert tried[:5] == [
        "ZSTD/SHUFFLE/5/always",
        "ZSTD/SHUFFLE/5/always",  # the first probe again (its first run was cold)
        "ZSTD/SHUFFLE+BYTEDELTA/5/always",
        "ZSTD/NOFILTER/5/always",
        "ZSTD/BITSHUFFLE/5/always",
    ]
    assert tried[5] == "ZSTD/SHUFFLE+BYTEDELTA/9/always"
    assert strategy.best.label() == "ZSTD/SHUFFLE+BYTEDELTA/9/always"


def test_at_tradeoff_one_any_smaller_size_wins():
    # sizes are exact, so the timing-noise margin does not apply to pure ratio
    table = {
        "ZSTD/SHUFFLE/5/always": (1e-3, 20000),
        "ZSTD/SHUFFLE+BYTEDELTA/5/always": (1e-3, 19900),  # 0.5 % smaller
    }
    strategy = make(1.0)
    strategy.propose(Scripted(table))
    assert strategy.best.pipeline is Pipeline.SHUFFLE_BYTEDELTA


def test_one_byte_items_never_get_bytedelta():
    for tradeoff in (0.0, 0.5, 1.0):
        for mode in PerformanceMode.COMP, PerformanceMode.DECOMP:
            ladder = _ladder(tradeoff, mode, 1)
            assert all(p is not Pipeline.SHUFFLE_BYTEDELTA for _, p, _, _ in ladder)


def test_hint_is_the_starting_point():
    hint = Params("ZLIB", Pipeline.SHUFFLE, 4, "ALWAYS", 1, 1)
    config = resolve(tradeoff=0.9, strategy="probe")
    strategy = ProbeStrategy(config, typesize=4, cores=2, hint=hint, nbytes=NBYTES)
    probe = Scripted({hint.label(): (1e-3, 5000)})  # hard to beat
    strategy.propose(probe)
    assert probe.calls[0] == hint
    assert strategy.best.nthreads == 1


@pytest.mark.parametrize("tradeoff", [0.0, 0.2, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("mode", ["COMP", "DECOMP", "BALANCED"])
def test_deterministic_for_the_same_measurements(tradeoff, mode):
    def table(params: Params) -> Measurement:
        # a made-up but fixed cost model
        h = sum(map(ord, params.label()))
        return Measurement(SAMPLE, SAMPLE // (1 + h % 7), (50 + h % 13) * 1e-6, 20e-6)

    a, b = make(tradeoff, mode), make(tradeoff, mode)
    assert a.propose(table) == b.propose(table)
    assert math.isfinite(a.score(table(a.best)))


def test_speed_leaning_runs_look_at_two_candidates_unless_the_first_stores_raw():
    calls: list[Params] = []

    def costly(params: Params) -> Measurement:
        calls.append(params)
        return Measurement(SAMPLE, SAMPLE // 3, 1e-3, 0.0)  # all compress: none raw

    # the array is only twice the sample: one probe already spends the budget
    config = resolve(tradeoff=0.0, strategy="probe")
    ProbeStrategy(config, typesize=4, cores=2, nbytes=2 * SAMPLE).propose(costly)
    ladder = _ladder(0.0, PerformanceMode.COMP, 4)
    first, second = (Params(*c).label() for c in ladder[:2])
    assert labels(calls) == [first, first, second]


def test_at_a_middle_tradeoff_raw_storage_leaves_a_look_at_the_shuffles():
    ladder = _ladder(0.5, PerformanceMode.COMP, 4)
    first = Params(*ladder[0]).label()
    assert first == "BLOSCLZ/NOFILTER/1/never"
    # the fastest codec copies the data, but BITSHUFFLE makes it compress 1.8x
    probe = Scripted(
        {
            first: (50e-6, SAMPLE + 32),
            "LZ4/BITSHUFFLE/1/always": (60e-6, SAMPLE * 10 // 18),
            "LZ4/SHUFFLE/1/always": (60e-6, SAMPLE * 10 // 15),
        }
    )
    strategy = make(0.5)  # a budget that would allow many more candidates (100x the sample)
    strategy.propose(probe)
    assert labels(probe.calls) == [
        first,
        first,
        "LZ4/BITSHUFFLE/1/always",
        "LZ4/SHUFFLE/1/always",
    ]
    assert strategy.best.label() == "LZ4/BITSHUFFLE/1/always"


def test_one_byte_items_get_no_shuffle_look():
    ladder = _ladder(0.5, PerformanceMode.COMP, 1)
    first = Params(*ladder[0]).label()
    probe = Scripted({first: (50e-6, SAMPLE + 32)})
    make(0.5, typesize=1).propose(probe)
    assert labels(probe.calls) == [first, first, "LZ4/BITSHUFFLE/1/always"]


@pytest.mark.parametrize(("ratio", "zstd"), [(1.9, False), (2.5, True)])
def test_data_that_compresses_well_gets_a_look_at_zstd(ratio, zstd):
    first = Params(*_ladder(0.5, PerformanceMode.COMP, 4)[0]).label()
    table = {
        first: (50e-6, int(SAMPLE / ratio)),
        "LZ4/BITSHUFFLE/1/always": (200e-6, SAMPLE),
        "LZ4/SHUFFLE/1/always": (200e-6, SAMPLE),
        "ZSTD/NOFILTER/1/never": (60e-6, SAMPLE // 8),
    }
    probe = Scripted(table)
    config = resolve(tradeoff=0.5, strategy="probe")
    # an array only 3x the sample: no budget for anything but the fixed looks
    strategy = ProbeStrategy(config, typesize=4, cores=2, nbytes=3 * SAMPLE)
    strategy.propose(probe)
    tried = labels(probe.calls)
    assert tried[:4] == [first, first, "LZ4/BITSHUFFLE/1/always", "LZ4/SHUFFLE/1/always"]
    assert ("ZSTD/NOFILTER/1/never" in tried) is zstd
    assert (strategy.best.codec == "ZSTD") is zstd


@pytest.mark.parametrize(
    ("tradeoff", "mode", "expected"),
    [
        (0.0, PerformanceMode.COMP, 0.03),
        (0.5, PerformanceMode.COMP, 0.06),
        (0.5, PerformanceMode.BALANCED, 0.06),
        (0.9, PerformanceMode.COMP, 0.10),
        (1.0, PerformanceMode.COMP, 0.10),
        (0.0, PerformanceMode.DECOMP, 0.5),
    ],
)
def test_budget_follows_what_probing_costs_in_the_objective(tradeoff, mode, expected):
    assert budget(tradeoff, mode) == pytest.approx(expected)


def test_speed_leaning_runs_ask_for_a_smaller_sample():
    assert make(0.0).sample_fraction == SPEED_SAMPLE_FRACTION
    assert make(0.5).sample_fraction == SPEED_SAMPLE_FRACTION
    assert make(0.8).sample_fraction == RATIO_SAMPLE_FRACTION
    assert SPEED_SAMPLE_FRACTION > RATIO_SAMPLE_FRACTION
    # and may cut a block short; ratio-leaning ones compare whole blocks
    assert make(0.0).sample_min_bytes == 8192
    assert make(0.5).sample_min_bytes == 32768  # longer where ZSTD competes ...
    config = resolve(tradeoff=0.5, strategy="probe")
    for nbytes, piece in [(10**6, 32768), (160_000, 20_000), (30_000, 8192), (None, 8192)]:
        small = ProbeStrategy(config, typesize=4, cores=2, nbytes=nbytes)
        assert small.sample_min_bytes == piece  # ... but at most 1/8 of a small array
    assert make(0.8).sample_min_bytes is None


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"typesize": 0, "cores": 2}, ValueError, "`typesize` must be an integer >= 1; got 0"),
        ({"typesize": 4, "cores": "2"}, TypeError, "`cores` must be an integer >= 1; got '2'"),
    ],
)
def test_every_strategy_checks_typesize_and_cores(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ProbeStrategy(resolve(strategy="probe"), **kwargs)


def test_the_first_probe_is_measured_again_before_it_is_compared():
    # the very first probe also pays for bringing the sample into the caches
    ladder = _ladder(0.5, PerformanceMode.COMP, 4)
    first, second = (Params(*c).label() for c in ladder[:2])
    calls: list[str] = []

    def probe(params: Params) -> Measurement:
        calls.append(params.label())
        if len(calls) == 1:
            return Measurement(SAMPLE, SAMPLE // 2, 500e-6, 0.0)  # cold: 5x slower
        seconds = 100e-6 if params.label() == first else 150e-6
        return Measurement(SAMPLE, SAMPLE // 2, seconds, 0.0)

    strategy = make(0.5)
    strategy.propose(probe)
    assert calls[:3] == [first, first, second]
    assert strategy.best.label() == first  # warm, it is the faster one


def test_raw_storage_at_tradeoff_zero_needs_no_second_look_at_the_first():
    ladder = _ladder(0.0, PerformanceMode.COMP, 4)
    first = Params(*ladder[0]).label()
    probe = Scripted({first: (500e-6, SAMPLE + 32)})  # cold and raw: the ratio decides
    make(0.0).propose(probe)
    assert labels(probe.calls) == [first]


def test_only_the_shortest_probes_are_repeated():
    ladder = _ladder(0.5, PerformanceMode.COMP, 4)
    first, second, third = (Params(*c).label() for c in ladder[:3])
    times = {first: [40e-6, 40e-6], second: [5e-6, 3e-6], third: [80e-6]}
    calls: list[str] = []

    def probe(params: Params) -> Measurement:
        label = params.label()
        calls.append(label)
        runs = times.get(label, [1e-3])
        seconds = runs[min(calls.count(label), len(runs)) - 1]
        return Measurement(SAMPLE, SAMPLE // 2, seconds, 0.0)

    config = resolve(tradeoff=0.5, perf_mode="COMP", strategy="probe")
    strategy = ProbeStrategy(config, typesize=4, cores=2, nbytes=10_000 * SAMPLE)  # budget
    strategy.propose(probe)
    # the first twice (its first run was cold), the 5 us one twice (keeping 3 us),
    # the 80 us one once
    assert calls[:5] == [first, first, second, second, third]
    assert calls.count(third) == 1
    assert dict(strategy.history)[Params(*ladder[1], 2, 2)].ctime == 3e-6


def test_reading_fast_starts_with_the_copy_and_stops_there_on_raw_data():
    ladder = _ladder(0.0, PerformanceMode.DECOMP, 4)
    first = Params(*ladder[0]).label()
    assert first == "BLOSCLZ/NOFILTER/1/never"
    probe = Scripted({first: (30e-6, SAMPLE + 32)})  # copied: reads at memcpy speed
    strategy = make(0.0, "DECOMP")
    strategy.propose(probe)
    assert labels(probe.calls) == [first]
