// The one spectrum model shared by the simulator, the training datasets and the fit baseline.
import { canonicalSymbol } from './elements.js';
import { validateDetector, type DetectorParams } from './detector.js';
import { backgroundResponse, type BackgroundParams } from './background.js';
import { binWidth, normaliseInPlace, validateGrid, type EnergyGrid } from './grid.js';
import { detectorLinesResponse, elementResponse } from './response.js';

export interface Mixture {
  /** Count shares per element symbol (any scale, >= 0). */
  elements: Record<string, number>;
  /** Count share of the background (same scale as elements, >= 0). */
  background: number;
}

export interface Synthesized {
  /** Normalised expected spectrum (sums to 1 over the grid). */
  expected: Float64Array;
  /** Share of counts produced by each element (keys as given in the mixture). */
  fractions: Record<string, number>;
}

/** Expected spectrum of a mixture: sum over elements of fraction x elementResponse, plus the background and
 *  the detector's own lines; the non-sample shares are det.cuShare + det.alShare. With det.pileupFraction > 0
 *  that fraction of the counts is replaced by pile-up sums (self-convolution of the spectrum); `fractions`
 *  then describe the single-photon counts. */
export function synthesize(grid: EnergyGrid, mix: Mixture, det: DetectorParams, bg: BackgroundParams): Synthesized {
  validateGrid(grid);
  validateDetector(det);
  const entries = Object.entries(mix.elements);
  let total = mix.background;
  if (!(Number.isFinite(mix.background) && mix.background >= 0)) throw new Error(`mixture background must be a number >= 0, got ${mix.background}`);
  for (const [el, v] of entries) {
    canonicalSymbol(el); // throws on unknown symbols
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`mixture amount of ${el} must be a number >= 0, got ${v}`);
    total += v;
  }
  if (!(total > 0)) throw new Error('mixture is empty: give at least one element or background amount > 0');
  const detShare = det.cuShare + det.alShare;
  const scale = (1 - detShare) / total;
  const tube = { anode: bg.tubeAnode, kV: bg.tubeKV };
  const expected = new Float64Array(grid.channels);
  const fractions: Record<string, number> = {};
  const add = (r: Float64Array, w: number): void => {
    if (w === 0) return;
    for (let i = 0; i < r.length; i++) expected[i]! += w * r[i]!;
  };
  for (const [el, v] of entries) {
    fractions[el] = v * scale;
    if (v > 0) add(elementResponse(grid, el, det, tube), v * scale);
  }
  if (mix.background > 0) add(backgroundResponse(grid, bg, det), mix.background * scale);
  if (detShare > 0) add(detectorLinesResponse(grid, det), detShare);
  normaliseInPlace(expected);
  if (det.pileupFraction > 0) applyPileup(expected, grid, det.pileupFraction);
  return { expected, fractions };
}

/** Replaces `fraction` of a unit-sum spectrum by its self-convolution (two photons recorded as one, energies
 *  add); sums beyond the grid are lost, then the whole is renormalised. O(channels^2). `scratch` (length
 *  channels) avoids an allocation in loops. This is the pile-up synthesize applies. */
export function applyPileup(spec: Float64Array, grid: EnergyGrid, fraction: number, scratch: Float64Array = new Float64Array(spec.length)): void {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`pile-up fraction must be in [0, 1), got ${fraction}`);
  if (fraction === 0) return;
  const n = spec.length;
  const w = binWidth(grid);
  // centre_i + centre_j sits at centre-index u = i + j + 0.5 + eMin / w; split it linearly between the two
  // nearest channels so the sum peak is not biased by half a channel.
  const base = 0.5 + grid.eMinKeV / w;
  const k0 = Math.floor(base);
  const t = base - k0;
  const sum = scratch;
  sum.fill(0);
  for (let i = 0; i < n; i++) {
    const a = spec[i]!;
    if (a === 0) continue;
    for (let j = 0; j < n; j++) {
      const k = i + j + k0;
      if (k >= n) break;
      const v = a * spec[j]!;
      if (k >= 0) sum[k]! += (1 - t) * v;
      if (k + 1 < n && k + 1 >= 0) sum[k + 1]! += t * v;
    }
  }
  normaliseInPlace(sum);
  for (let i = 0; i < n; i++) spec[i] = (1 - fraction) * spec[i]! + fraction * sum[i]!;
  normaliseInPlace(spec);
}
