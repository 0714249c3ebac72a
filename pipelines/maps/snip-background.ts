// SNIP background (statistics-sensitive non-linear iterative peak clipping; C.G. Ryan et al., NIM B 34 (1988) 396,
// in M. Morhac's increasing-window form, NIM A 401 (1997) 113) of a spectrum, as XRF software (PyMca, AXIL, GeoPIXE)
// estimates the continuum under the peaks:
//
//   v = LLS(y) = log(log(sqrt(y + 1) + 1) + 1)      compresses the dynamic range, so a peak and a weak
//                                                     continuum are clipped alike
//   for p = 1 .. halfWidth[i]:  v[i] = min(v[i], (v[i - p] + v[i + p]) / 2)   (all channels per pass)
//   background = LLS^-1(v)
//
// Each pass replaces a channel by the mean of its two neighbours w channels away when that is lower: a peak
// narrower than the window is clipped down to the line under it, a continuum that curves slowly stays. The
// window half-width follows the detector: halfWidth[i] = widthFwhm x FWHM(E_i) in channels (a GEM's FWHM grows
// from ~5 channels at 1 keV to ~24 at 20 keV on the 80 eV grid), so one setting suits every line. Each channel
// gets passes 1 .. halfWidth[i] once (repeating the widest pass, as a fixed-count loop would, erodes a curved
// continuum further at every repetition). widthFwhm 0.7 (a window 1.4 FWHM wide) left ~6 % of a noise-free wood
// continuum in the ROI windows against ~14 % at 1 FWHM and ~28 % at 1.5, and scored best on held-out synthetic
// spectra (docs/results.md, "roi background"): wider windows erode the continuum's curvature, narrower ones eat the peaks.
// Low counts: the clip keeps the lower envelope of Poisson noise, so the background of a noisy spectrum is biased
// low; the spectrum is smoothed first (moving average over +-smoothFwhm x FWHM) and the background is estimated on
// the smoothed spectrum, the net counts on the raw one. smoothFwhm 0.5 cuts what a 300-count continuum leaves
// in the windows from 79 % (unsmoothed) to 19 % (widthFwhm 0.7); more smoothing widens a strong peak into its
// neighbour's window, which then sits on a background lifted by the widened flank (Pb La next to a Cu peak six
// times stronger: 0.05 recovered of 0.1 at smoothFwhm 0.5, 0.024 at 1).
// Flattening: a GEM's record of a smooth continuum is not smooth: the argon K edge (3.2 keV) makes the gas's
// efficiency jump, and the recorded continuum has an edge-and-hump one FWHM wide, which SNIP takes for a peak and
// clips away (unflattened, 17 % of a noise-free wood continuum stayed in the windows at widthFwhm 0.7, 6 %
// flattened). The spectrum is
// therefore divided by the detector's record of a flat incident continuum (physics: window and gas efficiency,
// escape, resolution) before clipping and the background multiplied back after: SNIP clips relative to what the
// detector would record of a smooth continuum.
// Channels below the detector's low cutoff (no counts: the discriminator) are outside the range the clip sees,
// so the step at the cutoff is not taken for a peak's flank; their background is 0. Near the range's ends the
// window shrinks to what fits (the end channels are kept).
//
// A SnipBackground holds its scratch buffers: estimate() allocates nothing (one per thread, not re-entrant).
import { binWidth, fwhmKeV, DEFAULT_DETECTOR, type DetectorParams, type EnergyGrid } from '../../physics/index.js';
import { applyThreshold, coarsenSpectrum, recordPhotons } from '../../physics/recorded.js';

export interface SnipOptions {
  detector?: DetectorParams;
  /** Clipping window half-width in FWHMs of the detector at each channel's energy (default 0.7: a window 1.4
   *  FWHM wide; see docs/results.md for the measurement that chose it). */
  widthFwhm?: number;
  /** Moving-average half-width in FWHMs applied before clipping (default 0.5; 0: no smoothing). */
  smoothFwhm?: number;
  /** Clip the spectrum relative to the detector's record of a flat continuum (default true): see the header. */
  flatten?: boolean;
}

export const DEFAULT_SNIP_WIDTH_FWHM = 0.7;
export const DEFAULT_SNIP_SMOOTH_FWHM = 0.5;

export class SnipBackground {
  readonly channels: number;
  /** First channel the clip sees (at or above the detector's low cutoff). */
  readonly first: number;
  /** Clipping half-width per channel (already limited by the distance to the range's ends). */
  readonly halfWidth: Int32Array;
  /** Smoothing half-width per channel (limited likewise). */
  readonly smoothHalf: Int32Array;
  readonly maxWindow: number;
  /** flatten: the recorded flat continuum (mean 1 over the clipped range) and its inverse; null otherwise. */
  readonly shape: Float64Array | null;
  private readonly invShape: Float64Array | null;
  private readonly v: Float64Array;
  private readonly z: Float64Array;
  private readonly prefix: Float64Array;

