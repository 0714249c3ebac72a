// Held-out evaluation of element-fraction / presence predictors on synthetic spectra: the neural models
// (ONNX) and the classical baselines (fit, roi) scored on the same spectra with the same metrics.
import { f1Score, meanAbsoluteError, r2Score, rocAuc } from './metrics.js';

export interface Predictions {
  /** n × E fractions (share of each spectrum's counts per element). */
  fractions: Float32Array;
  /** n × E presence scores in [0, 1] (probabilities for models, fractions for baselines). */
  scores: Float32Array;
  /** Presence decision threshold on `scores`. */
  threshold: number;
}

export interface MethodResult {
  method: string;
  r2: number;
  mae: number;
  f1: number;
  auc: number;
  threshold: number;
  spectraPerSecond: number;
  perElement: Array<{ element: string; r2: number; mae: number; f1: number; auc: number }>;
}

export interface TestSet {
  n: number;
  elements: readonly string[];
  channels: number;
  spectra: Float32Array;
  fractions: Float32Array;
  presence: Uint8Array;
}

/** Scores predictions against the test set's truth (both n × E in the test set's element order). */
export function score(method: string, set: TestSet, pred: Predictions, seconds: number): MethodResult {
  const { n, elements } = set;
  const E = elements.length;
  const r2 = r2Score(set.fractions, pred.fractions, n, E);
  const mae = meanAbsoluteError(set.fractions, pred.fractions, n, E);
  const f1 = f1Score(set.presence, pred.scores, n, E, pred.threshold);
  const auc = rocAuc(set.presence, pred.scores, n, E);
  return {
    method,
    r2: r2.average,
    mae: mae.average,
    f1: f1.macro,
    auc: auc.macro,
    threshold: pred.threshold,
    spectraPerSecond: seconds > 0 ? n / seconds : Infinity,
    perElement: elements.map((element, e) => ({ element, r2: r2.perColumn[e]!, mae: mae.perColumn[e]!, f1: f1.perColumn[e]!, auc: auc.perColumn[e]! })),
  };
}

/** The threshold on `scores` that maximises macro-F1 on a calibration set (never the test set). */
export function bestThreshold(presence: Uint8Array, scores: Float32Array, n: number, k: number, candidates: readonly number[]): number {
  let best = candidates[0]!;
  let bestF1 = -1;
  for (const t of candidates) {
    const f = f1Score(presence, scores, n, k, t).macro;
    if (f > bestF1) {
      bestF1 = f;
      best = t;
    }
  }
  return best;
}

/** Candidate thresholds for fraction-valued scores: 0.1 % .. 30 % on a log scale. */
export const FRACTION_THRESHOLDS: readonly number[] = Array.from({ length: 25 }, (_, i) => 0.001 * Math.pow(300, i / 24));
