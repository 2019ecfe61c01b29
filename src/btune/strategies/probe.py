"""A sample-probing tuner: try candidates on a sample, store nothing poor.

The genetic search learns by storing every trial chunk, so each poor trial stays in
the file.  This strategy instead measures candidates through the engine's probe (a
few chunks spread over the array, compressed and discarded), commits the winner
for every chunk, and finishes at once, so the engine writes the array through
blosc2's own fast path.

Exploration is budgeted against the write it serves: the probes may cost at most
``budget`` times the expected time of writing the whole array with the best
candidate so far (the sample's time scaled to the array's size).  When
the write is cheap (fast codecs on small data) only the first, most likely
candidates are tried; when it is expensive (strong codecs, many chunks) the search
widens.  The candidate order is a prior per tradeoff band, from the most likely
winner to the least.

Timings are noisy (1.5x between identical runs of a few milliseconds), so a
candidate replaces the best only if its objective is higher by ``MARGIN``, and the
cheap candidates are measured twice keeping the faster run.
"""

from __future__ import annotations

import dataclasses
import math

from btune.config import Config, PerformanceMode
from btune.objective import Measurement
from btune.space import Params, Pipeline, available_codecs
from btune.strategies.base import Probe, Step, Strategy

__all__ = ["ProbeStrategy"]

#: Objective gain (natural log) a candidate needs to replace the best: 2 %.
MARGIN = math.log(1.02)

#: Fraction of the expected write time that probing may spend, per perf mode.
#: Writing speed is not scored in DECOMP, so exploring costs nothing there but wall time.
BUDGET = {
    PerformanceMode.COMP: 0.10,
    PerformanceMode.BALANCED: 0.10,
    PerformanceMode.DECOMP: 0.5,
}

#: Below this many seconds a probe is repeated and the faster run kept (the
#: shortest timings are the noisiest).
REPEAT_BELOW = 20e-6

#: A sample compressed to at most this ratio was stored raw (copied).
RAW_RATIO = 1.02

#: Ratio-leaning runs screen filters at this level before trying the top one.
SCREEN_CLEVEL = 5

#: Candidates always tried, whatever the budget: one look past the prior's first
#: choice guards against data the prior fits badly (a filter that defeats the codec).
MIN_CANDIDATES = 2
#: Speed-leaning runs look at the two BLOSCLZ variants and LZ4 after BITSHUFFLE,
#: unless one of them stores the data raw first.
MIN_SPEED_CANDIDATES = 3


Candidate = tuple[str, Pipeline, int, str]


