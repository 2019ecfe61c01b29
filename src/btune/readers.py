"""Input readers: turn a path into an array the engine can tune.

:func:`open_input` accepts

- ``.npy`` files (memory-mapped, never unpickled),
- ``.b2nd`` files (a Blosc2 NDArray; its own metadata is available through
  :func:`input_metadata` so a re-compression carries it over),
- HDF5 files, as ``FILE.h5:/path/to/dataset`` or ``FILE.h5`` when the file holds a
  single dataset (needs h5py),
- Zarr stores, as ``STORE.zarr`` or ``STORE.zarr:/name`` (needs zarr).

:func:`open_container` opens any Blosc2 file (NDArray or super-chunk) for
inspection.  Every failure raises :class:`btune.errors.InputError` with a one-line
message naming the input and what is wrong.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import blosc2
import numpy as np

from btune.errors import InputError

__all__ = [
    "ACCEPTED_SUFFIXES",
    "InputMetadata",
    "check_array",
    "check_dtype",
    "input_metadata",
    "locate_input",
    "open_container",
    "open_input",
    "split_member",
]

#: File name endings :func:`open_input` reads, in the order messages list them.
ACCEPTED_SUFFIXES = (".npy", ".b2nd", ".h5", ".hdf5", ".zarr")

_HDF5_SUFFIXES = (".h5", ".hdf5")
_ACCEPTED_TEXT = ".npy, .b2nd, .h5/.hdf5 (FILE.h5:/dataset) and .zarr"
_DTYPE_TEXT = (
    "bool, signed and unsigned integers, float16/32/64, complex64/128, fixed-size "
    "strings and bytes, datetime64/timedelta64, opaque bytes (V) and structured dtypes "
    "of those"
)
_FLOAT_SIZES = (2, 4, 8)
_COMPLEX_SIZES = (8, 16)

# "FILE.h5:/dataset" or "STORE.zarr:/name": the file part ends in a known suffix.
_MEMBER = re.compile(r"^(?P<file>.+\.(?:h5|hdf5|zarr)):(?P<member>.*)$", re.IGNORECASE)


class InputMetadata(NamedTuple):
    """An input's own metadata, to carry over to the output.

    ``meta`` holds the Blosc2 metalayers other than ``b2nd`` (which every output has
    of its own); ``vlmeta`` the variable-length metadata other than btune's own entry
    (which a new run writes afresh).  Both are empty for inputs other than Blosc2.
    """

    meta: dict[str, Any]
    vlmeta: dict[str, Any]


def split_member(text: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """``"a.h5:/x/y"`` → ``(Path("a.h5"), "/x/y")``; any other path → ``(path, None)``.

    A path that exists as given is never split, so file names holding a colon work.
    """
    raw = os.fspath(text)
    match = _MEMBER.match(raw)
    if match is None or os.path.exists(raw):
        return Path(raw), None
    return Path(match["file"]), match["member"]


def _bad_dtype(dtype: np.dtype[Any]) -> str | None:
    """Why ``dtype`` cannot be tuned, or None if it can."""
    if dtype.kind == "V" and dtype.fields is None and dtype.subdtype is None:
        return None  # opaque bytes, kept as they are
    if dtype.fields is not None:
        for name, (field_dtype, *_rest) in dtype.fields.items():
            if field_dtype.kind == "V" and field_dtype.fields is None:
                continue  # raw bytes, e.g. padding that blosc2 spells out as a field
            reason = _bad_dtype(field_dtype)
            if reason is not None:
                return f"field {name!r} has {reason}"
        return None
    if dtype.subdtype is not None:
        return _bad_dtype(dtype.subdtype[0])
    if dtype.kind in "biuUSMm":  # fixed-size items of plain bytes
        return None
    if dtype.kind == "f" and dtype.itemsize in _FLOAT_SIZES:
        return None
    if dtype.kind == "c" and dtype.itemsize in _COMPLEX_SIZES:
        return None
    if dtype.hasobject:
        return "dtype object (Python objects)"
    return f"dtype {dtype}"


def check_dtype(dtype: Any, name: str) -> None:
    """Raise :class:`InputError` unless ``dtype`` is one btune compresses."""
    reason = _bad_dtype(np.dtype(dtype))
    if reason is not None:
        msg = f"{name}: {reason} is not supported; btune accepts {_DTYPE_TEXT}"
        raise InputError(msg)


def check_array(obj: Any, name: str) -> None:
    """Raise :class:`InputError` unless ``obj`` is an array of a supported dtype."""
    shape = getattr(obj, "shape", None)
    dtype = getattr(obj, "dtype", None)
    if shape is None or dtype is None:
        msg = f"{name}: not an array (got {type(obj).__name__})"
        raise InputError(msg)
    check_dtype(dtype, name)


def _require_file(path: Path, name: str) -> None:
    if not path.exists():
        msg = f"{name}: no such file or directory"
        raise InputError(msg)


def locate_input(path: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """The file (or store) and member an input names, checked for kind and existence.

    Raises :class:`InputError` for an unknown extension or a missing file.
    """
    name = repr(os.fspath(path))
    file, member = split_member(path)
    suffix = file.suffix.lower()
    head, colon, _ = os.fspath(path).partition(":")
    if member is None and colon and not file.exists() and Path(head).is_file():
        msg = f"{name}: only HDF5 (FILE.h5:/dataset) and Zarr inputs name a member after ':'"
        raise InputError(msg)
    if suffix not in ACCEPTED_SUFFIXES:
        kind = f"unknown input type {suffix!r}" if suffix else "no file extension"
        if suffix == ".b2frame":
            kind = "a Blosc2 super-chunk (.b2frame) is not an array"
        msg = f"{name}: {kind}; btune reads {_ACCEPTED_TEXT}"
        raise InputError(msg)
    _require_file(file, repr(str(file)))
    return file, member


def open_input(path: str | os.PathLike[str]) -> np.ndarray[Any, Any] | blosc2.NDArray:
    """Open ``path`` as an array to tune: a (memory-mapped) numpy array or a Blosc2 NDArray.

    Note: HDF5 datasets that are chunked or compressed, and Zarr arrays, are read into
    memory whole; contiguous HDF5 datasets are memory-mapped.  Convert very large
    ones to ``.npy`` first if memory is short.
    """
    name = repr(os.fspath(path))
    file, member = locate_input(path)
    suffix = file.suffix.lower()

    array: np.ndarray[Any, Any] | blosc2.NDArray
    if suffix == ".npy":
        array = _open_npy(file, name)
    elif suffix == ".b2nd":
        array = _open_b2nd(file, name)
    elif suffix in _HDF5_SUFFIXES:
        array = _open_hdf5(file, member, name)
    else:
        array = _open_zarr(file, member, name)
    check_array(array, name)
    return array


def _open_npy(path: Path, name: str) -> np.ndarray[Any, Any]:
    # Read the header first, so an object array is refused before numpy tries to load it.
    try:
        with path.open("rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                _, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                dtype = None
    except (ValueError, OSError, EOFError) as err:
        msg = f"{name}: not a readable .npy file ({err})"
        raise InputError(msg) from err
    if dtype is not None:
        check_dtype(dtype, name)

    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        msg = f"{name}: truncated or corrupt .npy file ({err})"
        raise InputError(msg) from err
    if not isinstance(array, np.ndarray):
        msg = f"{name}: not an array (got {type(array).__name__})"
        raise InputError(msg)
    return array


def _open_blosc2(path: Path, name: str) -> Any:
    try:
        return blosc2.open(str(path), mode="r")
    except Exception as err:  # blosc2 reports unreadable frames with several exception types
        detail = str(err) or type(err).__name__
        msg = f"{name}: not a readable Blosc2 file ({detail})"
        raise InputError(msg) from err


def _open_b2nd(path: Path, name: str) -> blosc2.NDArray:
    obj = _open_blosc2(path, name)
    if not isinstance(obj, blosc2.NDArray):
        kind = "a Blosc2 super-chunk" if isinstance(obj, blosc2.SChunk) else type(obj).__name__
        msg = f"{name}: not an array ({kind}, without the b2nd metalayer)"
        raise InputError(msg)
    return obj


def open_container(path: str | os.PathLike[str]) -> blosc2.NDArray | blosc2.SChunk:
    """Open any Blosc2 file (``.b2nd``, ``.b2frame``, …) read-only, for inspection."""
    file = Path(path)
    name = repr(os.fspath(path))
    _require_file(file, name)
    if file.is_dir() and not (file / "chunks.b2frame").exists():
        msg = f"{name}: a folder, not a Blosc2 file"
        raise InputError(msg)
    obj = _open_blosc2(file, name)
    if isinstance(obj, blosc2.NDArray):
        return obj
    if isinstance(obj, blosc2.SChunk):
        return obj
    msg = f"{name}: a {type(obj).__name__}, not a Blosc2 NDArray or super-chunk"
    raise InputError(msg)


def _open_hdf5(path: Path, member: str | None, name: str) -> np.ndarray[Any, Any]:
    try:
        import h5py
    except ImportError as err:
        msg = f"{name}: reading HDF5 needs h5py; install it with `pip install 'btune[hdf5]'`"
        raise InputError(msg) from err

    try:
        f = h5py.File(path, "r")
    except OSError as err:
        msg = f"{name}: not a readable HDF5 file ({err})"
        raise InputError(msg) from err
    with f:
        datasets: list[str] = []

        def collect(key: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                datasets.append(key)

        f.visititems(collect)
        if member is None or member.strip("/") == "":
            if len(datasets) != 1:
                msg = _which_member(name, str(path), "dataset", datasets)
                raise InputError(msg)
            member = datasets[0]
        key = member.strip("/")
        obj = f.get(key)
        if obj is None:
            msg = f"{name}: no dataset {'/' + key!r} in the file; " + _listing(
                str(path), datasets, "dataset"
            )
            raise InputError(msg)
        if not isinstance(obj, h5py.Dataset):
            msg = f"{name}: {'/' + key!r} is a group, not a dataset; " + _listing(
                str(path), datasets, "dataset"
            )
            raise InputError(msg)
        return _read_dataset(obj, path, name)


def _read_dataset(ds: Any, path: Path, name: str) -> np.ndarray[Any, Any]:
    """A contiguous dataset memory-mapped, any other read into memory."""
    if ds.shape is None:
        msg = f"{name}: the dataset has no data (null dataspace)"
        raise InputError(msg)
    check_array(ds, name)
    dtype = np.dtype(ds.dtype)
    offset = ds.id.get_offset() if ds.chunks is None and ds.external is None else None
    if offset is not None and len(ds.shape) > 0:
        return np.memmap(path, mode="r", dtype=dtype, shape=tuple(ds.shape), offset=offset)
    try:
        return np.asarray(ds[()])
    except (OSError, ValueError, TypeError) as err:
        msg = f"{name}: cannot read the dataset ({err})"
        raise InputError(msg) from err


def _listing(file: str, members: list[str], what: str) -> str:
    if not members:
        holder = "store" if what == "array" else "file"
        return f"the {holder} holds no {what}"
    shown = ", ".join(f"{file}:/{m}" for m in members[:5])
    more = f" and {len(members) - 5} more" if len(members) > 5 else ""
    return f"choose one of {shown}{more}"


def _which_member(name: str, file: str, what: str, members: list[str]) -> str:
    holder = "store" if what == "array" else "file"
    if not members:
        return f"{name}: the {holder} holds no {what}"
    listing = _listing(file, members, what)
    return f"{name}: the {holder} holds {len(members)} {what}s; {listing}"


def _open_zarr(path: Path, member: str | None, name: str) -> np.ndarray[Any, Any]:
    try:
        import zarr
    except ImportError as err:
        msg = f"{name}: reading Zarr needs zarr; install it with `pip install 'btune[zarr]'`"
        raise InputError(msg) from err

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as err:  # zarr's errors differ between its major versions
        detail = str(err) or type(err).__name__
        msg = f"{name}: not a readable Zarr store ({detail})"
        raise InputError(msg) from err
    key = (member or "").strip("/")
    if key:
        try:
            node = node[key]
        except (KeyError, TypeError) as err:
            msg = f"{name}: no array {'/' + key!r} in the store"
            raise InputError(msg) from err
    if _is_zarr_group(node):
        arrays = sorted(n for n, _ in node.arrays())
        if len(arrays) != 1:
            msg = _which_member(
                name, str(path), "array", [f"{key}/{a}".strip("/") for a in arrays]
            )
            raise InputError(msg)
        node = node[arrays[0]]
    check_array(node, name)
    try:
        return np.asarray(node[...])
    except Exception as err:  # codec and store errors of zarr
        detail = str(err) or type(err).__name__
        msg = f"{name}: cannot read the Zarr array ({detail})"
        raise InputError(msg) from err


def _is_zarr_group(node: Any) -> bool:
    return hasattr(node, "arrays") and not hasattr(node, "dtype")


def input_metadata(obj: Any) -> InputMetadata:
    """The metadata of an input that a re-compression should carry over.

    For a Blosc2 NDArray: its metalayers except ``b2nd`` and its vlmeta except the
    ``btune`` entry.  For any other input: nothing.
    """
    if not isinstance(obj, blosc2.NDArray):
        return InputMetadata({}, {})
    schunk = obj.schunk
    meta = {key: schunk.meta[key] for key in schunk.meta if key != "b2nd"}
    vlmeta = {
        _text(key): value
        for key, value in schunk.vlmeta.getall().items()
        if _text(key) != "btune"
    }
    return InputMetadata(meta, vlmeta)


def _text(key: str | bytes) -> str:
    return key.decode() if isinstance(key, bytes) else key
