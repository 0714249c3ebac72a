// The classical baseline: per-pixel non-negative linear fit of the spectrum against reference spectra
// (components.ts), PyMca FastXRFLinearFit-style.
//
// Weights: a Poisson fit would weight channel c of pixel p by 1 / var = 1 / (expected counts). For a
// whole cube one weight vector serves all pixels, w_c = 1 / max(S_c, 1) with S the cube's sum spectrum:
// pixel p's variance is taken as S_c * N_p / N_S (its share of the sum spectrum), and since a common
// scale does not change the solution, the normal matrix G = A'WA is computed once; each pixel only
// needs b = A'Wy (one sparse pass over its non-zero channels) and a k x k NNLS (nnls.ts).
// Goodness of fit per pixel: a reduced chi-square against the fitted model m (see reducedChi2),
//   chi2_p = sum_c (y_c - m_c)^2 / max(m_c, 1) / (sum_c min(m_c, 1) - positive coefficients),
// not the shared-weight residual: a pixel whose spectrum differs from the average (a pure Pb pixel) has
// its own variance, and the shared weights would misstate it by the ratio of the two spectra.
// A single spectrum (fitSpectrum) is fitted twice: first with w = 1 / max(y, 1) (the data's own
// variance), then with w = 1 / max(m, 1) from that fit's model, which removes most of the downward bias
// that data-derived weights give at low counts.
import { checkCube, createMapSet, type MapSet, type SpectralCube } from './types.js';
import { buildComponents, type ComponentOptions, type FitComponents } from './components.js';
import { NnlsSolver } from './nnls.js';
import type { EnergyGrid } from '../../physics/index.js';

export type FitOptions = ComponentOptions;

export interface SpectrumFit {
  /** Counts attributed to each element (coefficient x the component's sum), in `elements` order. */
  netCounts: Float64Array;
  /** netCounts over the spectrum's total counts (all channels), clamped to [0, 1]. */
  fractions: Float64Array;
  /** Every component's coefficient (elements first, then background components; see `names`). */
  coefficients: Float64Array;
  /** Reduced chi-square of the final fit. */
  chi2: number;
  /** Total counts of the spectrum (all channels). */
  total: number;
}

export interface CubeFit {
  /** Net counts per element per pixel. */
  maps: MapSet;
  /** Reduced chi-square per pixel (height x width; 0 where a pixel has no counts in the fit range). */
  chi2: Float32Array;
  /** Counts given to background components per pixel. */
  background: Float32Array;
  /** Background columns each pixel was fitted with ('shared': continuum + detector lines, fewer if absent). */
  backgroundColumns: number;
}

export class LinearFitter {
  readonly components: FitComponents;
  readonly elements: string[];
  readonly names: string[];
  readonly grid: EnergyGrid;
  private readonly k: number;
  private readonly solver: NnlsSolver;
  // Scratch, reused by every fit.
  private readonly G: Float64Array;
  private readonly b: Float64Array;
  private readonly x: Float64Array;
  private readonly w: Float64Array;
  /** Fit-range columns, channel-major: A[(c - first) * k + j]. */
  private readonly A: Float64Array;

  constructor(grid: EnergyGrid, elements: readonly string[], opts: FitOptions = {}) {
    this.components = buildComponents(grid, elements, opts);
    this.grid = grid;
    this.elements = this.components.elements;
    this.names = this.components.names;
    const k = (this.k = this.components.columns.length);
    const { firstChannel: first, endChannel: end, columns } = this.components;
    this.solver = new NnlsSolver(k);
    this.G = new Float64Array(k * k);
    this.b = new Float64Array(k);
    this.x = new Float64Array(k);
    this.w = new Float64Array(end - first);
    this.A = new Float64Array((end - first) * k);
    for (let c = first; c < end; c++) for (let j = 0; j < k; j++) this.A[(c - first) * k + j] = columns[j]![c]!;
  }