def _ladder(tradeoff: float, mode: PerformanceMode, typesize: int) -> list[Candidate]:
    """Candidates (codec, pipeline, clevel, split) in prior order for a tradeoff band.

    The order is what won most often on real data (images, seismic traces, tables)
    at 64 KiB chunks: the likeliest winners first, so that a small budget still
    tries them.  BLOSCLZ at clevel 1 gives up quickly on data it cannot compress,
    which makes it the fastest writer there; LZ4 after BITSHUFFLE wins on smooth
    multi-byte signals; LZ4HC and BLOSCLZ at high levels read fastest.
    """
    nof, bit = Pipeline.NOFILTER, Pipeline.BITSHUFFLE
    # BYTEDELTA is only for multi-byte items; SHUFFLE stays for bytes: it moves
    # nothing, but BLOSCLZ measured faster with it than with no filter on images
    sh = Pipeline.SHUFFLE
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
        order = [("LZ4", bit, 1, n), ("LZ4", nof, 5, n), ("BLOSCLZ", sh, 1, n)]
        order += [("BLOSCLZ", nof, 1, n), ("ZSTD", nof, 1, n), ("LZ4", nof, 9, n)]
        order += [("LZ4", sh, 1, a), ("BLOSCLZ", delta, 1, a), ("ZSTD", bit, 1, a)]
    elif mode is PerformanceMode.DECOMP:
        order = [("BLOSCLZ", sh, 1, n), ("BLOSCLZ", bit, 7, n), ("BLOSCLZ", delta, 7, n)]
        order += [("BLOSCLZ", nof, 1, n), ("BLOSCLZ", sh, 5, a), ("LZ4HC", nof, 9, n)]
        order += [("LZ4", bit, 1, a), ("LZ4", nof, 5, n)]
    else:
        # BLOSCLZ first, with and without shuffling: either often stores raw, at copy speed
        order = [("BLOSCLZ", sh, 1, n), ("BLOSCLZ", nof, 1, n), ("LZ4", bit, 1, a)]
        order += [("LZ4", nof, 1, a), ("BLOSCLZ", delta, 1, a), ("LZ4", sh, 1, a)]
        order += [("LZ4", nof, 5, n)]
    present = set(available_codecs())
    seen: set[Candidate] = set()
    ladder = []
    for cand in order:
        if cand[0] in present and cand not in seen:
            seen.add(cand)
            ladder.append(cand)
    return ladder


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
            codec, pipe, clevel, split = _ladder(
                config.tradeoff, config.perf_mode, self.typesize
            )[0]
            self._best = Params(codec, pipe, clevel, split, threads, threads)
        self._done = False
        self.history: list[tuple[Params, Measurement]] = []

    # the search, run once on the first non-special chunk

    def _measure(self, probe: Probe, params: Params) -> tuple[Measurement, float]:
        """Measure ``params``; the cheapest probes twice.

        Returns the faster measurement and the time both runs took.
        """
        m = probe(params)
        spent = m.ctime + m.dtime
        if spent < REPEAT_BELOW:
            again = probe(params)
            spent += again.ctime + again.dtime
            if again.ctime + again.dtime < m.ctime + m.dtime:
                m = again
        self.history.append((params, m))
        return m, spent

    def _search(self, probe: Probe) -> Params:
        mode = self.config.perf_mode
        tradeoff = self.config.tradeoff
        # timings are noisy, sizes are not: the margin shrinks as speed matters less
        margin = MARGIN * (1.0 - tradeoff)
        ladder = _ladder(tradeoff, mode, self.typesize)
        best = self._best
        best_m, spent = self._measure(probe, best)
        best_score = self.score(best_m)
        costs = [spent]

        def afford() -> bool:
            if tradeoff < 1 / 3 and best_m.cratio <= RAW_RATIO:
                # stored raw: the codec gave up and copied, at the speed of a copy,
                # which no candidate beats by more than noise when speed is what counts
                return False
            if len(self.history) < (
                MIN_SPEED_CANDIDATES if tradeoff < 1 / 3 else MIN_CANDIDATES
            ):
                return True
            # the expected cost of the whole write with the best so far
            cost = best_m.ctime + (best_m.dtime if mode is not PerformanceMode.COMP else 0.0)
            scale = (self.nbytes or best_m.nbytes) / max(best_m.nbytes, 1)
            upcoming = sum(costs) / len(costs)
            return spent + upcoming <= BUDGET[mode] * scale * max(cost, 1e-9)

        def consider(params: Params, *, forced: bool = False) -> None:
            nonlocal best, best_m, best_score, spent
            if params == best or not (forced or afford()):
                return
            m, cost = self._measure(probe, params)
            spent += cost
            costs.append(cost)
            score = self.score(m)
            if score > best_score + margin:
                best, best_m, best_score = params, m, score

        def variant(**changes: object) -> Params:
            return dataclasses.replace(best, **changes)  # type: ignore[arg-type]

        if tradeoff >= 2 / 3:
            # filters screened at a middle level (cheap), then the winner at the top level:
            # the order of filters rarely changes with the level, the cost does, tenfold
            screen = [c for c in ladder if c[2] == SCREEN_CLEVEL]
            rest = [c for c in ladder if c[2] != SCREEN_CLEVEL]
            for codec, pipe, clevel, split in screen:
                consider(
                    Params(codec, pipe, clevel, split, self.threads, self.threads), forced=True
                )
            consider(variant(clevel=9), forced=True)
        else:
            rest = ladder

        # codec and pipeline, in prior order
        for codec, pipe, clevel, split in rest:
            consider(Params(codec, pipe, clevel, split, self.threads, self.threads))

        # split mode, then a step of clevel either way (measured on the sample, like the rest)
        consider(variant(splitmode="NEVER" if best.splitmode == "ALWAYS" else "ALWAYS"))
        for delta in (-2, 2, -1, 1):
            if 1 <= best.clevel + delta <= 9:
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
