"""The ``btune`` command line: compress, inspect, tune (and bench).

Every subcommand reports a bad input or setting as one line, ``btune: error: …``, on
standard error and exits with status 2; a failure while writing exits with 1.
Normal output goes to standard output; the progress bar and the trace go to standard
error.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import enum
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import blosc2

from btune import __version__, engine
from btune.api import tune
from btune.chunkinfo import ContainerInfo, describe
from btune.config import Config, resolve
from btune.errors import InputError
from btune.readers import input_metadata, locate_input, open_container, open_input

__all__ = ["build_parser", "format_cparams", "main", "parse_bandwidth", "parse_shape"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_BANDWIDTH = re.compile(
    r"^\s*(?P<number>(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*(?P<unit>[KMGT]?)(?:I?B)?(?:/S)?\s*$",
    re.IGNORECASE,
)

Command = Callable[[argparse.Namespace], int]


class _UsageError(Exception):
    """A command line argparse could not parse."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and return to :func:`main`."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


# ---------------------------------------------------------------------------
# Parsing flag values


def parse_bandwidth(text: str) -> float:
    """``"20G"`` → ``20 * 2**30``: a number of bytes/s with an optional K, M, G or T suffix.

    Suffixes are binary units (``KiB``, ``GB/s`` and the like are accepted and mean the
    same).  The value is checked for range by :mod:`btune.config`.
    """
    match = _BANDWIDTH.match(text)
    if match is None:
        msg = (
            "--bandwidth must be a number of bytes/s with an optional K, M, G or T suffix "
            f"(binary units), e.g. 20G or 500M; got {text!r}"
        )
        raise ValueError(msg)
    return float(match["number"]) * _UNITS[match["unit"].upper()]


def parse_tradeoff(text: str) -> float | tuple[float, ...]:
    """One number, or several separated by commas (which :mod:`btune.config` judges)."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError as err:
        msg = f"--tradeoff must be a number in [0, 1]; got {text!r}"
        raise ValueError(msg) from err
    return values[0] if len(values) == 1 else values


def parse_shape(flag: str, text: str | None, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """``"100,128"`` → ``(100, 128)``, checked against the input's ``shape`` by the engine."""
    if text is None:
        return None
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError as err:
        msg = (
            f"{flag} must be positive integers separated by commas, e.g. 100,128; got {text!r}"
        )
        raise ValueError(msg) from err
    return engine.parse_shape(flag, values, shape)


def _config(args: argparse.Namespace, **extra: Any) -> Config:
    """The run's configuration: flags over environment over defaults (validated now)."""
    overrides: dict[str, Any] = {
        "tradeoff": None if args.tradeoff is None else parse_tradeoff(args.tradeoff),
        "perf_mode": args.perf_mode,
        "bandwidth": None if args.bandwidth is None else parse_bandwidth(args.bandwidth),
        "strategy": args.strategy,
        **extra,
    }
    return resolve(**overrides)


# ---------------------------------------------------------------------------
# Formatting


def _python(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return f"blosc2.{type(value).__name__}.{value.name}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_python(v) for v in value) + "]"
    return repr(value)


# CParams fields printed only when they differ from blosc2's default.
_QUIET_FIELDS = ("codec_meta", "use_dict", "tuner")


def format_cparams(cparams: blosc2.CParams) -> str:
    """``cparams`` as a Python expression that rebuilds it (``import blosc2`` assumed)."""
    default = blosc2.CParams()
    lines = []
    for field in dataclasses.fields(cparams):
        value = getattr(cparams, field.name)
        if field.name in _QUIET_FIELDS and value == getattr(default, field.name):
            continue
        line = f"    {field.name}={_python(value)},"
        if len(line) > 88 and isinstance(value, (list, tuple)):
            items = "".join(f"        {_python(v)},\n" for v in value)
            line = f"    {field.name}=[\n{items}    ],"
        lines.append(line)
    return "blosc2.CParams(\n" + "\n".join(lines) + "\n)"


def _cparams_dict(cparams: blosc2.CParams) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, enum.Enum):
            return value.name
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return {f.name: plain(getattr(cparams, f.name)) for f in dataclasses.fields(cparams)}


def _ratio(nbytes: int, ratio: float) -> str:
    """``2.18x``, or ``-`` for an empty array (no ratio to speak of)."""
    return f"{ratio:.2f}x" if nbytes else "-"


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(nbytes) < 1024 or unit == "GiB":
            return f"{nbytes:,.0f} {unit}" if unit == "B" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2))


