// Energy calibration from a scan of one known line (`gemxrf calibrate`).
//
// Peak position: iterative background-subtracted centroid in a window of +-1 FWHM (FWHM from the
// resolution model at the line's energy, scaled to ADC by the current estimate), the background a
// straight line through the window's two outermost bins on each side. The same routine is run on the
// physics model of the element's response, which gives the energy at which the GEM records the peak:
// a GEM cannot separate Cu Ka from Kb, so the blended peak sits above Ka, and calibrating against the
// model's centroid instead of the Ka energy removes that bias.
// Gain and offset: E = gain * adc + offset. One line fixes one point, so offset is 0 and
// gain = E_peak / peak_adc (an ADC pedestal, if any, then shows up as a gain error at other energies:
// calibrate with a line near the energies that matter).
// Gain map: the same centroid per block of pixels (starting from the whole detector's peak); a block's
// relative gain is its peak over the whole detector's peak (recorded adc = true adc x gain, the
// definition pipelines/calibration reads), blocks without enough counts take the mean of their valid
// neighbours, and pixels get the bilinear interpolation between block centres (GEM gain varies smoothly;
// linear extrapolation in the outer half block).
import { DEFAULT_DETECTOR, canonicalSymbol, elementResponse, fwhmKeV, type DetectorParams } from '../../physics/index.js';
import { mainLineGroups } from './lines.js';
import type { AdcHistograms } from './adc-histograms.js';

export interface CalibrationLine {
  label: string;
  /** Energy of the named line (group centroid), or the number given. */
  lineKeV: number;
  /** Where the GEM's peak for it lies (model centroid, see top); equals lineKeV for a bare number. */
  peakKeV: number;
}

export interface PeakEstimate {
  /** Continuous bin coordinate: bin i spans [i, i + 1). */
  position: number;
  /** Net (background-subtracted) counts in the window. */
  net: number;
  /** Gaussian sigma from a log-parabola through the bins above half maximum (bins), NaN if undetermined. */
  sigma: number;
}

/** Iterative background-subtracted centroid (see top) over exactly [pos - halfWidth, pos + halfWidth]
 *  (edge bins weighted by their overlap, so the window is symmetric about the estimate); the background
 *  line joins the 3-bin-smoothed histogram's values at the two window edges. Null when the window
 *  holds no net counts. */
export function refinePeak(hist: ArrayLike<number>, start: number, halfWidth: number, iterations = 50): PeakEstimate | null {
  const n = hist.length;
  // 3-bin mean around bin i, clamped at the ends.
  const smooth = (i: number) => {
    const a = Math.max(0, i - 1);
    const b = Math.min(n - 1, i + 1);
    let s = 0;
    for (let j = a; j <= b; j++) s += hist[j]!;
    return s / (b - a + 1);
  };
  // Linear interpolation between bin centres (bin i's centre is i + 0.5).
  const valueAt = (x: number) => {
    const t = Math.min(n - 1, Math.max(0, x - 0.5));
    const i = Math.min(n - 2, Math.floor(t));
    const f = t - i;
    return smooth(i) * (1 - f) + smooth(i + 1) * f;
  };
  let pos = start;
  let net = 0;
  for (let it = 0; it < iterations; it++) {
    const a = Math.max(0, pos - halfWidth);
    const b = Math.min(n, pos + halfWidth);
    if (b - a < 4) return null;
    const ya = valueAt(a);
    const yb = valueAt(b);
    let s = 0;
    let sx = 0;
    for (let i = Math.floor(a); i < Math.ceil(b); i++) {
      const overlap = Math.min(i + 1, b) - Math.max(i, a);
      if (overlap <= 0) continue;
      const x = i + 0.5;
      const v = (hist[i]! - (ya + ((yb - ya) * (x - a)) / (b - a))) * overlap;
      if (v <= 0) continue;
      s += v;
      sx += v * x;
    }
    if (!(s > 0)) return null;
    const next = sx / s;
    net = s;
    const moved = Math.abs(next - pos);
    pos = next;
    if (moved < 1e-5 * halfWidth) break;
  }
  return { position: pos, net, sigma: logParabolaSigma(hist, pos) };
}

