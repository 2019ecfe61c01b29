"""The chunk loop: lay out, propose, compress, measure, record, store.

Only this module (and the input readers) touch blosc2 containers.  Each chunk is
compressed once for storage with the parameters the strategy proposes; once the
strategy has finished, the remaining chunks go through blosc2's own slice writes
with the winning parameters (the fast C path).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import blosc2
import numpy as np

from btune.config import Config, PerformanceMode, hide_plugin_trigger, resolve
from btune.objective import Measurement, speed
from btune.space import Params, Pipeline, core_count
from btune.strategies import make_strategy
from btune.strategies.base import Step, Strategy
from btune.trace import TraceWriter

__all__ = ["ChunkRecord", "Layout", "Result", "compress", "replay"]

Clock = Callable[[], float]
Progress = Callable[[int], None]

#: Blosc2 chunks and blocks are limited to 2 GiB (sizes are 32-bit in the format).
MAX_CHUNK_BYTES = 2**31 - 64

#: Bytes compressed, untimed, before a measurement to warm the code it runs.
WARM_UP_BYTES = 2048

#: A strategy's probe measures candidates on whole blocks of at most this many
#: chunks spread over the array, about 1/``strategy.sample_fraction`` of its bytes.
SAMPLE_PIECES = 4

#: More chunks than this, each smaller than SMALL_CHUNK_BYTES, earn a warning.
MANY_CHUNKS = 100_000
SMALL_CHUNK_BYTES = 1024

#: After the strategy settles, the rest is written in slabs of about this many bytes
#: and at most this many chunks (one blosc2 call each: Ctrl-C waits for the call, and
#: a file of tiny chunks takes Blosc2 up to a millisecond per chunk).
TAIL_SLAB_BYTES = 16 * 2**20
TAIL_SLAB_CHUNKS = 1024

#: Whether this process has compressed once already (see _Run.measure).
_warmed_up = False

# Keyword arguments of blosc2.asarray that describe storage, passed through as given.
_STORAGE_KWARGS = ("contiguous", "mode", "mmap_mode", "initial_mapping_size")


class ChunkRecord(NamedTuple):
    """What was stored for one chunk, and why.

    Chunks written through the fast path after the strategy finished have
    ``state == "STOP"`` and unmeasured sizes and times (0).  (A named tuple: one
    is made per chunk, so it must be cheap.)
    """

    chunk: int
    params: Params
    special: bool
    nbytes: int
    cbytes: int
    ctime: float
    dtime: float
    state: str
    readapt: str
    winner: str


@dataclasses.dataclass
class Result:
    """A finished write: the array and the per-chunk record.

    ``tuned`` holds the chunks stored one by one; the chunks from ``tail_start`` on
    were written together through the fast path with ``best``.
    """

    array: blosc2.NDArray
    tuned: list[ChunkRecord]
    config: Config
    chunks: tuple[int, ...]
    blocks: tuple[int, ...]
    wall_time: float
    best: Params
    strategy: str = ""
    tail_start: int = 0
    nchunks: int = 0

    @property
    def records(self) -> list[ChunkRecord]:
        """One record per chunk, in chunk order."""
        tail = [
            ChunkRecord(i, self.best, False, 0, 0, 0.0, 0.0, "STOP", "-", "")
            for i in range(self.tail_start, self.nchunks)
        ]
        return self.tuned + tail

    def chunk_params(self) -> list[Params]:
        """The parameters each chunk was stored with, in chunk order."""
        return [r.params for r in self.tuned] + [self.best] * (self.nchunks - self.tail_start)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Chunk and block geometry of an array, and how to build one chunk's buffer.

    Immutable (the derived sizes are computed once), so one layout serves every
    array of its shape.
    """

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    chunks: tuple[int, ...]
    blocks: tuple[int, ...]

    @functools.cached_property
    def grid(self) -> tuple[int, ...]:
        return tuple(math.ceil(s / c) if c else 0 for s, c in zip(self.shape, self.chunks))

    @functools.cached_property
    def nchunks(self) -> int:
        return math.prod(self.grid)

    @functools.cached_property
    def blocks_per_chunk(self) -> tuple[int, ...]:
        return tuple(math.ceil(c / b) for c, b in zip(self.chunks, self.blocks))

    @functools.cached_property
    def padded_chunk(self) -> tuple[int, ...]:
        return tuple(n * b for n, b in zip(self.blocks_per_chunk, self.blocks))

    @functools.cached_property
    def blocksize(self) -> int:
        return math.prod(self.blocks) * self.dtype.itemsize

    @functools.cached_property
    def simple(self) -> bool:
        """True when a chunk's buffer is its elements in C order (one block per chunk)."""
        return self.padded_chunk == self.chunks and self.blocks == self.chunks

    def chunk_slices(self, index: int) -> tuple[slice, ...]:
        """The region of chunk ``index`` (C order over the grid of chunks)."""
        coords = []
        for n in reversed(self.grid):
            index, i = divmod(index, n)
            coords.append(i)
        coords.reverse()
        return tuple(
            slice(i * c, min((i + 1) * c, s))
            for i, c, s in zip(coords, self.chunks, self.shape)
        )

    @functools.cached_property
    def structured(self) -> bool:
        """Records or opaque bytes (``V``): numpy copies of records may drop the bytes
        between fields, and blosc2's own writes turn ``V4`` into ``[('f0', 'V4')]``."""
        return self.dtype.kind == "V"

    def chunk_buffer(self, region: np.ndarray) -> np.ndarray:
        """The chunk's uncompressed bytes in b2nd order: padded, cut into blocks."""
        if self.simple and region.shape == self.chunks and region.flags.c_contiguous:
            return region
        if self.structured:
            # opaque items keep every byte, padding between fields included
            region = region.view(np.dtype((np.void, self.dtype.itemsize)))
        padded = np.zeros(self.padded_chunk, dtype=region.dtype)
        padded[tuple(slice(0, n) for n in region.shape)] = region
        if self.blocks == self.padded_chunk:
            return padded
        ndim = len(self.shape)
        split = [x for n, b in zip(self.blocks_per_chunk, self.blocks) for x in (n, b)]
        order = [2 * d for d in range(ndim)] + [2 * d + 1 for d in range(ndim)]
        return np.ascontiguousarray(padded.reshape(split).transpose(order))

    def slabs(
        self, box: tuple[slice, ...], nbytes: int, max_chunks: int
    ) -> Iterator[tuple[tuple[slice, ...], int]]:
        """``box`` (chunk-aligned) cut into slabs of whole chunks, each of about
        ``nbytes`` and at most ``max_chunks`` chunks (unless one chunk is more); each
        with the number of chunks it covers."""

        def count(region: tuple[slice, ...]) -> int:
            return math.prod(
                math.ceil((sl.stop - sl.start) / c) for sl, c in zip(region, self.chunks)
            )

        axis = next(
            (d for d, sl in enumerate(box) if sl.stop - sl.start > self.chunks[d]), None
        )
        if axis is None:
            yield box, count(box)
            return
        lo = box[axis].start
        row = box[:axis] + (slice(lo, min(lo + self.chunks[axis], box[axis].stop)),)
        row += box[axis + 1 :]
        row_chunks = count(row)
        row_bytes = math.prod(sl.stop - sl.start for sl in row) * self.dtype.itemsize
        rows = min(nbytes // max(row_bytes, 1), max_chunks // row_chunks)
        if rows == 0 and row_chunks > 1:
            # one row of chunks along this axis is already too much: cut each row
            for start in range(box[axis].start, box[axis].stop, self.chunks[axis]):
                stop = min(start + self.chunks[axis], box[axis].stop)
                one = box[:axis] + (slice(start, stop),) + box[axis + 1 :]
                yield from self.slabs(one, nbytes, max_chunks)
            return
        step = max(1, rows) * self.chunks[axis]
        for start in range(box[axis].start, box[axis].stop, step):
            stop = min(start + step, box[axis].stop)
            slab = box[:axis] + (slice(start, stop),) + box[axis + 1 :]
            yield slab, count(slab)

    def tail_boxes(self, start: int) -> Iterator[tuple[slice, ...]]:
        """Few rectangular regions that cover chunks ``start`` … last, in order."""
        grid = self.grid
        ndim = len(grid)
        index = start
        while index < self.nchunks:
            coords = [int(c) for c in np.unravel_index(index, grid)]
            trailing = 0
            while trailing < ndim - 1 and coords[ndim - 1 - trailing] == 0:
                trailing += 1
            dim = ndim - 1 - trailing
            box = []
            for d in range(ndim):
                if d < dim:
                    lo, hi = coords[d], coords[d] + 1
                elif d == dim:
                    lo, hi = coords[d], grid[d]
                else:
                    lo, hi = 0, grid[d]
                box.append(slice(lo * self.chunks[d], min(hi * self.chunks[d], self.shape[d])))
            yield tuple(box)
            index += (grid[dim] - coords[dim]) * math.prod(grid[dim + 1 :])


def parse_shape(name: str, value: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """``chunks`` or ``blocks`` as a tuple with one positive integer per dimension."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError as err:
        msg = f"`{name}` must be a sequence of positive integers; got {value!r}"
        raise TypeError(msg) from err
    # whole numbers only: 5.5 or True are not a chunk length (int() would make them 5, 1)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
        msg = f"`{name}` must be a sequence of positive integers; got {value!r}"
        raise TypeError(msg)
    parsed = tuple(int(v) for v in items)
    if len(parsed) != len(shape):
        msg = (
            f"`{name}` has {len(parsed)} value(s) but the array has {len(shape)} dimension(s)"
            f" (shape {shape}); got {value!r}"
        )
        raise ValueError(msg)
    if any(v <= 0 for v in parsed):
        msg = f"`{name}` must be positive in every dimension; got {value!r}"
        raise ValueError(msg)
    return parsed


def plan_layout(
    shape: tuple[int, ...], dtype: np.dtype[Any], chunks: Any = None, blocks: Any = None
) -> Layout:
    """The chunk and block shapes to use: as given, else as blosc2 would choose."""
    shape = tuple(shape)
    return _plan_layout(
        shape,
        np.dtype(dtype),
        parse_shape("chunks", chunks, shape),
        parse_shape("blocks", blocks, shape),
    )


@functools.lru_cache(maxsize=64)
def _plan_layout(
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    chunks_t: tuple[int, ...] | None,
    blocks_t: tuple[int, ...] | None,
) -> Layout:
    """:func:`plan_layout` once its arguments are parsed.  Remembered: arrays of one
    shape are often written one after another, and asking blosc2 for its layout
    costs 7 µs, or 50 µs when the caches are cold after a long compression."""
    if chunks_t is not None and blocks_t is not None:
        too_big = [i for i, (b, c) in enumerate(zip(blocks_t, chunks_t)) if b > c]
        if too_big:
            msg = f"`blocks` {blocks_t} must not exceed `chunks` {chunks_t} in any dimension"
            raise ValueError(msg)
    if blocks_t is not None and chunks_t is None:
        chunks_t, _ = blosc2.compute_chunks_blocks(shape, None, None, dtype)
        chunks_t = tuple(max(c, b) for c, b in zip(chunks_t, blocks_t))
    for name, given in (("chunks", chunks_t), ("blocks", blocks_t)):
        if given is not None and math.prod(given) * dtype.itemsize > MAX_CHUNK_BYTES:
            msg = (
                f"`{name}` {given} hold {math.prod(given) * dtype.itemsize} bytes;"
                f" Blosc2 allows at most {MAX_CHUNK_BYTES} bytes per chunk or block"
            )
            raise ValueError(msg)
    if chunks_t is None or blocks_t is None or not shape:
        chunks_t, blocks_t = blosc2.compute_chunks_blocks(shape, chunks_t, blocks_t, dtype)
    layout = Layout(
        shape, dtype, tuple(int(c) for c in chunks_t), tuple(int(b) for b in blocks_t)
    )
    padded = math.prod(layout.padded_chunk) * dtype.itemsize
    if padded > MAX_CHUNK_BYTES:
        msg = (
            f"`chunks` {layout.chunks} with `blocks` {layout.blocks} make chunks of {padded}"
            f" bytes; Blosc2 allows at most {MAX_CHUNK_BYTES}"
        )
        raise ValueError(msg)
    return layout


def _empty_layout(
    shape: tuple[int, ...], dtype: np.dtype[Any], chunks: Any, blocks: Any
) -> Layout:
    """The layout of an array with no elements: as given, else blosc2's (which may
    hold zeros, as blosc2's own empty arrays do: such a layout, carried over from an
    empty input, means blosc2's).  There is nothing to tune; the array is written."""

    def given(name: str, value: Any) -> tuple[int, ...] | None:
        if value is not None and not isinstance(value, numbers.Integral) and 0 in value:
            return None
        return parse_shape(name, value, shape)

    chunks_t = given("chunks", chunks)
    blocks_t = given("blocks", blocks)
    chunks_t, blocks_t = blosc2.compute_chunks_blocks(shape, chunks_t, blocks_t, dtype)
    return Layout(shape, dtype, tuple(map(int, chunks_t)), tuple(map(int, blocks_t)))


def _is_single_value(region: np.ndarray) -> bool:
    """True if every element of ``region`` has the same bytes."""
    if region.size <= 1:
        return True
    itemsize = region.dtype.itemsize
    flat = np.ascontiguousarray(region).reshape(-1)
    if itemsize in (1, 2, 4, 8):
        words = flat.view(f"u{itemsize}")
        return bool(words[0] == words[-1] and (words == words[0]).all())
    rows = flat.view(np.uint8).reshape(-1, itemsize)
    return bool((rows == rows[0]).all())


def _hint_from_cparams(cparams: Any, cores: int) -> Params:
    """The user's own cparams as a starting point for the search.

    They must lie in the search space: a lossless codec, one of its filter
    pipelines, clevel 1..9 and at most one thread per core.
    """
    if isinstance(cparams, Mapping):
        cparams = blosc2.CParams(**cparams)
    codec = blosc2.Codec(cparams.codec).name
    pipeline = Pipeline.from_filters(list(cparams.filters))
    if pipeline is None:
        names = [getattr(f, "name", f) for f in cparams.filters]
        accepted = ", ".join(p.value for p in Pipeline)
        msg = f"`cparams` filters {names!r} are not a pipeline btune searches ({accepted})"
        raise ValueError(msg)
    if not 1 <= int(cparams.clevel) <= 9:
        msg = f"`cparams` clevel must be in 1..9; got {cparams.clevel!r}"
        raise ValueError(msg)
    if not 1 <= int(cparams.nthreads) <= cores:
        msg = f"`cparams` nthreads must be in 1..{cores} (the cores); got {cparams.nthreads!r}"
        raise ValueError(msg)
    split = "NEVER" if cparams.splitmode == blosc2.SplitMode.NEVER_SPLIT else "ALWAYS"
    threads = int(cparams.nthreads)
    return Params(codec, pipeline, int(cparams.clevel), split, threads, threads)


class _Run:
    """The state of one write: the output array, the strategy, the records."""

    def __init__(
        self,
        data: Any,
        layout: Layout,
        config: Config,
        strategy: Strategy,
        output: _Output,
        clock: Clock,
        trace: TraceWriter | None,
        progress: Progress | None,
    ) -> None:
        self.data = data
        self.layout = layout
        self.config = config
        self.strategy = strategy
        self.output = output
        self.clock = clock
        self.trace = trace
        self.progress = progress
        self.records: list[ChunkRecord] = []
        self.tail_start = layout.nchunks
        self.typesize = layout.dtype.itemsize
        self.needs_dtime = config.perf_mode is not PerformanceMode.COMP
        self._sample: list[np.ndarray] | None = None
        self._last_probe: Params | None = None

    def measure(
        self, buffer: np.ndarray, params: Params, *, keep: bool, warm: bool = False
    ) -> tuple[Measurement, Any]:
        """Compress ``buffer`` with ``params``; time it (and its decompression if needed).

        With ``warm``, a few KiB of it are first compressed (and decompressed) untimed
        with the same parameters, so that the timing does not include bringing this
        codec's and filters' code into the caches: after a long write of another
        kind, a first BLOSCLZ probe of 20 KiB took 87 µs and the next one 18 µs.
        The first compression of a process is always preceded by one (it pays a
        one-time set-up of about 0.1 ms).
        """
        blocksize = min(self.layout.blocksize, buffer.nbytes)
        kwargs = params.compress_kwargs(self.typesize, blocksize)
        global _warmed_up
        if warm or not _warmed_up:
            head = buffer.reshape(-1).view(np.uint8)[:WARM_UP_BYTES]
            packed = blosc2.compress2(head, **{**kwargs, "blocksize": head.nbytes})
            if self.needs_dtime:
                blosc2.decompress2(packed, nthreads=params.dthreads)
            _warmed_up = True
        start = self.clock()
        packed = blosc2.compress2(buffer, **kwargs)
        ctime = self.clock() - start
        dtime = 0.0
        if self.needs_dtime:
            start = self.clock()
            blosc2.decompress2(packed, nthreads=params.dthreads)
            dtime = self.clock() - start
        m = Measurement(buffer.nbytes, len(packed), ctime, dtime)
        return m, (packed if keep else None)

    def sample(self) -> list[np.ndarray]:
        """Pieces of a few chunks spread evenly over the array (built once, on demand).

        About 1/``strategy.sample_fraction`` of the array in all, in at most
        :data:`SAMPLE_PIECES` pieces, so probing costs a small share of the write.
        Each piece is compressed as a block of its own (a codec works block by
        block: BLOSCLZ, for one, gives up on a whole block of noise, not on a part
        of a longer one): whole blocks of the layout, at least one, unless the
        strategy sets ``sample_min_bytes`` and the share is less than a block: then
        a single piece of at least that many bytes, a whole number of items, from
        the middle of the middle chunk.
        """
        if self._sample is None:
            layout = self.layout
            n = layout.nchunks
            block = layout.blocksize
            chunk_bytes = math.prod(layout.padded_chunk) * self.typesize
            total = math.prod(layout.shape) * self.typesize
            wanted = total // self.strategy.sample_fraction
            floor = self.strategy.sample_min_bytes
            if floor is None or wanted >= block or block <= floor:
                blocks_wanted = max(1, wanted // block)
                k = min(SAMPLE_PIECES, n, blocks_wanted)
                unit = block
                piece = min(chunk_bytes, max(1, blocks_wanted // k) * block)
            else:
                k = 1
                unit = self.typesize
                piece = max(floor, wanted)
                piece -= piece % unit
            picks = sorted({(2 * j + 1) * n // (2 * k) for j in range(k)})
            self._sample = []
            for i in picks:
                region = np.asarray(self.data[layout.chunk_slices(i)])
                flat = layout.chunk_buffer(region).reshape(-1).view(np.uint8)
                offset = (flat.size - piece) // 2
                offset -= offset % unit
                self._sample.append(flat[offset : offset + piece])
        return self._sample

    def probe(self, params: Params) -> Measurement:
        """Measure ``params`` on the sample pieces, one compression each; store nothing."""
        total = Measurement(0, 0, 0.0, 0.0)
        for k, buffer in enumerate(self.sample()):
            m, _ = self.measure(buffer, params, keep=False, warm=k == 0)
            total = Measurement(
                total.nbytes + m.nbytes,
                total.cbytes + m.cbytes,
                total.ctime + m.ctime,
                total.dtime + m.dtime,
            )
        if self.trace is not None:
            c = self.config
            self.trace.probe(
                params,
                pieces=len(self.sample()),
                nbytes=total.nbytes,
                score_gbs=speed(total, c.perf_mode, c.bandwidth) / 1e9,
                cratio=total.cratio,
                seconds=total.ctime + total.dtime,
                again=params == self._last_probe,
            )
        self._last_probe = params
        return total

    def tune_chunk(self, index: int) -> bool:
        """Store chunk ``index``; False if the strategy settled and the rest should follow."""
        # propose; a strategy that settles here leaves this chunk to the fast path
        step = self.strategy.propose(self.probe)
        if self.strategy.finished and step.params == self.strategy.best:
            return False

        # read
        region = np.asarray(self.data[self.layout.chunk_slices(index)])
        buffer = self.layout.chunk_buffer(region)

        # a chunk of one repeated value is stored as it is and never wins (the
        # strategy proposes the same step again for the next chunk)
        if region.size > 1 and _is_single_value(region):
            params = self.strategy.best
            m, packed = self.measure(buffer, params, keep=True)
            m = dataclasses.replace(m, special=True)
            self.strategy.observe_special(m)
            self._record(index, Step(params, "SPECIAL", "-"), m, "S")
            self.output.array(params).schunk.update_chunk(index, packed)
            return True

        # compress and measure
        m, packed = self.measure(buffer, step.params, keep=True)

        # record
        winner = self.strategy.observe(step, m)
        self._record(index, step, m, winner)

        # store
        self.output.array(step.params).schunk.update_chunk(index, packed)
        return True

    def _record(self, index: int, step: Step, m: Measurement, winner: str) -> None:
        self.records.append(
            ChunkRecord(
                index,
                step.params,
                m.special,
                m.nbytes,
                m.cbytes,
                m.ctime,
                m.dtime,
                step.state,
                step.readapt,
                winner,
            )
        )
        if self.trace is not None:
            c = self.config
            self.trace.row(
                step.params,
                blocksize=self.layout.blocksize,
                score_gbs=speed(m, c.perf_mode, c.bandwidth) / 1e9,
                cratio=m.cratio,
                state=step.state,
                readapt=step.readapt,
                winner=winner,
            )

    def write_tail(self, start: int, params: Params) -> None:
        """Chunks ``start`` … last through blosc2's own C path, with ``params``."""
        if self.trace is not None:
            self.trace.stop(params, self.layout.nchunks - start)
        self.tail_start = start
        reported = 0
        if self.layout.structured:
            # blosc2's own writes copy records field by field, losing padding bytes
            array = self.output.array(params)
            for index in range(start, self.layout.nchunks):
                region = np.asarray(self.data[self.layout.chunk_slices(index)])
                buffer = self.layout.chunk_buffer(region)
                _, packed = self.measure(buffer, params, keep=True)
                array.schunk.update_chunk(index, packed)
        elif start == 0 and self.output.can_write_whole(self.data):
            self.output.write_whole(self.data, params)
        else:
            array = self.output.array(params)
            array.schunk.cparams = params.cparams(self.typesize, self.layout.blocksize)
            for box in self.layout.tail_boxes(start):
                # in slabs: one C call per slab keeps Ctrl-C and the progress bar alive
                for slab, nchunks in self.layout.slabs(box, TAIL_SLAB_BYTES, TAIL_SLAB_CHUNKS):
                    array[slab] = np.asarray(self.data[slab])
                    self._progress(nchunks)
                    reported += nchunks
        self._progress(self.layout.nchunks - start - reported)

    def _progress(self, nchunks: int) -> None:
        if self.progress is not None and nchunks:
            self.progress(nchunks)

    def run(self) -> None:
        nchunks = self.layout.nchunks
        for index in range(nchunks):
            if self.strategy.finished and nchunks - index > 1:
                self.write_tail(index, self.strategy.best)
                return
            if not self.tune_chunk(index):
                self.write_tail(index, self.strategy.best)
                return
            if self.progress is not None:
                self.progress(1)
        if self.trace is not None:
            self.trace.stop(self.strategy.best, 0)


class _Output:
    """The output array, created when the first chunk is about to be stored.

    When the strategy settles before any chunk is stored, a numpy input is written
    whole by ``blosc2.asarray`` (blosc2's fastest path) with the chosen parameters.
    """

    def __init__(
        self, layout: Layout, urlpath: Any, meta: Any, dparams: Any, storage: dict[str, Any]
    ) -> None:
        self.layout = layout
        self.kwargs: dict[str, Any] = dict(storage)
        if urlpath is not None:
            self.kwargs["urlpath"] = str(urlpath)
            self.kwargs["mode"] = "w"  # _check_urlpath has refused unwanted overwrites
        if meta:
            self.kwargs["meta"] = dict(meta)
        self.dparams = dparams
        self._array: blosc2.NDArray | None = None
        self._written_with: Params | None = None

    def _dparams(self, params: Params) -> Any:
        return self.dparams if self.dparams is not None else {"nthreads": params.dthreads}

    def array(self, params: Params) -> blosc2.NDArray:
        """The output (made with ``params`` if it does not exist yet)."""
        if self._array is None:
            layout = self.layout
            self._array = blosc2.uninit(
                layout.shape,
                layout.dtype,
                chunks=layout.chunks,
                blocks=layout.blocks,
                cparams=params.cparams_dict(layout.dtype.itemsize, layout.blocksize),
                dparams=self._dparams(params),
                **self.kwargs,
            )
        return self._array

    def can_write_whole(self, data: Any) -> bool:
        return self._array is None and isinstance(data, np.ndarray)

    def write_whole(self, data: np.ndarray, params: Params) -> None:
        layout = self.layout
        self._array = blosc2.asarray(
            data,
            chunks=layout.chunks,
            blocks=layout.blocks,
            cparams=params.cparams_dict(layout.dtype.itemsize, layout.blocksize),
            dparams=self._dparams(params),
            **self.kwargs,
        )
        self._written_with = params

    def finish(self, params: Params) -> blosc2.NDArray:
        """The output, its decompression threads those of ``params`` (unless given)."""
        if self._array is not None and self._written_with == params:
            return self._array
        array = self.array(params)
        if self.dparams is None and array.schunk.dparams.nthreads != params.dthreads:
            array.schunk.dparams = blosc2.DParams(nthreads=params.dthreads)
        return array


def _check_urlpath(path: Path, mode: Any) -> None:
    """Refuse an output btune cannot write, or would overwrite without being told."""
    if mode not in (None, "w"):
        msg = f"`mode` must be 'w' (overwrite) or left out (refuse to overwrite); got {mode!r}"
        raise ValueError(msg)
    parent = path.parent
    if not parent.is_dir():
        msg = f"`urlpath` {str(path)!r}: the folder {str(parent)!r} does not exist"
        raise ValueError(msg)
    if path.exists() and mode != "w":
        msg = f"`urlpath` {str(path)!r} exists; pass mode='w' to overwrite it"
        raise FileExistsError(msg)
    if path.is_dir() and not (path / "chunks.b2frame").is_file():
        # blosc2 would delete the whole folder to write its file there
        msg = (
            f"`urlpath` {str(path)!r} is a folder that holds no Blosc2 sparse frame;"
            " btune will not replace it"
        )
        raise IsADirectoryError(msg)


def _finish_metadata(result: Result, version: str, vlmeta: Mapping[str, Any] | None) -> None:
    out = result.array.schunk.vlmeta
    if vlmeta:
        for key, value in vlmeta.items():
            if key != "btune":
                out[key] = value
    out["btune"] = {
        "version": version,
        "strategy": result.strategy,
        "config": result.config.to_dict(),
        "blocks": list(result.blocks),
        "clevels": [p.clevel for p in result.chunk_params()],
    }


def _input_shape_dtype(data: Any) -> tuple[tuple[int, ...], np.dtype[Any]]:
    shape = tuple(int(s) for s in data.shape)
    return shape, np.dtype(data.dtype)


def compress(
    data: Any,
    config: Config | None = None,
    *,
    chunks: Any = None,
    blocks: Any = None,
    urlpath: Any = None,
    cparams: Any = None,
    dparams: Any = None,
    meta: Mapping[str, Any] | None = None,
    vlmeta: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    trace: TextIO | None = None,
    clock: Clock = time.perf_counter,
    strategy: Strategy | None = None,
    **storage: Any,
) -> Result:
    """Tune and write ``data`` (a numpy array or ``blosc2.NDArray``) chunk by chunk.

    ``config`` defaults to :func:`btune.config.resolve` (environment and
    :func:`btune.set_params_defaults` apply).  ``cparams`` is the starting point
    when ``config.cparams_hint`` is set; ``meta`` and ``vlmeta`` are copied to the
    output.  ``trace`` is the stream for the trace (standard error when
    ``config.trace`` is on and no stream is given).
    """
    from btune import __version__

    unknown = sorted(set(storage) - set(_STORAGE_KWARGS))
    if unknown:
        names = ", ".join(map(repr, unknown))
        msg = f"unexpected keyword argument(s) {names} for btune.compress"
        raise TypeError(msg)
    config = resolve() if config is None else config
    if config.perf_mode is PerformanceMode.AUTO:
        config = resolve(**{k: v for k, v in config.to_dict().items() if k != "perf_mode"})
    shape, dtype = _input_shape_dtype(data)
    if dtype.hasobject:
        msg = f"cannot compress an array of dtype {dtype} (holds Python objects)"
        raise TypeError(msg)
    empty = math.prod(shape) == 0
    layout = (
        _empty_layout(shape, dtype, chunks, blocks)
        if empty
        else plan_layout(shape, dtype, chunks, blocks)
    )
    if urlpath is not None:
        _check_urlpath(Path(urlpath), storage.get("mode"))
        source = getattr(getattr(data, "schunk", None), "urlpath", None)
        if source is not None and Path(source).resolve() == Path(urlpath).resolve():
            msg = f"`urlpath` {str(urlpath)!r} is the input's own file; write elsewhere"
            raise ValueError(msg)

    chunk_bytes = math.prod(layout.chunks) * dtype.itemsize
    if layout.nchunks > MANY_CHUNKS and chunk_bytes < SMALL_CHUNK_BYTES:
        warnings.warn(
            f"{layout.nchunks} chunks of {chunk_bytes} bytes: Blosc2 handles so many tiny"
            " chunks slowly (a file of them can take minutes to write); chunks of"
            f" {SMALL_CHUNK_BYTES} bytes or more are usually much faster",
            UserWarning,
            stacklevel=3,
        )
    cores = core_count()
    hint = _hint_from_cparams(cparams, cores) if (config.cparams_hint and cparams) else None
    if config.cparams_hint and hint is None:
        msg = "`cparams_hint` is True but no `cparams` were given to start from"
        raise ValueError(msg)
    if cparams and not config.cparams_hint:
        warnings.warn(
            "`cparams` are not used: btune chooses the parameters (pass cparams_hint=True"
            " to start its search from them)",
            UserWarning,
            stacklevel=3,
        )
    if strategy is None:
        strategy = make_strategy(
            config,
            typesize=dtype.itemsize,
            cores=cores,
            hint=hint,
            nbytes=math.prod(shape) * dtype.itemsize,
        )

    writer = None
    if trace is not None or config.trace:
        writer = TraceWriter(trace if trace is not None else sys.stderr)
        writer.header(config, __version__, strategy=strategy.name, nchunks=layout.nchunks)

    start = clock()
    with hide_plugin_trigger():
        output = _Output(layout, urlpath, meta, dparams, storage)
        run = _Run(data, layout, config, strategy, output, clock, writer, progress)
        run.run()
        array = output.finish(strategy.best)
    result = Result(
        array,
        run.records,
        config,
        layout.chunks,
        layout.blocks,
        0.0,
        strategy.best,
        strategy.name,
        run.tail_start,
        layout.nchunks,
    )
    _finish_metadata(result, __version__, vlmeta)
    result.wall_time = clock() - start
    return result


class _Replay(Strategy):
    """Proposes exactly the recorded parameters, chunk after chunk (no tuning)."""

    name = "replay"

    def __init__(self, config: Config, result: Result, cores: int) -> None:
        super().__init__(config, typesize=1, cores=cores)
        self.plan = result.chunk_params()
        self.index = 0
        # From the first chunk after which all chunks share one setting, the fast path serves.
        last_change = 0
        for i in range(1, len(self.plan)):
            previous, current = self.plan[i - 1], self.plan[i]
            if current is not previous and current != previous:
                last_change = i
        self.settled_from = last_change

    def propose(self, probe: Any) -> Step:
        return Step(self.plan[self.index], "REPLAY", "-")

    def observe(self, step: Step, m: Measurement) -> str:
        self.index += 1
        return "-"

    def observe_special(self, m: Measurement) -> None:
        self.index += 1

    @property
    def best(self) -> Params:
        return self.plan[min(self.index, len(self.plan) - 1)]

    @property
    def finished(self) -> bool:
        return self.index >= self.settled_from


def replay(data: Any, result: Result, *, clock: Clock = time.perf_counter) -> Result:
    """Write ``data`` again with exactly the parameters ``result`` stored per chunk.

    The same chunk loop and fast path as :func:`compress`, with no tuning: the
    denominator of the benchmark's overhead.
    """
    config = result.config
    if config.trace:
        config = dataclasses.replace(config, trace=False)  # re-checks every field: 28 µs
    strategy = _Replay(config, result, core_count())
    return compress(
        data,
        config,
        chunks=result.chunks,
        blocks=result.blocks,
        clock=clock,
        strategy=strategy,
    )
