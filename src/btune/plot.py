"""Plots of benchmark results; needs the optional matplotlib (``pip install 'btune[plot]'``).

:func:`plot_bench` draws, per input, every oracle setting as a point of
compression ratio against speed in one perf mode, the Pareto front of those
points, blosc2's defaults, the oracle's pick and btune's result per tradeoff.
It reads the JSON-ready dicts of :meth:`btune.bench.InputReport.to_dict`, so a
saved ``btune bench --json`` file can be plotted again later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from btune.config import PerformanceMode
from btune.objective import Measurement, speed

__all__ = ["pareto_front", "plot_bench"]

_CODEC_COLOURS = {
    "BLOSCLZ": "tab:blue",
    "LZ4": "tab:orange",
    "LZ4HC": "tab:green",
    "ZLIB": "tab:purple",
    "ZSTD": "tab:red",
}
_STRATEGY_MARKERS = ("^", "D", "v", "P", "X")
_STRATEGY_COLOURS = ("#d4007a", "#008c8c", "#8c6d00", "#3f3fbf", "#5f8c00")


def _load_pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        msg = "plotting needs matplotlib, which is not installed; pip install 'btune[plot]'"
        raise ModuleNotFoundError(msg) from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points (speed, ratio) no other point beats in both, by increasing speed."""
    front: list[tuple[float, float]] = []
    best_ratio = -math.inf
    for x, y in sorted(points, key=lambda p: (-p[0], -p[1])):
        if y > best_ratio:
            front.append((x, y))
            best_ratio = y
    return sorted(front)


def _speed_ratio(
    entry: Mapping[str, Any],
    mode: PerformanceMode,
    bandwidth: float,
    nbytes: int | None = None,
) -> tuple[float, float]:
    size = int(entry.get("nbytes", nbytes or 0))
    m = Measurement(size, int(entry["cbytes"]), float(entry["ctime"]), float(entry["dtime"]))
    return speed(m, mode, bandwidth) / 1e6, m.cratio


def _panel(ax: Any, report: Mapping[str, Any], mode: PerformanceMode) -> None:
    from matplotlib import ticker

    bandwidth = float(report["bandwidth"])
    settings = report["oracle_settings"]
    points = [_speed_ratio(s, mode, bandwidth) for s in settings]

    # every oracle setting, coloured by codec
    for codec, colour in _CODEC_COLOURS.items():
        mine = [
            p for p, s in zip(points, settings, strict=True) if s["params"]["codec"] == codec
        ]
        if mine:
            ax.scatter(
                [p[0] for p in mine], [p[1] for p in mine], s=12, color=colour, alpha=0.45,
                linewidths=0, label=f"oracle setting: {codec}",
            )  # fmt: skip

    # the Pareto front
    front = pareto_front(points)
    ax.plot(
        [p[0] for p in front], [p[1] for p in front], color="0.25", lw=1.2, ls="--",
        drawstyle="steps-pre", label="Pareto front", zorder=3,
    )  # fmt: skip

    cases = [c for c in report["cases"] if c["perf_mode"] == mode.name]

    # blosc2's defaults
    if cases:
        d = cases[0]["defaults"]
        x, y = _speed_ratio(d, mode, bandwidth)
        ax.scatter(
            [x], [y], marker="*", s=220, color="black", zorder=5, label="blosc2 defaults"
        )

    # the oracle's pick per tradeoff
    labels: list[tuple[float, float, str, str]] = []
    picks: dict[tuple[float, float], list[str]] = {}
    for c in cases:
        xy = _speed_ratio(c["oracle"], mode, bandwidth)
        picks.setdefault(xy, []).append(f"{c['tradeoff']:g}")
    if picks:
        ax.scatter(
            [p[0] for p in picks], [p[1] for p in picks], s=110, facecolors="none",
            edgecolors="black", linewidths=1.4, zorder=4, label="oracle pick (t=…)",
        )  # fmt: skip
        labels += [(x, y, "oracle t=" + ",".join(ts), "0.15") for (x, y), ts in picks.items()]

    # btune's result per strategy and tradeoff
    strategies = sorted({name for c in cases for name in c["btune"]})
    for k, name in enumerate(strategies):
        marker = _STRATEGY_MARKERS[k % len(_STRATEGY_MARKERS)]
        colour = _STRATEGY_COLOURS[k % len(_STRATEGY_COLOURS)]
        xs, ys = [], []
        for c in cases:
            if name not in c["btune"]:
                continue
            f = c["btune"][name]
            x, y = _speed_ratio(f, mode, bandwidth)
            xs.append(x)
            ys.append(y)
            labels.append(
                (x, y, f"{name} t={c['tradeoff']:g}: regret {f['regret']:.2f}", colour)
            )
        ax.scatter(
            xs, ys, marker=marker, s=70, color=colour, edgecolors="black", linewidths=0.6,
            zorder=6, label=f"btune {name}",
        )  # fmt: skip

    shape = "x".join(str(s) for s in report["shape"])
    title = f"{report['name']}\n{report['dtype']} {shape}, {report['nchunks']} chunks"
    if report.get("oracle_sample"):
        title += " (oracle on a sample)"
    ax.set_title(title, fontsize=9)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ratios = [p[1] for p in points]
    if ratios and max(ratios) / max(min(ratios), 1e-9) > 20:
        ax.set_yscale("log")
    ax.set_xlabel(f"{mode.name} speed, MB/s (log)", fontsize=8)
    ax.set_ylabel("compression ratio", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, which="major", alpha=0.3)
    _place_labels(ax, labels)


