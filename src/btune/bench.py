"""The benchmark of DESIGN "How we measure it": blosc2's defaults, btune and the oracle.

For one input array (:func:`bench_array`) everything happens in memory:

1. **Oracle.**  Each of the 200 settings of :func:`btune.space.oracle_settings`
   writes the whole array with ``blosc2.asarray`` (blosc2's default blocks, all
   cores) and reads it back with ``arr[:]``.  Every timing is the minimum of
   :data:`RUNS` runs, taken in rounds over the settings, each round in its own
   shuffled order (:func:`round_order`).  The timings do not depend on the tradeoff or the perf
   mode, so they are measured once and scored for every (tradeoff, mode), giving
   each (tradeoff, mode) a short list of its :data:`TOP` best settings.  At
   tradeoff 1 the objective does not depend on time, so the best is crowned at
   once.  Inputs above :data:`SAMPLE_ABOVE` bytes are represented in the oracle by
   a chunk-aligned sample (the report says so).
2. **Final round: short lists, defaults and btune.**  The union of the short
   lists (:data:`FINAL_RUNS` runs each), the defaults (``blosc2.asarray`` with the
   same chunks and default cparams) and every tuned write (``engine.compress`` for
   each strategy, tradeoff and mode; :data:`RUNS` runs each) take turns in the
   same rounds, so that all of them are timed in the same state of the process
   (the allocator's free memory, for one, changes how fast any write runs).  The
   best of each short list by the re-timed objective is crowned.  A btune run
   writes, reads the output back, drops it and writes the same chunks again with
   exactly the recorded parameters (``engine.replay``).  No output outlives its
   run.

Scores follow :mod:`btune.objective` on the whole array: ``ctime`` is the write
time, ``dtime`` the read time, ``cbytes`` the compressed size.
``regret = exp(objective(oracle) - objective(x))`` and ``overhead = write time /
replay time`` (each the minimum over its runs).  A tuned write may choose
differently from run to run: the reported output (its size, chosen parameters)
is the one of the fastest run, and the sizes of all runs are kept in
``cbytes_runs``.

All timings go through one injectable ``clock`` so tests can script them.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import functools
import gc
import importlib
import json
import math
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

import blosc2
import numpy as np

from btune.config import (
    DEFAULT_BANDWIDTH,
    PerformanceMode,
    parse_strategy,
    parse_tradeoff,
    resolve,
)
from btune.objective import Measurement, objective
from btune.space import Params, core_count, oracle_settings

__all__ = [
    "BtuneFigures",
    "Case",
    "Engine",
    "Figures",
    "FINAL_RUNS",
    "InputReport",
    "Progress",
    "RUNS",
    "SAMPLE_ABOVE",
    "SettingTiming",
    "SMALL_NCHUNKS",
    "TOP",
    "add_parser",
    "bench_array",
    "chunks_for_bytes",
    "interleave",
    "round_order",
    "load_input",
    "main",
    "parse_size",
    "render_table",
    "run",
]

#: Runs per timing (the minimum counts).
RUNS = 3
#: Settings per (tradeoff, mode) re-timed before one is crowned, and their runs.
TOP = 5
FINAL_RUNS = 5
#: Inputs above this many bytes are represented in the oracle by a sample ...
SAMPLE_ABOVE = 64 * 2**20
#: ... of about this many bytes.
SAMPLE_BYTES = 16 * 2**20
#: Inputs with fewer chunks than this are "small inputs" in reports.
SMALL_NCHUNKS = 16
DEFAULT_CHUNK_BYTES = 64 * 2**10
DEFAULT_TRADEOFFS = (0.0, 0.5, 1.0)
DEFAULT_MODES = ("COMP", "DECOMP", "BALANCED")
DEFAULT_STRATEGIES = ("genetic", "probe")

Clock = Callable[[], float]
T = TypeVar("T")
K = TypeVar("K")


class Progress(Protocol):
    """Told after every run: what is being measured, runs done and runs planned."""

    def __call__(self, what: str, done: int, total: int) -> None: ...


class Engine(Protocol):
    """What the benchmark needs of :mod:`btune.engine`."""

    def compress(self, data: Any, config: Any = ..., *, chunks: Any = ...) -> Any: ...

    def replay(self, data: Any, result: Any) -> Any: ...


# ---------------------------------------------------------------------------
# Chunk shapes and sizes


def chunks_for_bytes(shape: Sequence[int], itemsize: int, nbytes: int) -> tuple[int, ...]:
    """A chunk shape for ``shape`` of at most ``nbytes`` bytes, filled in C order.

    The last dimension is taken whole if it fits, then the one before, and so on;
    the first dimension that does not fit whole gets as many elements as fit and
    the dimensions before it get 1.  So the chunk is as large as possible without
    exceeding ``nbytes`` among chunks that fill trailing dimensions first.  Every
    dimension gets at least 1 element (a chunk of one element may exceed
    ``nbytes`` when ``itemsize`` does).
    """
    if isinstance(itemsize, bool) or not isinstance(itemsize, (int, np.integer)):
        msg = f"`itemsize` must be an integer; got {itemsize!r}"
        raise TypeError(msg)
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)):
        msg = f"`nbytes` must be an integer; got {nbytes!r}"
        raise TypeError(msg)
    if itemsize < 1:
        msg = f"`itemsize` must be >= 1; got {itemsize!r}"
        raise ValueError(msg)
    if nbytes < 1:
        msg = f"`nbytes` must be >= 1; got {nbytes!r}"
        raise ValueError(msg)
    if any(int(s) < 0 for s in shape):
        msg = f"`shape` must not have negative dimensions; got {tuple(shape)!r}"
        raise ValueError(msg)
    budget = max(1, int(nbytes) // int(itemsize))
    chunks = [1] * len(shape)
    filled = 1
    for axis in reversed(range(len(shape))):
        dim = max(1, int(shape[axis]))
        take = max(1, min(dim, budget // filled))
        chunks[axis] = take
        filled *= take
        if take < dim:
            break
    return tuple(chunks)


_SIZE = re.compile(r"^\s*(\d+)\s*([KMG]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"65536"``, ``"64K"``, ``"64KiB"``, ``"1M"`` … as bytes (powers of 1024)."""
    match = _SIZE.match(text)
    if match is None or int(match.group(1)) < 1:
        msg = f"a size must be a positive number of bytes, optionally K, M or G; got {text!r}"
        raise ValueError(msg)
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match.group(2).upper()]
    return int(match.group(1)) * scale


