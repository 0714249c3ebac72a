"""Packs a `gemxrf dataset` directory into one compressed .npz (about 4.5x smaller) and unpacks it again.

Why: the GPU machines cannot run the Node generator and take at most 64 MiB of carried files, so datasets are
generated here, packed, carried, and unpacked there into the same directory layout train.py reads.

    python3 training/pack.py pack   --data DS --out DS.npz
    python3 training/pack.py unpack --data DS.npz --out DS
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

from data import load_dataset


def pack(data_dir: str, out: str) -> None:
    ds = load_dataset(data_dir)
    spectra = np.asarray(ds.spectra)
    counts = spectra.astype(np.uint32)
    if not np.array_equal(counts, spectra):  # only whole counts pack losslessly as integers
        raise ValueError(f"{data_dir}: spectra are not non-negative whole counts; refusing a lossy pack")
    # significance.npy travels when the set has it (older sets do not; --presence-target detectable needs it)
    extra = {} if ds.significance is None else {"significance": np.asarray(ds.significance)}
    np.savez_compressed(out, spectra=counts, fractions=np.asarray(ds.fractions), presence=np.asarray(ds.presence),
                        meta=np.frombuffer(json.dumps(ds.meta).encode("utf8"), dtype=np.uint8), **extra)


def unpack(npz: str, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with np.load(npz) as z:
        np.save(os.path.join(out_dir, "spectra.npy"), z["spectra"].astype(np.float32))
        np.save(os.path.join(out_dir, "fractions.npy"), z["fractions"])
        np.save(os.path.join(out_dir, "presence.npy"), z["presence"])
        if "significance" in z.files:
            np.save(os.path.join(out_dir, "significance.npy"), z["significance"])
        meta = z["meta"].tobytes().decode("utf8")
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf8") as f:  # last, like gemxrf dataset
        f.write(meta)
    load_dataset(out_dir)  # fails loudly if the result does not read back


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=["pack", "unpack"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    (pack if a.action == "pack" else unpack)(a.data, a.out)
    print(f"{a.action}ed {a.data} -> {a.out}")


if __name__ == "__main__":
    main()
