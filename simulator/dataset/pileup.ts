// Pile-up on a spectrum, exactly as physics/synthesize applies it (physics does not export its helper; the
// dataset test compares rows with synthesize() with pile-up on, so the two cannot drift apart unnoticed).
import { binWidth, type EnergyGrid } from '../../physics/index.js';

/** Replaces `fraction` of a unit-sum spectrum by its self-convolution (two photons recorded as one);
 *  sums beyond the grid are lost, then renormalised. O(channels^2); `scratch` avoids an allocation. */
export function applyPileup(spec: Float64Array, grid: EnergyGrid, fraction: number, scratch: Float64Array = new Float64Array(spec.length)): void {
  const n = spec.length;
  const shift = 1 + grid.eMinKeV / binWidth(grid);
  const sum = scratch;
  sum.fill(0);
  // Fast path when the shift is integral (eMin a multiple of the bin width, e.g. eMin = 0): no floor per term.
  const s0 = Math.floor(shift);
  const integral = s0 === shift;
  for (let i = 0; i < n; i++) {
    const a = spec[i]!;
    if (a === 0) continue;
    if (integral) {
      for (let j = Math.max(0, -i - s0), k = i + j + s0; k < n; j++, k++) sum[k]! += a * spec[j]!;
    } else {
      for (let j = 0; j < n; j++) {
        const k = Math.floor(i + j + shift);
        if (k >= n) break;
        if (k >= 0) sum[k]! += a * spec[j]!;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += sum[i]!;
  if (total > 0) for (let i = 0; i < n; i++) spec[i] = (1 - fraction) * spec[i]! + (fraction * sum[i]!) / total;
  let all = 0;
  for (let i = 0; i < n; i++) all += spec[i]!;
  if (all > 0) for (let i = 0; i < n; i++) spec[i]! /= all;
}
