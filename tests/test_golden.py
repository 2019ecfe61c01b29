"""The engine reproduces the recorded traces (tests/golden_traces.py rewrites them)."""

from __future__ import annotations

import pytest

from golden_traces import CASES, HERE, render


@pytest.mark.parametrize("case", sorted(CASES))
def test_trace_matches_the_recording(case):
    expected = (HERE / "golden" / f"{case}.txt").read_text()
    assert render(case) == expected
