"""A sample-probing tuner: try candidates on a sample, store nothing poor.

The genetic search learns by storing every trial chunk, so each poor trial stays in
the file.  This strategy instead measures candidates through the engine's probe (a
few blocks spread over the array, compressed and discarded), commits the winner
for every chunk, and finishes at once, so the engine writes the array through
blosc2's own fast path.

Exploration is budgeted against the write it serves: the probes may cost at most
a share of the expected time of writing the whole array with the best candidate
so far (the sample's time scaled to the array's size).  The share follows what
probing costs in the objective: when speed is all that counts (tradeoff 0) a
probe that costs 3 % of the write costs 3 % of the score, at tradeoff 0.5 only
half as much in the log.  When the write is cheap (fast codecs on small data)
only the first, most likely candidates are tried; when it is expensive (strong
codecs, many chunks) the search widens.  The candidate order is a prior per
tradeoff band, from the most likely winner to the least.

Timings are noisy (1.5x between identical runs of a few milliseconds), so a
candidate replaces the best only if its objective is higher by ``MARGIN``, and the
cheap candidates are measured twice keeping the faster run.
"""

from __future__ import annotations

import dataclasses
import functools
import math

from btune.config import Config, PerformanceMode
from btune.objective import Measurement
from btune.space import Params, Pipeline, available_codecs
from btune.strategies.base import Probe, Step, Strategy

__all__ = ["ProbeStrategy", "budget"]

#: Objective gain (natural log) a candidate needs to replace the best: 5 % at
#: tradeoff 0, shrinking with the weight of speed (sizes are exact, timings are not:
#: two probes of one candidate on a few KiB often differ by more than 2 %).
MARGIN = math.log(1.05)

#: Share of the expected write time that probing may cost at tradeoff 0 in COMP and
#: BALANCED (it grows as 1 / (1 - tradeoff), up to :data:`MAX_BUDGET`).
SPEED_BUDGET = 0.03
MAX_BUDGET = 0.10
#: Writing speed is not scored in DECOMP, so exploring costs nothing there but wall time.
DECOMP_BUDGET = 0.5

#: Below this many seconds a probe is repeated and the faster run kept: short timings
#: are the noisiest, and a candidate's first run also pays for its code being cold
#: (on ct_head, a single LZ4+SHUFFLE probe of 32 KiB took 39 µs, twice its warm time,
#: and lost to BLOSCLZ storing the data raw).
REPEAT_BELOW = 50e-6

#: A sample compressed to at most this ratio was stored raw (copied).
RAW_RATIO = 1.02

#: Ratio-leaning runs screen filters at this level before trying the top one.
SCREEN_CLEVEL = 5

#: Candidates always tried, whatever the budget: one look past the prior's first
#: choice guards against data the prior fits badly (a filter that defeats the codec).
MIN_CANDIDATES = 2
#: At middle tradeoffs (COMP, BALANCED) the ratio counts as much as the speed, and
#: the fastest codec (BLOSCLZ, no filter) often copies numbers that LZ4 compresses
#: 2-3x after a shuffle: the first candidates of the ladder up to LZ4 after
#: BITSHUFFLE (and after SHUFFLE for multi-byte items) are always tried ...
MIDDLE_LOOKS = 2
#: ... and when the best of them compresses at least this much, ZSTD at level 1
#: with its filter (in the corpus report at tradeoff 0.5, ZSTD at level 1 was the
#: oracle on four files whose best ratios were 5.6 to 215: a mask, a label map, an
#: image and a quiet seismic trace).
ZSTD_LOOK_RATIO = 2.0

#: The engine's sample is about 1/sample_fraction of the array: speed-leaning runs
#: decide between codec families far apart, on a small piece (the probe's cost counts
#: in full at tradeoff 0); the ratio-leaning ones compare sizes a few per cent apart,
#: on more of the data.
SPEED_SAMPLE_FRACTION = 256
RATIO_SAMPLE_FRACTION = 32
#: Speed-leaning runs may probe a piece shorter than a block, down to this size: on
#: 8 KiB, codecs rank and give up as on 64 KiB blocks (on 4 KiB, BLOSCLZ gives up on
#: data it compresses 4x on 8 KiB).  At middle tradeoffs, where ZSTD competes, the
#: pieces are longer: a call's fixed cost (ZSTD's is the largest) would otherwise
#: weigh on 8 KiB as it never does on a whole chunk (ZSTD lost to BLOSCLZ on a label
#: map on 8 KiB, and is the oracle on its 64 KiB chunks).
SPEED_PIECE_BYTES = 8192
MIDDLE_PIECE_BYTES = 32768


def budget(tradeoff: float, mode: PerformanceMode) -> float:
    """The share of the expected write time that probing may cost."""
    if mode is PerformanceMode.DECOMP:
        return DECOMP_BUDGET
    if tradeoff >= 1.0:
        return MAX_BUDGET
    return min(MAX_BUDGET, SPEED_BUDGET / (1.0 - tradeoff))


Candidate = tuple[str, Pipeline, int, str]


