"""Chunk headers decode to the parameters each chunk was really compressed with."""

from __future__ import annotations

import itertools
import json
import struct

import blosc2
import numpy as np
import pytest

from btune.chunkinfo import ChunkInfo, describe, iter_chunk_info, parse_header, pipeline_label

CODECS = ["BLOSCLZ", "LZ4", "LZ4HC", "ZLIB", "ZSTD"]
PIPELINES = {
    "NOFILTER": [],
    "SHUFFLE": [blosc2.Filter.SHUFFLE],
    "BITSHUFFLE": [blosc2.Filter.BITSHUFFLE],
    "SHUFFLE+BYTEDELTA": [blosc2.Filter.SHUFFLE, blosc2.Filter.BYTEDELTA],
    "DELTA+BITSHUFFLE": [blosc2.Filter.DELTA, blosc2.Filter.BITSHUFFLE],
}
SPLITS = {"ALWAYS": blosc2.SplitMode.ALWAYS_SPLIT, "NEVER": blosc2.SplitMode.NEVER_SPLIT}


def _data(n: int = 40_000) -> np.ndarray:
    x = np.arange(n, dtype=np.int32)
    return (x // 7 + (x % 13) * 3).astype(np.int32)


def _compress(codec: str, pipeline: str, split: str, data: np.ndarray, **kw) -> bytes:
    filters = PIPELINES[pipeline] or [blosc2.Filter.NOFILTER]
    return blosc2.compress2(
        data,
        codec=blosc2.Codec[codec],
        clevel=kw.pop("clevel", 5),
        filters=filters,
        filters_meta=[0] * len(filters),
        splitmode=SPLITS[split],
        typesize=data.dtype.itemsize,
        **kw,
    )


@pytest.mark.parametrize(
    ("codec", "pipeline", "split"), list(itertools.product(CODECS, PIPELINES, SPLITS))
)
def test_header_matches_what_was_asked(codec, pipeline, split):
    data = _data()
    chunk = _compress(codec, pipeline, split, data)
    h = parse_header(chunk)
    nbytes, cbytes, blocksize = blosc2.get_cbuffer_sizes(chunk)
    assert h.codec == codec  # LZ4HC told apart from LZ4
    assert pipeline_label(h.filters) == pipeline
    assert h.splitmode == split
    assert (h.nbytes, h.cbytes, h.blocksize) == (nbytes, cbytes, blocksize)
    assert h.typesize == 4
    assert h.special is None
    assert not h.lazy


def test_blocksize_is_read_from_the_header():
    data = _data()
    chunk = _compress("LZ4", "SHUFFLE", "ALWAYS", data, blocksize=16384)
    assert parse_header(chunk).blocksize == 16384


def test_incompressible_data_is_memcpyed():
    noise = np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8)
    h = parse_header(_compress("LZ4", "NOFILTER", "NEVER", noise))
    assert h.memcpyed
    assert h.cbytes > h.nbytes


def test_filters_meta_follows_the_filters():
    chunk = blosc2.compress2(
        _data(),
        typesize=4,
        filters=[blosc2.Filter.TRUNC_PREC, blosc2.Filter.SHUFFLE],
        filters_meta=[10, 0],
    )
    h = parse_header(chunk)
    assert h.filters == ("TRUNC_PREC", "SHUFFLE")
    assert h.filters_meta == (10, 0)


def test_short_buffer_is_a_value_error():
    with pytest.raises(ValueError, match="needs 16 bytes; got 5"):
        parse_header(b"\x05\x01\x05\x04\x00")
    extended = bytes([5, 1, 0x05, 4]) + struct.pack("<iii", 100, 100, 40)
    with pytest.raises(ValueError, match="extended Blosc chunk header needs 32 bytes"):
        parse_header(extended)


def _synthetic(flags: int, codes=(0,) * 6, codec_id: int = 0, blosc2_flags: int = 0) -> bytes:
    head = bytes([5, 1, flags, 8]) + struct.pack("<iii", 800, 800, 48)
    return head + bytes(codes) + bytes([codec_id, 7]) + bytes(6) + bytes([0, blosc2_flags])


def test_blosc1_header_takes_filters_from_flags():
    # zlib (3 << 5), bit shuffle and delta, no extended header
    h = parse_header(
        bytes([2, 1, (3 << 5) | 0x04 | 0x08, 8]) + struct.pack("<iii", 80, 80, 40)
    )
    assert h.codec == "ZLIB"
    assert h.filters == ("BITSHUFFLE", "DELTA")
    assert h.special is None


