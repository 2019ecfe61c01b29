"""Regenerate the small real data slices kept in the repository (needs ../shared/corpus)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"

SLICES = {
    "tests/data/retina_fundus_rgb_slice.npy": (
        "retina_fundus_rgb.npy",
        np.s_[600:664, 600:856],
    ),
    "tests/data/randhie_panel_slice.npy": ("randhie_panel.npy", np.s_[:400]),
    "tests/data/sst_nino3.npy": ("sst_nino3.npy", np.s_[...]),
    "tests/data/cortex_aparc_labels_slice.npy": ("cortex_aparc_labels.npy", np.s_[:16384]),
    "tests/data/parkes_hi_map.npy": ("parkes_hi_map.npy", np.s_[...]),
    "tests/data/liver_seg_mask_slice.npy": ("liver_seg_mask.npy", np.s_[192:320]),
    "src/btune/data/ct_head.npy": ("ct_head.npy", np.s_[...]),
}


def main() -> int:
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    for target, (source, region) in SLICES.items():
        data = np.ascontiguousarray(np.load(CORPUS / source)[region])
        np.save(ROOT / target, data)
        print(f"{target}: {data.dtype} {data.shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
