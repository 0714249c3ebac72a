"""Dataset reader for directories written by `gemxrf dataset`, plus batching and count augmentation.

A dataset directory holds spectra.npy (float32 N x C raw counts), fractions.npy (float32 N x E),
presence.npy (uint8 N x E) and meta.json (energyGrid, elements, seed, n, generator parameters).
The arrays are memory-mapped so datasets larger than RAM can be read batch by batch.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Dataset:
    path: str
    spectra: np.ndarray  # N x C raw counts (memory-mapped)
    fractions: np.ndarray  # N x E
    presence: np.ndarray  # N x E
    meta: dict

    @property
    def n(self) -> int:
        return int(self.spectra.shape[0])

    @property
    def channels(self) -> int:
        return int(self.spectra.shape[1])

    @property
    def elements(self) -> list[str]:
        return list(self.meta["elements"])

    @property
    def energy_grid(self) -> dict:
        g = grid_of(self.meta)
        return {"channels": int(g["channels"]), "eMinKeV": float(g["eMinKeV"]), "eMaxKeV": float(g["eMaxKeV"])}


def grid_of(meta: dict) -> dict:
    """The energy grid block: `energyGrid` in the model contract, `grid` in gemxrf dataset's meta.json v1."""
    g = meta.get("energyGrid") or meta.get("grid")
    if not g:
        raise ValueError("meta.json has no energyGrid/grid block")
    return g


def load_dataset(path: str, mmap: bool = True) -> Dataset:
    """Opens a dataset directory and checks that its arrays agree with meta.json (fail early, not mid-epoch)."""
    with open(os.path.join(path, "meta.json"), encoding="utf8") as f:
        meta = json.load(f)
    mode = "r" if mmap else None
    spectra = np.load(os.path.join(path, "spectra.npy"), mmap_mode=mode)
    fractions = np.load(os.path.join(path, "fractions.npy"), mmap_mode=mode)
    presence = np.load(os.path.join(path, "presence.npy"), mmap_mode=mode)
    n, c = spectra.shape
    e = len(meta["elements"])
    if fractions.shape != (n, e) or presence.shape != (n, e):
        raise ValueError(f"{path}: shapes disagree: spectra {spectra.shape}, fractions {fractions.shape}, "
                         f"presence {presence.shape}, {e} elements in meta.json")
    if int(grid_of(meta)["channels"]) != c:
        raise ValueError(f"{path}: meta.json says {grid_of(meta)['channels']} channels, spectra have {c}")
    return Dataset(path, spectra, fractions, presence, meta)


def check_compatible(a: Dataset, b: Dataset) -> None:
    """Train/val/test sets must share the energy grid and element order, or metrics mean nothing."""
    if a.energy_grid != b.energy_grid or a.elements != b.elements:
        raise ValueError(f"datasets {a.path} and {b.path} differ in energy grid or element list")


def split_indices(n: int, fractions: list[float], seed: int, block: int = 1) -> list[np.ndarray]:
    """Random disjoint index sets: one per entry of `fractions`, the remainder first (the training set).

    Splits whole blocks of `block` consecutive spectra: gemxrf dataset draws detector/background conditions
    once per block (meta.json blockSize), so a row-wise split would put siblings of training spectra into
    validation and flatter its scores.
    """
    block = max(1, int(block))
    n_blocks = (n + block - 1) // block
    perm = np.random.default_rng(seed).permutation(n_blocks)
    sizes = [int(round(f * n_blocks)) for f in fractions]
    if sum(sizes) >= n_blocks:
        raise ValueError(f"split fractions {fractions} leave no training data out of {n_blocks} blocks of {block}")
    if any(f > 0 and s == 0 for f, s in zip(fractions, sizes)):
        raise ValueError(f"{n_blocks} blocks of {block} spectra are too few to split off {fractions}")

    def rows(blocks):
        r = (np.sort(blocks)[:, None] * block + np.arange(block)[None, :]).ravel()
        return r[r < n]

    out, start = [rows(perm[:n_blocks - sum(sizes)])], n_blocks - sum(sizes)
    for s in sizes:
        out.append(rows(perm[start:start + s]))
        start += s
    return out


