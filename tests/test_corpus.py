"""Every corpus file through `btune compress` and `btune inspect` (needs ../shared/corpus)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from btune.bench import chunks_for_bytes
from btune.cli import main
from conftest import CORPUS, check_file_roundtrip, corpus_files, needs_corpus

pytestmark = [needs_corpus, pytest.mark.corpus]

FILES = corpus_files() or [CORPUS / "absent.npy"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("chunking", ["default", "64K"])
def test_compress_inspect_roundtrip(path, chunking, tmp_path, capsys):
    data = np.load(path)
    out = tmp_path / "out.b2nd"
    argv = ["compress", str(path), str(out), "--quiet"]
    if chunking == "64K":
        chunks = chunks_for_bytes(data.shape, data.dtype.itemsize, 64 * 1024)
        argv += ["--chunks", ",".join(map(str, chunks))]
    assert main(argv) == 0
    check_file_roundtrip(data, out)
    capsys.readouterr()
    assert main(["inspect", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["chunks"]) >= 1
