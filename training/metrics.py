"""Evaluation metrics in plain numpy (no scikit-learn on the training machines).

r2_uniform matches sklearn.metrics.r2_score(y, p, multioutput='uniform_average') including its
force_finite rule for constant columns; macro_f1 averages per-element F1 scores.
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


def f1_per_column(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """F1 per element. An element that is neither present nor predicted anywhere scores 1 (nothing to find,
    nothing claimed); sklearn would report 0 with a warning, which only shifts the mean by a constant."""
    t = np.asarray(truth).astype(bool)
    q = np.asarray(predicted).astype(bool)
    tp = (t & q).sum(axis=0).astype(np.float64)
    fp = (~t & q).sum(axis=0)
    fn = (t & ~q).sum(axis=0)
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 1.0)


def macro_f1(truth: np.ndarray, prob: np.ndarray, threshold: float) -> float:
    return float(f1_per_column(truth, np.asarray(prob) >= threshold).mean())


def best_threshold(truth: np.ndarray, prob: np.ndarray, grid: np.ndarray | None = None) -> tuple[float, float]:
    """The presence threshold maximising macro-F1 on (validation) data; ties go to the threshold nearest 0.5."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2) if grid is None else grid
    scores = np.array([macro_f1(truth, prob, t) for t in grid])
    best = scores.max()
    candidates = grid[scores >= best - 1e-12]
    t = float(candidates[np.argmin(np.abs(candidates - 0.5))])
    return t, float(best)


def summarise(elements: list[str], fractions: np.ndarray, pred_fractions: np.ndarray,
              presence: np.ndarray, pred_presence: np.ndarray, threshold: float) -> dict:
    """The metrics block of a model card for one data split."""
    r2 = r2_per_column(fractions, pred_fractions)
    f1 = f1_per_column(presence, pred_presence >= threshold)
    mae = np.abs(np.asarray(fractions, dtype=np.float64) - pred_fractions).mean(axis=0)
    return {
        "n": int(len(fractions)),
        "r2": float(r2.mean()),
        "macroF1": float(f1.mean()),
        "fractionMAE": float(mae.mean()),
        "perElement": {e: {"r2": float(r2[i]), "f1": float(f1[i]), "mae": float(mae[i])} for i, e in enumerate(elements)},
    }
