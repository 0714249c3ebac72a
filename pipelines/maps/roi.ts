// Region-of-interest maps: per element, the counts in windows around its main line groups.
//
// Windows: each main line group (see lines.ts) gets [eLow - k*FWHM, eHigh + k*FWHM] (k = halfWidthFwhm,
// default 1, FWHM from the detector's resolution model at the group's centroid). An element's windows
// are merged; a bin partly inside gets the covered share of its counts.
// Overlaps between elements (Cr/Mn/Fe are closer than one FWHM on a GEM): a channel claimed by several
// elements goes whole to the element whose nearest line group is closest in units of that group's
// sigma, so windows never double count and meet where the two peaks' Gaussians cross (for equal
// widths, halfway). Coincident lines (Pb La at 10.55 keV and As Ka at 10.54) cannot be split this way:
// the nearer one takes the channels; use the fit for such pairs. Escape peaks and Kb lines that fall
// into another element's window are counted for that element: the ROI method's known weakness.
//
// Background (option `background`, config maps.roi.background): 'snip' (the default) subtracts a SNIP estimate
// of the continuum (scatter, substrate) per pixel spectrum before the window sums (snip-background.ts: LLS
// transform, clipping window ~1 FWHM of the detector at each energy, on a lightly smoothed spectrum so low-count
// pixels are not biased low), so a window counts the peaks above the continuum, not the continuum; each
// element's net sum is clamped at 0 (counts, like the fit's non-negative amounts: a negative net is noise or a
// neighbour's over-subtracted flank, not an amount). 'none' is the old gross window sum. capture (the share of
// an element's own spectrum its window collects) is taken the same way, net of the SNIP background of the
// element's pure spectrum, so a pure element still gives fraction 1.
//
// The plan is precomputed once (sparse channel list + weights per element, the SNIP windows and its scratch
// buffers: a plan is not re-entrant, one per thread); a map is one pass over the cube's counts.
import { binWidth, elementResponse, fwhmKeV, DEFAULT_DETECTOR, type DetectorParams, type EnergyGrid } from '../../physics/index.js';
import { mainLineGroups, type LineGroup, type MainLineOptions } from './lines.js';
import { SnipBackground, type SnipOptions } from './snip-background.js';
import { checkCube, createMapSet, type MapSet, type SpectralCube } from './types.js';

export interface RoiOptions extends MainLineOptions {
  detector?: DetectorParams;
  /** Window half-width in FWHMs beyond the group's outer lines (default 1). */
  halfWidthFwhm?: number;
  /** Continuum under the windows: 'snip' (default) subtracts a SNIP background per spectrum, 'none' keeps the
   *  gross window sums. */
  background?: RoiBackground;
  /** SNIP settings (background 'snip'); the detector is the plan's. */
  snip?: Omit<SnipOptions, 'detector'>;
}

export type RoiBackground = 'none' | 'snip';
export const ROI_BACKGROUNDS: readonly RoiBackground[] = ['none', 'snip'];
export const DEFAULT_ROI_BACKGROUND: RoiBackground = 'snip';
/** The background part of RoiOptions: plain data, for a worker's workerData. */
export type RoiBackgroundOptions = Pick<RoiOptions, 'background' | 'snip'>;

/** RoiOptions' background part from the configuration's maps.roi. */
export function roiBackgroundFromConfig(c: { background: RoiBackground; snipWidthFwhm: number; snipSmoothFwhm: number }): RoiBackgroundOptions {
  return { background: c.background, snip: { widthFwhm: c.snipWidthFwhm, smoothFwhm: c.snipSmoothFwhm } };
}

/** Total counts of the pure element spectrum capture is measured on (SNIP's LLS is not scale-free). */
const CAPTURE_COUNTS = 1e4;

export interface RoiWindow {
  element: string;
  groups: LineGroup[];
  /** Channels this element owns (ascending) and the share of each channel's counts it takes (0..1]. */
  channels: Int32Array;
  weights: Float64Array;
  /** Share of the element's own spectrum (physics elementResponse) that its window collects. */
  capture: number;
}

export interface RoiPlan {
  grid: EnergyGrid;
  elements: string[];
  windows: RoiWindow[];
  background: RoiBackground;
  /** background 'snip': the estimator and its output buffer (scratch, reused by every call). */
  snip: SnipBackground | null;
  scratch: Float64Array;
  /** Every channel of any window, ascending: the only channels whose background a map reads (the SNIP
   *  estimate takes its inverse transform on these only). */
  windowChannels: Int32Array;
}

