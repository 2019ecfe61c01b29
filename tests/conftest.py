"""Shared fixtures and check helpers."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import blosc2
import numpy as np
import pytest

import btune
from btune.config import reset_params_defaults

DATA = Path(__file__).parent / "data"
#: The full corpus: ``../shared/corpus`` beside the clone, or where BTUNE_CORPUS says.
CORPUS = Path(
    os.environ.get("BTUNE_CORPUS")
    or Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
)

ENV_VARS = (
    "BTUNE_TRADEOFF",
    "BTUNE_PERF_MODE",
    "BTUNE_TRACE",
    "BTUNE_MODELS_DIR",
    "BTUNE_USE_INFERENCE",
)


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with no BTUNE_* variables and no stored defaults."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    reset_params_defaults()
    yield
    reset_params_defaults()


def real_slices() -> list[Path]:
    return sorted(DATA.glob("*.npy"))


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.npy")) if CORPUS.is_dir() else []


needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(),
    reason=f"the full corpus is not present at {CORPUS} (set BTUNE_CORPUS to its folder)",
)


class FakeClock:
    """A clock that advances by a fixed step each time it is read."""

    def __init__(self, step: float = 1e-4) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def check_roundtrip(original: np.ndarray, array: blosc2.NDArray) -> None:
    """The stored array reads back bit for bit with plain blosc2."""
    back = array[()] if original.ndim == 0 else array[...]
    assert back.shape == original.shape
    assert back.dtype == original.dtype
    assert np.asarray(back).tobytes() == np.ascontiguousarray(original).tobytes()


def check_file_roundtrip(original: np.ndarray, path: Path) -> None:
    check_roundtrip(original, blosc2.open(str(path)))


def all_chunk_params(result: btune.engine.Result) -> set[tuple[str, str, int]]:
    return {(r.params.codec, r.params.pipeline.value, r.params.clevel) for r in result.records}


def grid_indices(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    return itertools.product(*(range(n) for n in shape))
