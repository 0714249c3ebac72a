// Metrics for model evaluation, with scikit-learn's semantics so figures compare with the poster's.
// All matrices are row-major n × k.

/** R² per column and the uniform average (sklearn r2_score(multioutput='uniform_average')). */
export function r2Score(yTrue: Float32Array, yPred: Float32Array, n: number, k: number): { perColumn: Float64Array; average: number } {
  const per = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += yTrue[i * k + j]!;
    mean /= n;
    let ssRes = 0;
    let ssTot = 0;
    for (let i = 0; i < n; i++) {
      const t = yTrue[i * k + j]!;
      const d = t - yPred[i * k + j]!;
      ssRes += d * d;
      ssTot += (t - mean) * (t - mean);
    }
    // sklearn: a constant true column scores 1 when predicted exactly, else 0.
    per[j] = ssTot === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / ssTot;
  }
  let avg = 0;
  for (let j = 0; j < k; j++) avg += per[j]!;
  return { perColumn: per, average: avg / k };
}

export function meanAbsoluteError(yTrue: Float32Array, yPred: Float32Array, n: number, k: number): { perColumn: Float64Array; average: number } {
  const per = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) per[j]! += Math.abs(yTrue[i * k + j]! - yPred[i * k + j]!);
  let avg = 0;
  for (let j = 0; j < k; j++) {
    per[j]! /= n;
    avg += per[j]!;
  }
  return { perColumn: per, average: avg / k };
}

/** Binary F1 per column at a threshold on the scores, and the macro average. Entries where `ignore` is
 *  non-zero count neither way (labels no method can be asked to get right, e.g. below the detection limit). */
export function f1Score(truth: Uint8Array, scores: Float32Array, n: number, k: number, threshold: number, ignore?: Uint8Array): { perColumn: Float64Array; macro: number } {
  const per = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < n; i++) {
      if (ignore && ignore[i * k + j]) continue;
      const t = truth[i * k + j]! > 0;
      const p = scores[i * k + j]! >= threshold;
      if (t && p) tp++;
      else if (p) fp++;
      else if (t) fn++;
    }
    // sklearn's zero_division=0 convention... except a column with no positives and no predictions, which is perfect.
    per[j] = tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
  }
  let macro = 0;
  for (let j = 0; j < k; j++) macro += per[j]!;
  return { perColumn: per, macro: macro / k };
}

/** Total order for scores: NaN below everything (NaNs equal), then numeric. */
function cmpNanLowest(x: number, y: number): number {
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
  if (Number.isNaN(y)) return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** ROC-AUC per column (Mann–Whitney U with midranks for ties); NaN where a column has one class only.
 *  A NaN score ranks lowest, below -Infinity, and NaN scores tie with each other. */
export function rocAuc(truth: Uint8Array, scores: Float32Array, n: number, k: number): { perColumn: Float64Array; macro: number } {
  const per = new Float64Array(k);
  const idx = new Uint32Array(n);
  const col = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < n; i++) {
      idx[i] = i;
      col[i] = scores[i * k + j]!;
    }
    // Not col[a] - col[b]: NaN (and Infinity - Infinity) would make the comparator inconsistent.
    idx.sort((a, b) => cmpNanLowest(col[a]!, col[b]!));
    let pos = 0;
    let rankSumPos = 0;
    let r = 0;
    while (r < n) {
      let e = r;
      while (e + 1 < n && cmpNanLowest(col[idx[e + 1]!]!, col[idx[r]!]!) === 0) e++;
      const midrank = (r + e) / 2 + 1;
      for (let q = r; q <= e; q++) {
        if (truth[idx[q]! * k + j]! > 0) {
          pos++;
          rankSumPos += midrank;
        }
      }
      r = e + 1;
    }
    const neg = n - pos;
    per[j] = pos === 0 || neg === 0 ? NaN : (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
  }
  let sum = 0;
  let cnt = 0;
  for (let j = 0; j < k; j++) if (!Number.isNaN(per[j]!)) {
    sum += per[j]!;
    cnt++;
  }
  return { perColumn: per, macro: cnt ? sum / cnt : NaN };
}
