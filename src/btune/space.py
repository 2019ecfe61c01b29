"""The search space: which codecs, filter pipelines, levels, splits and threads exist.

Everything here is discovered from the installed blosc2 when asked, never at import.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import itertools
import os
from typing import Any

import blosc2

__all__ = [
    "FAST_CODECS",
    "Params",
    "Pipeline",
    "STRONG_CODECS",
    "available_codecs",
    "core_count",
    "oracle_settings",
    "pipelines_for",
]

#: Lossless codecs btune may choose, in the order traces list them.
LOSSLESS_CODECS = ("BLOSCLZ", "LZ4", "LZ4HC", "ZLIB", "ZSTD")
STRONG_CODECS = ("ZSTD", "ZLIB")
FAST_CODECS = ("LZ4", "BLOSCLZ")


class Pipeline(enum.Enum):
    """The filter pipelines of the search space."""

    NOFILTER = "NOFILTER"
    SHUFFLE = "SHUFFLE"
    BITSHUFFLE = "BITSHUFFLE"
    SHUFFLE_BYTEDELTA = "SHUFFLE+BYTEDELTA"

    @property
    def filters(self) -> list[blosc2.Filter]:
        """The six-slot blosc2 filter list (filters run from the first slot to the last)."""
        head = [blosc2.Filter.NOFILTER] * 4
        if self is Pipeline.NOFILTER:
            return head + [blosc2.Filter.NOFILTER] * 2
        if self is Pipeline.SHUFFLE:
            return head + [blosc2.Filter.NOFILTER, blosc2.Filter.SHUFFLE]
        if self is Pipeline.BITSHUFFLE:
            return head + [blosc2.Filter.NOFILTER, blosc2.Filter.BITSHUFFLE]
        return head + [blosc2.Filter.SHUFFLE, blosc2.Filter.BYTEDELTA]

    @classmethod
    def from_filters(cls, filters: list[int] | tuple[int, ...]) -> Pipeline | None:
        """The pipeline a chunk header's filter list spells, or None if it is none of ours."""
        active = tuple(int(getattr(f, "value", f)) for f in filters)
        active = tuple(v for v in active if v != 0)
        shuffle, bitshuffle = blosc2.Filter.SHUFFLE.value, blosc2.Filter.BITSHUFFLE.value
        table = {
            (): cls.NOFILTER,
            (shuffle,): cls.SHUFFLE,
            (bitshuffle,): cls.BITSHUFFLE,
            (shuffle, blosc2.Filter.BYTEDELTA.value): cls.SHUFFLE_BYTEDELTA,
        }
        return table.get(active)


@functools.cache
def available_codecs() -> tuple[str, ...]:
    """The lossless codecs of the search space that this blosc2 reports."""
    present = {c.name for c in blosc2.compressor_list()}
    return tuple(name for name in LOSSLESS_CODECS if name in present)


def core_count() -> int:
    """Cores usable by this process (the upper bound for thread counts)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def pipelines_for(typesize: int) -> tuple[Pipeline, ...]:
    """Pipelines worth trying for items of ``typesize`` bytes (BYTEDELTA needs > 1)."""
    if typesize > 1:
        return tuple(Pipeline)
    return (Pipeline.NOFILTER, Pipeline.SHUFFLE, Pipeline.BITSHUFFLE)


@dataclasses.dataclass(frozen=True, order=True)
class Params:
    """One point of the search space.

    Field names follow ``blosc2.CParams`` where they mean the same thing.
    """

    codec: str = "LZ4"
    pipeline: Pipeline = Pipeline.SHUFFLE
    clevel: int = 5
    splitmode: str = "ALWAYS"  # "ALWAYS" or "NEVER"
    nthreads: int = 1
    dthreads: int = 1

    def __post_init__(self) -> None:
        if self.codec not in LOSSLESS_CODECS:
            msg = f"`codec` must be one of {', '.join(LOSSLESS_CODECS)}; got {self.codec!r}"
            raise ValueError(msg)
        if not isinstance(self.pipeline, Pipeline):
            object.__setattr__(self, "pipeline", Pipeline(self.pipeline))
        if not 1 <= self.clevel <= 9:
            msg = f"`clevel` must be in 1..9; got {self.clevel!r}"
            raise ValueError(msg)
        if self.splitmode not in ("ALWAYS", "NEVER"):
            msg = f"`splitmode` must be 'ALWAYS' or 'NEVER'; got {self.splitmode!r}"
            raise ValueError(msg)
        for name in ("nthreads", "dthreads"):
            if getattr(self, name) < 1:
                msg = f"`{name}` must be >= 1; got {getattr(self, name)!r}"
                raise ValueError(msg)

    @property
    def category(self) -> tuple[str, Pipeline, str]:
        """Codec, pipeline and split: what a hard readapt chooses."""
        return (self.codec, self.pipeline, self.splitmode)

    def compress_kwargs(self, typesize: int, blocksize: int) -> dict[str, Any]:
        """Keyword arguments for ``blosc2.compress2``."""
        return {
            "codec": blosc2.Codec[self.codec],
            "clevel": self.clevel,
            "filters": self.pipeline.filters,
            "filters_meta": [0] * 6,
            "splitmode": blosc2.SplitMode[f"{self.splitmode}_SPLIT"],
            "typesize": typesize,
            "blocksize": blocksize,
            "nthreads": self.nthreads,
        }

    def cparams_dict(self, typesize: int | None = None, blocksize: int = 0) -> dict[str, Any]:
        """The fields of :meth:`cparams` as a dict, which ``blosc2.asarray`` also takes.

        A dict costs ``blosc2.asarray`` about 20 µs less than a ``CParams`` (which it
        converts to a dict, deep-copying it): a visible share of a millisecond write.
        """
        kwargs = self.compress_kwargs(typesize or 8, blocksize)
        if typesize is None:
            del kwargs["typesize"]
        return kwargs

    def cparams(self, typesize: int | None = None, blocksize: int = 0) -> blosc2.CParams:
        """The matching ``blosc2.CParams`` (``typesize`` None lets blosc2 fill it)."""
        return blosc2.CParams(**self.cparams_dict(typesize, blocksize))

    def to_dict(self) -> dict[str, Any]:
        return {
            "codec": self.codec,
            "filters": self.pipeline.value,
            "clevel": self.clevel,
            "splitmode": self.splitmode,
            "nthreads": self.nthreads,
            "dthreads": self.dthreads,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Params:
        return cls(
            codec=data["codec"],
            pipeline=Pipeline(data["filters"]),
            clevel=int(data["clevel"]),
            splitmode=data["splitmode"],
            nthreads=int(data["nthreads"]),
            dthreads=int(data["dthreads"]),
        )

    def label(self) -> str:
        """A short human label, e.g. ``ZSTD/SHUFFLE/5/always``."""
        return f"{self.codec}/{self.pipeline.value}/{self.clevel}/{self.splitmode.lower()}"


ORACLE_CODECS = LOSSLESS_CODECS
ORACLE_CLEVELS = (1, 3, 5, 7, 9)


def oracle_settings(nthreads: int | None = None) -> list[Params]:
    """The 200 settings of the exhaustive oracle (all cores unless told)."""
    threads = nthreads or core_count()
    codecs = [c for c in ORACLE_CODECS if c in available_codecs()]
    return [
        Params(codec, pipe, clevel, split, threads, threads)
        for codec, pipe, clevel, split in itertools.product(
            codecs, tuple(Pipeline), ORACLE_CLEVELS, ("ALWAYS", "NEVER")
        )
    ]
