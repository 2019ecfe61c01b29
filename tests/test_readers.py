"""Input readers: every accepted format opens, every bad input is one clear InputError."""

from __future__ import annotations

import pathlib
import sys
import types

import blosc2
import numpy as np
import pytest

from btune.errors import InputError
from btune.readers import (
    InputMetadata,
    check_dtype,
    input_metadata,
    locate_input,
    open_container,
    open_input,
    split_member,
)
from conftest import DATA

ACCEPTED_DTYPES = [
    "bool", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
    "f2", "f4", "f8", "c8", "c16", ">i4", ">f8",
    [("a", "<i4"), ("b", "<f8")],
    [("xyz", "<f4", (3,)), ("flag", "?")],
    np.dtype({"names": ["a", "b"], "formats": ["<u2", "<i8"], "offsets": [0, 8],
              "itemsize": 24}),
    [("inner", [("re", "<f4"), ("im", "<f4")]), ("n", "<u1")],
    "U3", "S4", "M8[s]", "m8[ms]", [("a", "<i4"), ("s", "U2")], "V8",
]  # fmt: skip

REFUSED_DTYPES = [
    ("O", "object"),
    ([("a", "<i4"), ("b", "O")], "field 'b' has dtype object"),
    ("f16", "float128"),
]


def _one_line(err: pytest.ExceptionInfo[BaseException]) -> None:
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------
# .npy


@pytest.mark.parametrize("dtype", ACCEPTED_DTYPES, ids=str)
def test_npy_every_accepted_dtype(tmp_path, dtype):
    data = np.zeros((7, 5), dtype=dtype)
    data.view(np.uint8)[...] = (
        np.arange(data.nbytes, dtype=np.uint64).reshape(data.view(np.uint8).shape) % 251
    )
    path = tmp_path / "x.npy"
    np.save(path, data)
    got = open_input(path)
    assert isinstance(got, np.ndarray)
    assert got.dtype == data.dtype
    assert got.tobytes() == data.tobytes()


def test_npy_is_memory_mapped_not_loaded():
    got = open_input(DATA / "sst_nino3.npy")
    assert isinstance(got, np.memmap)
    assert not got.flags.writeable
    np.testing.assert_array_equal(got, np.load(DATA / "sst_nino3.npy"))


def test_npy_zero_dimensional_is_accepted(tmp_path):
    path = tmp_path / "scalar.npy"
    np.save(path, np.array(3.5))
    got = open_input(path)
    assert got.shape == ()
    assert float(got) == 3.5


def test_npy_fortran_order_is_accepted(tmp_path):
    data = np.asfortranarray(np.arange(12, dtype="i4").reshape(3, 4))
    np.save(tmp_path / "f.npy", data)
    np.testing.assert_array_equal(open_input(tmp_path / "f.npy"), data)


@pytest.mark.parametrize(("dtype", "words"), REFUSED_DTYPES, ids=str)
def test_npy_refused_dtypes(tmp_path, dtype, words):
    path = tmp_path / "bad.npy"
    np.save(path, np.zeros(4, dtype=dtype), allow_pickle=True)
    with pytest.raises(InputError, match="is not supported; btune accepts bool") as err:
        open_input(path)
    assert words in str(err.value)
    _one_line(err)


@pytest.mark.skipif(
    np.dtype(np.longdouble).itemsize <= 8, reason="long double is float64 here"
)
def test_npy_long_double_refused(tmp_path):
    np.save(tmp_path / "ld.npy", np.zeros(3, dtype=np.longdouble))
    with pytest.raises(InputError, match="float128|longdouble|float96"):
        open_input(tmp_path / "ld.npy")