  constructor(grid: EnergyGrid, opts: SnipOptions = {}) {
    const det = opts.detector ?? DEFAULT_DETECTOR;
    const width = opts.widthFwhm ?? DEFAULT_SNIP_WIDTH_FWHM;
    const smooth = opts.smoothFwhm ?? DEFAULT_SNIP_SMOOTH_FWHM;
    if (!(width > 0 && Number.isFinite(width))) throw new RangeError(`snip widthFwhm must be > 0, got ${width}`);
    if (!(smooth >= 0 && Number.isFinite(smooth))) throw new RangeError(`snip smoothFwhm must be >= 0, got ${smooth}`);
    const C = grid.channels;
    const w = binWidth(grid);
    this.channels = C;
    let first = Math.ceil((det.lowCutoffKeV - grid.eMinKeV) / w - 1e-9);
    first = Math.min(Math.max(first, 0), C - 1);
    this.first = first;
    this.halfWidth = new Int32Array(C);
    this.smoothHalf = new Int32Array(C);
    let maxWindow = 0;
    for (let c = first; c < C; c++) {
      const e = Math.max(grid.eMinKeV + (c + 0.5) * w, 1e-3);
      const f = fwhmKeV(e, det) / w;
      const edge = Math.min(c - first, C - 1 - c);
      const h = Math.min(Math.max(1, Math.round(width * f)), edge);
      this.halfWidth[c] = h;
      this.smoothHalf[c] = Math.min(Math.round(smooth * f), edge);
      if (h > maxWindow) maxWindow = h;
    }
    this.maxWindow = maxWindow;
    if (opts.flatten ?? true) {
      const shape = flatContinuum(grid, det);
      let mean = 0;
      for (let c = first; c < C; c++) mean += shape[c]!;
      mean /= C - first;
      let peak = 0;
      for (let c = first; c < C; c++) peak = Math.max(peak, (shape[c]! /= mean));
      // Floor (channels at the cutoff, where the threshold takes most of a channel): no division by ~0.
      const floor = MIN_SHAPE * peak;
      this.shape = shape;
      this.invShape = new Float64Array(C);
      for (let c = first; c < C; c++) {
        shape[c] = Math.max(shape[c]!, floor);
        this.invShape[c] = 1 / shape[c]!;
      }
    } else {
      this.shape = null;
      this.invShape = null;
    }
    this.v = new Float64Array(C);
    this.z = new Float64Array(C);
    this.prefix = new Float64Array(C + 1);
  }

  /** The background of `spectrum` (channels values, counts >= 0) into `out` (allocated when not given).
   *  `offset`: where the spectrum starts in `spectrum` (a pixel inside a cube's counts). Non-finite or negative
   *  counts are read as 0. Returns out; out[c] is 0 below the low cutoff. */
  estimate(spectrum: ArrayLike<number>, out: Float64Array = new Float64Array(this.channels), offset = 0): Float64Array {
    const C = this.channels;
    const first = this.first;
    const { v, z, prefix, halfWidth, smoothHalf, shape, invShape } = this;
    // Prefix sums for the moving average (channels from `first` on), of the flattened spectrum.
    prefix[first] = 0;
    for (let c = first; c < C; c++) {
      let y = spectrum[offset + c]!;
      y = y > 0 && y < Infinity ? y : 0;
      prefix[c + 1] = prefix[c]! + (invShape ? y * invShape[c]! : y);
    }
    for (let c = first; c < C; c++) {
      const s = smoothHalf[c]!;
      const y = (prefix[c + s + 1]! - prefix[c - s]!) / (2 * s + 1);
      v[c] = Math.log(Math.log(Math.sqrt(y + 1) + 1) + 1);
    }
    let a = v;
    let b = z;
    for (let p = 1; p <= this.maxWindow; p++) {
      for (let c = first; c < C; c++) {
        const x = a[c]!;
        // Each channel gets the passes 1 .. its own half-width, once each: repeating its widest pass would
        // erode a curved continuum a little more every time.
        if (p <= halfWidth[c]!) {
          const m = 0.5 * (a[c - p]! + a[c + p]!);
          b[c] = m < x ? m : x;
        } else b[c] = x;
      }
      const t = a;
      a = b;
      b = t;
    }
    for (let c = 0; c < first; c++) out[c] = 0;
    for (let c = first; c < C; c++) {
      const e = Math.exp(Math.exp(a[c]!) - 1) - 1;
      const y = (e * e - 1) * (shape ? shape[c]! : 1);
      out[c] = y > 0 ? y : 0;
    }
    return out;
  }
}

/** Floor of the flat-continuum shape, as a share of its peak. */
const MIN_SHAPE = 0.01;

/** What the detector records of a flat incident continuum (1 photon per keV from 0.5 keV to a few FWHM past the
 *  grid): window and gas efficiency (the argon K edge at 3.2 keV), escape and resolution, the low cutoff. */
function flatContinuum(grid: EnergyGrid, det: DetectorParams): Float64Array {
  const step = 0.02;
  const top = grid.eMaxKeV + 3 * fwhmKeV(grid.eMaxKeV, det);
  const energies: number[] = [];
  const weights: number[] = [];
  for (let e = 0.5 + step / 2; e < top; e += step) {
    energies.push(e);
    weights.push(step);
  }
  const out = new Float64Array(grid.channels);
  const coarse = coarsenSpectrum(energies, weights, det);
  recordPhotons(out, grid, coarse.energies, coarse.weights, det, { throughWindow: true });
  applyThreshold(out, grid, det);
  return out;
}
