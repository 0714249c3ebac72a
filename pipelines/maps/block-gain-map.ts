// Per-pixel relative gain map from block peaks (`gemxrf calibrate`): the centroid of one reference line per
// block of pixels, relative to the line's true (gain-corrected) adc; blocks without enough counts take the
// mean of their valid neighbours, and pixels get the bilinear interpolation between block centres (GEM
// gain varies smoothly; linear extrapolation in the outer half block).
//
// Relative gain follows pipelines/calibration's definition: recorded adc = true adc x g(x, y), and the
// energy is E = offset + gain * a + quadratic * a^2 of the TRUE adc a = adc / g. So a block whose
// reference peak lies at recorded adc p has g = p / a_ref, where a_ref is the true adc at which the
// energy calibration puts the reference line's peak energy. With one line and offset 0 that is the whole
// detector's peak; with a fitted offset it is E^-1(E_peak) (e.g. (E_peak - offset) / gain), not the whole
// detector's peak position (which differs from it by the fit's residual for that line). Using E^-1 makes
// the reference line land exactly at E_peak in every block after correction.
import type { AdcHistograms } from './adc-histograms.js';
import { refinePeak, type PeakEstimate } from './peak-centroid.js';

export interface BlockGainMapOptions {
  /** Where each block's peak search starts: the reference peak in the whole detector's histogram (recorded adc). */
  startAdc: number;
  /** Half-width of the centroid window per recorded adc of the peak position (window = windowPerAdc x
   *  position, so it follows the block's gain). */
  windowPerAdc: number;
  /** True adc of the reference line's peak under the energy calibration (see top). */
  refTrueAdc: number;
  /** keV per recorded adc of a block x its peak position (= dE/da at a_ref x a_ref): turns a block's peak
   *  sigma into keV. */
  keVScale: number;
  /** Net counts a block's peak needs for its own gain. */
  minCounts: number;
}

export interface BlockGainMap {
  /** Relative gain per pixel (height x width, row-major). */
  gainMap: Float32Array;
  blocks: number;
  /** Blocks whose own peak was used (the rest were filled from neighbours). */
  validBlocks: number;
  gainMin: number;
  gainMax: number;
  /** Median block peak sigma (keV), NaN if no block had one. */
  sigmaKeV: number;
  /** Relative gain per block (blocksY x blocksX, row-major), missing blocks filled from neighbours. */
  blockGains: Float64Array;
}

/** What a calibration reports about its gain map (one-line and multi-line calibrations alike). */
export interface GainMapReport {
  /** Relative gain per pixel (height x width, row-major), mean ~1. */
  gainMap: Float32Array;
  width: number;
  height: number;
  blockSize: number;
  blocks: number;
  /** Blocks whose own peak was used (the rest were filled from neighbours). */
  validBlocks: number;
  gainMin: number;
  gainMax: number;
}

export function blockGainMap(h: AdcHistograms, o: BlockGainMapOptions): BlockGainMap {
  const nb = h.blocksX * h.blocksY;
  const blockGain = new Float64Array(nb).fill(NaN);
  const sigmas: number[] = [];
  for (let b = 0; b < nb; b++) {
    const hist = h.blocks.subarray(b * h.bins, (b + 1) * h.bins);
    let pos = o.startAdc;
    let est: PeakEstimate | null = null;
    for (let pass = 0; pass < 2 && pos > 0; pass++) {
      est = refinePeak(hist, pos, o.windowPerAdc * pos);
      if (!est) break;
      pos = est.position;
    }
    if (!est || est.net < o.minCounts || !(Math.abs(pos / o.startAdc - 1) < 0.5)) continue;
    blockGain[b] = pos / o.refTrueAdc;
    if (Number.isFinite(est.sigma)) sigmas.push((est.sigma / pos) * o.keVScale);
  }
  let validBlocks = 0;
  for (const g of blockGain) if (Number.isFinite(g)) validBlocks++;
  fillFromNeighbours(blockGain, h.blocksX, h.blocksY);
  const gainMap = interpolateBlocks(blockGain, h);
  let gainMin = Infinity;
  let gainMax = -Infinity;
  for (const g of gainMap) {
    gainMin = Math.min(gainMin, g);
    gainMax = Math.max(gainMax, g);
  }
  sigmas.sort((a, b) => a - b);
  const sigmaKeV = sigmas.length ? sigmas[sigmas.length >> 1]! : NaN;
  return { gainMap, blocks: nb, validBlocks, gainMin, gainMax, sigmaKeV, blockGains: blockGain };
}