def _nchunks(shape: Sequence[int], chunks: Sequence[int]) -> int:
    return math.prod(math.ceil(s / c) for s, c in zip(shape, chunks, strict=True))


def _oracle_sample(
    data: np.ndarray, chunks: tuple[int, ...], target: int
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """``data`` itself, or whole chunks of it spread evenly, about ``target`` bytes."""
    if data.nbytes <= SAMPLE_ABOVE or data.ndim == 0:
        return data, None
    grid = [math.ceil(s / c) for s, c in zip(data.shape, chunks, strict=True)]
    chunk_bytes = math.prod(chunks) * data.dtype.itemsize
    wanted = max(1, target // max(chunk_bytes, 1))
    counts = list(grid)
    while math.prod(counts) > wanted:
        axis = max(range(len(counts)), key=lambda a: counts[a])
        others = math.prod(counts) // counts[axis]
        counts[axis] = max(1, min(counts[axis] - 1, wanted // others))
    index = []
    for n, g, c, s in zip(counts, grid, chunks, data.shape, strict=True):
        picks = np.unique(np.linspace(0, g - 1, n).round().astype(int))
        index.append(np.concatenate([np.arange(p * c, min((p + 1) * c, s)) for p in picks]))
    sample = np.ascontiguousarray(data[np.ix_(*index)])
    info = {
        "nbytes": int(sample.nbytes),
        "shape": list(sample.shape),
        "nchunks": _nchunks(sample.shape, chunks),
        "fraction": sample.nbytes / data.nbytes,
    }
    return sample, info


# ---------------------------------------------------------------------------
# Measuring


def round_order(n: int, round_: int) -> list[int]:
    """The order of ``n`` tasks in round ``round_``: a fixed shuffle per round.

    A slow write leaves caches and clocks in a state that the next one pays for
    (measured: a write of a few hundred microseconds runs 1.5x slower after an
    LZ4HC write than after a fast one), so no task may always follow the same
    neighbour: rotating one order would keep every neighbour, a shuffle changes
    them.  The shuffle is seeded with the round, so runs are reproducible.
    """
    order = list(range(n))
    random.Random(round_).shuffle(order)
    return order


def interleave(
    tasks: Sequence[Callable[[], T]], runs: int | Sequence[int]
) -> Iterator[tuple[int, int, T]]:
    """Run every task ``runs`` times (or ``runs[i]`` times), in rounds.

    Yields ``(task, run, result)``.  Each round runs every task that has runs left
    once, in the order :func:`round_order` gives.
    """
    counts = [runs] * len(tasks) if isinstance(runs, int) else list(runs)
    if len(counts) != len(tasks):
        msg = f"{len(counts)} run count(s) for {len(tasks)} task(s)"
        raise ValueError(msg)
    for r in range(max(counts, default=0)):
        active = [i for i, n in enumerate(counts) if n > r]
        for k in round_order(len(active), r):
            i = active[k]
            # no garbage collection inside a timed task (it runs between tasks instead)
            gc.disable()
            try:
                result = tasks[i]()
            finally:
                gc.enable()
            yield i, r, result


def _write(data: np.ndarray, chunks: tuple[int, ...], params: Params | None) -> Any:
    """One in-memory write: blosc2's defaults (``params`` None) or an oracle setting."""
    if params is None:
        return blosc2.asarray(data, chunks=chunks)
    # the same form of call as btune's own whole-array write (dicts: the cheapest)
    return blosc2.asarray(
        data,
        chunks=chunks,
        cparams=params.cparams_dict(),
        dparams={"nthreads": params.dthreads},
    )


def _read(array: Any) -> None:
    """One full read of a written array."""
    array[:]


def _cbytes(array: Any) -> int:
    return int(array.schunk.cbytes)


@dataclasses.dataclass(frozen=True)
class SettingTiming:
    """An oracle setting (or the defaults) measured on the whole input."""

    cbytes: int
    ctime: float
    dtime: float
    runs: int

    def measurement(self, nbytes: int) -> Measurement:
        return Measurement(nbytes, self.cbytes, self.ctime, self.dtime)

    def merged(self, ctime: float, dtime: float, cbytes: int) -> SettingTiming:
        return SettingTiming(
            cbytes, min(self.ctime, ctime), min(self.dtime, dtime), self.runs + 1
        )


def _with_run(
    old: SettingTiming | None, ctime: float, dtime: float, cbytes: int
) -> SettingTiming:
    """``old`` (None before the first run) with one more run merged in."""
    if old is None:
        return SettingTiming(cbytes, ctime, dtime, 1)
    return old.merged(ctime, dtime, cbytes)


def _time_write_read(
    data: np.ndarray, chunks: tuple[int, ...], params: Params | None, clock: Clock
) -> tuple[float, float, int]:
    start = clock()
    array = _write(data, chunks, params)
    written = clock()
    _read(array)
    read = clock()
    return written - start, read - written, _cbytes(array)


def _time_settings(
    data: np.ndarray,
    chunks: tuple[int, ...],
    settings: Sequence[Params],
    runs: int,
    clock: Clock,
    tick: Callable[[], None],
) -> list[SettingTiming]:
    """Each setting's minimum write and read times over ``runs`` interleaved runs."""
    best: list[SettingTiming | None] = [None] * len(settings)
    tasks = [functools.partial(_time_write_read, data, chunks, p, clock) for p in settings]
    for i, _, (ctime, dtime, cbytes) in interleave(tasks, runs):
        best[i] = _with_run(best[i], ctime, dtime, cbytes)
        tick()
    return [b for b in best if b is not None]


# ---------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True)
class Figures:
    """One row of the table: a way of writing the input, scored in one (tradeoff, mode)."""

    label: str
    nbytes: int
    cbytes: int
    ctime: float
    dtime: float
    objective: float
    regret: float
    overhead: float | None = None

    @property
    def cratio(self) -> float:
        return self.nbytes / max(self.cbytes, 1)

    @property
    def write_mbps(self) -> float:
        return self.nbytes / max(self.ctime, 1e-12) / 1e6

    @property
    def read_mbps(self) -> float:
        return self.nbytes / max(self.dtime, 1e-12) / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "nbytes": self.nbytes,
            "cbytes": self.cbytes,
            "cratio": self.cratio,
            "ctime": self.ctime,
            "dtime": self.dtime,
            "write_mbps": self.write_mbps,
            "read_mbps": self.read_mbps,
            "objective": self.objective,
            "regret": self.regret,
            "overhead": self.overhead,
        }


@dataclasses.dataclass(frozen=True)
class BtuneFigures(Figures):
    """A tuned write: the figures plus what it chose and how stable that was."""

    replay_time: float = 0.0
    best: dict[str, Any] = dataclasses.field(default_factory=dict)
    distinct_params: int = 0
    cbytes_runs: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update(
            replay_time=self.replay_time,
            best=self.best,
            distinct_params=self.distinct_params,
            cbytes_runs=list(self.cbytes_runs),
        )
        return out


@dataclasses.dataclass(frozen=True)
class Case:
    """One (tradeoff, mode) of one input: defaults, oracle and each strategy."""

    tradeoff: float
    perf_mode: str
    defaults: Figures
    oracle: Figures
    oracle_index: int
    oracle_retimed: bool
    btune: dict[str, BtuneFigures]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tradeoff": self.tradeoff,
            "perf_mode": self.perf_mode,
            "defaults": self.defaults.to_dict(),
            "oracle": {
                **self.oracle.to_dict(),
                "index": self.oracle_index,
                "retimed": self.oracle_retimed,
            },
            "btune": {name: f.to_dict() for name, f in self.btune.items()},
        }


@dataclasses.dataclass(frozen=True)
class InputReport:
    """Everything measured on one input."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    chunks: tuple[int, ...]
    nchunks: int
    bandwidth: float
    settings: list[Params]
    timings: list[SettingTiming]
    oracle_nbytes: int
    oracle_sample: dict[str, Any] | None
    defaults: SettingTiming
    defaults_label: str
    cases: list[Case]
    seconds: dict[str, float]

    @property
    def small(self) -> bool:
        return self.nchunks < SMALL_NCHUNKS

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "nbytes": self.nbytes,
            "chunks": list(self.chunks),
            "nchunks": self.nchunks,
            "small": self.small,
            "bandwidth": self.bandwidth,
            "oracle_sample": self.oracle_sample,
            "oracle_settings": [
                {
                    "label": p.label(),
                    "params": p.to_dict(),
                    "nbytes": self.oracle_nbytes,
                    "cbytes": t.cbytes,
                    "cratio": self.oracle_nbytes / max(t.cbytes, 1),
                    "ctime": t.ctime,
                    "dtime": t.dtime,
                }
                for p, t in zip(self.settings, self.timings, strict=True)
            ],
            "defaults": {
                "label": self.defaults_label,
                "cbytes": self.defaults.cbytes,
                "ctime": self.defaults.ctime,
                "dtime": self.defaults.dtime,
            },
            "cases": [c.to_dict() for c in self.cases],
            "seconds": self.seconds,
        }


# ---------------------------------------------------------------------------
# The benchmark of one input


def _load_engine() -> Engine:
    module: Any = importlib.import_module("btune.engine")
    return module  # type: ignore[no-any-return]


def _defaults_label() -> str:
    """What blosc2's default cparams are, e.g. ``ZSTD/SHUFFLE/1/auto (blosc2 defaults)``."""
    cp = blosc2.CParams()
    filters = [blosc2.Filter(f) for f in cp.filters if f != blosc2.Filter.NOFILTER]
    pipe = "+".join(f.name for f in filters) or "NOFILTER"
    split = blosc2.SplitMode(cp.splitmode).name.replace("_SPLIT", "").lower()
    return f"{blosc2.Codec(cp.codec).name}/{pipe}/{cp.clevel}/{split} (blosc2 defaults)"


def _figures(
    label: str,
    m: Measurement,
    mode: PerformanceMode,
    tradeoff: float,
    bandwidth: float,
    oracle: float,
) -> Figures:
    obj = objective(m, mode, tradeoff, bandwidth)
    return Figures(label, m.nbytes, m.cbytes, m.ctime, m.dtime, obj, math.exp(oracle - obj))


def _ranked(
    t: float,
    mode: PerformanceMode,
    table: dict[int, SettingTiming],
    nbytes: int,
    bandwidth: float,
) -> list[int]:
    """Indices of ``table`` from the best objective to the worst."""

    def score(i: int) -> float:
        return objective(table[i].measurement(nbytes), mode, t, bandwidth)

    # Ties (same score) go to the earlier setting, so the result is deterministic.
    return sorted(table, key=lambda i: (-score(i), i))


def _shortlists(
    timings: Sequence[SettingTiming],
    combos: Sequence[tuple[float, PerformanceMode]],
    nbytes: int,
    bandwidth: float,
) -> dict[tuple[float, PerformanceMode], list[int]]:
    """Per (tradeoff, mode) below tradeoff 1: the :data:`TOP` best of the first pass."""
    first = dict(enumerate(timings))
    return {
        (t, mode): _ranked(t, mode, first, nbytes, bandwidth)[:TOP]
        for t, mode in combos
        if t < 1.0
    }


def _crown(
    timings: Sequence[SettingTiming],
    retimed: dict[int, SettingTiming],
    shortlists: dict[tuple[float, PerformanceMode], list[int]],
    combos: Sequence[tuple[float, PerformanceMode]],
    nbytes: int,
    bandwidth: float,
) -> list[tuple[int, SettingTiming, bool]]:
    """Per (tradeoff, mode): the crowned setting's index, its timing, whether re-timed."""
    crowned = []
    for t, mode in combos:
        if t < 1.0:
            short = {i: retimed[i] for i in shortlists[(t, mode)]}
            winner = _ranked(t, mode, short, nbytes, bandwidth)[0]
            crowned.append((winner, retimed[winner], True))
        else:
            winner = _ranked(t, mode, dict(enumerate(timings)), nbytes, bandwidth)[0]
            crowned.append((winner, timings[winner], False))
    return crowned


@dataclasses.dataclass
class _TunedRuns:
    """The runs of one tuned write so far: what the fastest one chose and stored."""

    ctime: float = math.inf
    dtime: float = math.inf
    rtime: float = math.inf
    cbytes: int = 0
    best: Params | None = None
    distinct_params: int = 0
    cbytes_runs: list[int] = dataclasses.field(default_factory=list)

    def add(self, ctime: float, dtime: float, rtime: float, cbytes: int, result: Any) -> None:
        self.cbytes_runs.append(cbytes)
        self.dtime = min(self.dtime, dtime)
        self.rtime = min(self.rtime, rtime)
        if ctime < self.ctime:
            self.ctime, self.cbytes, self.best = ctime, cbytes, result.best
            self.distinct_params = len({r.params for r in result.records})

    def measurement(self, nbytes: int) -> Measurement:
        return Measurement(nbytes, self.cbytes, self.ctime, self.dtime)


@dataclasses.dataclass
class _FinalRound:
    defaults: SettingTiming
    retimed: dict[int, SettingTiming]
    tuned: dict[Any, _TunedRuns]


def _final_round(
    data: np.ndarray,
    sample: np.ndarray,
    chunks: tuple[int, ...],
    settings: Sequence[Params],
    union: Sequence[int],
    configs: dict[K, Any],
    engine: Engine | None,
    clock: Clock,
    tick: Callable[[], None],
) -> _FinalRound:
    """The defaults, the short-listed settings (on ``sample``) and each tuned write, in turns.

    The defaults and the tuned writes run :data:`RUNS` times, the short-listed
    settings :data:`FINAL_RUNS` times.  A tuned run is: write (timed), read its
    output (timed), drop it, replay it (timed).
    """
    tuned = {key: _TunedRuns() for key in configs}

    def tuned_run(key: K) -> None:
        assert engine is not None
        start = clock()
        result = engine.compress(data, configs[key], chunks=chunks)
        written = clock()
        _read(result.array)
        read = clock()
        cbytes = _cbytes(result.array)
        # the replay must not run beside this output (no other timed write does)
        result = dataclasses.replace(result, array=None)
        replay_start = clock()
        engine.replay(data, result)
        replayed = clock()
        tuned[key].add(
            written - start, read - written, replayed - replay_start, cbytes, result
        )

    tasks: list[Callable[[], Any]] = [
        functools.partial(_time_write_read, data, chunks, None, clock)
    ]
    tasks += [
        functools.partial(_time_write_read, sample, chunks, settings[i], clock) for i in union
    ]
    tasks += [functools.partial(tuned_run, key) for key in configs]
    counts = [RUNS] + [FINAL_RUNS] * len(union) + [RUNS] * len(configs)
    timings: dict[int, SettingTiming] = {}
    for i, _, out in interleave(tasks, counts):
        if i <= len(union):
            timings[i] = _with_run(timings.get(i), *out)
        tick()
    retimed = {setting: timings[k + 1] for k, setting in enumerate(union)}
    return _FinalRound(timings[0], retimed, tuned)


def _tuned_figures(runs: _TunedRuns, base: Figures) -> BtuneFigures:
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Figures)}
    fields["overhead"] = runs.ctime / max(runs.rtime, 1e-12)
    assert runs.best is not None
    return BtuneFigures(
        **fields,
        replay_time=runs.rtime,
        best=runs.best.to_dict(),
        distinct_params=runs.distinct_params,
        cbytes_runs=tuple(runs.cbytes_runs),
    )


