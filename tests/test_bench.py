"""The benchmark (btune bench): protocol, arithmetic and outputs, on scripted timings.

Every test here drives the benchmark with a scripted clock: the fake writes,
reads and engine calls advance a virtual time by scripted amounts, so the
figures are exact and nothing depends on this machine's speed.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btune import bench
from btune.config import DEFAULT_BANDWIDTH
from btune.space import Params, Pipeline

# ---------------------------------------------------------------------------
# A scripted world: virtual time, fake arrays, a log of what ran in which order


@dataclasses.dataclass
class FakeArray:
    label: str
    cbytes: int


@dataclasses.dataclass
class FakeResult:
    array: FakeArray | None
    best: Params
    records: list[Any]
    label: str


class World:
    """Virtual time and scripted costs.

    ``write[label]`` / ``read[label]`` / ``replays[label]`` are per-run costs in
    seconds (run k uses item k, the last one repeating); ``size[label]`` the
    compressed bytes.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.log: list[tuple[str, str]] = []
        self.write: dict[str, list[float]] = {}
        self.read: dict[str, list[float]] = {}
        self.replays: dict[str, list[float]] = {}
        self.size: dict[str, int] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def clock(self) -> float:
        return self.now

    def spend(self, what: str, label: str, table: dict[str, list[float]]) -> None:
        k = self.counts.get((what, label), 0)
        self.counts[(what, label)] = k + 1
        costs = table.get(label, [0.001])
        self.now += costs[min(k, len(costs) - 1)]
        self.log.append((what, label))

    def fake_write(self, data: Any, chunks: Any, params: Params | None) -> FakeArray:
        label = "defaults" if params is None else params.label()
        self.spend("write", label, self.write)
        return FakeArray(label, self.size.get(label, data.nbytes // 2))

    def fake_read(self, array: FakeArray) -> None:
        self.spend("read", array.label, self.read)


class FakeEngine:
    """Tunes nothing: its output and costs come from the world's script."""

    def __init__(self, world: World) -> None:
        self.world = world

    def compress(self, data: Any, config: Any = None, *, chunks: Any = None) -> FakeResult:
        label = f"{config.strategy}@{config.tradeoff:g}/{config.perf_mode.name}"
        self.world.spend("compress", label, self.world.write)
        best = Params("LZ4", Pipeline.SHUFFLE, 5, "ALWAYS", 2, 2)
        array = FakeArray(label, self.world.size.get(label, data.nbytes // 2))
        records = [dataclasses.make_dataclass("R", ["params"])(best)]
        return FakeResult(array, best, records, label)

    def replay(self, data: Any, result: FakeResult) -> None:
        # the tuned output is dropped before its replay: no timed write runs beside it
        assert result.array is None
        self.world.spend("replay", result.label, self.world.replays)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    w = World()
    monkeypatch.setattr(bench, "_write", w.fake_write)
    monkeypatch.setattr(bench, "_read", w.fake_read)
    monkeypatch.setattr(bench, "_cbytes", lambda array: array.cbytes)
    return w


def settings_list(n: int) -> list[Params]:
    codecs = ("LZ4", "ZSTD", "BLOSCLZ", "ZLIB", "LZ4HC")
    return [
        Params(codecs[i % 5], Pipeline.SHUFFLE, 1 + i // 5, "ALWAYS", 2, 2) for i in range(n)
    ]


DATA = np.arange(4096, dtype=np.int64).reshape(64, 64)  # 32 KiB


def run_bench(world: World, **kwargs: Any) -> bench.InputReport:
    options: dict[str, Any] = {
        "tradeoffs": [0.0],
        "perf_modes": ["COMP"],
        "strategies": [],
        "chunk_bytes": 8192,
        "clock": world.clock,
        "engine": FakeEngine(world),
    }
    options.update(kwargs)
    return bench.bench_array(DATA, name="data", **options)


def writes(world: World) -> list[str]:
    """The oracle's writes, in order."""
    return [label for what, label in world.log if what == "write" and label != "defaults"]


# ---------------------------------------------------------------------------
# chunks_for_bytes and sizes


@pytest.mark.parametrize(
    ("shape", "itemsize", "nbytes", "expected"),
    [
        ((1000,), 8, 65536, (1000,)),
        ((20190, 45), 8, 65536, (182, 45)),
        ((1411, 1411, 3), 1, 65536, (15, 1411, 3)),
        ((10, 100000), 4, 65536, (1, 16384)),
        ((3, 30000), 4, 65536, (1, 16384)),
        ((720001,), 4, 65536, (16384,)),
        ((4, 4, 4), 8, 4, (1, 1, 1)),
        ((7, 0, 5), 2, 100, (7, 1, 5)),
        ((9, 0, 5), 2, 60, (6, 1, 5)),
        ((), 8, 65536, ()),
    ],
)
def test_chunks_for_bytes_examples(
    shape: tuple[int, ...], itemsize: int, nbytes: int, expected: tuple[int, ...]
) -> None:
    assert bench.chunks_for_bytes(shape, itemsize, nbytes) == expected


@settings(max_examples=300, deadline=None, database=None)
@given(
    shape=st.lists(st.integers(1, 5000), min_size=1, max_size=5),
    itemsize=st.sampled_from([1, 2, 4, 8, 16, 3, 12]),
    nbytes=st.integers(1, 2**22),
)
def test_chunks_for_bytes_fills_trailing_dimensions_first(
    shape: list[int], itemsize: int, nbytes: int
) -> None:
    chunks = bench.chunks_for_bytes(shape, itemsize, nbytes)
    assert len(chunks) == len(shape)
    assert all(1 <= c <= s for c, s in zip(chunks, shape, strict=True))
    size = math.prod(chunks) * itemsize
    assert size <= max(nbytes, itemsize)
    partial = [i for i, (c, s) in enumerate(zip(chunks, shape, strict=True)) if c < s]
    if partial:
        axis = partial[-1]  # the one dimension cut short ...
        assert all(c == 1 for c in chunks[:axis])  # ... has only 1s before it
        # ... and one more element along it would not fit
        assert (chunks[axis] + 1) * math.prod(chunks[axis + 1 :]) * itemsize > nbytes


def test_chunks_for_bytes_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="`itemsize` must be >= 1; got 0"):
        bench.chunks_for_bytes((10,), 0, 100)
    with pytest.raises(ValueError, match="`nbytes` must be >= 1; got -5"):
        bench.chunks_for_bytes((10,), 8, -5)
    with pytest.raises(TypeError, match="`nbytes` must be an integer; got '64K'"):
        bench.chunks_for_bytes((10,), 8, "64K")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("65536", 65536), ("64K", 65536), ("64k", 65536), ("64KiB", 65536), ("1M", 2**20)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert bench.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "0", "-1K", "64X", "1.5M"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="a size must be a positive number of bytes"):
        bench.parse_size(text)


# ---------------------------------------------------------------------------
# The protocol: round-robin, minimum of 3, top 5 re-timed with 5 runs


def scheduled(names: list[Any], counts: list[int]) -> list[Any]:
    """The order in which interleave runs tasks ``names`` with ``counts`` runs each."""
    out = []
    for r in range(max(counts)):
        active = [n for n, c in zip(names, counts, strict=True) if c > r]
        out += [active[k] for k in bench.round_order(len(active), r)]
    return out


def test_round_order_is_a_fixed_shuffle_per_round() -> None:
    for n in (1, 2, 5, 40):
        for r in range(4):
            assert sorted(bench.round_order(n, r)) == list(range(n))
            assert bench.round_order(n, r) == bench.round_order(n, r)
    # the neighbours change from round to round: no task always follows the same one
    rounds = [bench.round_order(8, r) for r in range(3)]
    before = [{order[k]: order[k - 1] for k in range(1, 8)} for order in rounds]
    assert all(len({b.get(task) for b in before}) > 1 for task in range(8))


def test_interleave_runs_every_task_once_a_round() -> None:
    order: list[int] = []

    def task(i: int) -> int:
        order.append(i)
        return i

    tasks: list[Callable[[], int]] = [functools.partial(task, i) for i in range(3)]
    out = list(bench.interleave(tasks, 3))
    assert order == scheduled([0, 1, 2], [3, 3, 3])
    assert [r for _, r, _ in out] == [0] * 3 + [1] * 3 + [2] * 3
    assert all(sorted(order[3 * r : 3 * r + 3]) == [0, 1, 2] for r in range(3))
    # per-task counts: a task with its runs done drops out of the later rounds
    order.clear()
    list(bench.interleave(tasks, [1, 3, 2]))
    assert order == scheduled([0, 1, 2], [1, 3, 2])
    assert sorted(order) == [0, 1, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="2 run count"):
        list(bench.interleave(tasks, [1, 2]))


def test_oracle_runs_in_rounds_then_retimes_the_top_five(world: World) -> None:
    candidates = settings_list(7)
    labels = [p.label() for p in candidates]
    # setting k writes in (k + 1) ms: the five fastest are 0..4
    for k, label in enumerate(labels):
        world.write[label] = [(k + 1) / 1000]
    report = run_bench(world, settings=candidates)

    first = writes(world)[: 3 * 7]
    assert first == scheduled(labels, [3] * 7)
    # the top five, five rounds, taking turns with the defaults (three rounds)
    final = [label for what, label in world.log[2 * 3 * 7 :] if what == "write"]
    assert final == scheduled(["defaults", *labels[:5]], [3] + [5] * 5)
    # every write is followed by a read of the same output
    pairs = list(zip(world.log[0::2], world.log[1::2], strict=True))
    assert all(w == ("write", x) and r == ("read", x) for w, r in pairs for x in [w[1]])
    assert report.cases[0].oracle_index == 0
    assert report.cases[0].oracle_retimed


def test_every_timing_is_the_minimum_of_three(world: World) -> None:
    candidates = settings_list(3)
    a, b, c = (p.label() for p in candidates)
    world.write.update(
        {a: [0.009, 0.004, 0.006], b: [0.003, 0.008, 0.005], c: [0.7, 0.9, 0.2]}
    )
    world.read.update({a: [0.002, 0.003, 0.001], b: [0.004], c: [0.5, 0.1, 0.3]})
    report = run_bench(world, settings=candidates, tradeoffs=[1.0])  # nothing re-timed at 1
    assert [t.runs for t in report.timings] == [3, 3, 3]
    assert [t.ctime for t in report.timings] == pytest.approx([0.004, 0.003, 0.2])
    assert [t.dtime for t in report.timings] == pytest.approx([0.001, 0.004, 0.1])
    assert writes(world) == scheduled([a, b, c], [3, 3, 3])


def test_a_lucky_first_pass_does_not_win_the_crown(world: World) -> None:
    candidates = settings_list(7)
    labels = [p.label() for p in candidates]
    for k, label in enumerate(labels):
        world.write[label] = [(k + 2) / 1000]
    # setting 6 is slow but had one lucky run in the first pass: it enters the top five
    world.write[labels[6]] = [0.050, 0.0005, 0.050] + [0.050] * 5  # its second run
    report = run_bench(world, settings=candidates)
    retimed = writes(world)[3 * 7 :]
    assert sorted(set(retimed)) == sorted({labels[6], *labels[:4]})
    assert all(retimed.count(x) == 5 for x in set(retimed))
    case = report.cases[0]
    assert case.oracle_index == 0  # the steady fastest is crowned ...
    assert case.oracle.ctime == pytest.approx(0.002)  # ... with its re-timed figure


def test_short_lists_of_all_cases_are_retimed_together(world: World) -> None:
    candidates = settings_list(8)
    labels = [p.label() for p in candidates]
    for k, label in enumerate(labels):
        world.write[label] = [(k + 1) / 1000]  # fast to write: 0, 1, 2, ...
        world.read[label] = [(8 - k) / 1000]  # fast to read: 7, 6, 5, ...
    run_bench(world, settings=candidates, perf_modes=["COMP", "DECOMP"], tradeoffs=[0.0, 1.0])
    retimed = writes(world)[3 * 8 :]
    # COMP's top five (0-4) and DECOMP's (3-7), once each, five runs; t=1 adds nothing
    final = scheduled(["defaults", *labels], [3] + [5] * 8)
    assert retimed == [x for x in final if x != "defaults"]


def test_defaults_short_lists_and_tuned_writes_take_turns(world: World) -> None:
    (setting,) = settings_list(1)
    run_bench(world, settings=[setting], strategies=["genetic", "probe"])
    final = world.log[2 * 3 :]  # after the oracle's first pass
    s = setting.label()
    turns = {
        "d": [("write", "defaults"), ("read", "defaults")],
        "o": [("write", s), ("read", s)],
        "g": [("compress", "genetic@0/COMP"), ("read", "genetic@0/COMP")],
        "p": [("compress", "probe@0/COMP"), ("read", "probe@0/COMP")],
    }
    turns["g"].append(("replay", "genetic@0/COMP"))
    turns["p"].append(("replay", "probe@0/COMP"))
    # defaults, tuned writes: three rounds; the short list: five
    order = scheduled(["d", "o", "g", "p"], [3, 5, 3, 3])
    assert final == [step for t in order for step in turns[t]]


def test_progress_counts_every_run(world: World) -> None:
    calls: list[tuple[str, int, int]] = []
    run_bench(
        world,
        settings=settings_list(7),
        strategies=["genetic"],
        progress=lambda what, done, total: calls.append((what, done, total)),
    )
    planned = 3 * 7 + 5 * 5 + 3 * (1 + 1)  # first pass, top five, defaults + one tuned write
    assert [done for _, done, _ in calls] == list(range(1, planned + 1))
    assert calls[-1][2] == planned
    assert [what for what, _, _ in calls[:21]] == ["data: oracle"] * 21
    assert {what for what, _, _ in calls[21:]} == {"data: oracle top 5, defaults and btune"}


# ---------------------------------------------------------------------------
# The arithmetic


def expected_objective(
    nbytes: int, cbytes: int, ctime: float, dtime: float, tradeoff: float, mode: str
) -> float:
    transfer = cbytes / DEFAULT_BANDWIDTH
    t = {"COMP": ctime, "DECOMP": dtime, "BALANCED": ctime + dtime}[mode] + transfer
    return tradeoff * math.log(nbytes / cbytes) + (1 - tradeoff) * math.log(nbytes / t)


@pytest.mark.parametrize("mode", ["COMP", "DECOMP", "BALANCED"])
@pytest.mark.parametrize("tradeoff", [0.0, 0.5, 1.0])
def test_regret_and_overhead_arithmetic(world: World, mode: str, tradeoff: float) -> None:
    (oracle,) = settings_list(1)
    name = f"genetic@{tradeoff:g}/{mode}"
    world.size.update({oracle.label(): 8192, "defaults": 4096, name: 10240})
    world.write.update(
        {
            oracle.label(): [0.010],
            "defaults": [0.050, 0.040, 0.045],
            name: [0.013, 0.012, 0.015],
        }
    )
    world.read.update({oracle.label(): [0.002], "defaults": [0.004], name: [0.003, 0.0025]})
    world.replays[name] = [0.011, 0.010, 0.0105]
    report = run_bench(
        world,
        settings=[oracle],
        tradeoffs=[tradeoff],
        perf_modes=[mode],
        strategies=["genetic"],
    )
    (case,) = report.cases
    n = DATA.nbytes
    best = expected_objective(n, 8192, 0.010, 0.002, tradeoff, mode)
    tuned = expected_objective(n, 10240, 0.012, 0.0025, tradeoff, mode)
    dflt = expected_objective(n, 4096, 0.040, 0.004, tradeoff, mode)
    assert case.oracle.objective == pytest.approx(best)
    assert case.oracle.regret == pytest.approx(1.0)
    got = case.btune["genetic"]
    assert got.objective == pytest.approx(tuned)
    assert got.regret == pytest.approx(math.exp(best - tuned))
    assert got.overhead == pytest.approx(0.012 / 0.010)  # min write / min replay
    assert got.replay_time == pytest.approx(0.010)
    assert case.defaults.regret == pytest.approx(math.exp(best - dflt))
    assert case.defaults.overhead is None
    assert got.cratio == pytest.approx(n / 10240)
    assert got.write_mbps == pytest.approx(n / 0.012 / 1e6)
    assert got.read_mbps == pytest.approx(n / 0.0025 / 1e6)


def test_scripted_clock_values_give_exact_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain list of clock readings (no fake time) through one setting and one strategy."""
    # the final round: defaults (D), the top five of one (S), the tuned write (T)
    readings = {
        "D": [[0.0, 2.0, 2.5], [0.0, 3.0, 3.5], [0.0, 2.5, 3.5]],  # write 2, read 0.5 at best
        "S": [[0.0, 1.0, 1.5]] * 5,  # write 1.0, read 0.5
        # write, read, replay: 4 / 1 / 2, then 3 / 0.4 / 2.6, then 5 / 0.5 / 1.5
        "T": [[0.0, 4.0, 5.0, 5.0, 7.0], [0.0, 3.0, 3.4, 3.5, 6.1], [0.0, 5.0, 5.5, 6.0, 7.5]],
    }
    final: list[float] = []
    seen = {"D": 0, "S": 0, "T": 0}
    for task in scheduled(["D", "S", "T"], [3, 5, 3]):
        final += readings[task][seen[task]]
        seen[task] += 1
    ticks = iter([*[0.0, 1.0, 1.5] * 3, *final])  # oracle: write 1.0, read 0.5, three runs
    engine_world = World()
    monkeypatch.setattr(bench, "_write", lambda data, chunks, p: FakeArray("x", 1000))
    monkeypatch.setattr(bench, "_read", lambda array: None)
    monkeypatch.setattr(bench, "_cbytes", lambda array: array.cbytes)
    report = bench.bench_array(
        np.zeros(2000, dtype=np.uint8),
        tradeoffs=[0.0],
        perf_modes=["COMP"],
        strategies=["probe"],
        settings=settings_list(1),
        engine=FakeEngine(engine_world),
        clock=lambda: next(ticks),
    )
    assert next(ticks, None) is None  # every reading used
    (case,) = report.cases
    assert report.defaults.ctime == 2.0 and report.defaults.dtime == 0.5
    got = case.btune["probe"]
    assert (got.ctime, got.dtime, got.replay_time) == pytest.approx((3.0, 0.4, 1.5))
    assert got.overhead == pytest.approx(2.0)
    # COMP at tradeoff 0: regret is the ratio of speeds (plus a negligible transfer time)
    assert got.regret == pytest.approx(3.0 / 1.0, rel=1e-6)
    assert case.defaults.regret == pytest.approx(2.0 / 1.0, rel=1e-6)


def test_the_fastest_tuned_run_is_reported_with_all_sizes(world: World) -> None:
    name = "genetic@0/COMP"
    world.write[name] = [0.020, 0.010, 0.030]
    sizes = iter([5000, 6000, 7000])

    class Varying(FakeEngine):
        def compress(self, data: Any, config: Any = None, *, chunks: Any = None) -> FakeResult:
            result = super().compress(data, config, chunks=chunks)
            result.array.cbytes = next(sizes)
            return result

    engine = Varying(world)
    report = run_bench(world, settings=settings_list(1), strategies=["genetic"], engine=engine)
    got = report.cases[0].btune["genetic"]
    assert got.cbytes == 6000 and got.ctime == pytest.approx(0.010)
    assert got.cbytes_runs == (5000, 6000, 7000)


# ---------------------------------------------------------------------------
# Sampling large inputs


def test_large_inputs_are_sampled_by_whole_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "SAMPLE_ABOVE", 1000)
    data = np.arange(100 * 10, dtype=np.int64).reshape(100, 10)
    sample, info = bench._oracle_sample(data, (10, 10), target=3 * 800)
    assert info is not None and info["nchunks"] == 3
    assert sample.shape == (30, 10)
    # whole chunks (rows of 10), spread evenly: the first, one in the middle, the last
    np.testing.assert_array_equal(sample, data[np.r_[0:10, 40:50, 90:100]])


def test_small_inputs_are_not_sampled() -> None:
    sample, info = bench._oracle_sample(DATA, (8, 64), target=1)
    assert sample is DATA and info is None


# ---------------------------------------------------------------------------
# Outputs: JSON, table, plot, command line


def test_json_schema(world: World) -> None:
    report = run_bench(
        world,
        settings=settings_list(6),
        tradeoffs=[0.0, 1.0],
        perf_modes=["COMP", "BALANCED"],
        strategies=["genetic", "probe"],
    )
    doc = json.loads(json.dumps(bench.to_json([report], {"chunk_bytes": 8192})))
    assert {"date", "btune_version", "blosc2_version", "cores", "protocol", "options"} <= set(
        doc
    )
    assert doc["protocol"] == {"runs": 3, "top": 5, "final_runs": 5}
    (entry,) = doc["inputs"]
    assert entry["name"] == "data" and entry["shape"] == [64, 64] and entry["dtype"] == "int64"
    assert entry["chunks"] == [16, 64] and entry["nchunks"] == 4 and entry["small"] is True
    assert entry["oracle_sample"] is None
    assert len(entry["oracle_settings"]) == 6
    assert set(entry["oracle_settings"][0]) == {
        "label", "params", "nbytes", "cbytes", "cratio", "ctime", "dtime",
    }  # fmt: skip
    assert [(c["tradeoff"], c["perf_mode"]) for c in entry["cases"]] == [
        (0.0, "COMP"), (0.0, "BALANCED"), (1.0, "COMP"), (1.0, "BALANCED"),
    ]  # fmt: skip
    figures = {
        "label", "nbytes", "cbytes", "cratio", "ctime", "dtime", "write_mbps", "read_mbps",
        "objective", "regret", "overhead",
    }  # fmt: skip
    for case in entry["cases"]:
        assert set(case["defaults"]) == figures
        assert set(case["oracle"]) == figures | {"index", "retimed"}
        assert set(case["btune"]) == {"genetic", "probe"}
        for tuned in case["btune"].values():
            assert set(tuned) == figures | {
                "replay_time",
                "best",
                "distinct_params",
                "cbytes_runs",
            }
            assert Params.from_dict(tuned["best"]).codec == "LZ4"
    assert set(entry["seconds"]) == {"oracle", "final"}


def test_table_lists_every_case_and_row(world: World) -> None:
    report = run_bench(
        world, settings=settings_list(2), tradeoffs=[0.0, 0.5], strategies=["genetic"]
    )
    table = bench.render_table(report)
    assert "data  int64 64x64" in table and "small input" in table
    for word in ("ratio", "write MB/s", "read MB/s", "objective", "regret", "overhead"):
        assert word in table
    assert sum(line.split()[2:3] == ["defaults"] for line in table.splitlines()) == 2
    assert table.count(" oracle ") == 2 and table.count(" genetic ") == 2


def test_real_blosc2_writes_with_a_fake_engine() -> None:
    """The default write and read paths, on a tiny array, with real blosc2."""
    data = np.linspace(0, 1, 20000).reshape(100, 200)
    report = bench.bench_array(
        data,
        tradeoffs=[0.5],
        perf_modes=["DECOMP"],
        strategies=[],
        settings=settings_list(2),
        chunk_bytes=16384,
    )
    assert report.chunks == (10, 200)
    expected = blosc2.asarray(data, chunks=(10, 200), cparams=settings_list(1)[0].cparams())
    assert report.timings[0].cbytes == expected.schunk.cbytes
    assert report.cases[0].oracle.regret == 1.0
    assert (
        report.cases[0].defaults.cbytes == blosc2.asarray(data, chunks=(10, 200)).schunk.cbytes
    )


def test_plot_file_is_written(world: World, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from btune.plot import pareto_front, plot_bench

    report = run_bench(
        world, settings=settings_list(10), tradeoffs=[0.0, 0.5, 1.0], strategies=["genetic"]
    )
    out = plot_bench([report.to_dict(), report.to_dict()], tmp_path / "bench.png", mode="COMP")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pareto_front([(1, 5), (2, 4), (2, 3), (0.5, 1), (3, 1)]) == [(1, 5), (2, 4), (3, 1)]


def test_plot_without_matplotlib_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    from btune.plot import plot_bench

    with pytest.raises(ModuleNotFoundError, match=r"pip install 'btune\[plot\]'"):
        plot_bench([{"name": "x"}], "unused.png")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="btune")
    bench.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["bench", *argv])


def test_command_line_defaults() -> None:
    args = parse(["a.npy", "b.npy"])
    assert args.inputs == ["a.npy", "b.npy"]
    assert args.tradeoffs == [0.0, 0.5, 1.0]
    assert [m.name for m in args.perf_modes] == ["COMP", "DECOMP", "BALANCED"]
    assert args.chunk_bytes == 65536 and args.strategies == ["genetic", "probe"]
    assert args.func is bench.run and not args.quiet and args.json is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tradeoffs", "0,2"], "`tradeoff` must be in"),
        (["--tradeoffs", "0,x"], "`tradeoff` must be a number"),
        (["--perf-modes", "FAST"], "`perf_mode` must be one of"),
        (["--perf-modes", "AUTO"], "COMP, DECOMP or BALANCED"),
        (["--strategies", "greedy"], "`strategy` must be one of"),
        (["--chunk-bytes", "lots"], "a size must be"),
    ],
)
def test_command_line_rejects_bad_values(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(["x.npy", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_command_line_run(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    np.save(tmp_path / "tiny.npy", DATA)
    monkeypatch.setattr(bench, "_load_engine", lambda: FakeEngine(world))
    monkeypatch.setattr(bench, "oracle_settings", lambda: settings_list(4))
    out_json = tmp_path / "bench.json"
    argv = [str(tmp_path / "tiny.npy"), "--tradeoffs", "0,1", "--perf-modes", "COMP"]
    argv += ["--strategies", "genetic", "--chunk-bytes", "8K", "--json", str(out_json)]
    code = bench.run(parse([*argv, "--quiet"]))
    assert code == 0
    shown = capsys.readouterr()
    assert "tiny.npy  int64 64x64" in shown.out and shown.err == ""
    doc = json.loads(out_json.read_text())
    assert doc["options"]["chunk_bytes"] == 8192
    assert [c["tradeoff"] for c in doc["inputs"][0]["cases"]] == [0.0, 1.0]


def test_command_line_reports_a_missing_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # bad input: exit code 2, like compress
    assert bench.run(parse([str(tmp_path / "nope.npy"), "--quiet"])) == 2
    assert "btune bench: error:" in capsys.readouterr().err


def test_command_line_refuses_unknown_formats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.csv").write_text("1,2\n")
    assert bench.run(parse([str(tmp_path / "x.csv"), "--quiet"])) == 2
    message = capsys.readouterr().err
    assert message.startswith("btune bench: error: ") and "x.csv" in message
    assert "unknown input type '.csv'" in message


# ---------------------------------------------------------------------------
# The corpus report script's summaries (on synthetic results)


def load_corpus_report() -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "corpus_report.py"
    spec = importlib.util.spec_from_file_location("corpus_report", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_input(name: str, nchunks: int, regret: float, overhead: float) -> dict[str, Any]:
    def figures(r: float, ratio: float, over: float | None) -> dict[str, Any]:
        return {"label": "x", "cratio": ratio, "regret": r, "overhead": over}

    cases = [
        {
            "tradeoff": t,
            "perf_mode": m,
            "oracle": figures(1.0, 4.0, None),
            "defaults": figures(2.0, 2.0, None),
            "btune": {"genetic": figures(regret, 3.0, overhead)},
        }
        for t in (0.0, 0.5, 1.0)
        for m in ("COMP", "DECOMP", "BALANCED")
    ]
    return {
        "name": name, "dtype": "uint8", "shape": [nchunks * 65536], "nbytes": nchunks * 65536,
        "nchunks": nchunks, "small": nchunks < 16, "cases": cases,
        "seconds": {"oracle": 1.0, "final": 2.0}, "oracle_sample": None,
    }  # fmt: skip


def test_corpus_report_summaries_and_targets() -> None:
    report = load_corpus_report()
    large = [synthetic_input("a", 20, 1.01, 1.05), synthetic_input("b", 30, 1.04, 1.20)]
    rows = report.summarise(large, ["genetic"])
    row = next(r for r in rows if r["who"] == "genetic" and r["perf_mode"] == "COMP")
    assert row["median_regret"] == pytest.approx(1.025)
    assert (row["worst_regret"], row["worst_file"]) == (1.04, "b")
    assert row["median_overhead"] == pytest.approx(1.125)
    assert row["median_ratio_gain"] == pytest.approx(1.5)
    misses = report.check_targets(rows, "genetic")
    assert misses == [f"t={t} COMP median overhead 1.12" for t in ("0", "0.5", "1")]
    fine = report.summarise([synthetic_input("a", 20, 1.01, 1.05)], ["genetic"])
    assert report.check_targets(fine, "genetic") == []
    worse = report.summarise([synthetic_input("c", 20, 1.3, 1.0)], ["genetic"])
    assert "t=0 DECOMP worst regret 1.30 (c)" in report.check_targets(worse, "genetic")

    doc = {
        "date": "today", "btune_version": "0", "blosc2_version": "4", "numpy_version": "2",
        "cores": 2, "protocol": {"runs": 3, "top": 5, "final_runs": 5},
        "options": {"strategies": ["genetic"], "chunk_bytes": 65536, "corpus": "c"},
        "inputs": [*large, synthetic_input("tiny", 2, 3.0, 2.0)], "seconds": {"total": 9.0},
    }  # fmt: skip
    text = report.render_markdown(doc)
    assert "**genetic: targets not met** (3 miss(es))" in text
    assert "## Files with at least 16 chunks" in text and "2 file(s)." in text
    assert "## Small inputs (fewer than 16 chunks)" in text and "1 file(s)." in text
    assert "machine: 2 core(s)" in text and "python-blosc2 4" in text


def test_command_line_checks_output_paths_before_measuring(tmp_path: Path, capsys) -> None:
    data = tmp_path / "a.npy"
    np.save(data, np.arange(100.0))
    missing = str(tmp_path / "nope" / "x.json")
    assert bench.run(parse([str(data), "--quiet", "--json", missing])) == 2
    assert bench.run(parse([str(data), "--quiet", "--plot", str(tmp_path / "x.txt")])) == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing was measured
    assert "does not exist" in err and "must end in .png" in err


def test_command_line_rejects_bad_environment(tmp_path: Path, monkeypatch, capsys) -> None:
    data = tmp_path / "a.npy"
    np.save(data, np.arange(100.0))
    monkeypatch.setenv("BTUNE_PERF_MODE", "FOO")
    assert bench.run(parse([str(data), "--quiet"])) == 2
    assert "BTUNE_PERF_MODE" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["0,,1", "0,", ",0.5", ""])
def test_command_line_refuses_empty_list_items(text: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main(["--tradeoffs", text, "x.npy"])
    assert exc.value.code == 2
    assert "no empty item" in capsys.readouterr().err