  /** Fits one spectrum (counts per channel on the fitter's grid). */
  fitSpectrum(counts: ArrayLike<number>): SpectrumFit {
    const { k, w, x, b, G, A } = this;
    const { firstChannel: first, endChannel: end } = this.components;
    if (counts.length !== this.grid.channels) throw new Error(`fit: spectrum has ${counts.length} channels, expected ${this.grid.channels}`);
    let total = 0;
    for (let c = 0; c < counts.length; c++) total += counts[c]!;
    const coefficients = new Float64Array(k);
    let chi2 = 0;
    let inRange = 0;
    for (let c = first; c < end; c++) inRange += counts[c]!;
    if (inRange > 0) {
      for (let c = first; c < end; c++) w[c - first] = 1 / Math.max(counts[c]!, 1);
      for (let pass = 0; pass < 2; pass++) {
        if (pass === 1) {
          // Reweight from the first pass's model.
          for (let c = first; c < end; c++) {
            const row = (c - first) * k;
            let m = 0;
            for (let j = 0; j < k; j++) m += A[row + j]! * x[j]!;
            w[c - first] = 1 / Math.max(m, 1);
          }
        }
        normalMatrix(A, k, w, G);
        b.fill(0);
        for (let c = first; c < end; c++) {
          const y = counts[c]!;
          if (y === 0) continue;
          const wy = w[c - first]! * y;
          const row = (c - first) * k;
          for (let j = 0; j < k; j++) b[j]! += wy * A[row + j]!;
        }
        const positive = this.solver.solve(G, b, x);
        chi2 = reducedChi2(counts, first, A, k, x, end - first, positive);
      }
      coefficients.set(x);
    }
    const E = this.elements.length;
    const netCounts = coefficients.slice(0, E);
    const fractions = new Float64Array(E);
    for (let e = 0; e < E; e++) fractions[e] = total > 0 ? Math.min(1, netCounts[e]! / total) : 0;
    return { netCounts, fractions, coefficients, chi2, total };
  }

  /** Share of the spectrum's counts attributed to each element (for `gemxrf eval`). */
  fitFractions(counts: ArrayLike<number>): Float64Array {
    return this.fitSpectrum(counts).fractions;
  }