def bench_array(*args: Any, **kwargs: Any) -> InputReport:
    """Benchmark one array: see :func:`_bench_array` for the arguments.

    ``BTUNE_TRADEOFF`` is hidden from C-Blosc2 meanwhile (it would make blosc2 look
    for the original plugin); the tradeoffs benchmarked are the ones given.
    """
    from btune.config import hide_plugin_trigger

    with hide_plugin_trigger():
        return _bench_array(*args, **kwargs)


def _bench_array(
    data: Any,
    *,
    name: str = "array",
    tradeoffs: Sequence[float] = DEFAULT_TRADEOFFS,
    perf_modes: Sequence[str | PerformanceMode] = DEFAULT_MODES,
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunks: Sequence[int] | None = None,
    bandwidth: float = DEFAULT_BANDWIDTH,
    settings: Sequence[Params] | None = None,
    engine: Engine | None = None,
    clock: Clock = time.perf_counter,
    progress: Progress | None = None,
) -> InputReport:
    """Benchmark one array: defaults vs the oracle vs btune (see the module docstring).

    ``chunks`` overrides the shape :func:`chunks_for_bytes` derives from
    ``chunk_bytes``; ``settings`` overrides the oracle's 200 settings; ``engine``
    defaults to :mod:`btune.engine`; ``clock`` times everything the benchmark
    scores (``engine``'s own internal measurements use their own clock).
    """
    from btune.config import resolve

    data = np.ascontiguousarray(np.asarray(data))
    if data.size == 0:
        msg = f"cannot benchmark an empty array ({name}: shape {data.shape})"
        raise ValueError(msg)
    tradeoffs = [parse_tradeoff(t) for t in tradeoffs]
    modes = [_parse_mode(m) for m in perf_modes]
    strategies = [parse_strategy(s) for s in strategies]
    combos = [(t, m) for t in tradeoffs for m in modes]
    if chunks is None:
        chunks = chunks_for_bytes(data.shape, data.dtype.itemsize, chunk_bytes)
    chunks = tuple(int(c) for c in chunks)
    settings = list(oracle_settings() if settings is None else settings)
    if strategies and engine is None:
        engine = _load_engine()
    nbytes = int(data.nbytes)
    seconds: dict[str, float] = {}

    # plan the runs, for the progress report
    ntuned = len(strategies) * len(combos)
    plan = {
        "oracle": len(settings) * RUNS,
        "final": (1 + ntuned) * RUNS + FINAL_RUNS * min(len(settings), TOP * len(combos)),
    }
    done = 0

    def tick_for(what: str) -> Callable[[], None]:
        def tick() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(what, done, sum(plan.values()))

        return tick

    # the oracle's first pass: every setting, in rounds
    wall = time.perf_counter()
    sample, sample_info = _oracle_sample(data, chunks, SAMPLE_BYTES)
    oracle_nbytes = int(sample.nbytes)
    timings = _time_settings(
        sample, chunks, settings, RUNS, clock, tick_for(f"{name}: oracle")
    )
    shortlists = _shortlists(timings, combos, oracle_nbytes, bandwidth)
    union = sorted({i for short in shortlists.values() for i in short})
    plan["final"] = (1 + ntuned) * RUNS + FINAL_RUNS * len(union)
    seconds["oracle"] = time.perf_counter() - wall

    # the short lists, the defaults and every tuned write, in the same rounds
    wall = time.perf_counter()
    configs = {
        (s, c): resolve(tradeoff=t, perf_mode=m.name, strategy=s, trace=False)
        for s in strategies
        for c, (t, m) in enumerate(combos)
    }
    final = _final_round(
        data,
        sample,
        chunks,
        settings,
        union,
        configs,
        engine,
        clock,
        tick_for(f"{name}: oracle top {TOP}, defaults and btune"),
    )
    crowned = _crown(timings, final.retimed, shortlists, combos, oracle_nbytes, bandwidth)
    seconds["final"] = time.perf_counter() - wall

    # score every (tradeoff, mode)
    cases = []
    for c, ((t, mode), (index, timing, retimed)) in enumerate(
        zip(combos, crowned, strict=True)
    ):
        best = objective(timing.measurement(oracle_nbytes), mode, t, bandwidth)
        score = functools.partial(
            _figures, mode=mode, tradeoff=t, bandwidth=bandwidth, oracle=best
        )
        oracle = score(settings[index].label(), timing.measurement(oracle_nbytes))
        dflt = score(_defaults_label(), final.defaults.measurement(nbytes))
        btune = {}
        for s in strategies:
            runs = final.tuned[(s, c)]
            assert runs.best is not None
            btune[s] = _tuned_figures(runs, score(runs.best.label(), runs.measurement(nbytes)))
        cases.append(Case(t, mode.name, dflt, oracle, index, retimed, btune))

    return InputReport(
        name=name,
        shape=tuple(int(s) for s in data.shape),
        dtype=str(data.dtype),
        nbytes=nbytes,
        chunks=chunks,
        nchunks=_nchunks(data.shape, chunks),
        bandwidth=bandwidth,
        settings=settings,
        timings=timings,
        oracle_nbytes=oracle_nbytes,
        oracle_sample=sample_info,
        defaults=final.defaults,
        defaults_label=_defaults_label(),
        cases=cases,
        seconds=seconds,
    )