# ---------------------------------------------------------------------------
# btune compress


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _check_output(output: Path, input_file: Path, force: bool) -> None:
    name = repr(str(output))
    if output.suffix.lower() != ".b2nd":
        msg = f"OUTPUT {name} must end in .b2nd"
        raise InputError(msg)
    if _same_file(output, input_file):
        msg = f"OUTPUT {name} is the INPUT file; write to another file"
        raise InputError(msg)
    if output.is_dir():
        msg = f"OUTPUT {name} is a folder"
        raise InputError(msg)
    if output.exists() and not force:
        msg = f"OUTPUT {name} exists; pass --force to overwrite it"
        raise InputError(msg)
    parent = output.parent
    if not parent.is_dir():
        msg = f"OUTPUT {name}: folder {str(parent)!r} does not exist"
        raise InputError(msg)
    if not os.access(parent, os.W_OK):
        msg = f"OUTPUT {name}: folder {str(parent)!r} is not writable"
        raise InputError(msg)


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _partial_path(output: Path) -> Path:
    """Where the output is written before it is moved into place."""
    return output.with_name(f".{output.stem}.{os.getpid()}.partial.b2nd")


def _remove(path: Path) -> None:
    if path.is_dir():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _param_counts(records: Sequence[Any]) -> tuple[list[tuple[Any, int]], int]:
    """How many (non-special) chunks each parameter set served, and how many were special."""
    counts: collections.Counter[Any] = collections.Counter()
    special = 0
    for record in records:
        if record.special:
            special += 1
        else:
            counts[record.params] += 1
    order = {params: i for i, params in reversed(list(enumerate(r.params for r in records)))}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], order[item[0]]))
    return ranked, special


def _cmd_compress(args: argparse.Namespace) -> int:
    config = _config(args, trace=True if args.trace else None)
    output = Path(args.output)
    input_file, _ = locate_input(args.input)
    _check_output(output, input_file, args.force)
    data = open_input(args.input)
    shape = tuple(int(s) for s in data.shape)
    chunks = parse_shape("--chunks", args.chunks, shape)
    blocks = parse_shape("--blocks", args.blocks, shape)
    if chunks is None and isinstance(data, blosc2.NDArray) and shape:
        # re-compression keeps the input's chunk shape unless told otherwise
        chunks = tuple(int(c) for c in data.chunks)
    if chunks is not None and blocks is not None:
        engine.plan_layout(shape, data.dtype, chunks, blocks)  # blocks must fit the chunks
    metadata = input_metadata(data)

    extra: dict[str, Any] = {}
    if metadata.meta:
        extra["meta"] = metadata.meta
    if metadata.vlmeta:
        extra["vlmeta"] = metadata.vlmeta
    show_bar = not (args.quiet or args.json or config.trace) and _stderr_is_terminal()
    partial = _partial_path(output)
    bar = None
    if show_bar:
        from tqdm import tqdm

        layout = engine.plan_layout(shape, data.dtype, chunks, blocks)
        bar = tqdm(total=layout.nchunks, unit="chunk", file=sys.stderr, leave=False)
    try:
        result = engine.compress(
            data,
            config,
            chunks=chunks,
            blocks=blocks,
            urlpath=str(partial),
            progress=None if bar is None else bar.update,
            **extra,
        )
    except BaseException:
        _remove(partial)
        raise
    finally:
        if bar is not None:
            bar.close()
    if output.exists():
        _remove(output)
    os.replace(partial, output)

    nbytes = math.prod(shape) * data.dtype.itemsize
    out_bytes = output.stat().st_size
    _report_compress(args, result, shape, str(data.dtype), nbytes, out_bytes)
    return EXIT_OK


