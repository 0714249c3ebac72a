// The oracle fit: what an efficient estimator that knows the detector and background exactly gets for the
// element fractions. For each test spectrum it is given everything the generator drew for it except the
// composition (gain, resolution, noise, escape, threshold, background shape, scatter, tube, detector-line
// shares, pile-up: the block's nuisance), so it knows every element's exact expected spectrum and the
// background's, and it estimates the amounts by Poisson maximum likelihood with non-negativity over all
// elements + the background. No prior over compositions: a Bayesian estimator that used the prior the
// networks learn from their training mixtures can beat it at low counts, so its R² is a reference for
// "perfect detector knowledge, no prior", not a strict upper bound.
//
// Model of one spectrum y (channels c), exactly the generator's (simulator/dataset/generate.ts mixExpected):
//   single-photon shape s = sum_k a_k B_k / sum_k a_k,  B_k = (1 - d) R_k + d D   (unit-sum)
//   mu = (sum_k a_k) [ (1 - p) s + p pile(s) ]
// with R_k the element / background responses, D the detector lines (share d = cuShare + alShare, known) and
// pile(s) the normalised self-convolution (share p = pileupFraction, known; 0 in nominal sets). Fraction of
// element e: f_e = (1 - d) a_e / sum_k a_k.
//
// Maximisation: projected Fisher scoring. At a iterate a, the weighted non-negative least-squares problem
// min_{b >= 0} sum_c (y_c - X_c b)^2 / mu_c(a) is the likelihood's quadratic (Fisher) model, so its solution
// b gives an ascent direction b - a; a step-halving line search on the log-likelihood makes the iteration
// monotone, and its fixed points satisfy the Karush-Kuhn-Tucker conditions of the non-negative Poisson MLE
// (the log-likelihood is concave in a). With pile-up the pile shape is recomputed from each iterate and held
// fixed within the step (a fixed-point treatment: it ignores the little the pile-up counts say about the
// composition; pile-up is at most 5 % of the counts, drift sets only).
import { applyPileup, type DetectorParams, type EnergyGrid } from '../../physics/index.js';
import { blockResponses, type BlockResponses, type DatasetRecipe, type Nuisance } from '../../simulator/dataset/index.js';

export interface OracleFitOptions {
  /** Scoring iterations at most (default 200). */
  maxIterations?: number;
  /** Stop when an iteration gains less log-likelihood than this (default 1e-9). */
  tolerance?: number;
  /** Record the log-likelihood after every iteration. */
  trace?: boolean;
  /** Per element (fitter order), 1 where the element may be in the spectrum; others are held at 0 (the
   *  background always stays). Default: every element. Gives the oracle that also knows the mixture's
   *  elements (which no real method does). */
  support?: ArrayLike<number>;
}

export interface OracleFitResult {
  /** Per element (in the fitter's element order), its share of the spectrum's single-photon counts. */
  fractions: Float64Array;
  /** The background's share of the single-photon counts. */
  backgroundShare: number;
  /** Expected total counts (the MLE: the spectrum's total). */
  total: number;
  iterations: number;
  converged: boolean;
  /** Poisson log-likelihood at the estimate (without the log y! constant). */
  logLikelihood: number;
  /** Log-likelihood after each iteration (first entry: the start), with `trace`. */
  trace?: number[];
}

/** Poisson MLE of one spectrum's composition with the block's exact components. One per block of conditions. */
export class OracleFitter {
  readonly elements: number;
  private readonly K: number;
  private readonly C: number;
  /** K x C unit-sum single-photon columns B_k (elements, then background), detector lines folded in. */
  private readonly base: Float64Array;
  /** Columns with any counts (an element whose lines all miss the grid cannot be estimated: it stays 0). */
  private readonly usable: Uint8Array;
  private readonly detShare: number;
  private readonly pileup: number;
  // scratch
  private readonly X: Float64Array;
  private readonly mu: Float64Array;
  private readonly muNew: Float64Array;
  private readonly muB: Float64Array;
  private readonly s: Float64Array;
  private readonly pile: Float64Array;
  private readonly pileScratch: Float64Array;
  private readonly xw: Float64Array;
  private readonly A: Float64Array;
  private readonly h: Float64Array;
  private readonly b: Float64Array;

