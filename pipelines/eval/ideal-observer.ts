// The best presence F1 any method could expect on a test set, from each element's detection significance
// (simulator/dataset detectionSignificance: the matched-filter z of an ideal observer that knows every other
// component of the spectrum exactly). Such an observer's statistic is N(z, 1) for a present element and
// N(0, 1) for an absent one, so at a threshold t it finds a present element with probability Phi(z - t) and
// calls an absent one present with probability Q(t). Real methods also have to separate overlapping lines
// under unknown conditions, so they score below this; it shows how much of an F1 shortfall is the data's.
// (An observer that also used which elements occur together in pigments could do somewhat better.)
import { erfc } from '../../physics/special.js';

/** Upper tail of the standard normal. */
function q(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

const THRESHOLDS: readonly number[] = Array.from({ length: 161 }, (_, i) => i * 0.05);

/**
 * Expected F1 per element of the ideal observer at its best threshold (chosen per element), and the macro
 * average. `truth` and `significance` are n x k row-major; entries where `ignore` is non-zero are left out,
 * as in f1Score. Columns without positives or negatives left score 1 when nothing is predicted, as f1Score.
 */
export function idealObserverF1(truth: Uint8Array, significance: Float32Array, n: number, k: number, ignore?: Uint8Array): { perColumn: Float64Array; macro: number } {
  const per = new Float64Array(k);
  const z: number[] = [];
  for (let j = 0; j < k; j++) {
    z.length = 0;
    let negatives = 0;
    for (let i = 0; i < n; i++) {
      if (ignore && ignore[i * k + j]) continue;
      if (truth[i * k + j]) z.push(significance[i * k + j]!);
      else negatives++;
    }
    if (z.length === 0) {
      per[j] = 1; // the observer calls nothing present at a high threshold: no FP, no FN
      continue;
    }
    let best = 0;
    for (const t of THRESHOLDS) {
      let tp = 0;
      for (const v of z) tp += q(t - v);
      const fp = negatives * q(t);
      const fn = z.length - tp;
      best = Math.max(best, (2 * tp) / (2 * tp + fp + fn));
    }
    per[j] = best;
  }
  let macro = 0;
  for (let j = 0; j < k; j++) macro += per[j]!;
  return { perColumn: per, macro: macro / k };
}

/** 1 where an element is present but below `limit` sigma (the classical 3-sigma detection limit). */
export function belowDetectionLimit(truth: Uint8Array, significance: Float32Array, limit = 3): Uint8Array {
  const out = new Uint8Array(truth.length);
  for (let i = 0; i < truth.length; i++) out[i] = truth[i] && significance[i]! < limit ? 1 : 0;
  return out;
}