class _Planted:
    """Unpickling this touches a marker file: proof that a reader unpickled data."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_npy_object_array_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "evil.npy"
    np.save(path, np.array([_Planted(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="dtype object"):
        open_input(path)
    assert not marker.exists()


def test_npy_empty_array(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((3, 0), dtype="f4"))
    assert open_input(tmp_path / "e.npy").shape == (3, 0)  # nothing to tune, still an array


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "not a readable .npy file"),
        (b"hello, this is no numpy file at all", "not a readable .npy file"),
    ],
)
def test_npy_not_numpy(tmp_path, content, words):
    path = tmp_path / "x.npy"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words) as err:
        open_input(path)
    _one_line(err)


def test_npy_truncated(tmp_path):
    full = tmp_path / "full.npy"
    np.save(full, np.arange(1000.0))
    cut = tmp_path / "cut.npy"
    cut.write_bytes(full.read_bytes()[:500])
    with pytest.raises(InputError, match="truncated or corrupt"):
        open_input(cut)


def test_npy_folder(tmp_path):
    (tmp_path / "dir.npy").mkdir()
    with pytest.raises(InputError, match="not a readable .npy file"):
        open_input(tmp_path / "dir.npy")


# ---------------------------------------------------------------------------
# paths and extensions


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file or directory") as err:
        open_input(tmp_path / "nope.npy")
    _one_line(err)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("data.csv", r"unknown input type '\.csv'; btune reads \.npy, \.b2nd, \.h5/\.hdf5"),
        ("data", "no file extension; btune reads"),
        ("data.npz", r"unknown input type '\.npz'"),
        ("data.b2frame", r"super-chunk \(\.b2frame\) is not an array"),
    ],
)
def test_unknown_extension(tmp_path, name, words):
    (tmp_path / name).write_bytes(b"x")
    with pytest.raises(InputError, match=words):
        open_input(tmp_path / name)


def test_extension_is_case_insensitive(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(3))
    (tmp_path / "x.npy").rename(tmp_path / "X.NPY")
    np.testing.assert_array_equal(open_input(tmp_path / "X.NPY"), np.arange(3))


def test_split_member(tmp_path):
    assert split_member("a/b.h5:/grp/ds") == (pathlib.Path("a/b.h5"), "/grp/ds")
    assert split_member("b.HDF5:ds") == (pathlib.Path("b.HDF5"), "ds")
    assert split_member("s.zarr:/x") == (pathlib.Path("s.zarr"), "/x")
    assert split_member("plain.npy") == (pathlib.Path("plain.npy"), None)
    # an existing file whose name holds a colon is taken as it is
    odd = tmp_path / "odd.h5:x"
    odd.write_bytes(b"")
    assert split_member(odd) == (odd, None)


def test_member_on_npy_is_unknown(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(3))
    with pytest.raises(InputError, match="only HDF5 .* and Zarr inputs name a member"):
        open_input(f"{tmp_path / 'x.npy'}:/data")


def test_locate_input_checks_kind_then_existence(tmp_path):
    with pytest.raises(InputError, match="unknown input type"):
        locate_input(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="no such file"):
        locate_input(tmp_path / "nope.h5:/ds")


# ---------------------------------------------------------------------------
# .b2nd


def test_b2nd_opens_as_ndarray(tmp_path):
    data = np.arange(600, dtype="u2").reshape(20, 30)
    blosc2.asarray(data, urlpath=str(tmp_path / "a.b2nd"), mode="w", chunks=(10, 30))
    got = open_input(tmp_path / "a.b2nd")
    assert isinstance(got, blosc2.NDArray)
    np.testing.assert_array_equal(got[...], data)


def test_b2nd_super_chunk_is_not_an_array(tmp_path):
    path = tmp_path / "s.b2nd"
    blosc2.SChunk(chunksize=400, data=np.arange(100, dtype="i4"), urlpath=str(path), mode="w")
    with pytest.raises(InputError, match="not an array.*super-chunk"):
        open_input(path)


@pytest.mark.parametrize("content", [b"", b"garbage" * 20])
def test_b2nd_corrupt(tmp_path, content):
    path = tmp_path / "c.b2nd"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a readable Blosc2 file") as err:
        open_input(path)
    _one_line(err)


def test_b2nd_truncated(tmp_path):
    path = tmp_path / "t.b2nd"
    blosc2.asarray(np.arange(50_000.0), urlpath=str(path), mode="w", chunks=(5000,))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match="not a readable Blosc2 file"):
        open_input(path)


def test_b2nd_empty_array(tmp_path):
    path = tmp_path / "e.b2nd"
    blosc2.zeros((0, 4), dtype="f4", urlpath=str(path), mode="w")
    assert open_input(path).shape == (0, 4)


def test_b2nd_string_dtype_accepted(tmp_path):
    path = tmp_path / "u.b2nd"
    blosc2.asarray(np.array(["ab", "cd"]), urlpath=str(path), mode="w")
    np.testing.assert_array_equal(open_input(path)[:], np.array(["ab", "cd"]))


def test_input_metadata_of_b2nd(tmp_path):
    path = tmp_path / "m.b2nd"
    arr = blosc2.asarray(np.arange(10), urlpath=str(path), mode="w", meta={"units": ["m", 3]})
    arr.vlmeta["history"] = {"made": "by hand"}
    arr.vlmeta["btune"] = {"version": "old"}
    md = input_metadata(open_input(path))
    assert isinstance(md, InputMetadata)
    assert md.meta == {"units": ["m", 3]}
    assert md.vlmeta == {"history": {"made": "by hand"}}
    meta, vlmeta = md  # unpacks like a pair
    assert "b2nd" not in meta
    assert "btune" not in vlmeta


def test_input_metadata_of_numpy_is_empty():
    assert input_metadata(np.arange(3)) == InputMetadata({}, {})


# ---------------------------------------------------------------------------
# open_container (inspect)


def test_open_container_accepts_super_chunks(tmp_path):
    path = tmp_path / "s.b2frame"
    blosc2.SChunk(chunksize=400, data=np.arange(300, dtype="i4"), urlpath=str(path), mode="w")
    assert isinstance(open_container(path), blosc2.SChunk)


def test_open_container_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_container(tmp_path / "nope.b2nd")
    (tmp_path / "junk.b2nd").write_bytes(b"junk" * 10)
    with pytest.raises(InputError, match="not a readable Blosc2 file"):
        open_container(tmp_path / "junk.b2nd")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="a folder"):
        open_container(tmp_path / "folder")


# ---------------------------------------------------------------------------
# HDF5


def _h5py():
    return pytest.importorskip("h5py")


def test_hdf5_single_dataset_needs_no_name(tmp_path):
    h5py = _h5py()
    data = np.arange(24, dtype="i2").reshape(4, 6)
    with h5py.File(tmp_path / "one.h5", "w") as f:
        f.create_dataset("grp/values", data=data)
    got = open_input(tmp_path / "one.h5")
    assert isinstance(got, np.memmap)  # contiguous: mapped, not read
    np.testing.assert_array_equal(got, data)


def test_hdf5_named_dataset_chunked_and_compressed(tmp_path):
    h5py = _h5py()
    data = np.linspace(0, 1, 1000, dtype=">f8").reshape(10, 100)
    with h5py.File(tmp_path / "two.hdf5", "w") as f:
        f.create_dataset("a", data=np.zeros(3))
        f.create_dataset("g/b", data=data, chunks=(5, 50), compression="gzip")
    got = open_input(f"{tmp_path / 'two.hdf5'}:/g/b")
    assert got.dtype == data.dtype
    np.testing.assert_array_equal(got, data)


def test_hdf5_structured_dataset(tmp_path):
    h5py = _h5py()
    data = np.zeros(5, dtype=[("t", "<f8"), ("n", "<i4")])
    data["n"] = np.arange(5)
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f["rec"] = data
    got = open_input(tmp_path / "s.h5")
    assert got.tobytes() == data.tobytes()


def test_hdf5_errors(tmp_path):
    h5py = _h5py()
    path = tmp_path / "many.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
        f["g/y"] = np.arange(4)
        f["s"] = np.array([b"ab", b"cd"], dtype=h5py.string_dtype())
        f["e"] = np.zeros((0,))
        f["null"] = h5py.Empty("f4")
    with h5py.File(tmp_path / "none.h5", "w") as f:
        f.create_group("g")

    cases = [
        (str(path), r"holds 5 datasets; choose one of .*many\.h5:/e"),
        (f"{path}:/nope", r"no dataset '/nope'"),
        (f"{path}:/g", r"'/g' is a group, not a dataset"),
        (f"{path}:/s", "dtype object"),
        (f"{path}:/null", "no data"),
        (str(tmp_path / "none.h5"), "holds no dataset"),
    ]
    for text, words in cases:
        with pytest.raises(InputError, match=words) as err:
            open_input(text)
        _one_line(err)
    np.testing.assert_array_equal(open_input(f"{path}:g/y"), np.arange(4))
    assert open_input(f"{path}:/e").shape == (0,)


def test_hdf5_not_hdf5(tmp_path):
    _h5py()
    (tmp_path / "fake.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(InputError, match="not a readable HDF5 file"):
        open_input(tmp_path / "fake.h5")


def test_hdf5_without_h5py(tmp_path, monkeypatch):
    (tmp_path / "x.h5").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(InputError, match=r"reading HDF5 needs h5py.*btune\[hdf5\]"):
        open_input(tmp_path / "x.h5")


# ---------------------------------------------------------------------------
# Zarr


def test_zarr_without_zarr(tmp_path, monkeypatch):
    (tmp_path / "s.zarr").mkdir()
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(InputError, match=r"reading Zarr needs zarr.*btune\[zarr\]"):
        open_input(tmp_path / "s.zarr")


class _FakeArray:
    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.shape = data.shape
        self.dtype = data.dtype

    def __getitem__(self, key):
        return self.data[key]


class _FakeGroup:
    def __init__(self, members: dict) -> None:
        self.members = members

    def arrays(self):
        return iter(self.members.items())

    def __getitem__(self, key):
        node = self
        for part in key.split("/"):
            node = node.members[part]
        return node


def _fake_zarr(monkeypatch, root) -> None:
    module = types.ModuleType("zarr")

    def open_(store, mode="r"):
        assert mode == "r"
        return root

    module.open = open_  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zarr", module)


def test_zarr_through_its_api(tmp_path, monkeypatch):
    (tmp_path / "s.zarr").mkdir()
    data = np.arange(12, dtype="f4").reshape(3, 4)
    _fake_zarr(monkeypatch, _FakeGroup({"only": _FakeArray(data)}))
    np.testing.assert_array_equal(open_input(tmp_path / "s.zarr"), data)

    two = _FakeGroup({"a": _FakeArray(data), "b": _FakeArray(np.zeros((0,)))})
    _fake_zarr(monkeypatch, two)
    with pytest.raises(InputError, match=r"holds 2 arrays; choose one of .*s\.zarr:/a"):
        open_input(tmp_path / "s.zarr")
    np.testing.assert_array_equal(open_input(f"{tmp_path / 's.zarr'}:/a"), data)
    assert open_input(f"{tmp_path / 's.zarr'}:/b").shape == (0,)
    with pytest.raises(InputError, match="no array '/c'"):
        open_input(f"{tmp_path / 's.zarr'}:/c")


def test_zarr_real(tmp_path):
    zarr = pytest.importorskip("zarr")
    data = np.arange(20, dtype="i8").reshape(4, 5)
    z = zarr.open(str(tmp_path / "r.zarr"), mode="w", shape=data.shape, dtype=data.dtype)
    z[...] = data
    np.testing.assert_array_equal(open_input(tmp_path / "r.zarr"), data)


# ---------------------------------------------------------------------------
# check_dtype directly


def test_check_dtype_message_is_one_line():
    with pytest.raises(
        InputError, match=r"^'x': dtype object \(Python objects\) is not"
    ) as err:
        check_dtype("O", "'x'")
    _one_line(err)
