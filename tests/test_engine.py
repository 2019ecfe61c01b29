"""The chunk loop: layout, round trips, metadata, fast path, replay, trace."""

from __future__ import annotations

import io
import math
import time

import blosc2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import btune
from btune import engine
from btune.config import resolve
from btune.objective import Measurement
from btune.space import Params, Pipeline
from btune.strategies.base import Step, Strategy
from conftest import DATA, FakeClock, check_file_roundtrip, check_roundtrip, real_slices

STRATEGIES = ("genetic", "probe")


def retina():
    return np.load(DATA / "retina_fundus_rgb_slice.npy")


def randhie():
    return np.load(DATA / "randhie_panel_slice.npy")


def liver():
    return np.load(DATA / "liver_seg_mask_slice.npy")


FORMAT_CODES = {"BLOSCLZ": 0, "LZ4": 1, "LZ4HC": 1, "ZLIB": 3, "ZSTD": 4}


@pytest.mark.parametrize("path", real_slices(), ids=lambda p: p.stem)
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("tradeoff", [0.0, 0.5, 1.0])
def test_real_data_roundtrip(path, strategy, tradeoff):
    data = np.load(path)
    chunks = (max(1, data.shape[0] // 7),) + data.shape[1:]
    result = btune.compress(data, tradeoff=tradeoff, strategy=strategy, chunks=chunks)
    check_roundtrip(data, result.array)
    assert len(result.records) == result.array.schunk.nchunks


DTYPES = [
    "bool",
    "i1",
    "i2",
    "i4",
    "i8",
    "u1",
    "u2",
    "u4",
    "u8",
    "f2",
    "f4",
    "f8",
    "c8",
    "c16",
    ">i4",
    "<f8",
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_numeric_dtype(dtype):
    rng = np.random.default_rng(3)
    data = (rng.standard_normal((37, 11)) * 50).astype(dtype)
    result = btune.compress(data, chunks=(8, 5), blocks=(3, 2))
    check_roundtrip(data, result.array)


def test_structured_dtype_keeps_itemsize_and_offsets():
    dtype = np.dtype(
        {"names": ["a", "b"], "formats": ["<i2", "<f8"], "offsets": [0, 8], "itemsize": 24}
    )
    data = np.zeros(50, dtype=dtype)
    data["a"] = np.arange(50)
    data["b"] = np.linspace(0, 1, 50)
    result = btune.compress(data, chunks=(16,))
    back = result.array[:]
    assert back.dtype.itemsize == 24
    assert back.dtype.fields["b"][1] == 8
    assert back.tobytes() == data.tobytes()


@pytest.mark.parametrize(
    ("shape", "chunks", "blocks"),
    [
        ((1,), None, None),
        ((1,), (1,), (1,)),
        ((5,), (2,), (1,)),  # chunks under 32 bytes, last chunk partial
        ((103, 7), (10, 3), (4, 2)),  # blocks padding chunks in every dimension
        ((9, 10, 11), (4, 5, 6), (2, 5, 3)),
        ((64, 64), (64, 64), (64, 64)),
        ((1000,), (1000,), (100,)),
    ],
)
def test_layouts_roundtrip(shape, chunks, blocks):
    data = np.arange(math.prod(shape), dtype="f4").reshape(shape) ** 1.5
    result = btune.compress(data, chunks=chunks, blocks=blocks, tradeoff=0.7)
    check_roundtrip(data, result.array)
    if chunks is not None:
        assert result.array.chunks == chunks
        assert result.array.blocks == blocks


def test_zero_dimensional_array():
    data = np.array(3.25)
    result = btune.compress(data)
    assert result.array[()] == 3.25


@pytest.mark.parametrize("fill", [0.0, np.nan, 7.5])
def test_constant_chunks_are_special_and_never_win(fill):
    data = np.full((40, 10), fill)
    data[30:] = np.arange(100).reshape(10, 10)
    result = btune.compress(data, chunks=(10, 10), strategy="genetic")
    check_roundtrip(data, result.array)
    states = [(r.special, r.winner) for r in result.records]
    assert states[:3] == [(True, "S")] * 3
    assert not states[3][0]


def test_output_on_disk_opens_with_plain_blosc2(tmp_path):
    data = retina()
    path = tmp_path / "out.b2nd"
    btune.asarray(data, urlpath=str(path), chunks=(data.shape[0] // 4,) + data.shape[1:])
    check_file_roundtrip(data, path)


def test_vlmeta_records_version_config_and_clevels(tmp_path):
    data = np.linspace(0, 1, 5000)
    path = tmp_path / "out.b2nd"
    result = btune.compress(
        data,
        urlpath=str(path),
        chunks=(500,),
        tradeoff=0.25,
        vlmeta={"origin": "sensor 4"},
        meta={"units": {"x": "m"}},
    )
    reopened = blosc2.open(str(path))
    info = reopened.schunk.vlmeta["btune"]
    assert info["version"] == btune.__version__
    assert info["config"] == result.config.to_dict()
    assert info["config"]["tradeoff"] == 0.25
    assert info["clevels"] == [r.params.clevel for r in result.records]
    assert len(info["clevels"]) == 10
    assert reopened.schunk.vlmeta["origin"] == "sensor 4"
    assert reopened.schunk.meta["units"] == {"x": "m"}


def test_chunks_stored_with_the_recorded_codecs():
    data = retina()
    result = btune.compress(data, strategy="genetic", chunks=(4, 256, 3), tradeoff=0.5)
    schunk = result.array.schunk
    for record in result.records:
        if record.state == "STOP" or record.special:
            continue
        header = schunk.get_lazychunk(record.chunk)
        # byte 2 of the header holds flags; bits 5-7 are the codec's format code
        # (C-Blosc2 chunk format: BLOSCLZ 0, LZ4 and LZ4HC 1, ZLIB 3, ZSTD 4)
        assert (header[2] >> 5) & 0x7 == FORMAT_CODES[record.params.codec]
        assert record.cbytes == blosc2.get_cbuffer_sizes(header)[1]


@pytest.mark.parametrize("grid", [(5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("start_frac", [0.0, 0.3, 0.99])
def test_tail_boxes_cover_remaining_chunks_once(grid, start_frac):
    chunks = (3,) * len(grid)
    shape = tuple(g * 3 - 1 for g in grid)
    layout = engine.plan_layout(shape, np.dtype("u1"), chunks, chunks)
    start = int(start_frac * layout.nchunks)
    covered = np.zeros(shape, dtype=int)
    for box in layout.tail_boxes(start):
        covered[box] += 1
    expected = np.zeros(shape, dtype=int)
    for i in range(start, layout.nchunks):
        expected[layout.chunk_slices(i)] = 1
    assert np.array_equal(covered, expected)


@settings(max_examples=150, deadline=None)
@given(
    grid=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    slab_bytes=st.integers(1, 400),
    max_chunks=st.integers(1, 8),
    data=st.data(),
)
def test_slabs_cut_tail_boxes_into_whole_chunks(grid, slab_bytes, max_chunks, data):
    chunks = tuple(data.draw(st.integers(1, 4)) for _ in grid)
    shape = tuple(g * c - data.draw(st.integers(0, c - 1)) for g, c in zip(grid, chunks))
    layout = engine.plan_layout(shape, np.dtype("u2"), chunks, chunks)
    start = data.draw(st.integers(0, layout.nchunks - 1))
    covered = np.zeros(shape, dtype=int)
    total = 0
    for box in layout.tail_boxes(start):
        for slab, nchunks in layout.slabs(box, slab_bytes, max_chunks):
            covered[slab] += 1
            total += nchunks
            assert nchunks <= max_chunks
            # chunk-aligned starts: each slab is whole chunks
            assert all(sl.start % c == 0 for sl, c in zip(slab, chunks))
    expected = np.zeros(shape, dtype=int)
    for i in range(start, layout.nchunks):
        expected[layout.chunk_slices(i)] = 1
    assert np.array_equal(covered, expected)
    assert total == layout.nchunks - start


def test_the_tail_is_written_in_slabs_with_progress(monkeypatch):
    monkeypatch.setattr(engine, "TAIL_SLAB_BYTES", 4000)  # 10 chunks of 400 bytes
    monkeypatch.setattr(engine, "TAIL_SLAB_CHUNKS", 16)
    data = np.arange(100_000, dtype="f8")
    ticks: list[int] = []
    result = btune.compress(data, chunks=(50,), strategy="genetic", progress=ticks.append)
    check_roundtrip(data, result.array)
    assert sum(ticks) == 2000
    tail = ticks[len(result.tuned) :]
    assert result.tail_start < 2000 and len(tail) > 1  # the tail came in slabs ...
    assert set(tail[:-1]) == {10}  # ... of 4000 bytes: 10 chunks of 400


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    data=st.data(),
)
def test_block_layout_roundtrip_property(shape, data):
    chunks = tuple(data.draw(st.integers(1, s)) for s in shape)
    blocks = tuple(data.draw(st.integers(1, c)) for c in chunks)
    dtype = data.draw(st.sampled_from(["u1", "i2", "f4", "c16"]))
    arr = (np.arange(math.prod(shape)) % 251).astype(dtype).reshape(shape)
    result = btune.compress(arr, chunks=chunks, blocks=blocks, strategy="genetic")
    check_roundtrip(arr, result.array)


class _Scripted(Strategy):
    """Switches parameters every chunk for three chunks, then finishes."""

    name = "scripted"
    plan = [
        Params("LZ4", Pipeline.SHUFFLE, 1, "ALWAYS", 1, 1),
        Params("ZSTD", Pipeline.BITSHUFFLE, 5, "NEVER", 1, 1),
        Params("BLOSCLZ", Pipeline.NOFILTER, 9, "ALWAYS", 1, 1),
    ]

    def __init__(self, config):
        super().__init__(config, typesize=4, cores=1)
        self.i = 0

    def propose(self, probe):
        return Step(self.plan[min(self.i, 2)], "SCRIPT", "HARD")

    def observe(self, step, m):
        self.i += 1
        return "W"

    @property
    def best(self):
        return self.plan[min(self.i, 2)]

    @property
    def finished(self):
        return self.i >= 3


def test_fast_path_after_finish_and_replay_matches():
    data = np.arange(10_000, dtype="i4")
    config = resolve(tradeoff=0.5)
    result = engine.compress(data, config, chunks=(1000,), strategy=_Scripted(config))
    check_roundtrip(data, result.array)
    states = [r.state for r in result.records]
    assert states == ["SCRIPT"] * 3 + ["STOP"] * 7
    assert [r.params.codec for r in result.records] == ["LZ4", "ZSTD"] + ["BLOSCLZ"] * 8
    replayed = engine.replay(data, result)
    assert [r.params for r in replayed.records] == [r.params for r in result.records]
    check_roundtrip(data, replayed.array)
    # the fast-path chunks really carry the final parameters
    assert [r.params.clevel for r in replayed.records] == [1, 5] + [9] * 8


def test_trace_rows_with_fake_clock():
    data = retina()
    out = io.StringIO()
    config = resolve(tradeoff=0.5, strategy="genetic", trace=True)
    engine.compress(data, config, chunks=(8, 256, 3), trace=out, clock=FakeClock())
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"btune {btune.__version__} | perf mode: COMP | tradeoff: 0.5")
    assert "Codec" in lines[2] and "Winner" in lines[2]
    rows = [ln for ln in lines[3:] if ln.startswith("|")]
    assert len(rows) == 8
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in rows]
    assert all(len(c) == 12 for c in cells)
    assert {c[-1] for c in cells} <= {"W", "-", "S"}
    assert cells[0][-1] == "W"  # the first measured chunk is always the best so far
    assert {c[9] for c in cells} == {"CODEC_FILTER"}


def test_trace_env_var_prints_to_stderr(monkeypatch, capsys):
    monkeypatch.setenv("BTUNE_TRACE", "1")
    btune.asarray(np.arange(1000.0), chunks=(100,))
    err = capsys.readouterr().err
    assert "| Codec" in err
    assert "btune" in err.splitlines()[0]


def test_measurement_objects_for_decomp_mode_include_dtime():
    data = randhie()
    result = btune.compress(data, perf_mode="DECOMP", strategy="genetic", chunks=(40, 45))
    tuned = [r for r in result.records if r.state != "STOP" and not r.special]
    assert tuned and all(r.dtime > 0 for r in tuned)
    m = Measurement(100, 10, 1.0, 2.0)
    assert m.cratio == 10


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"chunks": (10, 10)},
            ValueError,
            r"`chunks` has 2 value\(s\) but the array has 1 dimension",
        ),
        ({"chunks": (0,)}, ValueError, "positive"),
        ({"chunks": (10,), "blocks": (20,)}, ValueError, "must not exceed"),
        ({"chunks": "ab"}, TypeError, "sequence of positive integers"),
        ({"tradeoff": 2.0}, ValueError, r"`tradeoff` must be in \[0, 1\]; got 2.0"),
        ({"tradeoff": (0.3, 0.3, 0.4)}, ValueError, "quality mode"),
        ({"perf_mode": "FAST"}, ValueError, "one of COMP, DECOMP, BALANCED, AUTO"),
        ({"storage": 3}, TypeError, "unexpected keyword"),
        ({"cparams_hint": True}, ValueError, "no `cparams`"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        btune.asarray(np.arange(100.0), **kwargs)


@pytest.mark.parametrize(
    ("shape", "chunks"), [((0, 3), None), ((3, 0, 2), None), ((0,), None), ((0, 5), (10, 5))]
)
def test_empty_arrays_are_written_as_they_are(tmp_path, shape, chunks):
    data = np.zeros(shape, dtype="f4")
    path = tmp_path / "e.b2nd"
    result = btune.compress(data, chunks=chunks, urlpath=str(path))
    out = blosc2.open(str(path))
    assert (out.shape, out.dtype) == (shape, data.dtype)
    assert result.nchunks == 0 and result.tuned == []
    assert out.schunk.vlmeta["btune"]["clevels"] == []
    if chunks is not None:
        assert out.chunks == chunks


def test_object_arrays_are_refused():
    with pytest.raises(TypeError, match="Python objects"):
        btune.asarray(np.array([1, "a", None], dtype=object))


def test_cparams_hint_starts_from_user_params():
    data = randhie()
    hint = blosc2.CParams(codec=blosc2.Codec.ZLIB, clevel=4, filters=[blosc2.Filter.SHUFFLE])
    result = btune.compress(
        data, cparams=hint, cparams_hint=True, strategy="probe", chunks=(40, 45), tradeoff=0.9
    )
    assert result.records[0].params.codec in ("ZLIB", "ZSTD", "LZ4HC")


def test_tune_returns_cparams_usable_by_blosc2():
    data = randhie()
    cparams = btune.tune(data, tradeoff=1.0)
    assert isinstance(cparams, blosc2.CParams)
    again = blosc2.asarray(data, cparams=cparams)
    check_roundtrip(data, again)


def test_blosc2_ndarray_input_is_recompressed():
    data = liver()
    source = blosc2.asarray(data, chunks=(data.shape[0] // 3,) + data.shape[1:])
    result = btune.compress(source, chunks=source.chunks)
    check_roundtrip(data, result.array)


def test_probe_trace_lists_candidates_then_stop():
    data = retina()
    out = io.StringIO()
    config = resolve(tradeoff=1.0, strategy="probe", trace=True)
    result = engine.compress(data, config, chunks=(8, 256, 3), trace=out, clock=FakeClock())
    lines = out.getvalue().splitlines()
    probes = [ln for ln in lines if ln.startswith("  probe ")]
    # 48 KiB of data: 1/32 of it is under one block, so the sample is one whole block
    # (8 x 256 x 3 bytes = 6 KiB) from the middle chunk
    assert probes and all("on 1 sample piece(s), 6 KiB" in ln for ln in probes)
    assert lines[-1].startswith(f"STOP: {result.best.label()}")
    assert "serves the remaining 8 chunk(s)" in lines[-1]
    assert {r.state for r in result.records} == {"STOP"}


def test_btune_tradeoff_env_is_read_but_hidden_from_blosc2(monkeypatch):
    monkeypatch.setenv("BTUNE_TRADEOFF", "0.9")
    result = btune.compress(np.linspace(0, 1, 4000), chunks=(1000,))
    assert result.config.tradeoff == 0.9
    assert result.best.codec in ("ZSTD", "ZLIB", "LZ4HC")
    import os

    assert os.environ["BTUNE_TRADEOFF"] == "0.9"


@pytest.mark.parametrize(
    ("chunks", "match"),
    [((2**40, 1), "at most"), ((2**31, 2**31), "at most")],
)
def test_huge_chunks_are_a_value_error(chunks, match):
    with pytest.raises(ValueError, match=match):
        btune.asarray(np.zeros((10, 10), dtype="u1"), chunks=chunks)


def test_a_folder_is_never_replaced_unless_it_is_a_sparse_frame(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(IsADirectoryError, match="holds no Blosc2 sparse frame"):
        btune.asarray(np.arange(100.0), urlpath=str(folder), mode="w")
    assert (folder / "notes.txt").read_text() == "keep me"
    # a sparse frame (blosc2 writes one as a folder) may be overwritten
    sparse = tmp_path / "sparse.b2nd"
    btune.asarray(np.arange(100.0), urlpath=str(sparse), contiguous=False)
    assert sparse.is_dir()
    btune.asarray(np.arange(100.0) * 2, urlpath=str(sparse), contiguous=False, mode="w")
    assert blosc2.open(str(sparse))[7] == 14.0


def test_urlpath_checks(tmp_path):
    data = np.arange(100.0)
    with pytest.raises(ValueError, match="does not exist"):
        btune.asarray(data, urlpath=str(tmp_path / "nope" / "x.b2nd"))
    path = tmp_path / "x.b2nd"
    btune.asarray(data, urlpath=str(path))
    with pytest.raises(FileExistsError, match="mode='w'"):
        btune.asarray(data, urlpath=str(path))
    with pytest.raises(ValueError, match="`mode` must be 'w'"):
        btune.asarray(data, urlpath=str(path), mode="a")
    btune.asarray(data * 2, urlpath=str(path), mode="w")
    assert blosc2.open(str(path))[5] == 10.0


@pytest.mark.parametrize(
    ("shape", "chunks", "blocks", "pieces", "piece_bytes"),
    [
        ((64, 256, 3), (8, 256, 3), None, 1, 6144),  # small: one block
        ((4096, 1024), (64, 1024), None, 2, 65536),  # 4 MiB: 1/32 is 2 blocks, from 2 chunks
        ((4096, 1024), (512, 1024), (64, 1024), 2, 65536),  # one block of each of 2 chunks
        ((8192, 1024), (64, 1024), None, 4, 65536),  # 8 MiB: 4 blocks from 4 chunks
        ((16384, 1024), (512, 1024), (64, 1024), 4, 131072),  # 16 MiB: 2 blocks x 4 chunks
    ],
)
def test_sample_is_whole_blocks_spread_over_the_array(
    shape, chunks, blocks, pieces, piece_bytes
):
    data = np.arange(math.prod(shape), dtype="u1").reshape(shape)
    layout = engine.plan_layout(shape, data.dtype, chunks, blocks)
    config = resolve(tradeoff=0.5)
    run = engine._Run(
        data, layout, config, _Scripted(config), None, time.perf_counter, None, None
    )
    sample = run.sample()
    assert len(sample) == pieces
    assert {s.nbytes for s in sample} == {piece_bytes}
    assert all(s.nbytes % layout.blocksize == 0 for s in sample)


@pytest.mark.parametrize(
    ("shape", "dtype", "chunks", "piece_bytes"),
    [
        ((4096, 1024), "u1", (64, 1024), 32768),  # 4 MiB / 128 = half a block
        ((20190, 45), "f8", (182, 45), 56784),  # 7.3 MB / 128 (a whole number of items)
        ((2000,), "f8", (2000,), 8192),  # 16 KB: the smallest piece
        ((64, 256, 3), "u1", (8, 256, 3), 6144),  # blocks of 6 KiB: one whole block
    ],
)
def test_a_share_under_one_block_is_one_piece_of_the_middle_chunk(
    shape, dtype, chunks, piece_bytes
):
    # every element holds its chunk's index along the first axis
    rows = np.arange(shape[0]) // chunks[0]
    data = np.broadcast_to(rows.reshape((-1,) + (1,) * (len(shape) - 1)), shape).astype(dtype)
    layout = engine.plan_layout(shape, data.dtype, chunks, None)
    config = resolve(tradeoff=0.0)
    strategy = _Scripted(config)
    strategy.sample_fraction = 128
    strategy.sample_min_bytes = 8192
    run = engine._Run(data, layout, config, strategy, None, time.perf_counter, None, None)
    (piece,) = run.sample()
    assert piece.nbytes == piece_bytes
    middle = layout.grid[0] // 2
    assert set(np.unique(piece.view(data.dtype))) == {middle}


def test_one_element_chunks_are_not_special_and_settle_fast():
    data = np.arange(4000, dtype="i2").reshape(40, 100)
    result = btune.compress(data, chunks=(1, 1))
    check_roundtrip(data, result.array)
    assert result.tuned == []  # the probe settled before the first chunk
    assert result.tail_start == 0
    genetic = btune.compress(data[:4, :50], chunks=(1, 1), strategy="genetic")
    check_roundtrip(data[:4, :50], genetic.array)
    assert not any(r.special for r in genetic.records)


def test_a_constant_first_chunk_goes_with_the_fast_path_under_probe():
    data = np.zeros((40, 10))
    data[20:] = np.random.default_rng(0).standard_normal((20, 10))
    result = btune.compress(data, chunks=(10, 10))
    check_roundtrip(data, result.array)
    assert result.tail_start == 0


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("chunks", "blocks"), [((34, 34), (11, 11)), ((13, 17), None)])
def test_padded_records_keep_every_byte(strategy, chunks, blocks, tmp_path):
    dtype = np.dtype(
        {"names": ["x", "y"], "formats": ["u1", "<f4"], "offsets": [0, 4], "itemsize": 12}
    )
    raw = np.zeros((100, 100, 12), dtype="u1")  # padding bytes all zero
    data = raw.view(dtype).reshape(100, 100)
    data["x"] = np.arange(10000).reshape(100, 100) % 251
    data["y"] = np.linspace(0, 1, 10000).reshape(100, 100)
    path = tmp_path / "rec.b2nd"
    btune.asarray(
        data,
        urlpath=str(path),
        chunks=chunks,
        blocks=blocks,
        strategy=strategy,
        behaviour={"nhards_before_stop": 1, "nsofts_before_hard": 0},
    )
    back = blosc2.open(str(path))[...]
    assert back.dtype == dtype
    assert back.tobytes() == data.tobytes()


def test_writing_over_the_input_file_is_refused(tmp_path):
    path = tmp_path / "same.b2nd"
    blosc2.asarray(np.arange(100.0), urlpath=str(path), mode="w")
    source = blosc2.open(str(path))
    with pytest.raises(ValueError, match="input's own file"):
        btune.asarray(source, urlpath=str(path), mode="w")
    assert np.array_equal(blosc2.open(str(path))[:], np.arange(100.0))


def test_tune_writes_nothing(tmp_path):
    with pytest.raises(TypeError, match="btune.tune takes"):
        btune.tune(np.arange(100.0), urlpath=str(tmp_path / "x.b2nd"))
    assert not list(tmp_path.iterdir())


def test_every_candidate_is_warmed_up_untimed_before_it_is_measured(monkeypatch):
    events = []
    real = blosc2.compress2

    def spy(src, **kwargs):
        events.append(("compress", np.asarray(src).nbytes, kwargs["codec"].name))
        return real(src, **kwargs)

    class Clock(FakeClock):
        def __call__(self):
            events.append(("clock",))
            return super().__call__()

    monkeypatch.setattr(engine.blosc2, "compress2", spy)
    data = randhie()
    config = resolve(strategy="probe", tradeoff=1.0)  # ratio-leaning: whole blocks
    engine.compress(data, config, chunks=(40, 45), clock=Clock())
    sample = 40 * 45 * 8  # one whole block of the middle chunk
    warm = engine.WARM_UP_BYTES
    # the run's start, then per candidate: a warm-up (untimed), the timed probe
    assert events[:5] == [
        ("clock",),
        ("compress", warm, "ZSTD"),
        ("clock",),
        ("compress", sample, "ZSTD"),
        ("clock",),
    ]
    probes = [e for e in events if e[0] == "compress"]
    timed = [k for k, e in enumerate(probes) if e[1] == sample]
    assert len(timed) > 3  # the screens at least
    # a one-piece sample: every timed probe right after its own warm-up
    assert all(probes[k - 1] == ("compress", warm, probes[k][2]) for k in timed)
    assert len(probes) == 2 * len(timed)


def test_a_process_warms_up_before_its_first_stored_chunk(monkeypatch):
    events = []
    real = blosc2.compress2

    def spy(src, **kwargs):
        events.append(np.asarray(src).nbytes)
        return real(src, **kwargs)

    monkeypatch.setattr(engine.blosc2, "compress2", spy)
    monkeypatch.setattr(engine, "_warmed_up", False)  # as in a new process
    data = randhie()
    engine.compress(data, resolve(strategy="genetic"), chunks=(40, 45), clock=FakeClock())
    assert events[:2] == [engine.WARM_UP_BYTES, 40 * 45 * 8]
    assert events.count(engine.WARM_UP_BYTES) == 1  # once per process


@pytest.mark.parametrize(
    ("cparams", "match"),
    [
        ({"codec": blosc2.Codec.ZSTD, "clevel": 0}, "clevel must be in 1..9"),
        ({"codec": blosc2.Codec.ZSTD, "nthreads": 64}, "nthreads must be in 1.."),
        ({"filters": [blosc2.Filter.DELTA]}, "not a pipeline btune searches"),
        ({"codec": blosc2.Codec.NDLZ}, "`codec` must be one of"),
    ],
)
def test_hints_outside_the_search_space_are_refused(cparams, match):
    with pytest.raises(ValueError, match=match):
        btune.asarray(np.arange(100.0), cparams=cparams, cparams_hint=True)


@pytest.mark.parametrize("chunks", [(5.5, 5), (True, 5), ("5", 5), (5.0, 5)])
def test_chunks_must_be_whole_numbers(chunks):
    with pytest.raises(TypeError, match="`chunks` must be a sequence of positive integers"):
        btune.asarray(np.zeros((10, 10)), chunks=chunks)


def test_numpy_integers_are_whole_numbers():
    out = btune.asarray(np.zeros((10, 10)), chunks=(np.int64(5), np.uint8(5)))
    assert out.chunks == (5, 5)


def test_cparams_without_the_hint_are_not_used_and_btune_says_so():
    data = np.linspace(0, 1, 5000)
    with pytest.warns(UserWarning, match="`cparams` are not used"):
        out = btune.asarray(data, cparams={"codec": blosc2.Codec.ZLIB, "clevel": 9})
    np.testing.assert_array_equal(out[:], data)


@pytest.mark.parametrize("strategy", ["probe", "genetic"])
def test_opaque_bytes_keep_their_dtype(strategy):
    data = np.frombuffer(np.arange(4000, dtype="u1").tobytes(), dtype="V4")
    out = btune.asarray(data, strategy=strategy, chunks=(100,))
    assert out.dtype == np.dtype("V4")
    assert out[:].tobytes() == data.tobytes()


def test_a_great_many_tiny_chunks_earn_a_warning():
    data = np.zeros((400, 400), dtype="u1")
    with pytest.warns(UserWarning, match="160000 chunks of 1 bytes"):
        btune.compress(data, chunks=(1, 1))


def test_slabs_hold_at_most_so_many_chunks_even_when_tiny(monkeypatch):
    monkeypatch.setattr(engine, "TAIL_SLAB_CHUNKS", 7)
    data = np.arange(20 * 300, dtype="i4").reshape(20, 300)
    ticks: list[int] = []
    result = btune.compress(data, chunks=(1, 10), strategy="genetic", progress=ticks.append)
    check_roundtrip(data, result.array)
    assert sum(ticks) == 600
    assert max(ticks[len(result.tuned) :]) <= 7


def test_tune_starts_from_the_users_cparams_when_hinted():
    data = np.linspace(0, 1, 20000)
    hint = blosc2.CParams(codec=blosc2.Codec.ZLIB, clevel=4, filters=[blosc2.Filter.SHUFFLE])
    advice = btune.tune(data, cparams=hint, cparams_hint=True, tradeoff=0.9)
    assert isinstance(advice, blosc2.CParams)
    with pytest.raises(ValueError, match="no `cparams` were given"):
        btune.tune(data, cparams_hint=True)


def test_a_huge_count_setting_is_a_value_error_not_a_crash():
    with pytest.raises(ValueError, match="`use_inference` must be an integer in"):
        btune.compress(np.arange(100.0), use_inference=2**63)