  constructor(responses: BlockResponses, det: DetectorParams, private readonly grid: EnergyGrid) {
    const E = responses.elements.length;
    const C = grid.channels;
    const K = E + 1;
    this.elements = E;
    this.K = K;
    this.C = C;
    this.detShare = det.cuShare + det.alShare;
    this.pileup = det.pileupFraction;
    const d = this.detShare;
    this.base = new Float64Array(K * C);
    this.usable = new Uint8Array(K);
    const cols = [...responses.elements, responses.background];
    for (let k = 0; k < K; k++) {
      const r = cols[k]!;
      if (r.length !== C) throw new Error(`oracle fit: response ${k} has ${r.length} channels, grid has ${C}`);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += r[c]!;
      if (!(sum > 0)) continue;
      this.usable[k] = 1;
      for (let c = 0; c < C; c++) this.base[k * C + c] = (1 - d) * (r[c]! / sum) + d * responses.detectorLines[c]!;
    }
    this.X = new Float64Array(K * C);
    this.mu = new Float64Array(C);
    this.muNew = new Float64Array(C);
    this.muB = new Float64Array(C);
    this.s = new Float64Array(C);
    this.pile = new Float64Array(C);
    this.pileScratch = new Float64Array(C);
    this.xw = new Float64Array(K * C);
    this.A = new Float64Array(K * K);
    this.h = new Float64Array(K);
    this.b = new Float64Array(K);
  }

  /** The model's expected spectrum for amounts a (length elements + 1: elements, background), into out. */
  expected(a: ArrayLike<number>, out: Float64Array = new Float64Array(this.C)): Float64Array {
    const amounts = Float64Array.from(a);
    this.columns(amounts);
    this.mix(amounts, out);
    return out;
  }

  /** Fills X with the columns at amounts a: B_k, or with pile-up (1 - p) B_k + p pile(s(a)). */
  private columns(a: Float64Array): void {
    const { K, C, base, X } = this;
    const p = this.pileup;
    if (!(p > 0)) {
      X.set(base);
      return;
    }
    const s = this.s;
    s.fill(0);
    let total = 0;
    for (let k = 0; k < K; k++) {
      const ak = a[k]!;
      if (ak === 0) continue;
      total += ak;
      for (let c = 0; c < C; c++) s[c]! += ak * base[k * C + c]!;
    }
    const pile = this.pile;
    if (total > 0) {
      for (let c = 0; c < C; c++) s[c]! /= total;
      // applyPileup gives (1 - p) s + p pile(s): the generator's own pile-up, so the model is its model.
      pile.set(s);
      applyPileup(pile, this.grid, p, this.pileScratch);
      for (let c = 0; c < C; c++) pile[c] = pile[c]! - (1 - p) * s[c]!; // = p pile(s)
    } else pile.fill(0);
    for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) X[k * C + c] = (1 - p) * base[k * C + c]! + pile[c]!;
  }

  private mix(a: Float64Array, out: Float64Array): void {
    const { K, C, X } = this;
    out.fill(0);
    for (let k = 0; k < K; k++) {
      const ak = a[k]!;
      if (ak === 0) continue;
      for (let c = 0; c < C; c++) out[c]! += ak * X[k * C + c]!;
    }
  }

  fit(spectrum: ArrayLike<number>, opts: OracleFitOptions = {}): OracleFitResult {
    const { K, C } = this;
    const E = this.elements;
    const usable = Uint8Array.from(this.usable);
    if (opts.support) {
      if (opts.support.length !== E) throw new Error(`oracle fit: support has ${opts.support.length} entries, expected ${E}`);
      for (let e = 0; e < E; e++) if (!opts.support[e]) usable[e] = 0;
    }
    const maxIt = opts.maxIterations ?? 200;
    const tol = opts.tolerance ?? 1e-9;
    if (spectrum.length !== C) throw new Error(`oracle fit: spectrum has ${spectrum.length} channels, expected ${C}`);
    const y = Float64Array.from(spectrum);
    let N = 0;
    for (let c = 0; c < C; c++) {
      const v = y[c]!;
      if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`oracle fit: channel ${c} has count ${v}`);
      N += v;
    }
    const a = new Float64Array(K);
    let nUsable = 0;
    for (let k = 0; k < K; k++) nUsable += usable[k]!;
    if (N === 0 || nUsable === 0) {
      return { fractions: new Float64Array(E), backgroundShare: 0, total: 0, iterations: 0, converged: true, logLikelihood: 0, ...(opts.trace ? { trace: [0] } : {}) };
    }
    for (let k = 0; k < K; k++) if (usable[k]) a[k] = N / nUsable;
    const { mu, muNew, muB, b } = this;
    this.columns(a);
    this.mix(a, mu);
    let L = logLik(y, mu);
    const trace = opts.trace ? [L] : undefined;
    let it = 0;
    let converged = false;
    while (it < maxIt) {
      it++;
      this.scoringStep(y, a, mu, b, usable);
      // Line search from a towards b with the columns of this iterate (mu is linear in the amounts then).
      this.mix(b, muB);
      let t = 1;
      let Lnew = -Infinity;
      for (let half = 0; half < 40; half++) {
        for (let c = 0; c < C; c++) muNew[c] = mu[c]! + t * (muB[c]! - mu[c]!);
        Lnew = logLik(y, muNew);
        if (Lnew >= L) break;
        t *= 0.5;
      }
      if (!(Lnew >= L)) {
        converged = true; // no ascent left at machine precision
        break;
      }
      for (let k = 0; k < K; k++) a[k] = Math.max(0, a[k]! + t * (b[k]! - a[k]!));
      const gain = Lnew - L;
      if (this.pileup > 0) {
        this.columns(a);
        this.mix(a, mu);
        L = logLik(y, mu);
      } else {
        mu.set(muNew);
        L = Lnew;
      }
      trace?.push(L);
      if (gain <= tol) {
        converged = true;
        break;
      }
    }
    let total = 0;
    for (let k = 0; k < K; k++) total += a[k]!;
    const d = this.detShare;
    const fractions = new Float64Array(E);
    for (let e = 0; e < E; e++) fractions[e] = total > 0 ? ((1 - d) * a[e]!) / total : 0;
    return {
      fractions,
      backgroundShare: total > 0 ? ((1 - d) * a[E]!) / total : 0,
      total,
      iterations: it,
      converged,
      logLikelihood: L,
      ...(trace ? { trace } : {}),
    };
  }

  /** b = argmin_{b >= 0} sum_c (y_c - X_c b)^2 / mu_c over the usable columns (Lawson-Hanson on the normal
   *  equations). With mu = X a this is the Fisher-scoring model of the log-likelihood around a. */
  private scoringStep(y: Float64Array, a: Float64Array, mu: Float64Array, b: Float64Array, usable: Uint8Array): void {
    const { K, C, X, xw, A, h } = this;
    for (let k = 0; k < K; k++) {
      if (!usable[k]) continue;
      let hk = 0;
      for (let c = 0; c < C; c++) {
        const m = mu[c]!;
        // Channels the model cannot reach carry no information (and hold no counts under the model).
        const w = m > 0 ? 1 / m : 0;
        const v = X[k * C + c]! * w;
        xw[k * C + c] = v;
        hk += v * y[c]!;
      }
      h[k] = hk;
    }
    for (let j = 0; j < K; j++) {
      if (!usable[j]) continue;
      for (let k = 0; k <= j; k++) {
        if (!usable[k]) continue;
        let s = 0;
        for (let c = 0; c < C; c++) s += xw[j * C + c]! * X[k * C + c]!;
        A[j * K + k] = s;
        A[k * K + j] = s;
      }
    }
    nnlsGram(A, h, K, usable, b, a);
  }
}

