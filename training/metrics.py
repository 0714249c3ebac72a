"""Evaluation metrics in plain numpy (no scikit-learn on the training machines).

r2_uniform matches sklearn.metrics.r2_score(y, p, multioutput='uniform_average') including its
force_finite rule for constant columns; macro_f1 averages per-element F1 scores. The F1 functions take an
optional `ignore` mask (N x E, true = leave the entry out: neither hit, miss nor false alarm), which gives the
F1 above the detection limit that `gemxrf eval` reports as `F1 (>= 3 sigma)`.
"""
from __future__ import annotations

import numpy as np


def r2_per_column(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """1 - SS_res / SS_tot per column; a constant column scores 1 if predicted exactly, else 0 (as sklearn)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    ss_res = ((y - p) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    out = np.ones(y.shape[1])
    ok = ss_tot > 0
    out[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
    out[~ok & (ss_res > 0)] = 0.0
    return out


def r2_uniform(y: np.ndarray, p: np.ndarray) -> float:
    return float(r2_per_column(y, p).mean())


def f1_per_column(truth: np.ndarray, predicted: np.ndarray, ignore: np.ndarray | None = None) -> np.ndarray:
    """F1 per element. An element that is neither present nor predicted anywhere scores 1 (nothing to find,
    nothing claimed); sklearn would report 0 with a warning, which only shifts the mean by a constant.
    Entries where `ignore` is true count neither way (as pipelines/eval/metrics.ts f1Score)."""
    t = np.asarray(truth).astype(bool)
    q = np.asarray(predicted).astype(bool)
    if ignore is not None:
        keep = ~np.asarray(ignore).astype(bool)
        t, q = t & keep, q & keep
    tp = (t & q).sum(axis=0).astype(np.float64)
    fp = (~t & q).sum(axis=0)
    fn = (t & ~q).sum(axis=0)
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 1.0)


def macro_f1(truth: np.ndarray, prob: np.ndarray, threshold: float, ignore: np.ndarray | None = None) -> float:
    return float(f1_per_column(truth, np.asarray(prob) >= threshold, ignore).mean())


def best_threshold(truth: np.ndarray, prob: np.ndarray, grid: np.ndarray | None = None,
                   ignore: np.ndarray | None = None) -> tuple[float, float]:
    """The presence threshold maximising macro-F1 (masked by `ignore` if given) on (validation) data; ties go to
    the threshold nearest 0.5."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2) if grid is None else grid
    scores = np.array([macro_f1(truth, prob, t, ignore) for t in grid])
    best = scores.max()
    candidates = grid[scores >= best - 1e-12]
    t = float(candidates[np.argmin(np.abs(candidates - 0.5))])
    return t, float(best)


def summarise(elements: list[str], fractions: np.ndarray, pred_fractions: np.ndarray,
              presence: np.ndarray, pred_presence: np.ndarray, threshold: float,
              ignore: np.ndarray | None = None) -> dict:
    """The metrics block of a model card for one data split.

    `macroF1` always scores the dataset's presence labels (in the mixture), so it compares across models and
    with gemxrf eval's macro-F1. With `ignore` (the present labels below the detection limit) the block also
    gets `macroF1Detectable` and a per-element `f1Detectable`: the same predictions with those entries left out.
    """
    r2 = r2_per_column(fractions, pred_fractions)
    f1 = f1_per_column(presence, pred_presence >= threshold)
    f1d = f1_per_column(presence, pred_presence >= threshold, ignore) if ignore is not None else None
    mae = np.abs(np.asarray(fractions, dtype=np.float64) - pred_fractions).mean(axis=0)
    out = {"n": int(len(fractions)), "r2": float(r2.mean()), "macroF1": float(f1.mean())}
    if f1d is not None:
        out["macroF1Detectable"] = float(f1d.mean())
    out["fractionMAE"] = float(mae.mean())
    out["perElement"] = {e: {"r2": float(r2[i]), "f1": float(f1[i]), "mae": float(mae[i]),
                             **({"f1Detectable": float(f1d[i])} if f1d is not None else {})}
                         for i, e in enumerate(elements)}
    return out