  /** Fits every pixel of a cube with one weight vector from the cube's sum spectrum (see top).
   *  background 'shared' (default): the background components are fitted once, on the sum spectrum,
   *  and their fitted sum becomes one continuum column whose scale each pixel fits (PyMca's fast fit
   *  does the same with its continuum), next to the detector-lines column. With ~10 free background columns per pixel, low-count pixels
   *  trade background for element counts and the positivity constraint turns that noise into a bias
   *  upwards; one column halves the bias and the work. 'free': every component per pixel (for cubes
   *  whose background shape changes across the image). */
  fitCube(cube: SpectralCube, opts: { background?: 'shared' | 'free' } = {}): CubeFit {
    checkCube(cube, this.grid.channels);
    const { first, F } = this.range();
    const { width, height, channels: C, counts } = cube;
    const nPix = width * height;
    const E = this.elements.length;

    const sumAll = new Float64Array(C);
    for (let p = 0, off = 0; p < nPix; p++, off += C) for (let c = 0; c < C; c++) sumAll[c]! += counts[off + c]!;
    let sumTotal = 0;
    const w = new Float64Array(F);
    for (let c = 0; c < F; c++) {
      sumTotal += sumAll[first + c]!;
      w[c] = 1 / Math.max(sumAll[first + c]!, 1);
    }

    // The design matrix: all components, or the elements plus the sum spectrum's fitted background.
    let A = this.A;
    let k = this.k;
    let backgroundColumns = this.k - E;
    if ((opts.background ?? 'shared') === 'shared' && sumTotal > 0) {
      const whole = this.fitSpectrum(sumAll);
      // The detector's own lines stay a column of their own: their share of a pixel's counts is fixed
      // while the sample's continuum varies (hidden under paint), so they cannot share one column.
      const keep = this.names.indexOf('bg:detector');
      const shape = new Float64Array(F);
      let bgTotal = 0;
      for (let j = E; j < this.k; j++) {
        const cj = whole.coefficients[j]!;
        if (j === keep || cj <= 0) continue;
        bgTotal += cj;
        for (let c = 0; c < F; c++) shape[c]! += cj * this.A[c * this.k + j]!;
      }
      const extra: Float64Array[] = [];
      if (bgTotal > 0) extra.push(shape.map((v) => v / bgTotal)); // unit-sum over the grid, like every column
      if (keep >= 0) extra.push(Float64Array.from({ length: F }, (_, c) => this.A[c * this.k + keep]!));
      backgroundColumns = extra.length;
      k = E + backgroundColumns;
      A = new Float64Array(F * k);
      for (let c = 0; c < F; c++) {
        for (let e = 0; e < E; e++) A[c * k + e] = this.A[c * this.k + e]!;
        for (let j = 0; j < extra.length; j++) A[c * k + E + j] = extra[j]![c]!;
      }
    }
    const G = new Float64Array(k * k);
    normalMatrix(A, k, w, G);
    const solver = new NnlsSolver(k);
    solver.setMatrix(G);
    // Weighted columns, so that b = sum over non-zero channels of y_c * AW[c].
    const AW = new Float64Array(F * k);
    for (let c = 0; c < F; c++) for (let j = 0; j < k; j++) AW[c * k + j] = w[c]! * A[c * k + j]!;
    const b = new Float64Array(k);
    const x = new Float64Array(k);

    const maps = createMapSet('fit', this.elements, width, height);
    const data = maps.data;
    const chi2 = new Float32Array(nPix);
    const background = new Float32Array(nPix);
    for (let p = 0; p < nPix; p++) {
      const off = p * C + first;
      b.fill(0);
      let n = 0;
      for (let c = 0; c < F; c++) {
        const y = counts[off + c]!;
        if (y === 0) continue;
        n += y;
        const row = c * k;
        for (let j = 0; j < k; j++) b[j]! += y * AW[row + j]!;
      }
      if (n === 0) continue;
      const positive = solver.solveShared(b, x);
      for (let e = 0; e < E; e++) data[e * nPix + p] = x[e]!;
      let bgCounts = 0;
      for (let j = E; j < k; j++) bgCounts += x[j]!;
      background[p] = bgCounts;
      chi2[p] = reducedChi2(counts, off, A, k, x, F, positive);
    }
    return { maps, chi2, background, backgroundColumns };
  }

  private range(): { first: number; F: number } {
    const { firstChannel: first, endChannel: end } = this.components;
    return { first, F: end - first };
  }
}

/** G = A'WA (A: F x k channel-major, w: F weights). */
function normalMatrix(A: Float64Array, k: number, w: Float64Array, G: Float64Array): void {
  const F = w.length;
  G.fill(0);
  for (let c = 0; c < F; c++) {
    const wc = w[c]!;
    const row = c * k;
    for (let i = 0; i < k; i++) {
      const ai = wc * A[row + i]!;
      if (ai === 0) continue;
      for (let j = i; j < k; j++) G[i * k + j]! += ai * A[row + j]!;
    }
  }
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) G[i * k + j] = G[j * k + i]!;
}

/** Reduced chi-square with variance max(m, 1): a model near 0 where a count fell would otherwise
 *  dominate the sum (Pearson's statistic is heavy-tailed at small means). Under a correct model channel c
 *  contributes m_c / max(m_c, 1) = min(m_c, 1) on average, so the sum is divided by sum_c min(m_c, 1)
 *  minus the fitted coefficients instead of by channels minus coefficients: the result reads ~1 for a
 *  good fit at any count level (at 1 count per pixel as at 10^5), so pixels compare fairly. */
function reducedChi2(counts: ArrayLike<number>, off: number, A: Float64Array, k: number, x: Float64Array, F: number, fitted: number): number {
  let chi = 0;
  let expected = 0;
  for (let c = 0; c < F; c++) {
    const row = c * k;
    let m = 0;
    for (let j = 0; j < k; j++) m += A[row + j]! * x[j]!;
    const d = counts[off + c]! - m;
    if (m > 1) {
      chi += (d * d) / m;
      expected += 1;
    } else {
      chi += d * d;
      expected += m > 0 ? m : 0;
    }
  }
  return chi / Math.max(1, expected - fitted);
}