def _parse_mode(value: str | PerformanceMode) -> PerformanceMode:
    from btune.config import parse_perf_mode

    mode = parse_perf_mode(value)
    if mode is PerformanceMode.AUTO:
        msg = f"`perf_mode` must be COMP, DECOMP or BALANCED for the benchmark; got {value!r}"
        raise ValueError(msg)
    return mode


# ---------------------------------------------------------------------------
# Output


def header(version_info: bool = True) -> dict[str, Any]:
    """Run facts for reports: date, versions, cores, bandwidth."""
    from btune import __version__

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "btune_version": __version__,
        "blosc2_version": blosc2.__version__,
        "numpy_version": np.__version__,
        "cores": core_count(),
        "protocol": {"runs": RUNS, "top": TOP, "final_runs": FINAL_RUNS},
    }


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _describe(report: InputReport) -> str:
    shape = "x".join(map(str, report.shape))
    chunks = "x".join(map(str, report.chunks))
    line = (
        f"{report.name}  {report.dtype} {shape}  {report.nbytes / 2**20:.2f} MiB  "
        f"chunks {chunks} ({report.nchunks} chunks"
        + (", small input)" if report.small else ")")
    )
    if report.oracle_sample:
        s = report.oracle_sample
        line += (
            f"\n  note: the oracle measured a sample of {s['nchunks']} chunks "
            f"({s['nbytes'] / 2**20:.1f} MiB, {100 * s['fraction']:.1f}% of the input)"
        )
    return line