def _report_compress(
    args: argparse.Namespace,
    result: Any,
    shape: tuple[int, ...],
    dtype: str,
    nbytes: int,
    out_bytes: int,
) -> None:
    ranked, special = _param_counts(result.records)
    wall = result.wall_time
    speed = nbytes / wall / 1e6 if wall > 0 else math.inf
    ratio = nbytes / max(out_bytes, 1)
    if args.json:
        _print_json(
            {
                "input": args.input,
                "output": args.output,
                "shape": list(shape),
                "dtype": dtype,
                "chunks": list(result.chunks),
                "blocks": list(result.blocks),
                "nchunks": len(result.records),
                "nbytes": nbytes,
                "output_bytes": out_bytes,
                "ratio": ratio,
                "wall_time": wall,
                "write_speed_mb_s": speed if math.isfinite(speed) else None,
                "config": result.config.to_dict(),
                "best": result.best.to_dict(),
                "params": [
                    {"params": p.to_dict(), "label": p.label(), "chunks": n} for p, n in ranked
                ],
                "special_chunks": special,
            }
        )
        return
    if args.quiet:
        return
    c = result.config
    print(f"{args.input} -> {args.output}")
    print(
        f"  {_size(nbytes)} -> {_size(out_bytes)} (file)  ratio {_ratio(nbytes, ratio)}  "
        f"in {wall:.3f} s ({speed:,.1f} MB/s)"
    )
    print(
        f"  shape {shape} {dtype}, chunks {tuple(result.chunks)}, "
        f"blocks {tuple(result.blocks)}, {_count(len(result.records), 'chunk')}; "
        f"perf mode {c.perf_mode.name}, tradeoff {c.tradeoff:g}"
    )
    print(f"  {'parameters':<32} {'threads c/d':>11} {'chunks':>7}")
    for params, count in ranked:
        threads = f"{params.nthreads}/{params.dthreads}"
        print(f"  {params.label():<32} {threads:>11} {count:>7}")
    if special:
        print(f"  {'special (one repeated value)':<32} {'':>11} {special:>7}")


# ---------------------------------------------------------------------------
# btune inspect


def _cmd_inspect(args: argparse.Namespace) -> int:
    container = open_container(args.file)
    info = describe(container)
    if args.json:
        _print_json({"file": args.file, **info.to_dict()})
    else:
        _print_inspect(args.file, info)
    return EXIT_OK


def _print_inspect(name: str, info: ContainerInfo) -> None:
    if info.kind == "NDArray":
        print(
            f"{name}: Blosc2 NDArray, shape {info.shape} {info.dtype}, "
            f"chunks {info.chunkshape}, blocks {info.blockshape}, "
            f"{_count(info.nchunks, 'chunk')}"
        )
    else:
        print(
            f"{name}: Blosc2 super-chunk, typesize {info.typesize}, "
            f"{_count(info.nchunks, 'chunk')}"
        )
    cp = info.cparams
    print(
        f"container cparams: {cp['codec']} clevel {cp['clevel']} {cp['filters']} "
        f"{cp['splitmode']}, {cp['nthreads']} threads"
    )
    if info.btune is not None:
        config = info.btune.get("config")
        tail = ""
        if isinstance(config, dict):
            tail = f" (perf mode {config.get('perf_mode')}, tradeoff {config.get('tradeoff')})"
        print(f"written by btune {info.btune.get('version', '?')}{tail}")
    print()

    header = (
        f"{'chunk':>6}  {'codec':<8} {'filters':<18} {'split':<6} {'clevel':>6} "
        f"{'blocksize':>10} {'nbytes':>11} {'cbytes':>11} {'ratio':>8}  note"
    )
    print(header)
    for c in info.chunks:
        clevel = "-" if c.clevel is None else str(c.clevel)
        note = c.special or ("memcpy" if c.memcpyed else "")
        split = c.splitmode.lower()
        print(
            f"{c.index:>6}  {c.codec:<8} {c.pipeline:<18} {split:<6} {clevel:>6} "
            f"{c.blocksize:>10} {c.nbytes:>11} {c.cbytes:>11} {c.ratio:>8.2f}  {note}".rstrip()
        )

    print()
    print("summary:")
    print(f"  {'codec':<8} {'filters':<18} {'split':<6} {'chunks':>7} {'ratio':>8}")
    for row in info.summary():
        if row.special:
            label = f"special: {row.special}"
            print(f"  {label:<34} {row.chunks:>7} {row.ratio:>8.2f}")
        else:
            split = row.splitmode.lower()
            cells = f"{row.codec:<8} {row.pipeline:<18} {split:<6}"
            print(f"  {cells} {row.chunks:>7} {row.ratio:>8.2f}")
    print(
        f"  total: {_count(info.nchunks, 'chunk')}, "
        f"{_size(info.nbytes)} -> {_size(info.cbytes)} (chunks, without the file's"
        f" headers and metadata), ratio {_ratio(info.nbytes, info.ratio)}"
    )


# ---------------------------------------------------------------------------
# btune tune


def _cmd_tune(args: argparse.Namespace) -> int:
    config = _config(args)
    data = open_input(args.file)

    settings = {
        "tradeoff": config.tradeoff,
        "perf_mode": config.perf_mode,
        "bandwidth": config.bandwidth,
        "strategy": config.strategy,
    }
    cparams = tune(data, **settings)
    if args.json:
        _print_json(
            {"file": args.file, "config": config.to_dict(), "cparams": _cparams_dict(cparams)}
        )
    else:
        print(
            f"# btune {__version__} for {args.file} "
            f"(perf mode {config.perf_mode.name}, tradeoff {config.tradeoff:g})"
        )
        print(format_cparams(cparams))
    return EXIT_OK