def _place_labels(ax: Any, labels: Sequence[tuple[float, float, str, str]]) -> None:
    """Annotate points without letting the labels overlap (a greedy search in axes units)."""
    ax.get_xlim(), ax.get_ylim()  # settle the autoscaled limits before transforming
    to_axes = ax.transData + ax.transAxes.inverted()
    width_per_char, height = 0.0125, 0.05
    placed: list[tuple[float, float, float, float]] = []

    def free(box: tuple[float, float, float, float]) -> bool:
        x0, y0, x1, y1 = box
        inside = x0 >= 0.0 and x1 <= 1.0 and y0 >= 0.0 and y1 <= 1.0
        return inside and all(
            x1 <= a0 or a1 <= x0 or y1 <= b0 or b1 <= y0 for a0, b0, a1, b1 in placed
        )

    for x, y, text, colour in sorted(labels, key=lambda item: -item[1]):
        px, py = to_axes.transform((x, y))
        width = width_per_char * len(text)
        candidates = [
            (px + dx, py + dy)
            for dy in (0.03, -0.08, 0.09, -0.14, 0.15, -0.20, 0.21, -0.26, 0.27, -0.32)
            for dx in (0.02, -0.02 - width)
        ]
        spot = next(
            (c for c in candidates if free((c[0], c[1], c[0] + width, c[1] + height))),
            candidates[0],
        )
        placed.append((spot[0], spot[1], spot[0] + width, spot[1] + height))
        ax.annotate(
            text, (x, y), xytext=(spot[0], spot[1] + 0.008), textcoords="axes fraction",
            fontsize=7, color=colour, zorder=7,
            arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6, "shrinkA": 0},
        )  # fmt: skip


def plot_bench(
    reports: Sequence[Mapping[str, Any]], path: str | Path, *, mode: str = "COMP"
) -> Path:
    """Write a PNG of ratio against ``mode`` speed, one panel per input; return its path."""
    perf_mode = PerformanceMode[mode.upper()] if isinstance(mode, str) else mode
    if perf_mode is PerformanceMode.AUTO:
        msg = f"`mode` must be COMP, DECOMP or BALANCED; got {mode!r}"
        raise ValueError(msg)
    if not reports:
        msg = "nothing to plot: no benchmark results"
        raise ValueError(msg)
    plt = _load_pyplot()
    n = len(reports)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    width = max(6.2 * ncols, 9.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 4.8 * nrows), squeeze=False)
    for ax, report in zip(axes.flat, reports, strict=False):
        _panel(ax, report, perf_mode)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    per_row = max(3, min(len(labels), int(width / 2.3)))
    fig.legend(
        handles, labels, loc="lower center", ncol=per_row, fontsize=8, frameon=False,
    )  # fmt: skip
    fig.suptitle(
        f"btune bench: compression ratio vs {perf_mode.name} speed\n"
        "dots: the oracle's settings; star: blosc2 defaults; circles: the oracle's pick "
        "per tradeoff t; btune per strategy and t",
        fontsize=9,
    )
    legend_inches = 0.25 * math.ceil(len(labels) / per_row) + 0.15
    height = 4.8 * nrows + 0.6 + legend_inches
    fig.set_figheight(height)
    fig.tight_layout(rect=(0, legend_inches / height, 1, 1 - 0.6 / height))
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
