"""The command line, run in-process: exit codes, messages, refusals, JSON."""

from __future__ import annotations

import json
import re

import blosc2
import numpy as np
import pytest

from btune import cli, engine
from conftest import DATA, check_file_roundtrip


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv: str, match: str) -> str:
    """Run a command that must fail with exit 2 and one `btune: error:` line."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("btune: error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert re.search(match, err), err
    return err


@pytest.fixture
def npy(tmp_path):
    """A small 2-D int16 input whose first 16 rows are zeros (a special chunk)."""
    data = (np.arange(96 * 64, dtype=np.int16).reshape(96, 64) * 7) % 911
    data[:16] = 0
    path = tmp_path / "in.npy"
    np.save(path, data)
    return path, data


# ---------------------------------------------------------------------------
# btune compress


def test_compress_writes_a_plain_blosc2_file(capsys, tmp_path, npy):
    path, data = npy
    out_path = tmp_path / "out.b2nd"
    # the genetic search stores chunk by chunk, so the special first chunk is reported
    code, out, err = run(
        capsys, "compress", path, out_path, "--chunks", "16,64", "--strategy", "genetic"
    )
    assert code == 0, err
    check_file_roundtrip(data, out_path)
    arr = blosc2.open(str(out_path))
    assert arr.chunks == (16, 64)
    assert f"{path} -> {out_path}" in out
    assert "ratio" in out
    assert "MB/s" in out
    assert "6 chunks" in out
    assert "special (one repeated value)" in out
    assert err == ""  # no bar: stderr is not a terminal here
    assert not list(tmp_path.glob(".*partial*"))


def test_compress_json(capsys, tmp_path, npy):
    path, data = npy
    out_path = tmp_path / "out.b2nd"
    code, out, _ = run(
        capsys, "compress", path, out_path, "--chunks", "16,64", "--blocks", "8,32", "--json",
        "--tradeoff", "1", "--perf-mode", "decomp", "--bandwidth", "500M",
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert report["chunks"] == [16, 64]
    assert report["blocks"] == [8, 32]
    assert report["nchunks"] == 6
    assert report["nbytes"] == data.nbytes
    assert report["output_bytes"] == out_path.stat().st_size
    assert report["ratio"] == pytest.approx(data.nbytes / out_path.stat().st_size)
    assert report["config"]["tradeoff"] == 1.0
    assert report["config"]["perf_mode"] == "DECOMP"
    assert report["config"]["bandwidth"] == 500 * 2**20
    assert sum(p["chunks"] for p in report["params"]) + report["special_chunks"] == 6
    # the default strategy settles before storing anything: blosc2 writes every chunk,
    # its constant first chunk included, so none is counted as special here
    assert report["special_chunks"] == 0
    assert set(report["best"]) >= {"codec", "filters", "clevel", "splitmode"}


def test_compress_quiet_prints_nothing(capsys, tmp_path, npy):
    path, _ = npy
    code, out, err = run(capsys, "compress", path, tmp_path / "o.b2nd", "--quiet")
    assert (code, out, err) == (0, "", "")


def test_compress_trace_goes_to_stderr(capsys, tmp_path, npy):
    path, _ = npy
    code, out, err = run(
        capsys, "compress", path, tmp_path / "o.b2nd", "--trace", "--chunks", "16,64"
    )
    assert code == 0
    assert "| Codec" in err
    assert "| Codec" not in out


def test_compress_progress_bar_on_a_terminal(capsys, tmp_path, npy, monkeypatch):
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    path, _ = npy
    code, _, err = run(capsys, "compress", path, tmp_path / "o.b2nd", "--chunks", "16,64")
    assert code == 0
    assert "/6" in err  # tqdm knew the total number of chunks
    code, _, err = run(capsys, "compress", path, tmp_path / "q.b2nd", "--quiet")
    assert (code, err) == (0, "")


def test_compress_carries_metadata_over(capsys, tmp_path):
    src = tmp_path / "src.b2nd"
    data = np.arange(5000, dtype="f8").reshape(50, 100)
    arr = blosc2.asarray(data, urlpath=str(src), mode="w", meta={"units": "m"})
    arr.vlmeta["history"] = ["made by hand"]
    out_path = tmp_path / "again.b2nd"
    code, _, err = run(capsys, "compress", src, out_path, "--quiet")
    assert code == 0, err
    again = blosc2.open(str(out_path))
    np.testing.assert_array_equal(again[...], data)
    assert again.schunk.meta["units"] == "m"
    assert again.vlmeta["history"] == ["made by hand"]
    assert "btune" in again.vlmeta


def test_compress_hdf5_dataset(capsys, tmp_path):
    h5py = pytest.importorskip("h5py")
    data = np.linspace(0, 1, 3000, dtype="f4").reshape(30, 100)
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["a"] = np.zeros(3)
        f["g/x"] = data
    code, _, err = run(
        capsys, "compress", f"{tmp_path / 'in.h5'}:/g/x", tmp_path / "o.b2nd", "--quiet"
    )
    assert code == 0, err
    check_file_roundtrip(data, tmp_path / "o.b2nd")


def test_compress_refuses_an_existing_output(capsys, tmp_path, npy):
    path, data = npy
    out_path = tmp_path / "o.b2nd"
    out_path.write_bytes(b"precious")
    refused(capsys, "compress", path, out_path, match="exists; pass --force to overwrite it")
    assert out_path.read_bytes() == b"precious"
    code, _, _ = run(capsys, "compress", path, out_path, "--force", "--quiet")
    assert code == 0
    check_file_roundtrip(data, out_path)


def test_compress_refuses_output_equal_to_input(capsys, tmp_path, monkeypatch):
    src = tmp_path / "a.b2nd"
    blosc2.asarray(np.arange(100), urlpath=str(src), mode="w")
    before = src.read_bytes()
    refused(capsys, "compress", src, src, "--force", match="is the INPUT file")
    # the same file by another spelling, and through a symlink
    refused(
        capsys, "compress", src, tmp_path / "." / "a.b2nd", "--force", match="is the INPUT"
    )
    link = tmp_path / "link.b2nd"
    link.symlink_to(src)
    refused(capsys, "compress", src, link, "--force", match="is the INPUT file")
    monkeypatch.chdir(tmp_path)
    refused(capsys, "compress", "link.b2nd", "a.b2nd", "--force", match="is the INPUT file")
    assert src.read_bytes() == before


def test_compress_output_must_be_b2nd(capsys, tmp_path, npy):
    path, _ = npy
    refused(capsys, "compress", path, tmp_path / "o.npy", match=r"must end in \.b2nd")
    refused(capsys, "compress", path, tmp_path / "o", match=r"must end in \.b2nd")


def test_compress_output_folder_problems(capsys, tmp_path, npy):
    path, _ = npy
    refused(capsys, "compress", path, tmp_path / "no" / "o.b2nd", match="does not exist")
    (tmp_path / "d.b2nd").mkdir()
    refused(capsys, "compress", path, tmp_path / "d.b2nd", "--force", match="is a folder")


def test_failed_compress_leaves_no_file(capsys, tmp_path, npy, monkeypatch):
    path, _ = npy

    def broken(data, config, *, urlpath, **kwargs):
        with open(urlpath, "wb") as f:
            f.write(b"half")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine, "compress", broken)
    code, _, err = run(capsys, "compress", path, tmp_path / "o.b2nd")
    assert code == 1
    assert err == "btune: error: disk on fire\n"
    assert list(tmp_path.iterdir()) == [path]


def test_sigterm_removes_the_partial_output(capsys, tmp_path, npy, monkeypatch):
    import signal

    path, _ = npy

    def killed(data, config, *, urlpath, **kwargs):
        with open(urlpath, "wb") as f:
            f.write(b"half")
        signal.raise_signal(signal.SIGTERM)  # as `kill PID` would, mid-write
        raise AssertionError("not reached")

    monkeypatch.setattr(engine, "compress", killed)
    before = signal.getsignal(signal.SIGTERM)
    code, _, err = run(capsys, "compress", path, tmp_path / "o.b2nd")
    assert (code, err) == (143, "btune: terminated\n")
    assert list(tmp_path.iterdir()) == [path]
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back


def test_an_overridden_bad_variable_does_not_stop_the_command(
    capsys, tmp_path, npy, monkeypatch
):
    path, _ = npy
    monkeypatch.setenv("BTUNE_TRADEOFF", "abc")
    code, _, _ = run(capsys, "compress", "--tradeoff", "0", path, tmp_path / "o.b2nd")
    assert code == 0


BAD_INPUTS = [
    ("missing.npy", None, "no such file or directory"),
    ("garbage.npy", b"not numpy", r"not a readable \.npy file"),
    ("garbage.b2nd", b"not blosc2" * 9, "not a readable Blosc2 file"),
    ("table.csv", b"a,b\n1,2\n", r"unknown input type '\.csv'"),
]


@pytest.mark.parametrize(("name", "content", "words"), BAD_INPUTS, ids=lambda x: str(x)[:12])
def test_compress_bad_inputs(capsys, tmp_path, name, content, words):
    src = tmp_path / name
    if content is not None:
        src.write_bytes(content)
    refused(capsys, "compress", src, tmp_path / "o.b2nd", match=words)
    assert not (tmp_path / "o.b2nd").exists()


def test_compress_input_not_an_array(capsys, tmp_path):
    src = tmp_path / "s.b2nd"
    blosc2.SChunk(chunksize=400, data=np.arange(100, dtype="i4"), urlpath=str(src), mode="w")
    refused(capsys, "compress", src, tmp_path / "o.b2nd", match="not an array")


def test_compress_empty_and_object_arrays(capsys, tmp_path):
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    code, out, err = run(capsys, "compress", tmp_path / "empty.npy", tmp_path / "o.b2nd")
    assert (code, err) == (0, "")
    assert "ratio -" in out
    assert blosc2.open(str(tmp_path / "o.b2nd")).shape == (0, 3)
    # and again from btune's own output, whose chunks are (0, 3) as blosc2 makes them
    code, _, err = run(capsys, "compress", tmp_path / "o.b2nd", tmp_path / "again.b2nd")
    assert (code, err) == (0, "")
    assert blosc2.open(str(tmp_path / "again.b2nd")).shape == (0, 3)
    np.save(tmp_path / "obj.npy", np.array([1, None], dtype=object), allow_pickle=True)
    refused(
        capsys, "compress", tmp_path / "obj.npy", tmp_path / "p.b2nd", match="dtype object"
    )


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--chunks", "16"], r"--chunks` has 1 value\(s\) but the array has 2 dimension"),
        (["--chunks", "16,64,2"], "--chunks` has 3 value"),
        (["--chunks", "16,0"], "--chunks` must be positive in every dimension"),
        (["--chunks=-16,64"], "--chunks` must be positive"),
        (["--chunks", "16,a"], "--chunks must be positive integers separated by commas"),
        (["--blocks", "8"], "--blocks` has 1 value"),
        (
            ["--chunks", "16,64", "--blocks", "32,64"],
            r"`blocks` \(32, 64\) must not exceed `chunks` \(16, 64\)",
        ),
        (["--tradeoff", "0.3,0.3,0.4"], "quality mode, which btune does not support yet"),
        (["--tradeoff", "abc"], r"--tradeoff must be a number in \[0, 1\]; got 'abc'"),
        (["--tradeoff", "1.5"], r"`tradeoff` must be in \[0, 1\]"),
        (["--perf-mode", "FAST"], "`perf_mode` must be one of COMP, DECOMP, BALANCED"),
        (["--bandwidth", "fast"], "--bandwidth must be a number of bytes/s"),
        (["--bandwidth", "0"], "`bandwidth` must be a positive"),
        (["--strategy", "magic"], "`strategy` must be one of"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_compress_bad_flags(capsys, tmp_path, npy, flags, words):
    path, _ = npy
    refused(capsys, "compress", path, tmp_path / "o.b2nd", *flags, match=words)
    assert not (tmp_path / "o.b2nd").exists()


@pytest.mark.parametrize(
    ("var", "value", "words"),
    [
        ("BTUNE_TRADEOFF", "abc", "BTUNE_TRADEOFF must be a number"),
        ("BTUNE_TRADEOFF", "7", "BTUNE_TRADEOFF"),
        ("BTUNE_PERF_MODE", "sideways", "BTUNE_PERF_MODE"),
        ("BTUNE_USE_INFERENCE", "many", "BTUNE_USE_INFERENCE"),
        ("BTUNE_TRACE", "maybe", "BTUNE_TRACE"),
    ],
)
def test_invalid_environment(capsys, tmp_path, npy, monkeypatch, var, value, words):
    path, _ = npy
    monkeypatch.setenv(var, value)
    refused(capsys, "compress", path, tmp_path / "o.b2nd", match=words)
    refused(capsys, "tune", path, match=words)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("20G", 20 * 2**30),
        ("500M", 500 * 2**20),
        ("1.5k", 1.5 * 2**10),
        ("2T", 2 * 2**40),
        ("123", 123),
        ("1e9", 1e9),
        ("8GiB", 8 * 2**30),
        ("8 GB/s", 8 * 2**30),
    ],
)
def test_parse_bandwidth(text, value):
    assert cli.parse_bandwidth(text) == value


@pytest.mark.parametrize("text", ["", "G", "-3G", "20X", "twenty", "1,000"])
def test_parse_bandwidth_refuses(text):
    with pytest.raises(ValueError, match="--bandwidth must be a number of bytes/s"):
        cli.parse_bandwidth(text)


# ---------------------------------------------------------------------------
# btune inspect


def _plain_mixed_file(path) -> None:
    """Written with plain blosc2 only: LZ4HC chunks, one ZSTD chunk, one zeros chunk."""
    data = np.arange(64 * 128, dtype=np.int32).reshape(64, 128) // 3
    arr = blosc2.asarray(
        data,
        urlpath=str(path),
        mode="w",
        chunks=(16, 128),
        cparams=blosc2.CParams(codec=blosc2.Codec.LZ4HC, clevel=6),
    )
    arr.schunk.cparams = blosc2.CParams(
        codec=blosc2.Codec.ZSTD,
        clevel=2,
        filters=[blosc2.Filter.BITSHUFFLE],
        filters_meta=[0],
        typesize=4,
        blocksize=arr.schunk.blocksize,
    )
    arr[16:32] = data[16:32] + 1
    arr[32:48] = 0


def test_inspect_a_plain_blosc2_file(capsys, tmp_path):
    path = tmp_path / "plain.b2nd"
    _plain_mixed_file(path)
    code, out, err = run(capsys, "inspect", path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{path}: Blosc2 NDArray, shape (64, 128) int32")
    assert "written by btune" not in out
    rows = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert [r[1] for r in rows] == ["LZ4HC", "ZSTD", "-", "LZ4HC"]
    assert rows[1][2] == "BITSHUFFLE"
    assert rows[2][-1] == "zeros"
    assert "summary:" in out
    assert "total: 4 chunks" in out


def test_inspect_json(capsys, tmp_path):
    path = tmp_path / "plain.b2nd"
    _plain_mixed_file(path)
    code, out, _ = run(capsys, "inspect", path, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["nchunks"] == 4
    assert [c["codec"] for c in report["chunks"]] == ["LZ4HC", "ZSTD", "-", "LZ4HC"]
    counts = {(r["codec"], r["filters"], r["special"]): r["chunks"] for r in report["summary"]}
    assert counts == {
        ("LZ4HC", "SHUFFLE", None): 2,
        ("ZSTD", "BITSHUFFLE", None): 1,
        ("-", "-", "zeros"): 1,
    }
    assert report["btune"] is None


def test_inspect_a_btune_file_shows_clevels(capsys, tmp_path, npy):
    path, _ = npy
    out_path = tmp_path / "o.b2nd"
    code, out, _ = run(capsys, "compress", path, out_path, "--chunks", "16,64", "--json")
    assert code == 0
    code, out, _ = run(capsys, "inspect", out_path, "--json")
    report = json.loads(out)
    assert report["btune"]["version"]
    assert all(isinstance(c["clevel"], int) for c in report["chunks"])
    code, out, _ = run(capsys, "inspect", out_path)
    assert "written by btune" in out


def test_inspect_a_super_chunk(capsys, tmp_path):
    path = tmp_path / "s.b2frame"
    blosc2.SChunk(
        chunksize=4000, data=np.arange(3000, dtype="i4"), urlpath=str(path), mode="w"
    )
    code, out, _ = run(capsys, "inspect", path)
    assert code == 0
    assert "Blosc2 super-chunk, typesize 4, 3 chunks" in out


def test_inspect_bad_files(capsys, tmp_path):
    refused(capsys, "inspect", tmp_path / "nope.b2nd", match="no such file")
    (tmp_path / "junk.b2nd").write_bytes(b"junk" * 20)
    refused(capsys, "inspect", tmp_path / "junk.b2nd", match="not a readable Blosc2 file")
    np.save(tmp_path / "a.npy", np.arange(3))
    refused(capsys, "inspect", tmp_path / "a.npy", match="not a readable Blosc2 file")


# ---------------------------------------------------------------------------
# btune tune


def test_tune_prints_python(capsys, tmp_path):
    code, out, err = run(capsys, "tune", DATA / "sst_nino3.npy", "--tradeoff", "1")
    assert code == 0, err
    assert out.startswith("# btune ")
    source = "\n".join(line for line in out.splitlines() if not line.startswith("#"))
    cparams = eval(source, {"blosc2": blosc2})  # the printed text is valid Python
    assert isinstance(cparams, blosc2.CParams)
    assert cparams.typesize == 8


def test_tune_json(capsys):
    code, out, _ = run(
        capsys, "tune", DATA / "sst_nino3.npy", "--json", "--perf-mode", "DECOMP"
    )
    assert code == 0
    report = json.loads(out)
    assert report["config"]["perf_mode"] == "DECOMP"
    assert report["cparams"]["codec"] in {"BLOSCLZ", "LZ4", "LZ4HC", "ZLIB", "ZSTD"}
    assert len(report["cparams"]["filters"]) == 6


def test_tune_bad_input(capsys, tmp_path):
    refused(capsys, "tune", tmp_path / "nope.npy", match="no such file")
    refused(capsys, "tune", DATA / "sst_nino3.npy", "--tradeoff", "0.2,0.8,0", match="quality")


def test_format_cparams_round_trips():
    cp = blosc2.CParams(
        codec=blosc2.Codec.ZLIB,
        clevel=3,
        typesize=4,
        nthreads=3,
        splitmode=blosc2.SplitMode.NEVER_SPLIT,
        filters=[blosc2.Filter.SHUFFLE, blosc2.Filter.BYTEDELTA],
        filters_meta=[0, 4],
        use_dict=True,
    )
    assert eval(cli.format_cparams(cp), {"blosc2": blosc2}) == cp


# ---------------------------------------------------------------------------
# the parser itself


def test_no_command_prints_help(capsys):
    code, _, err = run(capsys)
    assert code == 2
    assert "compress" in err and "inspect" in err


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "tune" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.startswith("btune ")


def test_missing_argument_is_one_line(capsys):
    refused(capsys, "compress", "only-input.npy", match="required: OUTPUT")
    refused(capsys, "frobnicate", match="invalid choice: 'frobnicate'")


def test_recompression_keeps_the_input_chunk_shape(tmp_path):
    data = np.arange(1000, dtype="f8").reshape(100, 10)
    source = tmp_path / "in.b2nd"
    blosc2.asarray(data, urlpath=str(source), chunks=(30, 10), mode="w")
    out = tmp_path / "out.b2nd"
    assert cli.main(["compress", str(source), str(out), "--quiet"]) == 0
    result = blosc2.open(str(out))
    assert result.chunks == (30, 10)
    assert np.array_equal(result[:], data)
    other = tmp_path / "other.b2nd"
    assert cli.main(["compress", str(source), str(other), "--quiet", "--chunks", "50,10"]) == 0
    assert blosc2.open(str(other)).chunks == (50, 10)


@pytest.mark.parametrize(
    "values",
    [
        np.array(["ab", "cde", ""] * 500),
        np.array([b"ab", b"xyz"] * 700),
        np.arange(3000).astype("M8[D]"),
        np.arange(3000).astype("m8[s]"),
    ],
    ids=lambda a: str(a.dtype),
)
def test_compress_strings_bytes_and_dates(capsys, tmp_path, values):
    path = tmp_path / "in.npy"
    np.save(path, values)
    code, _, err = run(capsys, "compress", path, tmp_path / "o.b2nd")
    assert (code, err) == (0, "")
    out = blosc2.open(str(tmp_path / "o.b2nd"))[:]
    assert out.dtype == values.dtype and np.array_equal(out, values)


@pytest.mark.filterwarnings("default::UserWarning")
def test_warnings_are_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "MANY_CHUNKS", 100)
    np.save(tmp_path / "t.npy", np.zeros((40, 40), dtype="u1"))
    out = tmp_path / "o.b2nd"
    code, _, err = run(capsys, "compress", "--chunks", "1,1", tmp_path / "t.npy", out)
    assert code == 0
    assert err.startswith("btune: warning: 1600 chunks of 1 bytes")
    assert err.count("\n") == 1


def test_compress_opaque_bytes(capsys, tmp_path):
    values = np.frombuffer(np.arange(4000, dtype="u1").tobytes(), dtype="V4")
    np.save(tmp_path / "v.npy", values)
    code, _, err = run(capsys, "compress", tmp_path / "v.npy", tmp_path / "o.b2nd")
    assert (code, err) == (0, "")
    out = blosc2.open(str(tmp_path / "o.b2nd"))[:]
    assert out.dtype == values.dtype and out.tobytes() == values.tobytes()
