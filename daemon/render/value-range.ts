// Display ranges for maps: percentiles of the finite values, so one hot pixel (a cosmic, a pile-up
// cluster, a dead-strip artefact) does not wash the rest of the map out to the bottom colour.

/** The p-th percentile (0..100, linear interpolation) of the finite values; NaN when there are none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const finite = finiteSorted(values);
  return percentileOfSorted(finite, p);
}

export interface DisplayRange {
  min: number;
  max: number;
  /** Count of NaN pixels (shown in the no-data colour). */
  noData: number;
  /** True when finite values lie above max (the colorbar's top label is then a lower bound). */
  clippedHigh: boolean;
  /** True when finite values lie below min. */
  clippedLow: boolean;
}

/**
 * The default display range of a map: min = 0 (concentrations and counts are non-negative; a negative
 * minimum is kept so fit residuals stay visible), max = the `highPercentile` of the finite values.
 * Explicit `min` / `max` override either end.
 */
export function displayRange(
  values: ArrayLike<number>,
  { min, max, highPercentile = 99.5 }: { min?: number; max?: number; highPercentile?: number } = {},
): DisplayRange {
  const sorted = finiteSorted(values);
  const noData = countNaN(values);
  const dataMin = sorted.length > 0 ? sorted[0]! : 0;
  const dataMax = sorted.length > 0 ? sorted[sorted.length - 1]! : 0;
  const lo = min ?? Math.min(0, dataMin);
  let hi = max ?? percentileOfSorted(sorted, highPercentile);
  // A map that is zero except for a few pixels has a zero percentile: fall back to the true maximum so
  // those pixels still show.
  if (max === undefined && !(hi > lo)) hi = dataMax;
  if (!Number.isFinite(hi)) hi = lo;
  return { min: lo, max: hi, noData, clippedHigh: sorted.length > 0 && dataMax > hi, clippedLow: sorted.length > 0 && dataMin < lo };
}

function finiteSorted(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) out[n++] = v;
  }
  return out.subarray(0, n).sort();
}

function percentileOfSorted(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < sorted.length ? sorted[i]! + (sorted[i + 1]! - sorted[i]!) * f : sorted[i]!;
}

function countNaN(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i]!)) n++;
  return n;
}
