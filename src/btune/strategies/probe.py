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
    PerformanceMode.COMP: 0.08,
    PerformanceMode.BALANCED: 0.08,
    PerformanceMode.DECOMP: 0.5,
}

#: Below this many seconds a probe is repeated and the faster run kept.
REPEAT_BELOW = 50e-6

#: Candidates always tried, whatever the budget: one look past the prior's first
#: choice guards against data the prior fits badly (a filter that defeats the codec).
MIN_CANDIDATES = 2


def _ladder(
    tradeoff: float, mode: PerformanceMode, typesize: int
) -> list[tuple[str, Pipeline, int]]:
    """Candidate (codec, pipeline, clevel) in prior order for a tradeoff band.

    The order is what won most often on real data (images, seismic traces, tables)
    at 64 KiB chunks: the cheapest likely winners first, so that a small budget
    still tries them.
    """
    nofilter, shuffle, bitshuffle = Pipeline.NOFILTER, Pipeline.SHUFFLE, Pipeline.BITSHUFFLE
    delta = Pipeline.SHUFFLE_BYTEDELTA if typesize > 1 else shuffle
    reading = mode is not PerformanceMode.COMP
    if tradeoff >= 2 / 3:
        # shuffling helps multi-byte items; for bytes it is a no-op
        pipes = (
            [shuffle, delta, nofilter, bitshuffle] if typesize > 1 else [nofilter, bitshuffle]
        )
        order = [("ZSTD", p, 9) for p in pipes] + [("ZSTD", p, 5) for p in pipes]
        order += [("ZLIB", p, 9) for p in pipes] + [("LZ4HC", p, 9) for p in pipes]
    elif tradeoff >= 1 / 3:
        order = [("LZ4", bitshuffle, 1), ("LZ4", nofilter, 5), ("BLOSCLZ", shuffle, 1)]
        if reading:
            order += [
                ("LZ4HC", nofilter, 9),
                ("LZ4HC", shuffle, 5),
                ("BLOSCLZ", bitshuffle, 7),
            ]
        order += [("ZSTD", nofilter, 1), ("LZ4", shuffle, 1), ("BLOSCLZ", delta, 1)]
        order += [("ZSTD", bitshuffle, 1), ("LZ4", delta, 1), ("BLOSCLZ", nofilter, 1)]
    elif reading:
        order = [("BLOSCLZ", bitshuffle, 7), ("BLOSCLZ", shuffle, 1), ("LZ4HC", nofilter, 9)]
        order += [("LZ4HC", shuffle, 5), ("BLOSCLZ", delta, 1), ("LZ4", bitshuffle, 1)]
        order += [("LZ4", nofilter, 5), ("BLOSCLZ", nofilter, 1), ("BLOSCLZ", shuffle, 7)]
    else:
        order = [("LZ4", bitshuffle, 1), ("BLOSCLZ", shuffle, 1), ("LZ4", nofilter, 1)]
        order += [("BLOSCLZ", delta, 1), ("BLOSCLZ", nofilter, 1), ("LZ4", shuffle, 1)]
        order += [("BLOSCLZ", bitshuffle, 1), ("LZ4", nofilter, 5)]
    present = set(available_codecs())
    seen: set[tuple[str, Pipeline, int]] = set()
    ladder = []
    for cand in order:
        if cand[0] in present and cand not in seen:
            seen.add(cand)
            ladder.append(cand)
    return ladder


class ProbeStrategy(Strategy):
    """Measure a budgeted ladder of candidates on the first chunk, then commit."""

    name = "probe"

    def __init__(self, config: Config, **kwargs: object) -> None:
        super().__init__(config, **kwargs)  # type: ignore[arg-type]
        threads = self.hint.nthreads if self.hint else self.cores
        self.threads = threads
        if self.hint is not None:
            self._best = self.hint
        else:
            codec, pipe, clevel = _ladder(config.tradeoff, config.perf_mode, self.typesize)[0]
            self._best = Params(codec, pipe, clevel, "ALWAYS", threads, threads)
        self._done = False
        self.history: list[tuple[Params, Measurement]] = []

    # the search, run once on the first non-special chunk

    def _measure(self, probe: Probe, params: Params) -> Measurement:
        m = probe(params)
        if m.ctime + m.dtime < REPEAT_BELOW:
            again = probe(params)
            if again.ctime + again.dtime < m.ctime + m.dtime:
                m = again
        self.history.append((params, m))
        return m

    def _search(self, probe: Probe) -> Params:
        mode = self.config.perf_mode
        spent = 0.0
        best = self._best
        best_m = self._measure(probe, best)
        spent += best_m.ctime + best_m.dtime
        best_score = self.score(best_m)

        def afford() -> bool:
            # the expected cost of the whole write with the best so far
            cost = best_m.ctime + (best_m.dtime if mode is not PerformanceMode.COMP else 0.0)
            scale = (self.nbytes or best_m.nbytes) / max(best_m.nbytes, 1)
            if len(self.history) < MIN_CANDIDATES:
                return True
            return spent < BUDGET[mode] * scale * max(cost, 1e-9)

        def consider(params: Params) -> None:
            nonlocal best, best_m, best_score, spent
            if params == best or not afford():
                return
            m = self._measure(probe, params)
            spent += m.ctime + m.dtime
            score = self.score(m)
            if score > best_score + MARGIN:
                best, best_m, best_score = params, m, score

        # codec and pipeline, in prior order
        for codec, pipe, clevel in _ladder(self.config.tradeoff, mode, self.typesize)[1:]:
            consider(Params(codec, pipe, clevel, best.splitmode, self.threads, self.threads))

        # split mode, then a step of clevel either way (measured on the sample, like the rest)
        other = "NEVER" if best.splitmode == "ALWAYS" else "ALWAYS"
        consider(
            Params(best.codec, best.pipeline, best.clevel, other, best.nthreads, best.dthreads)
        )
        for delta in (-2, 2, -1, 1):
            level = best.clevel + delta
            if 1 <= level <= 9:
                consider(
                    Params(
                        best.codec,
                        best.pipeline,
                        level,
                        best.splitmode,
                        best.nthreads,
                        best.dthreads,
                    )
                )

        # threads: one thread avoids hand-off costs when a chunk holds a single block
        if self.cores > 1:
            consider(Params(best.codec, best.pipeline, best.clevel, best.splitmode, 1, 1))
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