/**
 * The whole detector's histogram over gain-corrected adc (recorded adc / block gain): each block's bin
 * [i, i + 1) is spread over [i / g, (i + 1) / g) in proportion to the overlap, so counts are conserved.
 * Summing blocks of different gain broadens every peak in proportion to its adc, more than the resolution
 * model's window expects; a centroid of the blend then leans to the gain distribution's mode, by an
 * amount that differs from line to line (on a +-10% map: a 0.14 keV offset error for Ti + Sr).
 */
export function gainCorrectedSum(h: AdcHistograms, blockGains: Float64Array): Float64Array {
  const out = new Float64Array(h.bins);
  for (let b = 0; b < h.blocksX * h.blocksY; b++) {
    const g = blockGains[b]!;
    if (!(g > 0)) continue;
    const base = b * h.bins;
    for (let i = 0; i < h.bins; i++) {
      const c = h.blocks[base + i]!;
      if (c === 0) continue;
      const lo = i / g;
      const hi = (i + 1) / g;
      if (lo >= h.bins) break;
      for (let j = Math.floor(lo); j < Math.min(h.bins, Math.ceil(hi)); j++) {
        const overlap = Math.min(j + 1, hi) - Math.max(j, lo);
        if (overlap > 0) out[j]! += (c * overlap) / (hi - lo);
      }
    }
  }
  return out;
}

/** Replaces NaN blocks by the mean of their valid 8-neighbours, repeatedly; all NaN -> 1. */
function fillFromNeighbours(g: Float64Array, bx: number, by: number): void {
  for (let round = 0; round < bx + by; round++) {
    const missing: number[] = [];
    for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) missing.push(i);
    if (missing.length === 0) return;
    const updates: Array<[number, number]> = [];
    for (const i of missing) {
      const x = i % bx;
      const y = (i / bx) | 0;
      let s = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= bx || yy >= by) continue;
          const v = g[yy * bx + xx]!;
          if (Number.isFinite(v)) {
            s += v;
            n++;
          }
        }
      }
      if (n > 0) updates.push([i, s / n]);
    }
    if (updates.length === 0) break;
    for (const [i, v] of updates) g[i] = v;
  }
  for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) g[i] = 1;
}

/** Bilinear interpolation of block values (at block centres) onto pixel centres. */
function interpolateBlocks(g: Float64Array, h: AdcHistograms): Float32Array {
  const { width, height, blockSize: B, blocksX, blocksY } = h;
  const out = new Float32Array(width * height);
  // Block centres along one axis (the last block may be partial).
  const centres = (n: number, size: number) => Float64Array.from({ length: n }, (_, i) => (i * B + Math.min(size, (i + 1) * B)) / 2);
  const cx = centres(blocksX, width);
  const cy = centres(blocksY, height);
  // Outside the outermost centres (the outer half block) the nearest two centres extrapolate linearly:
  // holding the value flat there would miss the gradient exactly where the gain varies most.
  const locate = (c: Float64Array, v: number): [number, number, number] => {
    if (c.length === 1) return [0, 0, 0];
    let i = 0;
    while (i < c.length - 2 && c[i + 1]! < v) i++;
    return [i, i + 1, (v - c[i]!) / (c[i + 1]! - c[i]!)];
  };
  for (let y = 0; y < height; y++) {
    const [y0, y1, fy] = locate(cy, y + 0.5);
    for (let x = 0; x < width; x++) {
      const [x0, x1, fx] = locate(cx, x + 0.5);
      const top = g[y0 * blocksX + x0]! * (1 - fx) + g[y0 * blocksX + x1]! * fx;
      const bottom = g[y1 * blocksX + x0]! * (1 - fx) + g[y1 * blocksX + x1]! * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}