def test_unknown_codes_are_named_by_number():
    h = parse_header(_synthetic(0x05 | (6 << 5), codes=(77, 0, 0, 0, 0, 0), codec_id=250))
    assert h.codec == "CODEC250"
    assert h.filters == ("FILTER77",)
    assert h.codec_meta == 7
    assert parse_header(_synthetic(0x05 | (5 << 5))).codec == "FORMAT5"


def test_user_codec_is_named_from_its_id():
    h = parse_header(_synthetic(0x05 | (6 << 5), codec_id=int(blosc2.Codec.ZFP_ACC.value)))
    assert h.codec == "ZFP_ACC"


@pytest.mark.parametrize(
    ("bits", "kind"), [(1, "zeros"), (2, "nan"), (3, "value"), (4, "uninit")]
)
def test_special_kinds(bits, kind):
    assert parse_header(_synthetic(0x05, blosc2_flags=bits << 4)).special == kind


def test_special_chunks_of_real_containers():
    schunk = blosc2.SChunk(chunksize=8 * 100, cparams={"typesize": 8})
    kinds = [
        blosc2.SpecialValue.ZERO,
        blosc2.SpecialValue.NAN,
        blosc2.SpecialValue.UNINIT,
        blosc2.SpecialValue.VALUE,
    ]
    for kind in kinds:
        one = blosc2.SChunk(chunksize=8 * 100, cparams={"typesize": 8})
        one.fill_special(100, kind, 7.5 if kind is blosc2.SpecialValue.VALUE else None)
        schunk.append_chunk(one.get_chunk(0))
    schunk.append_data(np.arange(100.0))
    assert [c.special for c in iter_chunk_info(schunk)] == [
        "zeros", "nan", "uninit", "value", None
    ]  # fmt: skip
    info = describe(schunk)
    assert info.kind == "SChunk"
    assert info.shape is None
    assert {r.special: r.chunks for r in info.summary()} == {
        "zeros": 1, "nan": 1, "uninit": 1, "value": 1, None: 1
    }  # fmt: skip


def _mixed_file(path) -> np.ndarray:
    """A b2nd file written with plain blosc2: three kinds of chunks."""
    data = np.arange(64 * 256, dtype=np.int16).reshape(64, 256) % 1000
    arr = blosc2.asarray(
        data,
        urlpath=str(path),
        mode="w",
        chunks=(16, 256),
        cparams=blosc2.CParams(
            codec=blosc2.Codec.LZ4HC,
            clevel=7,
            filters=[blosc2.Filter.SHUFFLE, blosc2.Filter.BYTEDELTA],
        ),
    )
    # chunk 1 recompressed with ZSTD/BITSHUFFLE, no split, keeping the array's block size
    chunk1 = np.ascontiguousarray(data[16:32])
    packed = blosc2.compress2(
        chunk1,
        codec=blosc2.Codec.ZSTD,
        clevel=3,
        filters=[blosc2.Filter.BITSHUFFLE],
        filters_meta=[0],
        typesize=2,
        blocksize=arr.schunk.blocksize,
        splitmode=blosc2.SplitMode.NEVER_SPLIT,
    )
    arr.schunk.update_chunk(1, packed)
    # chunk 2 all zeros: blosc2 stores a special chunk
    arr[32:48] = 0
    return data


