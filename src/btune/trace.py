"""The per-chunk decision table printed when tracing is on (the one writer of traces)."""

from __future__ import annotations

from typing import TextIO

from btune.config import Config
from btune.space import Params

__all__ = ["TraceWriter"]

COLUMNS = (
    ("Codec", 7),
    ("Filter", 17),
    ("Split", 6),
    ("C.Level", 7),
    ("Blocksize", 9),
    ("C.Threads", 9),
    ("D.Threads", 9),
    ("S.Score", 8),
    ("C.Ratio", 8),
    ("Btune State", 12),
    ("Readapt", 7),
    ("Winner", 6),
)


class TraceWriter:
    """Writes the header, one row per tuned chunk, and the closing STOP line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._stopped = False

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")

    def header(self, config: Config, version: str, *, strategy: str, nchunks: int) -> None:
        b = config.behaviour
        models = "none" if config.models_dir is None else str(config.models_dir)
        self._line(
            f"btune {version} | perf mode: {config.perf_mode.name}"
            f" | tradeoff: {config.tradeoff:g}"
            f" | bandwidth: {config.bandwidth / 2**30:g} GiB/s | strategy: {strategy}"
        )
        self._line(
            f"behaviour: waits={b.nwaits_before_readapt} softs={b.nsofts_before_hard}"
            f" hards={b.nhards_before_stop} repeat={b.repeat_mode.name} | models: {models}"
            f" | chunks: {nchunks}"
        )
        self._line("| " + " | ".join(name.ljust(width) for name, width in COLUMNS) + " |")

    def row(
        self,
        params: Params,
        *,
        blocksize: int,
        score_gbs: float,
        cratio: float,
        state: str,
        readapt: str,
        winner: str,
    ) -> None:
        cells = (
            params.codec,
            params.pipeline.value,
            params.splitmode.lower(),
            str(params.clevel),
            str(blocksize),
            str(params.nthreads),
            str(params.dthreads),
            f"{score_gbs:.3g}",
            f"{cratio:.3g}",
            state,
            readapt,
            winner,
        )
        self._line(
            "| " + " | ".join(c.ljust(width) for c, (_, width) in zip(cells, COLUMNS)) + " |"
        )

    def probe(
        self,
        params: Params,
        *,
        pieces: int,
        nbytes: int,
        score_gbs: float,
        cratio: float,
        seconds: float,
        again: bool = False,
    ) -> None:
        """A candidate measured on sample pieces of chunks (nothing stored); ``again``
        marks a second measurement of the same candidate in a row."""
        self._line(
            f"  probe {params.label()} threads={params.nthreads}/{params.dthreads}:"
            f" S.Score {score_gbs:.3g} GB/s, C.Ratio {cratio:.3g} on {pieces} sample"
            f" piece(s), {nbytes / 1024:.0f} KiB, in {seconds * 1e6:.0f} us"
            + (" (again: timings are noisy, the faster counts)" if again else "")
        )

    def stop(self, params: Params, remaining: int) -> None:
        if not self._stopped and remaining > 0:
            self._line(
                f"STOP: {params.label()} threads={params.nthreads}/{params.dthreads} "
                f"serves the remaining {remaining} chunk(s)"
            )
        self._stopped = True
        self.stream.flush()
