"""Recorded tuning traces: real data, a fake clock, so every figure is reproducible.

``python tests/golden_traces.py`` rewrites the files in ``tests/golden/``; the test
in ``test_golden.py`` checks the engine still produces them exactly.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from btune import engine  # noqa: E402
from btune.config import resolve  # noqa: E402
from conftest import DATA, FakeClock  # noqa: E402

CASES = {
    "genetic_retina_t05": ("retina_fundus_rgb_slice.npy", (4, 256, 3), "genetic", 0.5, "COMP"),
    "genetic_randhie_t1_decomp": (
        "randhie_panel_slice.npy",
        (20, 45),
        "genetic",
        1.0,
        "DECOMP",
    ),
    "probe_randhie_t05": ("randhie_panel_slice.npy", (20, 45), "probe", 0.5, "COMP"),
}


def render(case: str) -> str:
    """The trace of one case, with the version line made version-independent."""
    name, chunks, strategy, tradeoff, mode = CASES[case]
    data = np.load(DATA / name)
    out = io.StringIO()
    config = resolve(tradeoff=tradeoff, perf_mode=mode, strategy=strategy, trace=True)
    cores = engine.core_count
    engine.core_count = lambda: 2  # the recordings were made for 2 cores
    try:
        engine.compress(data, config, chunks=chunks, trace=out, clock=FakeClock())
    finally:
        engine.core_count = cores
    lines = out.getvalue().splitlines()
    lines[0] = lines[0].split(" | ", 1)[1]  # drop "btune X.Y.Z"
    return "\n".join(lines) + "\n"


def main() -> int:
    (HERE / "golden").mkdir(exist_ok=True)
    for case in CASES:
        (HERE / "golden" / f"{case}.txt").write_text(render(case))
        print(f"wrote tests/golden/{case}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