def test_describe_a_plain_blosc2_file_on_disk(tmp_path):
    path = tmp_path / "mixed.b2nd"
    data = _mixed_file(path)
    arr = blosc2.open(str(path))
    info = describe(arr)

    assert info.kind == "NDArray"
    assert info.urlpath == str(path)
    assert info.shape == (64, 256)
    assert info.dtype == "int16"
    assert info.chunkshape == (16, 256)
    assert info.nchunks == 4
    assert info.btune is None
    assert info.cparams["codec"] == "LZ4HC"
    assert info.cparams["clevel"] == 7

    c0, c1, c2, c3 = info.chunks
    assert (c0.codec, c0.pipeline) == ("LZ4HC", "SHUFFLE+BYTEDELTA")
    assert (c1.codec, c1.pipeline, c1.splitmode) == ("ZSTD", "BITSHUFFLE", "NEVER")
    assert c2.special == "zeros"
    assert (c2.codec, c2.pipeline, c2.splitmode) == ("-", "-", "-")
    assert (c3.codec, c3.pipeline) == ("LZ4HC", "SHUFFLE+BYTEDELTA")
    assert all(c.clevel is None for c in info.chunks)
    assert all(c.nbytes == 16 * 256 * 2 for c in info.chunks)
    assert all(c.blocksize == arr.schunk.blocksize for c in info.chunks if not c.special)

    # sizes agree with blosc2's own accounting of each chunk
    for c in info.chunks:
        nbytes, cbytes, _ = blosc2.get_cbuffer_sizes(arr.schunk.get_chunk(c.index))
        assert (c.nbytes, c.cbytes) == (nbytes, cbytes)
    assert info.nbytes == sum(c.nbytes for c in info.chunks)
    assert info.ratio == pytest.approx(info.nbytes / info.cbytes)

    rows = info.summary()
    assert [(r.codec, r.pipeline, r.splitmode, r.special, r.chunks) for r in rows] == [
        ("LZ4HC", "SHUFFLE+BYTEDELTA", c0.splitmode, None, 2),
        ("ZSTD", "BITSHUFFLE", "NEVER", None, 1),
        ("-", "-", "-", "zeros", 1),
    ]
    assert sum(r.chunks for r in rows) == info.nchunks

    # the file is still a plain, readable blosc2 array
    expected = data.copy()
    expected[32:48] = 0
    np.testing.assert_array_equal(arr[...], expected)


def test_describe_in_memory_equals_on_disk(tmp_path):
    path = tmp_path / "mixed.b2nd"
    _mixed_file(path)
    on_disk = describe(blosc2.open(str(path)))
    in_memory = describe(blosc2.ndarray_from_cframe(blosc2.open(str(path)).to_cframe()))
    assert on_disk.chunks == in_memory.chunks
    assert in_memory.urlpath is None


def _with_btune_entry(tmp_path, entry) -> ChunkInfo:
    path = tmp_path / "b.b2nd"
    arr = blosc2.asarray(
        np.arange(4000, dtype="i4"), urlpath=str(path), mode="w", chunks=(1000,)
    )
    arr.vlmeta["btune"] = entry
    return describe(blosc2.open(str(path)))


def test_clevels_come_from_btune_vlmeta(tmp_path):
    info = _with_btune_entry(tmp_path, {"version": "0.1.0", "clevels": [1, 5, 9, 3]})
    assert [c.clevel for c in info.chunks] == [1, 5, 9, 3]
    assert info.btune is not None
    assert info.btune["version"] == "0.1.0"


def test_clevels_from_per_chunk_params(tmp_path):
    chunks = [{"codec": "ZSTD", "clevel": n} for n in (2, 4)] + [None, {"clevel": "x"}]
    info = _with_btune_entry(tmp_path, {"chunks": chunks})
    assert [c.clevel for c in info.chunks] == [2, 4, None, None]


@pytest.mark.parametrize(
    "entry", [{"clevels": [1, 2]}, {"clevels": "nope"}, "not a dict", {"clevels": [True] * 4}]
)
def test_malformed_btune_vlmeta_is_ignored(tmp_path, entry):
    info = _with_btune_entry(tmp_path, entry)
    assert all(c.clevel is None for c in info.chunks)


def test_describe_a_btune_written_file(tmp_path):
    import btune

    path = tmp_path / "t.b2nd"
    data = (np.arange(20_000, dtype=np.int32) // 9).reshape(200, 100)
    result = btune.compress(data, urlpath=str(path), chunks=(25, 100), tradeoff=1.0)
    info = describe(blosc2.open(str(path)))
    assert info.btune is not None
    assert [c.clevel for c in info.chunks] == [r.params.clevel for r in result.records]
    tuned = [(c, r) for c, r in zip(info.chunks, result.records, strict=True) if r.cbytes]
    for c, r in tuned:
        assert c.codec == r.params.codec
        assert c.pipeline == r.params.pipeline.value
        assert c.cbytes == r.cbytes


def test_to_dict_is_json(tmp_path):
    path = tmp_path / "mixed.b2nd"
    _mixed_file(path)
    text = json.dumps(describe(blosc2.open(str(path))).to_dict())
    back = json.loads(text)
    assert back["nchunks"] == 4
    assert back["chunks"][1]["codec"] == "ZSTD"
    assert back["summary"][0]["chunks"] == 2


def test_not_a_container():
    with pytest.raises(
        TypeError, match="expected a blosc2.NDArray or blosc2.SChunk; got ndarray"
    ):
        describe(np.arange(3))