export function planRoi(grid: EnergyGrid, elements: readonly string[], opts: RoiOptions = {}): RoiPlan {
  const det = opts.detector ?? DEFAULT_DETECTOR;
  const k = opts.halfWidthFwhm ?? 1;
  const background = opts.background ?? DEFAULT_ROI_BACKGROUND;
  if (!ROI_BACKGROUNDS.includes(background)) throw new Error(`roi: background must be one of ${ROI_BACKGROUNDS.join(', ')}, got '${String(background)}'`);
  const snip = background === 'snip' ? new SnipBackground(grid, { ...opts.snip, detector: det }) : null;
  const scratch = new Float64Array(grid.channels);
  const C = grid.channels;
  const w = binWidth(grid);
  const groups = elements.map((el) => {
    const g = mainLineGroups(el, grid, det, opts);
    if (g.length === 0) throw new Error(`roi: ${el} has no line between ${grid.eMinKeV} and ${grid.eMaxKeV} keV`);
    return g;
  });

  // coverage[e][c]: share of bin c inside element e's merged windows.
  const coverage = groups.map((gs) => {
    const cov = new Float64Array(C);
    const intervals = mergeIntervals(
      gs.map((g) => [g.eLowKeV - k * fwhmKeV(g.eLowKeV, det), g.eHighKeV + k * fwhmKeV(g.eHighKeV, det)] as [number, number]),
    );
    for (const [a, b] of intervals) {
      for (let c = 0; c < C; c++) {
        const lo = grid.eMinKeV + c * w;
        const overlap = Math.min(b, lo + w) - Math.max(a, lo);
        if (overlap > 0) cov[c]! += overlap / w;
      }
    }
    return cov;
  });

  // Owner of each claimed channel: the element whose nearest group is closest in sigmas.
  const owner = new Int32Array(C).fill(-1);
  for (let c = 0; c < C; c++) {
    const centre = grid.eMinKeV + (c + 0.5) * w;
    let best = Infinity;
    for (let e = 0; e < elements.length; e++) {
      if (coverage[e]![c]! <= 0) continue;
      let d = Infinity;
      for (const g of groups[e]!) {
        const sigma = fwhmKeV(g.centroidKeV, det) / 2.3548;
        const dist = centre < g.eLowKeV ? g.eLowKeV - centre : centre > g.eHighKeV ? centre - g.eHighKeV : 0;
        d = Math.min(d, dist / sigma);
      }
      if (d < best) {
        best = d;
        owner[c] = e;
      }
    }
  }

  const windows = elements.map((element, e): RoiWindow => {
    const chans: number[] = [];
    const weights: number[] = [];
    for (let c = 0; c < C; c++) {
      if (owner[c] !== e) continue;
      chans.push(c);
      weights.push(Math.min(1, coverage[e]![c]!));
    }
    const response = elementResponse(grid, element, det);
    let capture = 0;
    if (snip) {
      const scaled = response.map((v) => v * CAPTURE_COUNTS);
      const bg = snip.estimate(scaled, scratch);
      for (let i = 0; i < chans.length; i++) capture += weights[i]! * (scaled[chans[i]!]! - bg[chans[i]!]!);
      capture = Math.max(0, capture / CAPTURE_COUNTS);
    } else for (let i = 0; i < chans.length; i++) capture += weights[i]! * response[chans[i]!]!;
    return { element, groups: groups[e]!, channels: Int32Array.from(chans), weights: Float64Array.from(weights), capture };
  });
  const windowChannels = Int32Array.from(new Set(windows.flatMap((w) => Array.from(w.channels)))).sort();
  return { grid, elements: [...elements], windows, background, snip, scratch, windowChannels };
}

/** Window counts of one spectrum, one value per plan element: net of the SNIP background (clamped at 0) with
 *  background 'snip', gross with 'none'. `offset`: where the spectrum starts in `spectrum` (a cube pixel). */
export function roiCounts<T extends { [i: number]: number } = Float64Array>(
  plan: RoiPlan,
  spectrum: ArrayLike<number>,
  out: T = new Float64Array(plan.windows.length) as unknown as T,
  offset = 0,
  outOffset = 0,
  outStride = 1,
): T {
  const E = plan.windows.length;
  if (plan.snip) {
    const bg = plan.snip.estimate(spectrum, plan.scratch, offset, plan.windowChannels);
    for (let e = 0; e < E; e++) {
      const { channels, weights } = plan.windows[e]!;
      let s = 0;
      for (let i = 0; i < channels.length; i++) {
        const c = channels[i]!;
        s += weights[i]! * (spectrum[offset + c]! - bg[c]!);
      }
      out[outOffset + e * outStride] = s > 0 ? s : 0;
    }
    return out;
  }
  for (let e = 0; e < E; e++) {
    const { channels, weights } = plan.windows[e]!;
    let s = 0;
    for (let i = 0; i < channels.length; i++) s += weights[i]! * spectrum[offset + channels[i]!]!;
    out[outOffset + e * outStride] = s;
  }
  return out;
}

/** Share of the spectrum's counts attributed to each element: window counts divided by the window's
 *  capture of the element's own spectrum (so a pure element gives ~1), over the spectrum's total;
 *  clamped to [0, 1]. With background 'none' the continuum under the window counts too: ROI overestimates. */
export function roiFractions(plan: RoiPlan, spectrum: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let c = 0; c < plan.grid.channels; c++) total += spectrum[c]!;
  const out = roiCounts(plan, spectrum);
  for (let e = 0; e < out.length; e++) {
    const cap = plan.windows[e]!.capture;
    out[e] = total > 0 && cap > 0 ? Math.min(1, Math.max(0, out[e]! / cap / total)) : 0;
  }
  return out;
}

/** ROI maps of a whole cube (window counts per pixel; net of the SNIP background with background 'snip'). */
export function roiMaps(plan: RoiPlan, cube: SpectralCube): MapSet {
  checkCube(cube, plan.grid.channels);
  const { width, height, channels: C, counts } = cube;
  const nPix = width * height;
  const set = createMapSet('roi', plan.elements, width, height);
  const data = set.data;
  const E = plan.windows.length;
  if (plan.snip) {
    for (let p = 0, off = 0; p < nPix; p++, off += C) roiCounts(plan, counts, data, off, p, nPix);
    return set;
  }
  for (let e = 0; e < E; e++) {
    const { channels, weights } = plan.windows[e]!;
    const n = channels.length;
    const base = e * nPix;
    for (let p = 0, off = 0; p < nPix; p++, off += C) {
      let s = 0;
      for (let i = 0; i < n; i++) s += weights[i]! * counts[off + channels[i]!]!;
      data[base + p] = s;
    }
  }
  return set;
}

function mergeIntervals(list: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