/** Poisson log-likelihood sum_c y_c log mu_c - mu_c (without log y!); -Infinity where counts meet mu = 0. */
export function logLik(y: ArrayLike<number>, mu: ArrayLike<number>): number {
  let L = 0;
  for (let c = 0; c < y.length; c++) {
    const m = mu[c]!;
    const v = y[c]!;
    if (v > 0) {
      if (!(m > 0)) return -Infinity;
      L += v * Math.log(m) - m;
    } else L -= m;
  }
  return L;
}

/**
 * min 1/2 b'Ab - h'b subject to b >= 0 over the columns with `use` set (others 0), A symmetric positive
 * (semi)definite K x K: Lawson-Hanson active set on the normal equations. `start` only breaks ties (unused).
 */
export function nnlsGram(A: Float64Array, h: Float64Array, K: number, use: Uint8Array, out: Float64Array, _start?: Float64Array): void {
  out.fill(0);
  const passive = new Uint8Array(K);
  const excluded = new Uint8Array(K);
  const z = new Float64Array(K);
  const w = new Float64Array(K);
  let scale = 0;
  for (let k = 0; k < K; k++) if (use[k]) scale = Math.max(scale, Math.abs(h[k]!));
  const tol = 1e-12 * Math.max(scale, 1e-300);
  const gradient = () => {
    for (let k = 0; k < K; k++) {
      let s = h[k]!;
      for (let j = 0; j < K; j++) if (passive[j]) s -= A[k * K + j]! * out[j]!;
      w[k] = s;
    }
  };
  let outer = 0;
  gradient();
  while (outer++ < 3 * K) {
    let best = -1;
    let bestW = tol;
    for (let k = 0; k < K; k++) if (use[k] && !passive[k] && !excluded[k] && w[k]! > bestW) {
      bestW = w[k]!;
      best = k;
    }
    if (best < 0) break;
    passive[best] = 1;
    for (let inner = 0; inner < 3 * K; inner++) {
      if (!solvePassive(A, h, K, passive, z)) {
        // Singular: the new column adds nothing the others do not; drop it for good.
        passive[best] = 0;
        excluded[best] = 1;
        break;
      }
      let ok = true;
      for (let k = 0; k < K; k++) if (passive[k] && !(z[k]! > 0)) ok = false;
      if (ok) {
        for (let k = 0; k < K; k++) out[k] = passive[k] ? z[k]! : 0;
        break;
      }
      let alpha = Infinity;
      for (let k = 0; k < K; k++) {
        if (passive[k] && !(z[k]! > 0)) {
          const denom = out[k]! - z[k]!;
          const r = denom > 0 ? out[k]! / denom : 0;
          if (r < alpha) alpha = r;
        }
      }
      for (let k = 0; k < K; k++) if (passive[k]) out[k] = out[k]! + alpha * (z[k]! - out[k]!);
      for (let k = 0; k < K; k++) if (passive[k] && !(out[k]! > 1e-14 * Math.max(1, Math.abs(out[k]!)))) {
        passive[k] = 0;
        out[k] = 0;
      }
    }
    gradient();
  }
  for (let k = 0; k < K; k++) if (!(out[k]! > 0)) out[k] = 0;
}