def with_background(fractions: torch.Tensor) -> torch.Tensor:
    """Appends the 'background/other' share 1 - sum(fractions), so targets are a distribution over E + 1."""
    bg = (1.0 - fractions.sum(dim=1, keepdim=True)).clamp_min(0.0)
    return torch.cat([fractions, bg], dim=1)


def thin_counts(spectra: torch.Tensor, prob: float, min_total: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Binomial thinning: keeps each count with probability p, p drawn so log10(total) is uniform down to min_total.

    For Poisson spectra, binomial thinning gives exactly a Poisson spectrum of the same shape at a lower
    exposure, so the fraction targets stay valid; it teaches the low-count regime of a scan's first seconds.
    Applied to a random subset (`prob`) of the batch; other rows are returned unchanged.
    """
    if prob <= 0:
        return spectra
    b = spectra.shape[0]
    dev = spectra.device
    counts = spectra.round().clamp_min(0)
    total = counts.sum(dim=1, keepdim=True)
    lo = torch.log10(torch.full_like(total, float(min_total)))
    hi = torch.log10(total.clamp_min(1.0))
    u = torch.rand((b, 1), device=dev, generator=generator)
    target = torch.pow(10.0, lo + u * (hi - lo).clamp_min(0.0))
    keep = (target / total.clamp_min(1.0)).clamp(0.0, 1.0)
    chosen = torch.rand((b, 1), device=dev, generator=generator) < prob
    keep = torch.where(chosen & (total > min_total), keep, torch.ones_like(keep))
    thinned = torch.binomial(counts, keep.expand_as(counts), generator=generator)
    return torch.where(keep < 1.0, thinned, spectra)


class Batches:
    """Iterates (spectra, fractions, presence) batches of one index set as float tensors on `device`.

    Small sets are copied to the device once (fast GPU epochs); sets above `preload_bytes` are gathered
    from the memory map per batch, so a dataset never has to fit in memory.
    """

    def __init__(self, ds: Dataset, indices: np.ndarray, batch_size: int, device: torch.device,
                 shuffle: bool, seed: int = 0, preload_bytes: int = 2 << 30):
        self.ds, self.indices, self.batch_size, self.device, self.shuffle = ds, np.asarray(indices), batch_size, device, shuffle
        self.rng = np.random.default_rng(seed)
        nbytes = len(self.indices) * (ds.channels + 2 * len(ds.elements)) * 4
        self.preloaded = nbytes <= preload_bytes
        if self.preloaded:
            self.tensors = self._gather(self.indices)

    def __len__(self) -> int:
        return (len(self.indices) + self.batch_size - 1) // self.batch_size

    def _gather(self, idx: np.ndarray):
        """Rows idx in the order given; read in sorted order, which is much faster on a memory map."""
        order = np.argsort(idx, kind="stable")
        rows = idx[order]
        back = np.empty_like(order)
        back[order] = np.arange(len(order))

        def read(a, dtype):
            return torch.from_numpy(np.asarray(a[rows]).astype(dtype, copy=False)[back])

        x, f, p = read(self.ds.spectra, np.float32), read(self.ds.fractions, np.float32), read(self.ds.presence, np.float32)
        return x.to(self.device), f.to(self.device), p.to(self.device)

    def __iter__(self):
        n = len(self.indices)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            sel = order[start:start + self.batch_size]
            if self.preloaded:
                t = torch.from_numpy(sel).to(self.device)
                x, f, p = self.tensors
                yield x.index_select(0, t), f.index_select(0, t), p.index_select(0, t)
            else:
                yield self._gather(self.indices[sel])
