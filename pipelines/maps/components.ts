// Reference spectra for the linear fit: one per element (physics elementResponse: the element as the
// GEM records it, escape peaks included, at the configured resolution) plus background components:
// the substrate continua (physics backgroundResponse per substrate), the detector's own Cu/Al lines,
// and a few smooth non-negative Bernstein polynomials over the fit range that soak up whatever
// continuum the substrate models miss. Every column sums to 1 over the whole grid, so a coefficient
// is directly that component's counts.
import {
  backgroundResponse,
  detectorLinesResponse,
  elementResponse,
  binCenters,
  DEFAULT_BACKGROUND,
  DEFAULT_DETECTOR,
  type BackgroundParams,
  type DetectorParams,
  type EnergyGrid,
} from '../../physics/index.js';

export type Substrate = BackgroundParams['substrate'];

export interface ComponentOptions {
  detector?: DetectorParams;
  /** Tube and scatter settings the substrate continua are computed with (substrate is overridden). */
  background?: BackgroundParams;
  /** Substrate continua to include (default wood, canvas, chalk). */
  substrates?: Substrate[];
  /** Include the detector's Cu/Al fluorescence (default true). */
  detectorLines?: boolean;
  /** Degree of the Bernstein polynomial continuum (degree + 1 components; default 3; -1 for none). */
  smoothDegree?: number;
  /** Energy range the fit uses (keV); default from the detector's low cutoff to the grid's top. */
  rangeKeV?: [number, number];
}

export interface FitComponents {
  grid: EnergyGrid;
  /** Component names; the first elements.length are the elements, in order. */
  names: string[];
  elements: string[];
  /** One unit-sum column per component, over the whole grid. */
  columns: Float64Array[];
  /** Fit channels [first, end). */
  firstChannel: number;
  endChannel: number;
}

/** Background columns closer than this in cosine to one already kept are dropped: collinear columns
 *  only slow the solver and make its split between them arbitrary. */
const MAX_COSINE = 0.9999;

export function buildComponents(grid: EnergyGrid, elements: readonly string[], opts: ComponentOptions = {}): FitComponents {
  const det = opts.detector ?? DEFAULT_DETECTOR;
  const bg = opts.background ?? DEFAULT_BACKGROUND;
  const [lo, hi] = opts.rangeKeV ?? [Math.max(grid.eMinKeV, det.lowCutoffKeV), grid.eMaxKeV];
  const centres = binCenters(grid);
  let firstChannel = 0;
  while (firstChannel < grid.channels && centres[firstChannel]! < lo) firstChannel++;
  let endChannel = grid.channels;
  while (endChannel > firstChannel && centres[endChannel - 1]! > hi) endChannel--;
  if (endChannel - firstChannel < 2) throw new Error(`fit range ${lo}..${hi} keV holds fewer than 2 channels`);

  const names: string[] = [];
  const columns: Float64Array[] = [];
  for (const el of elements) {
    if (names.includes(el)) throw new Error(`fit: element ${el} listed twice`);
    names.push(el);
    columns.push(elementResponse(grid, el, det));
  }
  const addBackground = (name: string, col: Float64Array) => {
    if (!isUsable(col, firstChannel, endChannel)) return;
    for (const kept of columns) if (cosine(kept, col, firstChannel, endChannel) > MAX_COSINE) return;
    names.push(name);
    columns.push(col);
  };
  for (const substrate of opts.substrates ?? (['wood', 'canvas', 'chalk'] as Substrate[])) {
    if (substrate === 'none') continue;
    addBackground(`bg:${substrate}`, backgroundResponse(grid, { ...bg, substrate }, det));
  }
  if (opts.detectorLines ?? true) addBackground('bg:detector', detectorLinesResponse(grid, det));
  const degree = opts.smoothDegree ?? 3;
  for (let k = 0; k <= degree; k++) addBackground(`bg:smooth${k}`, bernstein(grid, centres, degree, k, firstChannel, endChannel));
  return { grid, names, elements: [...elements], columns, firstChannel, endChannel };
}

/** Bernstein basis polynomial b_{k,n} over the fit range, zero outside it, scaled to unit sum. */
function bernstein(grid: EnergyGrid, centres: Float64Array, n: number, k: number, first: number, end: number): Float64Array {
  const col = new Float64Array(grid.channels);
  const a = centres[first]!;
  const span = centres[end - 1]! - a || 1;
  let binom = 1;
  for (let i = 0; i < k; i++) binom = (binom * (n - i)) / (i + 1);
  let sum = 0;
  for (let c = first; c < end; c++) {
    const t = (centres[c]! - a) / span;
    const v = binom * t ** k * (1 - t) ** (n - k);
    col[c] = v;
    sum += v;
  }
  for (let c = first; c < end; c++) col[c]! /= sum;
  return col;
}

function isUsable(col: Float64Array, first: number, end: number): boolean {
  let s = 0;
  for (let c = first; c < end; c++) s += col[c]!;
  return s > 1e-9;
}

function cosine(a: Float64Array, b: Float64Array, first: number, end: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let c = first; c < end; c++) {
    ab += a[c]! * b[c]!;
    aa += a[c]! * a[c]!;
    bb += b[c]! * b[c]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}