/** Solves A_PP z_P = h_P (Cholesky, with the matrix scaled to unit diagonal); false when not positive definite. */
function solvePassive(A: Float64Array, h: Float64Array, K: number, passive: Uint8Array, z: Float64Array): boolean {
  const idx: number[] = [];
  for (let k = 0; k < K; k++) if (passive[k]) idx.push(k);
  const m = idx.length;
  const L = new Float64Array(m * m);
  const sc = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const d = A[idx[i]! * K + idx[i]!]!;
    if (!(d > 0)) return false;
    sc[i] = 1 / Math.sqrt(d);
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[idx[i]! * K + idx[j]!]! * sc[i]! * sc[j]!;
      for (let k = 0; k < j; k++) s -= L[i * m + k]! * L[j * m + k]!;
      if (i === j) {
        if (!(s > 1e-13)) return false;
        L[i * m + i] = Math.sqrt(s);
      } else L[i * m + j] = s / L[j * m + j]!;
    }
  }
  const v = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = h[idx[i]!]! * sc[i]!;
    for (let k = 0; k < i; k++) s -= L[i * m + k]! * v[k]!;
    v[i] = s / L[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = v[i]!;
    for (let k = i + 1; k < m; k++) s -= L[k * m + i]! * v[k]!;
    v[i] = s / L[i * m + i]!;
  }
  z.fill(0);
  for (let i = 0; i < m; i++) z[idx[i]!] = v[i]! * sc[i]!;
  return true;
}

/**
 * Oracle fractions of a whole generated set (rows in blocks of recipe.blockSize, block b drawn under
 * nuisances[b], as generateDatasetArrays returns them): n x elements in the recipe's element order.
 */
export function oracleFractions(
  spectra: Float32Array,
  recipe: DatasetRecipe,
  nuisances: readonly Nuisance[],
  opts: Omit<OracleFitOptions, 'support' | 'trace'> & {
    /** n x elements, 1 where the element is in the mixture: the fit is told the support (see OracleFitOptions). */
    presence?: Uint8Array;
  } = {},
): { fractions: Float32Array; notConverged: number } {
  const { n, grid, elements, blockSize } = recipe;
  const C = grid.channels;
  const E = elements.length;
  if (spectra.length !== n * C) throw new Error(`oracle fit: ${spectra.length} values for ${n} spectra of ${C} channels`);
  const blocks = Math.ceil(n / blockSize);
  if (opts.presence && opts.presence.length !== n * E) throw new Error(`oracle fit: presence has ${opts.presence.length} entries, expected ${n * E}`);
  if (nuisances.length !== blocks) throw new Error(`oracle fit: ${nuisances.length} block conditions for ${blocks} blocks`);
  const out = new Float32Array(n * E);
  let notConverged = 0;
  for (let bi = 0; bi < blocks; bi++) {
    const nu = nuisances[bi]!;
    const fitter = new OracleFitter(blockResponses(grid, elements, nu), nu.det, grid);
    for (let r = bi * blockSize; r < Math.min(n, (bi + 1) * blockSize); r++) {
      const fitOpts: OracleFitOptions = { ...opts };
      if (opts.presence) fitOpts.support = opts.presence.subarray(r * E, (r + 1) * E);
      const res = fitter.fit(spectra.subarray(r * C, (r + 1) * C), fitOpts);
      if (!res.converged) notConverged++;
      out.set(res.fractions, r * E);
    }
  }
  return { fractions: out, notConverged };
}
