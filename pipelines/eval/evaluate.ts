// Held-out evaluation of element-fraction / presence predictors on synthetic spectra: the neural models
// (ONNX) and the classical baselines (fit, roi) scored on the same spectra with the same metrics.
import { belowDetectionLimit, idealObserverF1 } from './ideal-observer.js';
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
  /** Macro-F1 with present elements below the 3-sigma detection limit left out (sets with significance). */
  f1Detectable?: number;
  /** R² and macro-F1 by the spectrum's total counts (exposure), low to high. */
  byCounts: CountBand[];
  perElement: Array<{ element: string; r2: number; mae: number; f1: number; auc: number; f1Detectable?: number }>;
}

export interface CountBand {
  minCounts: number;
  maxCounts: number;
  n: number;
  r2: number;
  f1: number;
}

/** Exposure bands of byCounts: the first seconds of a scan, a typical pixel, a long dwell. */
export const COUNT_BANDS: ReadonlyArray<readonly [number, number]> = [
  [0, 1e3],
  [1e3, 1e4],
  [1e4, Infinity],
];

/** The ideal observer's expected macro-F1 (pipelines/eval/ideal-observer.ts) on a test set. */
export interface DetectionBounds {
  /** Detection limit in sigma used for the "detectable" figures. */
  limit: number;
  /** Share of present (element, spectrum) labels below the detection limit. */
  belowLimitShare: number;
  idealObserverF1: number;
  idealObserverF1Detectable: number;
}

export interface TestSet {
  n: number;
  elements: readonly string[];
  channels: number;
  spectra: Float32Array;
  fractions: Float32Array;
  presence: Uint8Array;
  /** n × E detection significance (simulator/dataset), when known. */
  significance?: Float32Array;
}

export const DETECTION_LIMIT_SIGMA = 3;

/** Scores predictions against the test set's truth (both n × E in the test set's element order). */
export function score(method: string, set: TestSet, pred: Predictions, seconds: number): MethodResult {
  const { n, elements } = set;
  const E = elements.length;
  const r2 = r2Score(set.fractions, pred.fractions, n, E);
  const mae = meanAbsoluteError(set.fractions, pred.fractions, n, E);
  const f1 = f1Score(set.presence, pred.scores, n, E, pred.threshold);
  const auc = rocAuc(set.presence, pred.scores, n, E);
  const detectable = set.significance
    ? f1Score(set.presence, pred.scores, n, E, pred.threshold, belowDetectionLimit(set.presence, set.significance, DETECTION_LIMIT_SIGMA))
    : undefined;
  return {
    method,
    r2: r2.average,
    mae: mae.average,
    f1: f1.macro,
    auc: auc.macro,
    threshold: pred.threshold,
    spectraPerSecond: seconds > 0 ? n / seconds : Infinity,
    ...(detectable ? { f1Detectable: detectable.macro } : {}),
    byCounts: byCounts(set, pred),
    perElement: elements.map((element, e) => ({
      element,
      r2: r2.perColumn[e]!,
      mae: mae.perColumn[e]!,
      f1: f1.perColumn[e]!,
      auc: auc.perColumn[e]!,
      ...(detectable ? { f1Detectable: detectable.perColumn[e]! } : {}),
    })),
  };
}

function byCounts(set: TestSet, pred: Predictions): CountBand[] {
  const { n, channels: C } = set;
  const E = set.elements.length;
  const totals = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let t = 0;
    for (let c = 0; c < C; c++) t += set.spectra[r * C + c]!;
    totals[r] = t;
  }
  return COUNT_BANDS.map(([lo, hi]) => {
    const rows: number[] = [];
    for (let r = 0; r < n; r++) if (totals[r]! >= lo && totals[r]! < hi) rows.push(r);
    const m = rows.length;
    const gather = <T extends Float32Array | Uint8Array>(src: T, out: T): T => {
      rows.forEach((r, i) => out.set(src.subarray(r * E, (r + 1) * E), i * E));
      return out;
    };
    const truth = gather(set.fractions, new Float32Array(m * E));
    const fr = gather(pred.fractions, new Float32Array(m * E));
    const pres = gather(set.presence, new Uint8Array(m * E));
    const sc = gather(pred.scores, new Float32Array(m * E));
    return {
      minCounts: lo,
      maxCounts: hi,
      n: m,
      r2: m > 1 ? r2Score(truth, fr, m, E).average : NaN,
      f1: m > 0 ? f1Score(pres, sc, m, E, pred.threshold).macro : NaN,
    };
  });
}

/** What the data allow: the ideal observer's F1 on all labels and on the detectable ones. */
export function detectionBounds(set: TestSet): DetectionBounds | undefined {
  if (!set.significance) return undefined;
  const { n, presence, significance } = set;
  const E = set.elements.length;
  const below = belowDetectionLimit(presence, significance, DETECTION_LIMIT_SIGMA);
  let positives = 0;
  let under = 0;
  for (let i = 0; i < presence.length; i++) {
    positives += presence[i]!;
    under += below[i]!;
  }
  return {
    limit: DETECTION_LIMIT_SIGMA,
    belowLimitShare: positives ? under / positives : 0,
    idealObserverF1: idealObserverF1(presence, significance, n, E).macro,
    idealObserverF1Detectable: idealObserverF1(presence, significance, n, E, below).macro,
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