@functools.lru_cache(maxsize=32)
def _ladder(tradeoff: float, mode: PerformanceMode, typesize: int) -> tuple[Candidate, ...]:
    """Candidates (codec, pipeline, clevel, split) in prior order for a tradeoff band.

    The order is what won most often on real data (images, seismic traces, tables)
    at 64 KiB chunks: the likeliest winners first, so that a small budget still
    tries them.  BLOSCLZ at clevel 1 without a filter gives up quickly on data it
    cannot compress and copies it, which makes it the fastest writer there (a
    shuffle would make multi-byte data compressible, and slow); LZ4 after
    BITSHUFFLE wins on smooth multi-byte signals and tables; LZ4HC and BLOSCLZ at
    high levels read fastest.
    """
    nof, bit = Pipeline.NOFILTER, Pipeline.BITSHUFFLE
    sh = Pipeline.SHUFFLE
    # BYTEDELTA is only for multi-byte items
    delta = Pipeline.SHUFFLE_BYTEDELTA if typesize > 1 else sh
    a, n = "ALWAYS", "NEVER"
    order: list[Candidate]
    if tradeoff >= 2 / 3:
        pipes = [sh, delta, nof, bit] if typesize > 1 else [nof, bit]
        order = [("ZSTD", p, SCREEN_CLEVEL, a) for p in pipes]
        order += [("ZLIB", p, 9, a) for p in pipes[:2]] + [
            ("LZ4HC", p, 9, a) for p in pipes[:2]
        ]
    elif tradeoff >= 1 / 3 and mode is PerformanceMode.DECOMP:
        order = [("BLOSCLZ", sh, 1, n), ("LZ4HC", nof, 9, n), ("LZ4HC", sh, 5, a)]
        order += [("LZ4", bit, 1, a), ("LZ4HC", bit, 5, a), ("BLOSCLZ", bit, 7, n)]
        order += [("BLOSCLZ", delta, 1, a), ("ZSTD", nof, 1, n), ("LZ4", nof, 5, n)]
    elif tradeoff >= 1 / 3:
        # the first MIDDLE_LOOKS (one more for multi-byte items, SHUFFLE) are always tried
        order = [("BLOSCLZ", nof, 1, n), ("LZ4", bit, 1, a)]
        order += [("LZ4", sh, 1, a)] if typesize > 1 else []
        order += [("ZSTD", nof, 1, n), ("LZ4", nof, 1, n), ("LZ4", nof, 5, n)]
        order += [("BLOSCLZ", sh, 1, n), ("BLOSCLZ", delta, 1, a), ("ZSTD", bit, 1, a)]
    elif mode is PerformanceMode.DECOMP:
        # data that BLOSCLZ copies reads back at the speed of a copy: try that first
        order = [("BLOSCLZ", nof, 1, n), ("BLOSCLZ", sh, 1, n), ("BLOSCLZ", bit, 7, n)]
        order += [("BLOSCLZ", delta, 7, n), ("BLOSCLZ", sh, 5, a), ("LZ4HC", nof, 9, n)]
        order += [("LZ4", bit, 1, a), ("LZ4", nof, 5, n)]
    else:
        order = [("BLOSCLZ", nof, 1, n), ("LZ4", bit, 1, a), ("LZ4", nof, 1, a)]
        order += [("BLOSCLZ", sh, 1, n), ("LZ4", sh, 1, a), ("BLOSCLZ", delta, 1, a)]
        order += [("LZ4", nof, 5, n)]
    present = set(available_codecs())
    return tuple(
        cand for i, cand in enumerate(order) if cand[0] in present and cand not in order[:i]
    )