/** Gaussian sigma from a weighted parabola fit to ln(counts) over the bins above half the peak. */
function logParabolaSigma(hist: ArrayLike<number>, pos: number): number {
  const c = Math.min(hist.length - 1, Math.max(0, Math.floor(pos)));
  const top = hist[c]!;
  if (!(top > 0)) return NaN;
  let lo = c;
  let hi = c;
  while (lo > 0 && hist[lo - 1]! > top / 2) lo--;
  while (hi < hist.length - 1 && hist[hi + 1]! > top / 2) hi++;
  if (hi - lo < 2) return NaN;
  // Weighted least squares of ln y = a + b t + c t^2 (t = x - pos), weights y (var of ln y ~ 1/y).
  const S = new Float64Array(5);
  const T = new Float64Array(3);
  for (let i = lo; i <= hi; i++) {
    const y = hist[i]!;
    if (!(y > 0)) continue;
    const t = i + 0.5 - pos;
    const ly = Math.log(y);
    let tp = 1;
    for (let p = 0; p < 5; p++) {
      S[p]! += y * tp;
      if (p < 3) T[p]! += y * tp * ly;
      tp *= t;
    }
  }
  // Solve the 3x3 normal equations [S0 S1 S2; S1 S2 S3; S2 S3 S4] [a b c]' = T by Cramer's rule.
  const det3 = (m: number[]) => m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
  const M = [S[0]!, S[1]!, S[2]!, S[1]!, S[2]!, S[3]!, S[2]!, S[3]!, S[4]!];
  const d = det3(M);
  if (!(Math.abs(d) > 0)) return NaN;
  const Mc = [S[0]!, S[1]!, T[0]!, S[1]!, S[2]!, T[1]!, S[2]!, S[3]!, T[2]!];
  const cc = det3(Mc) / d;
  return cc < 0 ? Math.sqrt(-1 / (2 * cc)) : NaN;
}

/** The strongest bin of a lightly smoothed histogram (3-bin box on a copy rebinned to <= 1024 bins),
 *  ignoring bins below minBin (threshold noise); returns the bin's centre coordinate. */
export function strongestPeak(hist: ArrayLike<number>, minBin = 0): number {
  const factor = Math.max(1, Math.ceil(hist.length / 1024));
  const n = Math.ceil(hist.length / factor);
  const coarse = new Float64Array(n);
  for (let i = 0; i < hist.length; i++) coarse[(i / factor) | 0]! += hist[i]!;
  let best = -1;
  let bestVal = -Infinity;
  for (let i = Math.max(1, Math.ceil(minBin / factor)); i < n - 1; i++) {
    const v = coarse[i - 1]! + coarse[i]! + coarse[i + 1]!;
    if (v > bestVal) {
      bestVal = v;
      best = i;
    }
  }
  if (best < 0 || !(bestVal > 0)) throw new Error('no peak: the histogram is empty');
  return (best + 0.5) * factor;
}

/** "Cu-Ka", "Cu Ka", "CuKa", "Mn-Kb", "Pb-La", "Pb-Lb" or an energy in keV ("5.9"). */
export function parseCalibrationLine(text: string, det: DetectorParams = DEFAULT_DETECTOR): CalibrationLine {
  const t = text.trim();
  const value = Number(t);
  if (t !== '' && Number.isFinite(value)) {
    if (!(value > 0.5 && value < 100)) throw new Error(`line energy must be between 0.5 and 100 keV, got ${value}`);
    return { label: `${value} keV`, lineKeV: value, peakKeV: value };
  }
  const m = /^([A-Za-z]{1,2}?)[-\s_]?([KLM])(a|b|α|β)?$/i.exec(t);
  if (!m) throw new Error(`cannot parse line '${text}': expected e.g. Cu-Ka, Mn-Ka, Pb-La or an energy in keV`);
  let symbol: string;
  try {
    symbol = canonicalSymbol(m[1]!);
  } catch {
    throw new Error(`unknown element '${m[1]}' in line '${text}'`);
  }
  const family = m[2]!.toUpperCase() as 'K' | 'L' | 'M';
  const sub = (m[3] ?? 'a').toLowerCase() === 'b' || m[3] === 'β' ? 'b' : 'a';
  // A grid wide enough for any line of the element; groups of the requested family only.
  const wide = { channels: 4000, eMinKeV: 0, eMaxKeV: 100 };
  const groups = mainLineGroups(symbol, wide, { ...det, lowCutoffKeV: 0 }, { minRelative: 0, family });
  const group = groups.find((g) => g.names.some((n) => n.startsWith(`${family}${sub}`)));
  if (!group) throw new Error(`${symbol} has no ${family}${sub} line`);
  const label = `${symbol}-${family}${sub}`;
  const lineKeV = group.centroidKeV;
  // The model response on a 10 eV grid and the same centroid as the data get.
  const top = Math.max(2 * lineKeV, lineKeV + 5);
  const grid = { channels: Math.ceil(top / 0.01), eMinKeV: 0, eMaxKeV: Math.ceil(top / 0.01) * 0.01 };
  const response = elementResponse(grid, symbol, det);
  const est = refinePeak(response, lineKeV / 0.01, fwhmKeV(lineKeV, det) / 0.01);
  const peakKeV = est ? est.position * 0.01 : lineKeV;
  return { label, lineKeV, peakKeV };
}