def render_table(report: InputReport) -> str:
    """The terminal table of one input: one block per (tradeoff, mode)."""
    cols = (
        "tradeoff", "mode", "who", "ratio", "write MB/s", "read MB/s", "objective",
        "regret", "overhead", "parameters",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = []
    for case in report.cases:
        named: list[tuple[str, Figures]] = [
            ("defaults", case.defaults),
            ("oracle", case.oracle),
        ]
        named += list(case.btune.items())
        for j, (who, f) in enumerate(named):
            rows.append(
                (
                    f"{case.tradeoff:g}" if j == 0 else "",
                    case.perf_mode if j == 0 else "",
                    who,
                    _fmt(f.cratio),
                    f"{f.write_mbps:.0f}",
                    f"{f.read_mbps:.0f}",
                    _fmt(f.objective, 3),
                    _fmt(f.regret),
                    _fmt(f.overhead),
                    f.label,
                )
            )
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    right = {3, 4, 5, 6, 7, 8}

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    out = [_describe(report), line(cols), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def to_json(reports: Sequence[InputReport], options: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a benchmark run."""
    return {**header(), "options": options, "inputs": [r.to_dict() for r in reports]}


# ---------------------------------------------------------------------------
# Inputs


def load_input(path: str | Path) -> np.ndarray:
    """An input that :func:`btune.readers.open_input` accepts, read whole into memory.

    Raises :class:`btune.errors.InputError` (a ``ValueError``) naming the input.
    """
    from btune.readers import open_input

    opened = open_input(path)
    if isinstance(opened, blosc2.NDArray):
        return np.ascontiguousarray(opened[()])
    return np.array(opened, copy=True, order="C")


# ---------------------------------------------------------------------------
# Command line


def _list_arg(parse: Callable[[str], T]) -> Callable[[str], list[T]]:
    def convert(text: str) -> list[T]:
        items = [t.strip() for t in text.split(",")]
        if not all(items):  # "", "0,,1", "0,": an empty item is a typo, not nothing
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list with no empty item; got {text!r}"
            )
        try:
            return [parse(t) for t in items]
        except (TypeError, ValueError) as err:
            raise argparse.ArgumentTypeError(str(err)) from err

    return convert


def _tradeoff_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        msg = f"`tradeoff` must be a number in [0, 1]; got {text!r}"
        raise ValueError(msg) from err
    return parse_tradeoff(value)


def _size_arg(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``btune bench`` on an ``argparse`` subparsers object.

    The parser's default ``func`` is :func:`run`.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="compare blosc2's defaults, btune and the exhaustive oracle",
        description=(
            "Benchmark btune against blosc2's defaults and an exhaustive oracle of 200 "
            "settings, in memory, per tradeoff and perf mode (DESIGN: How we measure it). "
            "regret = exp(objective(oracle) - objective(x)); overhead = tuned write time / "
            "time to write the same chunks again with the recorded parameters."
        ),
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help=".npy, .b2nd, HDF5 (FILE.h5:/dataset) or Zarr",
    )
    parser.add_argument(
        "--tradeoffs",
        metavar="T,T,...",
        type=_list_arg(_tradeoff_arg),
        default=list(DEFAULT_TRADEOFFS),
        help="comma-separated tradeoffs in [0, 1] (default: 0,0.5,1)",
    )
    parser.add_argument(
        "--perf-modes",
        metavar="MODE,...",
        type=_list_arg(_parse_mode),
        default=[PerformanceMode[m] for m in DEFAULT_MODES],
        help="comma-separated perf modes (default: COMP,DECOMP,BALANCED)",
    )
    parser.add_argument(
        "--chunk-bytes",
        metavar="SIZE",
        type=_size_arg,
        default=DEFAULT_CHUNK_BYTES,
        help="chunk size, filled in C order (default: 64K)",
    )
    parser.add_argument(
        "--strategies",
        metavar="NAME,...",
        type=_list_arg(parse_strategy),
        default=list(DEFAULT_STRATEGIES),
        help="comma-separated strategies: default, genetic, probe (default: genetic,probe)",
    )
    parser.add_argument(
        "--json", metavar="F", help="write every figure as JSON to F (- = stdout)"
    )
    parser.add_argument(
        "--plot", metavar="F.png", help="plot ratio vs speed per input (needs matplotlib)"
    )
    parser.add_argument(
        "--plot-mode",
        metavar="MODE",
        type=_parse_mode,
        default=None,
        help="the perf mode whose speed the plot shows (default: the first of --perf-modes)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def progress_bar(
    enabled: bool, stream: TextIO | None = None, position: int = 0
) -> tuple[Progress | None, Any]:
    """A :class:`Progress` drawing a tqdm bar (standard error by default), and the bar.

    Both are None when not ``enabled``; the caller closes the bar.
    """
    stream = sys.stderr if stream is None else stream
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(
        total=1, file=stream, unit="run", dynamic_ncols=True, leave=False, position=position
    )

    def show(what: str, done: int, total: int) -> None:
        if bar.desc != what:
            bar.set_description_str(what, refresh=False)
        bar.total = total
        bar.n = done
        bar.refresh()

    return show, bar


def run(args: argparse.Namespace) -> int:
    """Run ``btune bench`` with parsed arguments.

    0 on success, 2 for bad input or options (checked before the long run where
    possible), 1 when writing a result fails.
    """
    err = sys.stderr
    modes: list[PerformanceMode] = list(args.perf_modes)
    plot_mode = args.plot_mode or modes[0]
    for flag, target, suffixes in (
        ("--json", args.json, None),
        ("--plot", args.plot, (".png",)),
    ):
        if not target or target == "-":
            continue
        folder = Path(target).parent
        if not folder.is_dir():
            print(
                f"btune bench: error: {flag} {target}: folder {str(folder)!r} does not exist",
                file=err,
            )
            return 2
        if suffixes and Path(target).suffix.lower() not in suffixes:
            print(
                f"btune bench: error: {flag} {target}: must end in {', '.join(suffixes)}",
                file=err,
            )
            return 2
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(
                "btune bench: error: --plot needs matplotlib, which is not installed; "
                "install it with: pip install 'btune[plot]'",
                file=err,
            )
            return 2
        if plot_mode not in modes:
            print(
                f"btune bench: error: --plot-mode {plot_mode.name} is not among --perf-modes "
                f"{','.join(m.name for m in modes)}",
                file=err,
            )
            return 2
    to_stdout = args.json == "-"
    show, bar = progress_bar(not args.quiet and err.isatty())
    reports = []
    try:
        for path in args.inputs:
            resolve()  # bad BTUNE_* variables fail here, before any measuring
            data = load_input(path)
            report = bench_array(
                data,
                name=Path(path).name,
                tradeoffs=args.tradeoffs,
                perf_modes=modes,
                strategies=args.strategies,
                chunk_bytes=args.chunk_bytes,
                progress=show,
            )
            reports.append(report)
            if not to_stdout:
                if bar is not None:
                    bar.clear()
                print(render_table(report) + "\n", flush=True)
    except (OSError, ValueError, TypeError) as error:
        print(f"btune bench: error: {error}", file=err)
        return 2
    finally:
        if bar is not None:
            bar.close()
    options = {
        "tradeoffs": list(args.tradeoffs),
        "perf_modes": [m.name for m in modes],
        "strategies": list(args.strategies),
        "chunk_bytes": args.chunk_bytes,
    }
    if args.json:
        text = json.dumps(to_json(reports, options), indent=1)
        if to_stdout:
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    if args.plot:
        from btune.plot import plot_bench

        plot_bench([r.to_dict() for r in reports], args.plot, mode=plot_mode.name)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m btune.bench INPUT …``: the bench subcommand on its own."""
    parser = argparse.ArgumentParser(prog="btune")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
