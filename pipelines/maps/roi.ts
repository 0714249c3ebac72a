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
// The plan is precomputed once (sparse channel list + weights per element); a map is one pass over
// the cube's counts.
import { binWidth, elementResponse, fwhmKeV, DEFAULT_DETECTOR, type DetectorParams, type EnergyGrid } from '../../physics/index.js';
import { mainLineGroups, type LineGroup, type MainLineOptions } from './lines.js';
import { checkCube, createMapSet, type MapSet, type SpectralCube } from './types.js';

export interface RoiOptions extends MainLineOptions {
  detector?: DetectorParams;
  /** Window half-width in FWHMs beyond the group's outer lines (default 1). */
  halfWidthFwhm?: number;
}

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
}

export function planRoi(grid: EnergyGrid, elements: readonly string[], opts: RoiOptions = {}): RoiPlan {
  const det = opts.detector ?? DEFAULT_DETECTOR;
  const k = opts.halfWidthFwhm ?? 1;
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
    for (let i = 0; i < chans.length; i++) capture += weights[i]! * response[chans[i]!]!;
    return { element, groups: groups[e]!, channels: Int32Array.from(chans), weights: Float64Array.from(weights), capture };
  });
  return { grid, elements: [...elements], windows };
}

/** Window counts of one spectrum, one value per plan element. */
export function roiCounts(plan: RoiPlan, spectrum: ArrayLike<number>, out = new Float64Array(plan.windows.length)): Float64Array {
  for (let e = 0; e < plan.windows.length; e++) {
    const { channels, weights } = plan.windows[e]!;
    let s = 0;
    for (let i = 0; i < channels.length; i++) s += weights[i]! * spectrum[channels[i]!]!;
    out[e] = s;
  }
  return out;
}

/** Share of the spectrum's counts attributed to each element: window counts divided by the window's
 *  capture of the element's own spectrum (so a pure element gives ~1), over the spectrum's total;
 *  clamped to [0, 1]. Background under the window is not subtracted: ROI overestimates on busy spectra. */
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

/** ROI maps of a whole cube (window counts per pixel). */
export function roiMaps(plan: RoiPlan, cube: SpectralCube): MapSet {
  checkCube(cube, plan.grid.channels);
  const { width, height, channels: C, counts } = cube;
  const nPix = width * height;
  const set = createMapSet('roi', plan.elements, width, height);
  const data = set.data;
  const E = plan.windows.length;
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
