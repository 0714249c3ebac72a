"""Dataset reader for directories written by `gemxrf dataset`, plus batching and count augmentation.

A dataset directory holds spectra.npy (float32 N x C raw counts), fractions.npy (float32 N x E),
presence.npy (uint8 N x E), meta.json (energyGrid, elements, seed, n, generator parameters) and, from newer
`gemxrf dataset` versions, significance.npy (float32 N x E: each present element's detection significance z in
sigma for an ideal observer, 0 where absent; optional: only --presence-target detectable needs it).
The arrays are memory-mapped so datasets larger than RAM can be read batch by batch. Several directories
(e.g. the shards training/device/run.sh writes in parallel) read as one dataset without being copied into one
file: load_data("DIR1,DIR2,...").
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
    spectra: np.ndarray  # N x C raw counts (memory-mapped; a ConcatArray for several directories)
    fractions: np.ndarray  # N x E
    presence: np.ndarray  # N x E
    meta: dict
    parts: list["Dataset"] | None = None  # the directories it is made of, in row order (None: one directory)
    significance: np.ndarray | None = None  # N x E detection significance z; None if a directory lacks the file

    def require_significance(self, why: str) -> None:
        """Fails with the directories that lack significance.npy (datasets from an older gemxrf dataset)."""
        if self.significance is not None:
            return
        missing = [p.path for p in (self.parts or [self]) if p.significance is None]
        raise FileNotFoundError(f"{why} needs {SIGNIFICANCE_FILE}, which is missing in: {', '.join(missing)} "
                                f"(written by an older gemxrf dataset: generate the set again)")

    @property
    def part_sizes(self) -> list[int]:
        return [p.n for p in self.parts] if self.parts else [self.n]

    def part_records(self, rows: np.ndarray | None = None) -> list[dict]:
        """Per directory: its generator seed, shift and how many of `rows` (default: all) come from it."""
        bounds = np.cumsum([0] + self.part_sizes)
        counts = self.part_sizes if rows is None else np.diff(np.searchsorted(np.sort(rows), bounds)).tolist()
        return [{"seed": p.meta.get("seed"), "n": int(k), "shift": p.meta.get("shift", "nominal")}
                for p, k in zip(self.parts or [self], counts)]

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


SIGNIFICANCE_FILE = "significance.npy"
# The classical detection limit: a present element whose ideal-observer significance is below it cannot be
# told from noise by any method, so the `detectable` presence target and the masked F1 leave it out.
DETECTION_LIMIT_SIGMA = 3


def detectable_labels(presence, significance, keep_share=None, limit: float = DETECTION_LIMIT_SIGMA):
    """Presence above the detection limit: presence & (z * sqrt(keep_share) >= limit).

    z scales with sqrt(exposure), and binomial thinning that keeps a share p of the counts is the same sample
    at p times the exposure, so a thinned row's significance is z * sqrt(p). Works on numpy arrays and torch
    tensors alike; keep_share is one value per row (N or N x 1) or None (not thinned).
    """
    z = significance
    if keep_share is not None:
        k = keep_share.reshape(-1, 1)
        z = z * (k.sqrt() if isinstance(k, torch.Tensor) else np.sqrt(k))
    above = z >= limit
    if isinstance(presence, torch.Tensor):
        return (presence > 0) & above
    return (np.asarray(presence) > 0) & above


def below_limit(presence, significance, limit: float = DETECTION_LIMIT_SIGMA) -> np.ndarray:
    """Present labels below the detection limit: the entries the masked F1 leaves out (as gemxrf eval)."""
    return (np.asarray(presence) > 0) & (np.asarray(significance) < limit)


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
    significance = None
    sig_path = os.path.join(path, SIGNIFICANCE_FILE)
    if os.path.exists(sig_path):  # optional: older datasets lack it, and only the detectable target needs it
        significance = np.load(sig_path, mmap_mode=mode)
        if significance.shape != (n, e):
            raise ValueError(f"{path}: {SIGNIFICANCE_FILE} has shape {significance.shape}, expected {(n, e)}")
    return Dataset(path, spectra, fractions, presence, meta, significance=significance)


class ConcatArray:
    """Rows of several arrays (memory maps) indexed as one N x ... array, without copying them together.

    Supports what the training code does with dataset arrays: `a[int_index_array]` (any order; sorted is
    fastest on memory maps), `a[slice]`, len(), shape, dtype, np.asarray(a) (reads everything).
    """

    def __init__(self, parts: list[np.ndarray]):
        if not parts:
            raise ValueError("ConcatArray needs at least one array")
        tails = {p.shape[1:] for p in parts}
        dtypes = {p.dtype for p in parts}
        if len(tails) != 1 or len(dtypes) != 1:
            raise ValueError(f"arrays to concatenate differ: shapes {sorted(tails)}, dtypes {sorted(map(str, dtypes))}")
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.shape = (int(self.offsets[-1]),) + parts[0].shape[1:]
        self.dtype = parts[0].dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        out = self[np.arange(len(self))]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getitem__(self, rows):
        if isinstance(rows, slice):
            rows = np.arange(len(self))[rows]
        rows = np.asarray(rows)
        if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
            raise TypeError("ConcatArray supports 1-D integer row indices and slices only")
        if len(rows) and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"row index out of range for {len(self)} rows")
        out = np.empty((len(rows),) + self.shape[1:], dtype=self.dtype)
        if len(rows) > 1 and np.all(rows[1:] >= rows[:-1]):
            # sorted (what Batches reads): each part is one contiguous run of the index array
            cuts = np.searchsorted(rows, self.offsets)
            for k, part in enumerate(self.parts):
                a, b = cuts[k], cuts[k + 1]
                if b > a:
                    out[a:b] = part[rows[a:b] - self.offsets[k]]
        else:
            which = np.searchsorted(self.offsets, rows, side="right") - 1
            for k in np.unique(which):
                sel = which == k
                out[sel] = self.parts[k][rows[sel] - self.offsets[k]]
        return out


def load_data(spec: str | list[str]) -> Dataset:
    """One dataset from a directory, or from several given as a list or a comma-separated string.

    Several directories must share the energy grid and element list; rows are read in the order given.
    The combined meta is the first directory's, with n = the total, `seed`/`shift` of the first part, and
    `parts` / `seeds` listing every directory (like training/pack_gz.py merge wrote for the shipped models).
    """
    paths = [p for p in (spec.split(",") if isinstance(spec, str) else spec) if p]
    if not paths:
        raise ValueError("no dataset directory given")
    if len(paths) == 1:
        return load_dataset(paths[0])
    parts = [load_dataset(p) for p in paths]
    for p in parts[1:]:
        check_compatible(parts[0], p)
    meta = dict(parts[0].meta)
    meta["n"] = sum(p.n for p in parts)
    meta["parts"] = [{"seed": p.meta.get("seed"), "n": p.n, "shift": p.meta.get("shift", "nominal")} for p in parts]
    meta["seeds"] = [p.meta.get("seed") for p in parts]
    shifts = list(dict.fromkeys(x["shift"] for x in meta["parts"]))
    if len(shifts) > 1:  # the first part's nuisance ranges alone would misstate a mixed set
        meta["nuisanceByShift"] = {sh: next(p.meta.get("nuisance") for p in parts if p.meta.get("shift", "nominal") == sh)
                                   for sh in shifts}
    # significance only if every directory has it (a partial column would silently mislabel rows)
    significance = ConcatArray([p.significance for p in parts]) if all(p.significance is not None for p in parts) else None
    return Dataset(",".join(paths), ConcatArray([p.spectra for p in parts]), ConcatArray([p.fractions for p in parts]),
                   ConcatArray([p.presence for p in parts]), meta, parts, significance)


def check_compatible(a: Dataset, b: Dataset) -> None:
    """Train/val/test sets must share the energy grid and element order, or metrics mean nothing."""
    if a.energy_grid != b.energy_grid or a.elements != b.elements:
        raise ValueError(f"datasets {a.path} and {b.path} differ in energy grid or element list")


def split_indices(n: int, fractions: list[float], seed: int, block: int = 1, parts: list[int] | None = None) -> list[np.ndarray]:
    """Random disjoint index sets: one per entry of `fractions`, the remainder first (the training set).

    Splits whole blocks of `block` consecutive spectra: gemxrf dataset draws detector/background conditions
    once per block (meta.json blockSize), so a row-wise split would put siblings of training spectra into
    validation and flatter its scores. `parts`: sizes of concatenated directories (sum n); blocks restart at
    each directory, so a block never spans two of them.
    """
    block = max(1, int(block))
    parts = [n] if parts is None else [int(p) for p in parts]
    if sum(parts) != n:
        raise ValueError(f"part sizes {parts} do not add up to {n}")
    # first row and length of every block, directory by directory
    starts = np.concatenate([off + np.arange(0, size, block) for off, size in zip(np.cumsum([0] + parts[:-1]), parts)])
    ends = np.concatenate([np.minimum(np.arange(0, size, block) + block, size) + off
                           for off, size in zip(np.cumsum([0] + parts[:-1]), parts)])
    n_blocks = len(starts)
    perm = np.random.default_rng(seed).permutation(n_blocks)
    sizes = [int(round(f * n_blocks)) for f in fractions]
    if sum(sizes) >= n_blocks:
        raise ValueError(f"split fractions {fractions} leave no training data out of {n_blocks} blocks of {block}")
    if any(f > 0 and s == 0 for f, s in zip(fractions, sizes)):
        raise ValueError(f"{n_blocks} blocks of {block} spectra are too few to split off {fractions}")

    def rows(blocks):
        b = np.sort(blocks)
        r = (starts[b][:, None] + np.arange(block)[None, :]).ravel()
        return r[r < np.repeat(ends[b], block)]

    out, start = [rows(perm[:n_blocks - sum(sizes)])], n_blocks - sum(sizes)
    for s in sizes:
        out.append(rows(perm[start:start + s]))
        start += s
    return out


def with_background(fractions: torch.Tensor) -> torch.Tensor:
    """Appends the 'background/other' share 1 - sum(fractions), so targets are a distribution over E + 1."""
    bg = (1.0 - fractions.sum(dim=1, keepdim=True)).clamp_min(0.0)
    return torch.cat([fractions, bg], dim=1)


def thin_counts(spectra: torch.Tensor, prob: float, min_total: float, generator: torch.Generator | None = None,
                return_keep: bool = False):
    """Binomial thinning: keeps each count with probability p, p drawn so log10(total) is uniform down to min_total.

    For Poisson spectra, binomial thinning gives exactly a Poisson spectrum of the same shape at a lower
    exposure, so the fraction targets stay valid; it teaches the low-count regime of a scan's first seconds.
    Applied to a random subset (`prob`) of the batch; other rows are returned unchanged.
    return_keep: also return each row's keep probability p (shape B; 1 for rows not thinned), the share of the
    exposure the row now stands for (what the detectable presence label scales the significance by).
    """
    if prob <= 0:
        return (spectra, torch.ones(spectra.shape[0], device=spectra.device)) if return_keep else spectra
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
    out = torch.where(keep < 1.0, thinned, spectra)
    return (out, keep.squeeze(1)) if return_keep else out


def preload_limit(device: torch.device, gpu_fraction: float = 0.3, host_bytes: int = 2 << 30) -> int:
    """Bytes an index set may take to be copied to `device` once rather than read batch by batch.

    On a GPU: `gpu_fraction` of the memory free now (several trainings sharing one card each see the card
    before the others have loaded, so keep fraction x runs well under 1). On the CPU: `host_bytes`.
    """
    if device.type == "cuda":
        # mem_get_info wants an index: torch 1.13 refuses a bare torch.device("cuda")
        index = device.index if device.index is not None else torch.cuda.current_device()
        free, _ = torch.cuda.mem_get_info(index)
        return int(free * gpu_fraction)
    return int(host_bytes)


class Batches:
    """Iterates (spectra, fractions, presence) batches of one index set as float tensors on `device`;
    with significance=True, (spectra, fractions, presence, significance) (the dataset must have the file).

    Sets up to `preload_bytes` (default: preload_limit(device)) are copied to the device once, in chunks
    (fast GPU epochs; host memory peaks at one chunk, not the whole set); larger sets are gathered from the
    memory maps per batch, so a dataset never has to fit in memory.
    """

    CHUNK = 1 << 18  # rows per host->device copy while preloading

    def __init__(self, ds: Dataset, indices: np.ndarray, batch_size: int, device: torch.device,
                 shuffle: bool, seed: int = 0, preload_bytes: int | None = None, significance: bool = False):
        self.ds, self.indices, self.batch_size, self.device, self.shuffle = ds, np.asarray(indices), batch_size, device, shuffle
        self.rng = np.random.default_rng(seed)
        # opt-in, so every `for x, f, p in batches` written before significance existed keeps working
        self.with_significance = significance
        if significance:
            ds.require_significance("reading significance batches")
        self.arrays = [(ds.spectra, np.float32), (ds.fractions, np.float32), (ds.presence, np.float32)]
        if significance:
            self.arrays.append((ds.significance, np.float32))
        self.nbytes = len(self.indices) * (ds.channels + (len(self.arrays) - 1) * len(ds.elements)) * 4
        limit = preload_limit(device) if preload_bytes is None else preload_bytes
        self.preloaded = self.nbytes <= limit
        if self.preloaded:
            self.tensors = self._preload()

    def __len__(self) -> int:
        return (len(self.indices) + self.batch_size - 1) // self.batch_size

    def _preload(self):
        n = len(self.indices)
        out = [torch.empty((n, a.shape[1]), dtype=torch.float32, device=self.device) for a, _ in self.arrays]
        for start in range(0, n, self.CHUNK):
            part = self._gather(self.indices[start:start + self.CHUNK])
            for dst, src in zip(out, part):
                dst[start:start + len(src)].copy_(src)
        return tuple(out)

    def _gather(self, idx: np.ndarray):
        """Rows idx in the order given; read in sorted order, which is much faster on a memory map."""
        order = np.argsort(idx, kind="stable")
        rows = idx[order]
        back = np.empty_like(order)
        back[order] = np.arange(len(order))

        def read(a, dtype):
            return torch.from_numpy(np.asarray(a[rows]).astype(dtype, copy=False)[back])

        return tuple(read(a, dtype).to(self.device) for a, dtype in self.arrays)

    def __iter__(self):
        n = len(self.indices)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            sel = order[start:start + self.batch_size]
            if self.preloaded:
                t = torch.from_numpy(sel).to(self.device)
                yield tuple(a.index_select(0, t) for a in self.tensors)
            else:
                yield self._gather(self.indices[sel])