class ProbeStrategy(Strategy):
    """Measure a budgeted ladder of candidates on a sample, then commit.

    Note: thread counts are not searched (the sample's pieces are single blocks,
    where threads change nothing); every thread count is the core count, as in
    blosc2's own defaults, or the hint's.
    """

    name = "probe"

    def __init__(self, config: Config, **kwargs: object) -> None:
        super().__init__(config, **kwargs)  # type: ignore[arg-type]
        threads = self.hint.nthreads if self.hint else self.cores
        self.threads = threads
        if self.hint is not None:
            self._best = self.hint
        else:
            first = _ladder(config.tradeoff, config.perf_mode, self.typesize)[0]
            self._best = Params(*first, threads, threads)
        if config.tradeoff >= 2 / 3:
            self.sample_fraction = RATIO_SAMPLE_FRACTION
        else:
            self.sample_fraction = SPEED_SAMPLE_FRACTION
            self.sample_min_bytes = SPEED_PIECE_BYTES
            if config.tradeoff >= 1 / 3:
                # longer pieces, but at most 1/8 of a small array: there every probe
                # costs a fair share of the write
                longer = min(MIDDLE_PIECE_BYTES, (self.nbytes or 0) // 8)
                self.sample_min_bytes = max(SPEED_PIECE_BYTES, longer)
        self._done = False
        self.history: list[tuple[Params, Measurement]] = []

    # the search, run once on the first non-special chunk

    def _measure(
        self, probe: Probe, params: Params, first: Measurement | None = None
    ) -> tuple[Measurement, float]:
        """Measure ``params``; the cheapest probes twice.

        ``first`` is a run already made as the search's very first probe: it is
        always measured again, because that run also paid for bringing the sample
        into the caches (measured after an LZ4HC write: the first of two identical
        BLOSCLZ probes of a 20 KiB piece took 87 µs, the second 18 µs, medians of 21),
        which would sink the prior's first choice unfairly.
        Returns the faster measurement and the time both runs took.
        """
        m = probe(params) if first is None else first
        spent = m.ctime + m.dtime
        if first is not None or spent < REPEAT_BELOW:
            again = probe(params)
            spent += again.ctime + again.dtime
            if again.ctime + again.dtime < m.ctime + m.dtime:
                m = again
        self.history.append((params, m))
        return m, spent

    def _search(self, probe: Probe) -> Params:
        mode = self.config.perf_mode
        tradeoff = self.config.tradeoff
        share = budget(tradeoff, mode)
        # timings are noisy, sizes are not: the margin shrinks as speed matters less
        margin = MARGIN * (1.0 - tradeoff)
        ladder = _ladder(tradeoff, mode, self.typesize)
        best = self._best
        speed_leaning = tradeoff < 1 / 3
        first = probe(best)
        raw = first.cratio <= RAW_RATIO
        if raw and speed_leaning:
            # stored raw: the codec gave up and copied, at the speed of a copy, which
            # no candidate beats by more than noise when speed is what counts
            self.history.append((best, first))
            return best
        best_m, spent = self._measure(probe, best, first)
        # a middle tradeoff always looks past the fastest codec at the filters that
        # reveal structure in numbers (see _ladder); on data that codec copies, the
        # search ends there
        middle = 1 / 3 <= tradeoff < 2 / 3 and mode is not PerformanceMode.DECOMP
        looks = (MIDDLE_LOOKS + (1 if self.typesize > 1 else 0)) if middle else 0
        last_look = raw and middle
        best_score = self.score(best_m)
        costs = [spent]

        def afford() -> bool:
            if len(self.history) < max(MIN_CANDIDATES, looks):
                return True
            if last_look:
                return False
            # the expected cost of the whole write with the best so far
            cost = best_m.ctime + (best_m.dtime if mode is not PerformanceMode.COMP else 0.0)
            scale = (self.nbytes or best_m.nbytes) / max(best_m.nbytes, 1)
            upcoming = sum(costs) / len(costs)
            return spent + upcoming <= share * scale * max(cost, 1e-9)

        def consider(params: Params) -> None:
            nonlocal best, best_m, best_score, spent
            if params == best:
                return
            m, cost = self._measure(probe, params)
            spent += cost
            costs.append(cost)
            score = self.score(m)
            if score > best_score + margin:
                best, best_m, best_score = params, m, score

        def variant(**changes: object) -> Params:
            return dataclasses.replace(best, **changes)  # type: ignore[arg-type]

        def candidate(cand: Candidate) -> Params:
            codec, pipe, clevel, split = cand
            return Params(codec, pipe, clevel, split, self.threads, self.threads)

        if tradeoff >= 2 / 3:
            # filters screened at a middle level (cheap), then the winner at the top level:
            # the order of filters rarely changes with the level, the cost does, tenfold
            screen = [c for c in ladder if c[2] == SCREEN_CLEVEL]
            rest = [c for c in ladder if c[2] != SCREEN_CLEVEL]
            for cand in screen:
                consider(candidate(cand))
            consider(variant(clevel=9))
        elif middle:
            # the looks, then ZSTD on data that compresses well: its stronger coding
            # then gains more ratio than it costs in speed
            rest = list(ladder[looks:])
            for cand in ladder[1:looks]:
                consider(candidate(cand))
            if best_m.cratio >= ZSTD_LOOK_RATIO and not last_look:
                consider(variant(codec="ZSTD", clevel=1))
        else:
            rest = list(ladder)

        # codec and pipeline, in prior order
        for cand in rest:
            if not afford():
                break
            consider(candidate(cand))

        # split mode, then a step of clevel either way (measured on the sample, like the rest)
        if afford():
            consider(variant(splitmode="NEVER" if best.splitmode == "ALWAYS" else "ALWAYS"))
        for delta in (-2, 2, -1, 1):
            if 1 <= best.clevel + delta <= 9 and afford():
                consider(variant(clevel=best.clevel + delta))
        return best

    # the contract

    def propose(self, probe: Probe) -> Step:
        if not self._done:
            self._best = self._search(probe)
            self._done = True
            return Step(self._best, "PROBE", "HARD")
        return Step(self._best, "STOP", "-")

    def observe(self, step: Step, m: Measurement) -> str:
        return "W" if step.state == "PROBE" else "-"

    @property
    def best(self) -> Params:
        return self._best

    @property
    def finished(self) -> bool:
        return self._done
