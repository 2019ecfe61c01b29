"""What each chunk of a Blosc2 container was compressed with, read from its header.

Every Blosc2 chunk starts with a documented header (C-Blosc2's chunk format):

====== ====================================================================
bytes  meaning
====== ====================================================================
0      format version
1      codec format version
2      flags: bit 0 byte shuffle, bit 1 stored uncompressed (memcpy), bit 2 bit
       shuffle, bit 3 delta, bit 4 blocks *not* split, bits 5-7 codec format
       (0 BLOSCLZ, 1 LZ4/LZ4HC, 3 ZLIB, 4 ZSTD, 6 codec in byte 22)
3      type size
4-7    uncompressed bytes (little-endian int32)
8-11   block size
12-15  compressed bytes, header included
16-21  filter codes, six slots applied first to last (extended header)
22     codec id (user-defined codecs; recent writers store every codec's id)
23     codec meta
24-29  filter metas
31     blosc2 flags: bit 3 lazy chunk, bits 4-6 special chunk (1 zeros, 2 NaN,
       3 a repeated value, 4 uninitialised)
====== ====================================================================

The extended header (bytes 16-31) is present when flag bits 0 and 2 are both set.
The compression level is not in the header: when btune wrote the container, its
vlmeta ``btune`` entry records each chunk's clevel, and :func:`describe` reads it.

Note: LZ4 and LZ4HC write the same codec format (1); they are told apart by byte
22, which C-Blosc2 2.x writers fill.  A chunk whose byte 22 is not 2 is reported as
LZ4.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import struct
from collections.abc import Iterable, Iterator
from typing import Any

import blosc2

__all__ = [
    "ChunkHeader",
    "ChunkInfo",
    "ContainerInfo",
    "SummaryRow",
    "describe",
    "iter_chunk_info",
    "parse_header",
    "pipeline_label",
]

HEADER_SIZE = 16
EXTENDED_HEADER_SIZE = 32

_SHUFFLE = 0x01
_MEMCPYED = 0x02
_BITSHUFFLE = 0x04
_DELTA = 0x08
_NOSPLIT = 0x10
_LAZY = 0x08

_CODEC_FORMATS = {0: "BLOSCLZ", 1: "LZ4", 3: "ZLIB", 4: "ZSTD"}
_USER_CODEC_FORMAT = 6
_LZ4HC_ID = 2
_SPECIALS = {1: "zeros", 2: "nan", 3: "value", 4: "uninit"}


def _codec_name(code: int) -> str:
    try:
        return str(blosc2.Codec(code).name)
    except ValueError:
        return f"CODEC{code}"


def _filter_name(code: int) -> str:
    try:
        return str(blosc2.Filter(code).name)
    except ValueError:
        return f"FILTER{code}"


@dataclasses.dataclass(frozen=True)
class ChunkHeader:
    """The decoded header of one chunk (see the module docstring)."""

    version: int
    versionlz: int
    flags: int
    typesize: int
    nbytes: int
    blocksize: int
    cbytes: int
    codec: str
    codec_meta: int
    filters: tuple[str, ...]
    filters_meta: tuple[int, ...]
    splitmode: str
    memcpyed: bool
    lazy: bool
    special: str | None


def parse_header(buffer: bytes | bytearray | memoryview) -> ChunkHeader:
    """Decode a chunk's header; ``buffer`` is the chunk (or a lazy chunk, or its head).

    Raises ``ValueError`` when the buffer is too short to hold a header.
    """
    head = bytes(buffer[:EXTENDED_HEADER_SIZE])
    if len(head) < HEADER_SIZE:
        msg = f"a Blosc chunk header needs {HEADER_SIZE} bytes; got {len(head)}"
        raise ValueError(msg)
    version, versionlz, flags, typesize = head[0], head[1], head[2], head[3]
    nbytes, blocksize, cbytes = struct.unpack("<iii", head[4:16])
    extended = flags & (_SHUFFLE | _BITSHUFFLE) == (_SHUFFLE | _BITSHUFFLE)
    if extended and len(head) < EXTENDED_HEADER_SIZE:
        msg = (
            f"an extended Blosc chunk header needs {EXTENDED_HEADER_SIZE} bytes; "
            f"got {len(head)}"
        )
        raise ValueError(msg)

    # codec: three flag bits, refined by the codec id byte of the extended header
    code = flags >> 5
    codec_id = head[22] if extended else 0
    if code == _USER_CODEC_FORMAT:
        codec = _codec_name(codec_id)
    elif code == 1 and codec_id == _LZ4HC_ID:
        codec = "LZ4HC"
    else:
        codec = _CODEC_FORMATS.get(code, f"FORMAT{code}")

    # filters: six slots in the extended header, else the Blosc1 flag bits
    if extended:
        codes = head[16:22]
        metas = head[24:30]
        filters = tuple(_filter_name(c) for c in codes if c != 0)
        filters_meta = tuple(m for c, m in zip(codes, metas, strict=True) if c != 0)
        blosc2_flags = head[31]
    else:
        names = []
        if flags & _SHUFFLE:
            names.append("SHUFFLE")
        if flags & _BITSHUFFLE:
            names.append("BITSHUFFLE")
        if flags & _DELTA:
            names.append("DELTA")
        filters = tuple(names)
        filters_meta = (0,) * len(names)
        blosc2_flags = 0

    return ChunkHeader(
        version=version,
        versionlz=versionlz,
        flags=flags,
        typesize=typesize,
        nbytes=nbytes,
        blocksize=blocksize,
        cbytes=cbytes,
        codec=codec,
        codec_meta=head[23] if extended else 0,
        filters=filters,
        filters_meta=filters_meta,
        splitmode="NEVER" if flags & _NOSPLIT else "ALWAYS",
        memcpyed=bool(flags & _MEMCPYED),
        lazy=bool(blosc2_flags & _LAZY),
        special=_SPECIALS.get((blosc2_flags >> 4) & 0x07),
    )


def pipeline_label(filters: Iterable[str]) -> str:
    """``("SHUFFLE", "BYTEDELTA")`` → ``"SHUFFLE+BYTEDELTA"``; no filter → ``"NOFILTER"``."""
    return "+".join(filters) or "NOFILTER"


@dataclasses.dataclass(frozen=True)
class ChunkInfo:
    """One chunk as stored: its parameters, sizes and, when btune wrote it, its clevel."""

    index: int
    codec: str
    filters: tuple[str, ...]
    filters_meta: tuple[int, ...]
    splitmode: str
    blocksize: int
    typesize: int
    nbytes: int
    cbytes: int
    special: str | None
    memcpyed: bool
    clevel: int | None

    @property
    def ratio(self) -> float:
        return self.nbytes / max(self.cbytes, 1)

    @property
    def pipeline(self) -> str:
        """The filter pipeline, e.g. ``"SHUFFLE+BYTEDELTA"``; ``"-"`` for a special chunk."""
        return "-" if self.special else pipeline_label(self.filters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "codec": self.codec,
            "filters": list(self.filters),
            "filters_meta": list(self.filters_meta),
            "splitmode": self.splitmode,
            "clevel": self.clevel,
            "blocksize": self.blocksize,
            "typesize": self.typesize,
            "nbytes": self.nbytes,
            "cbytes": self.cbytes,
            "ratio": self.ratio,
            "special": self.special,
            "memcpyed": self.memcpyed,
        }


@dataclasses.dataclass(frozen=True)
class SummaryRow:
    """How many chunks share one codec, filter pipeline and split (or one special kind)."""

    codec: str
    pipeline: str
    splitmode: str
    special: str | None
    chunks: int
    nbytes: int
    cbytes: int

    @property
    def ratio(self) -> float:
        return self.nbytes / max(self.cbytes, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "codec": self.codec,
            "filters": self.pipeline,
            "splitmode": self.splitmode,
            "special": self.special,
            "chunks": self.chunks,
            "nbytes": self.nbytes,
            "cbytes": self.cbytes,
            "ratio": self.ratio,
        }


@dataclasses.dataclass(frozen=True)
class ContainerInfo:
    """A container and all its chunks, as :func:`describe` found them."""

    kind: str  # "NDArray" or "SChunk"
    urlpath: str | None
    shape: tuple[int, ...] | None
    dtype: str | None
    chunkshape: tuple[int, ...] | None
    blockshape: tuple[int, ...] | None
    typesize: int
    cparams: dict[str, Any]
    btune: dict[str, Any] | None
    chunks: tuple[ChunkInfo, ...]

    @property
    def nchunks(self) -> int:
        return len(self.chunks)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.chunks)

    @property
    def cbytes(self) -> int:
        return sum(c.cbytes for c in self.chunks)

    @property
    def ratio(self) -> float:
        return self.nbytes / max(self.cbytes, 1)

    def summary(self) -> list[SummaryRow]:
        """Counts per (codec, filters, split) and per special kind, most chunks first."""
        groups: dict[tuple[str, str, str, str | None], list[ChunkInfo]] = (
            collections.defaultdict(list)
        )
        for c in self.chunks:
            key = (c.codec, c.pipeline, c.splitmode, c.special)
            groups[key].append(c)
        rows = [
            SummaryRow(
                *key,
                chunks=len(group),
                nbytes=sum(c.nbytes for c in group),
                cbytes=sum(c.cbytes for c in group),
            )
            for key, group in groups.items()
        ]
        rows.sort(key=lambda r: (-r.chunks, r.special or "", r.codec, r.pipeline, r.splitmode))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "urlpath": self.urlpath,
            "shape": None if self.shape is None else list(self.shape),
            "dtype": self.dtype,
            "chunkshape": None if self.chunkshape is None else list(self.chunkshape),
            "blockshape": None if self.blockshape is None else list(self.blockshape),
            "typesize": self.typesize,
            "cparams": self.cparams,
            "btune": self.btune,
            "nchunks": self.nchunks,
            "nbytes": self.nbytes,
            "cbytes": self.cbytes,
            "ratio": self.ratio,
            "chunks": [c.to_dict() for c in self.chunks],
            "summary": [r.to_dict() for r in self.summary()],
        }


def _schunk_of(container: Any) -> blosc2.SChunk:
    if isinstance(container, blosc2.SChunk):
        return container
    schunk = getattr(container, "schunk", None)
    if isinstance(schunk, blosc2.SChunk):
        return schunk
    msg = f"expected a blosc2.NDArray or blosc2.SChunk; got {type(container).__name__}"
    raise TypeError(msg)


def _btune_entry(schunk: blosc2.SChunk) -> dict[str, Any] | None:
    """The ``btune`` vlmeta entry if present and a mapping, else None."""
    for key, value in schunk.vlmeta.getall().items():
        name = key.decode() if isinstance(key, bytes) else key
        if name == "btune" and isinstance(value, dict):
            return value
    return None


def _clevels(entry: dict[str, Any] | None, nchunks: int) -> list[int | None]:
    """Each chunk's clevel from btune's vlmeta: its ``clevels`` list, else ``chunks``."""
    found: list[int | None] = [None] * nchunks
    if entry is None:
        return found
    clevels = entry.get("clevels")
    per_chunk = entry.get("chunks")
    if isinstance(clevels, list) and len(clevels) == nchunks:
        values: list[Any] = clevels
    elif isinstance(per_chunk, list) and len(per_chunk) == nchunks:
        values = [c.get("clevel") if isinstance(c, dict) else None for c in per_chunk]
    else:
        return found
    return [v if isinstance(v, int) and not isinstance(v, bool) else None for v in values]


def iter_chunk_info(container: Any) -> Iterator[ChunkInfo]:
    """Each chunk of ``container`` (a ``blosc2.NDArray`` or ``blosc2.SChunk``), in order.

    Only chunk headers are read (lazy chunks for containers on disk).
    """
    schunk = _schunk_of(container)
    nchunks = schunk.nchunks
    clevels = _clevels(_btune_entry(schunk), nchunks)
    for index in range(nchunks):
        header = parse_header(schunk.get_lazychunk(index))
        # A special chunk holds no compressed data: its codec and filter fields mean nothing.
        plain = header.special is None
        yield ChunkInfo(
            index=index,
            codec=header.codec if plain else "-",
            filters=header.filters if plain else (),
            filters_meta=header.filters_meta if plain else (),
            splitmode=header.splitmode if plain else "-",
            blocksize=header.blocksize,
            typesize=header.typesize,
            nbytes=header.nbytes,
            cbytes=header.cbytes,
            special=header.special,
            memcpyed=header.memcpyed,
            clevel=clevels[index],
        )


def _enum_value(value: Any) -> int:
    return int(getattr(value, "value", value))


def _cparams_dict(cparams: Any) -> dict[str, Any]:
    filters = [_enum_value(f) for f in cparams.filters]
    active = [_filter_name(f) for f in filters if f != 0]
    return {
        "codec": _codec_name(_enum_value(cparams.codec)),
        "clevel": int(cparams.clevel),
        "filters": pipeline_label(active),
        "splitmode": blosc2.SplitMode(cparams.splitmode).name,
        "blocksize": int(cparams.blocksize),
        "typesize": int(cparams.typesize),
        "nthreads": int(cparams.nthreads),
    }


def describe(container: Any) -> ContainerInfo:
    """All chunks of ``container`` plus its geometry, default cparams and btune record."""
    schunk = _schunk_of(container)
    is_array = isinstance(container, blosc2.NDArray)
    urlpath = schunk.urlpath
    return ContainerInfo(
        kind="NDArray" if is_array else "SChunk",
        urlpath=None if urlpath is None else os.fspath(urlpath),
        shape=tuple(int(s) for s in container.shape) if is_array else None,
        dtype=str(container.dtype) if is_array else None,
        chunkshape=tuple(int(s) for s in container.chunks) if is_array else None,
        blockshape=tuple(int(s) for s in container.blocks) if is_array else None,
        typesize=int(schunk.typesize),
        cparams=_cparams_dict(schunk.cparams),
        btune=_btune_entry(schunk),
        chunks=tuple(iter_chunk_info(schunk)),
    )
