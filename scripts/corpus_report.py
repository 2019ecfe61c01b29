#!/usr/bin/env python
"""Run ``btune bench`` over every ``.npy`` of the corpus and write the corpus report.

    python scripts/corpus_report.py                  # ../shared/corpus -> reports/
    python scripts/corpus_report.py --corpus DIR --out /tmp/report
    python scripts/corpus_report.py --from-json reports/corpus.json   # redo the Markdown

Every file is cut into chunks of 64 KiB and measured at tradeoffs 0, 0.5 and 1 in
the COMP, DECOMP and BALANCED modes (DESIGN: "How we measure it").  The report
(``corpus.md``) has a per-file table, then summaries for the files with at least
16 chunks and, separately, for small inputs, and says whether the targets are met.
``corpus.json`` holds every figure.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_OUT = REPO / "reports"

TRADEOFFS = (0.0, 0.5, 1.0)
MODES = ("COMP", "DECOMP", "BALANCED")

# The targets, over files with at least 16 chunks, for each tradeoff and mode.
TARGET_MEDIAN_REGRET = 1.05
TARGET_WORST_REGRET = 1.25
TARGET_MEDIAN_OVERHEAD = 1.10  # in COMP


# ---------------------------------------------------------------------------
# Running


def run_corpus(
    files: Sequence[Path], strategies: Sequence[str], chunk_bytes: int, quiet: bool
) -> tuple[list[dict[str, Any]], float]:
    """Benchmark every file; the JSON-ready reports and the total seconds."""
    from btune import bench

    interactive = not quiet and sys.stderr.isatty()
    outer = None
    if interactive:
        from tqdm import tqdm

        outer = tqdm(total=len(files), unit="file", position=0, file=sys.stderr)
    show, bar = bench.progress_bar(interactive, position=1)
    reports = []
    start = time.perf_counter()
    try:
        for k, path in enumerate(files, 1):
            if outer is not None:
                outer.set_description_str(path.name)
            began = time.perf_counter()
            report = bench.bench_array(
                bench.load_input(path),
                name=path.name,
                tradeoffs=TRADEOFFS,
                perf_modes=MODES,
                strategies=strategies,
                chunk_bytes=chunk_bytes,
                progress=show,
            )
            reports.append(report.to_dict())
            if outer is not None:
                outer.update(1)
            elif not quiet:
                s = report.seconds
                print(
                    f"[{k}/{len(files)}] {path.name}: {time.perf_counter() - began:.1f} s "
                    f"(oracle {s['oracle']:.1f} s, final round {s['final']:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        if bar is not None:
            bar.close()
        if outer is not None:
            outer.close()
    return reports, time.perf_counter() - start


# ---------------------------------------------------------------------------
# Summaries


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def _cases(report: dict[str, Any]) -> dict[tuple[float, str], dict[str, Any]]:
    return {(c["tradeoff"], c["perf_mode"]): c for c in report["cases"]}


def summarise(
    reports: Sequence[dict[str, Any]], strategies: Sequence[str]
) -> list[dict[str, Any]]:
    """One row per (who, tradeoff, mode): who is "defaults" or a strategy."""
    rows = []
    for who in ["defaults", *strategies]:
        for t in TRADEOFFS:
            for mode in MODES:
                figures = []
                for r in reports:
                    case = _cases(r).get((t, mode))
                    if case is None:
                        continue
                    f = case["defaults"] if who == "defaults" else case["btune"].get(who)
                    if f is not None:
                        figures.append((r["name"], f, case["defaults"]))
                if not figures:
                    continue
                regrets = [f["regret"] for _, f, _ in figures]
                worst = max(figures, key=lambda x: x[1]["regret"])
                overheads = [f["overhead"] for _, f, _ in figures if f["overhead"] is not None]
                gains = [f["cratio"] / d["cratio"] for _, f, d in figures]
                rows.append(
                    {
                        "who": who,
                        "tradeoff": t,
                        "perf_mode": mode,
                        "files": len(figures),
                        "median_regret": _median(regrets),
                        "worst_regret": worst[1]["regret"],
                        "worst_file": worst[0],
                        "median_overhead": _median(overheads) if overheads else None,
                        "median_ratio_gain": _median(gains),
                    }
                )
    return rows


def check_targets(rows: Sequence[dict[str, Any]], who: str) -> list[str]:
    """The targets ``who`` misses (empty: all met), over the rows of large files."""
    misses = []
    for row in rows:
        if row["who"] != who:
            continue
        cell = f"t={row['tradeoff']:g} {row['perf_mode']}"
        if not row["median_regret"] <= TARGET_MEDIAN_REGRET:
            misses.append(f"{cell} median regret {row['median_regret']:.2f}")
        if not row["worst_regret"] <= TARGET_WORST_REGRET:
            misses.append(
                f"{cell} worst regret {row['worst_regret']:.2f} ({row['worst_file']})"
            )
        overhead = row["median_overhead"]
        if row["perf_mode"] == "COMP" and not (
            overhead is not None and overhead <= TARGET_MEDIAN_OVERHEAD
        ):
            shown = "-" if overhead is None else f"{overhead:.2f}"
            misses.append(f"{cell} median overhead {shown}")
    expected = len(TRADEOFFS) * len(MODES)
    present = sum(1 for row in rows if row["who"] == who)
    if present < expected:
        misses.append(f"only {present} of {expected} (tradeoff, mode) cells measured")
    return misses


# ---------------------------------------------------------------------------
# Markdown


def _f(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], left: set[int]) -> list[str]:
    """A Markdown table; the columns in ``left`` are text, the others numbers."""
    align = ["---" if i in left else "---:" for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _summary_section(title: str, rows: Sequence[dict[str, Any]], nfiles: int) -> list[str]:
    out = [f"## {title}", ""]
    if not rows:
        return out + ["No such files.", ""]
    out += [
        f"{nfiles} file(s). Regret: exp(objective(oracle) - objective(x)), 1.00 is the "
        "oracle; overhead: tuned write time / replay time; ratio gain: compression "
        "ratio / the defaults' ratio.",
        "",
    ]
    head = ["who", "tradeoff", "mode", "median regret", "worst regret", "worst file"]
    head += ["median overhead", "median ratio gain"]
    body = [
        [
            r["who"],
            f"{r['tradeoff']:g}",
            r["perf_mode"],
            _f(r["median_regret"]),
            _f(r["worst_regret"]),
            r["worst_file"],
            _f(r["median_overhead"]),
            _f(r["median_ratio_gain"]),
        ]
        for r in rows
    ]
    return out + _table(head, body, {0, 1, 2, 5}) + [""]


def render_markdown(doc: dict[str, Any]) -> str:
    reports = doc["inputs"]
    strategies = doc["options"]["strategies"]
    large = [r for r in reports if not r["small"]]
    small = [r for r in reports if r["small"]]
    seconds = doc.get("seconds", {})
    oracle_s = sum(r["seconds"]["oracle"] for r in reports)
    final_s = sum(r["seconds"]["final"] for r in reports)
    default = doc.get("default_strategy")

    out = [
        "# btune corpus report",
        "",
        "Generated by `scripts/corpus_report.py`; do not edit by hand.",
        "",
        f"- date: {doc['date']}",
        f"- btune {doc['btune_version']}, python-blosc2 {doc['blosc2_version']}, "
        f"numpy {doc['numpy_version']}",
        f"- machine: {doc['cores']} core(s)",
        f"- corpus: {len(reports)} `.npy` file(s) in `{doc['options'].get('corpus', '?')}`, "
        f"chunks of {doc['options']['chunk_bytes'] // 1024} KiB",
        f"- strategies: {', '.join(strategies)}"
        + (f" (`default` is `{default}`)" if default else ""),
        f"- runtime: {_f(seconds.get('total'), 1)} s in all; oracle's first pass "
        f"{oracle_s:.1f} s, final round (oracle's short lists, defaults, btune) "
        f"{final_s:.1f} s",
        "",
        'Protocol (DESIGN, "How we measure it"): in memory; every timing is the minimum '
        f"of {doc['protocol']['runs']} runs interleaved with the other candidates (each "
        "round in its own shuffled order, so no write always follows the same one); the "
        f"oracle is the best of the 200 settings (blosc2's default blocks, all cores), its "
        f"{doc['protocol']['top']} best per tradeoff and mode re-timed with "
        f"{doc['protocol']['final_runs']} runs before one is crowned (not needed at "
        "tradeoff 1, where time does not count), in the same rounds as the defaults "
        "and btune's writes, so all are timed in the same state of the process. Absolute "
        "speeds vary by machine and run; compare the figures of one run.",
        "",
    ]
    sampled = [r["name"] for r in reports if r.get("oracle_sample")]
    if sampled:
        out += [f"The oracle measured a sample of chunks for: {', '.join(sampled)}.", ""]

    # targets
    large_rows = summarise(large, strategies)
    out += ["## Targets", ""]
    out += [
        f"Over the files with at least 16 chunks, for each tradeoff in {{0, 0.5, 1}} in "
        f"each perf mode: median regret <= {TARGET_MEDIAN_REGRET:.2f}, worst regret <= "
        f"{TARGET_WORST_REGRET:.2f}, and median overhead <= {TARGET_MEDIAN_OVERHEAD:.2f} in "
        "COMP.",
        "",
    ]
    if not large:
        out += ["No file has 16 chunks or more: the targets cannot be judged.", ""]
    for who in strategies:
        misses = check_targets(large_rows, who) if large else ["no large files"]
        if not misses:
            out.append(f"- **{who}: targets met.**")
        else:
            out.append(
                f"- **{who}: targets not met** ({len(misses)} miss(es)): " + "; ".join(misses)
            )
    out.append("")

    out += _summary_section("Files with at least 16 chunks", large_rows, len(large))
    out += _summary_section(
        "Small inputs (fewer than 16 chunks)", summarise(small, strategies), len(small)
    )

    # per file
    out += ["## Per file", ""]
    head = ["file", "dtype", "shape", "MiB", "chunks", "tradeoff", "mode", "oracle setting"]
    head += ["oracle ratio", "defaults ratio", "defaults regret"]
    for who in strategies:
        head += [f"{who} ratio", f"{who} regret", f"{who} overhead"]
    body = []
    for r in reports:
        for j, c in enumerate(r["cases"]):
            first = j == 0
            row = [
                f"`{r['name']}`" if first else "",
                r["dtype"] if first else "",
                "x".join(map(str, r["shape"])) if first else "",
                f"{r['nbytes'] / 2**20:.2f}" if first else "",
                str(r["nchunks"]) if first else "",
                f"{c['tradeoff']:g}",
                c["perf_mode"],
                c["oracle"]["label"],
                _f(c["oracle"]["cratio"]),
                _f(c["defaults"]["cratio"]),
                _f(c["defaults"]["regret"]),
            ]
            for who in strategies:
                f = c["btune"].get(who)
                row += (
                    ["-", "-", "-"]
                    if f is None
                    else [_f(f["cratio"]), _f(f["regret"]), _f(f["overhead"])]
                )
            body.append(row)
    out += _table(head, body, {0, 1, 2, 5, 6, 7}) + [""]
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of .npy files"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="where corpus.md/.json go"
    )
    parser.add_argument(
        "--strategies",
        default="genetic,probe",
        help="comma-separated (default: genetic,probe)",
    )
    parser.add_argument("--chunk-bytes", default="64K", help="chunk size (default: 64K)")
    parser.add_argument("--files", default="*.npy", help="glob of file names to include")
    parser.add_argument(
        "--from-json", type=Path, help="rewrite the Markdown from an earlier corpus.json"
    )
    parser.add_argument("--plot", type=Path, help="also plot every file (COMP) into this PNG")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)

    from btune import bench
    from btune.config import parse_strategy

    if args.from_json:
        doc = json.loads(args.from_json.read_text())
    else:
        try:
            strategies = [parse_strategy(s.strip()) for s in args.strategies.split(",") if s]
            chunk_bytes = bench.parse_size(args.chunk_bytes)
        except (TypeError, ValueError) as err:
            parser.error(str(err))
        files = sorted(
            p for p in args.corpus.glob("*.npy") if fnmatch.fnmatch(p.name, args.files)
        )
        if not files:
            parser.error(f"no .npy files matching {args.files!r} in {args.corpus}")
        reports, total = run_corpus(files, strategies, chunk_bytes, args.quiet)
        options = {
            "corpus": str(args.corpus),
            "tradeoffs": list(TRADEOFFS),
            "perf_modes": list(MODES),
            "strategies": strategies,
            "chunk_bytes": chunk_bytes,
        }
        doc = {**bench.header(), "options": options, "inputs": reports}
        doc["seconds"] = {"total": total}
        try:
            from btune.strategies import DEFAULT_STRATEGY

            doc["default_strategy"] = DEFAULT_STRATEGY
        except ImportError:
            pass

    args.out.mkdir(parents=True, exist_ok=True)
    if not args.from_json:
        (args.out / "corpus.json").write_text(json.dumps(doc, indent=1) + "\n")
    (args.out / "corpus.md").write_text(render_markdown(doc))
    if args.plot:
        from btune.plot import plot_bench

        plot_bench(doc["inputs"], args.plot, mode="COMP")
    if not args.quiet:
        wrote = "corpus.md" if args.from_json else "corpus.md and corpus.json"
        print(f"wrote {wrote} in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