# ---------------------------------------------------------------------------
# The parser


def _add_tuning_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tradeoff",
        metavar="F",
        help="0 = only speed matters ... 1 = only the compression ratio (default 0.5)",
    )
    parser.add_argument(
        "--perf-mode",
        metavar="MODE",
        help="which speed counts: COMP (writing), DECOMP (reading), BALANCED or AUTO",
    )
    parser.add_argument(
        "--bandwidth",
        metavar="B",
        help="bytes/s of the link or disk, e.g. 20G or 500M (binary units; default 20G)",
    )
    parser.add_argument("--strategy", metavar="S", help="tuning strategy (default: 'default')")


def _register_bench(subparsers: Any) -> Command | None:
    """Add ``btune bench``."""
    from btune import bench

    bench.add_parser(subparsers)
    run: Command = bench.run
    return run


def build_parser() -> argparse.ArgumentParser:
    """The ``btune`` argument parser with all its subcommands."""
    parser = _Parser(
        prog="btune",
        description="Automatic per-chunk compression tuning for Blosc2.",
    )
    parser.add_argument("--version", action="version", version=f"btune {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    compress = subparsers.add_parser(
        "compress",
        help="tune and write INPUT as a Blosc2 array",
        description="Compress INPUT (.npy, .b2nd, FILE.h5:/dataset, .zarr) into OUTPUT "
        "(.b2nd), tuning the parameters chunk by chunk.",
    )
    compress.add_argument("input", metavar="INPUT")
    compress.add_argument("output", metavar="OUTPUT")
    _add_tuning_flags(compress)
    compress.add_argument(
        "--chunks", metavar="N,N", help="chunk shape in elements, e.g. 100,128"
    )
    compress.add_argument(
        "--blocks", metavar="N,N", help="block shape in elements, e.g. 20,64"
    )
    compress.add_argument("--trace", action="store_true", help="print the per-chunk decisions")
    compress.add_argument("--force", action="store_true", help="overwrite an existing OUTPUT")
    compress.add_argument("--json", action="store_true", help="print a JSON summary")
    compress.add_argument("--quiet", action="store_true", help="print nothing on success")
    compress.set_defaults(run=_cmd_compress)

    inspect = subparsers.add_parser(
        "inspect",
        help="show the parameters and ratio of every chunk of a Blosc2 file",
        description="Show codec, filters, split, clevel (when btune wrote the file), "
        "block size and ratio of every chunk of FILE, and a summary.",
    )
    inspect.add_argument("file", metavar="FILE")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.set_defaults(run=_cmd_inspect)

    tune = subparsers.add_parser(
        "tune",
        help="print the recommended blosc2.CParams for FILE",
        description="Print the blosc2.CParams btune recommends for data like FILE, as Python.",
    )
    tune.add_argument("file", metavar="FILE")
    _add_tuning_flags(tune)
    tune.add_argument("--json", action="store_true", help="print JSON")
    tune.set_defaults(run=_cmd_tune)

    bench_run = _register_bench(subparsers)
    if bench_run is not None:
        subparsers.choices["bench"].set_defaults(run=bench_run)
    return parser


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"btune: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``btune`` command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        return _fail(str(err))
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    run: Command = args.run
    shown, warnings.showwarning = warnings.showwarning, _show_warning
    previous = _on_sigterm_raise()
    try:
        return run(args)
    except BrokenPipeError:  # the reader of our output went away (`btune inspect … | head`)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except (InputError, ValueError, TypeError) as err:
        logger.debug("btune %s failed", args.command, exc_info=True)
        return _fail(str(err))
    except (OSError, RuntimeError) as err:
        logger.debug("btune %s failed", args.command, exc_info=True)
        return _fail(str(err) or type(err).__name__, EXIT_FAILURE)
    except KeyboardInterrupt:
        print("btune: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("btune: terminated", file=sys.stderr)
        return 143
    finally:
        warnings.showwarning = shown
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _show_warning(message: Warning | str, *args: object, **kwargs: object) -> None:
    """Warnings as one line, like errors."""
    print(f"btune: warning: {message}", file=sys.stderr)


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, so that partial outputs are removed."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _on_sigterm_raise() -> Any:
    """Turn SIGTERM into :class:`Terminated` (main thread only); the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)