export interface LineCalibration {
  line: CalibrationLine;
  /** Peak position in the whole detector's ADC histogram (continuous ADC coordinate). */
  peakAdc: number;
  gainKeVPerAdc: number;
  offsetKeV: number;
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
  /** FWHM fraction at 5.9 keV estimated from the median block peak width (NaN if undetermined). */
  resolutionEstimate: number;
}

export interface LineCalibrationOptions {
  detector?: DetectorParams;
  /** A block needs this many net counts in its peak to get its own gain (default 200). */
  minCounts?: number;
  /** Ignore ADC bins below this (threshold noise) when looking for the peak (default 2% of the range). */
  minAdc?: number;
}

export function calibrateFromHistograms(h: AdcHistograms, line: CalibrationLine, opts: LineCalibrationOptions = {}): LineCalibration {
  const det = opts.detector ?? DEFAULT_DETECTOR;
  const minCounts = opts.minCounts ?? 200;
  const relFwhm = fwhmKeV(line.peakKeV, det) / line.peakKeV;

  // Whole detector: strongest peak, then the centroid (twice: the first pass fixes the window's scale).
  let peak = strongestPeak(h.sum, opts.minAdc ?? 0.02 * h.bins);
  let whole: PeakEstimate | null = null;
  for (let pass = 0; pass < 2; pass++) {
    whole = refinePeak(h.sum, peak, relFwhm * peak);
    if (!whole) throw new Error('no peak found in the ADC histogram');
    peak = whole.position;
  }
  const gainKeVPerAdc = line.peakKeV / peak;

  // Blocks: start at the whole detector's peak.
  const nb = h.blocksX * h.blocksY;
  const blockGain = new Float64Array(nb).fill(NaN);
  const sigmas: number[] = [];
  for (let b = 0; b < nb; b++) {
    const hist = h.blocks.subarray(b * h.bins, (b + 1) * h.bins);
    let pos = peak;
    let est: PeakEstimate | null = null;
    for (let pass = 0; pass < 2 && pos > 0; pass++) {
      est = refinePeak(hist, pos, relFwhm * pos);
      if (!est) break;
      pos = est.position;
    }
    if (!est || est.net < minCounts || !(Math.abs(pos / peak - 1) < 0.5)) continue;
    blockGain[b] = pos / peak;
    if (Number.isFinite(est.sigma)) sigmas.push((est.sigma / pos) * line.peakKeV);
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
  // The model peak's own width (Ka/Kb blend) at resolution r scales with r: compare the two.
  const resolutionEstimate = (sigmaKeV / modelSigmaKeV(line, det)) * det.resolution;
  return {
    line, peakAdc: peak, gainKeVPerAdc, offsetKeV: 0, gainMap, width: h.width, height: h.height, blockSize: h.blockSize,
    blocks: nb, validBlocks, gainMin, gainMax, resolutionEstimate,
  };
}

/** Sigma (keV) of the model peak by the same log-parabola; a pure Gaussian for a bare energy. */
function modelSigmaKeV(line: CalibrationLine, det: DetectorParams): number {
  const pure = fwhmKeV(line.peakKeV, det) / 2.3548;
  const m = /^([A-Za-z]+)-/.exec(line.label);
  if (!m) return pure;
  const top = Math.max(2 * line.lineKeV, line.lineKeV + 5);
  const grid = { channels: Math.ceil(top / 0.01), eMinKeV: 0, eMaxKeV: Math.ceil(top / 0.01) * 0.01 };
  const est = refinePeak(elementResponse(grid, m[1]!, det), line.peakKeV / 0.01, fwhmKeV(line.peakKeV, det) / 0.01);
  return est && Number.isFinite(est.sigma) ? est.sigma * 0.01 : pure;
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
