// Non-negative least squares on the normal equations (Lawson & Hanson's active-set method):
//   minimise 1/2 x'Gx - b'x  subject to x >= 0,   G = A'WA (k x k), b = A'Wy.
// Working on G and b instead of A keeps each pixel's solve at k x k (k ~ 10-20) whatever the channel
// count; G is shared by all pixels when the weights are (see fit.ts). All work arrays are allocated
// once per solver: solve() allocates nothing.

export class NnlsSolver {
  readonly k: number;
  private readonly passive: Uint8Array;
  private readonly excluded: Uint8Array;
  private readonly idx: Int32Array;
  private readonly chol: Float64Array;
  private readonly z: Float64Array;
  private readonly grad: Float64Array;
  private readonly tmp: Float64Array;
  /** Outer iterations of the last solve (variables added), for diagnostics and the benchmark. */
  lastIterations = 0;

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`nnls: k must be a positive integer, got ${k}`);
    this.k = k;
    this.passive = new Uint8Array(k);
    this.excluded = new Uint8Array(k);
    this.idx = new Int32Array(k);
    this.chol = new Float64Array(k * k);
    this.z = new Float64Array(k);
    this.grad = new Float64Array(k);
    this.tmp = new Float64Array(k);
  }

  /** Solves into x (length k, overwritten). G is row-major k x k, symmetric positive semi-definite.
   *  Returns the number of positive coefficients. */
  solve(G: Float64Array, b: Float64Array, x: Float64Array): number {
    const k = this.k;
    const { passive, excluded, z, grad } = this;
    passive.fill(0);
    excluded.fill(0);
    x.fill(0);
    let bMax = 0;
    for (let j = 0; j < k; j++) bMax = Math.max(bMax, Math.abs(b[j]!));
    // Gradients below this are rounding noise (a variable collinear with the passive set ends at ~1e-16 bMax).
    const tol = 1e-11 * bMax;
    let iterations = 0;
    const maxOuter = 3 * k + 10;

    for (; iterations < maxOuter; iterations++) {
      // grad = b - G x: the descent direction; a non-passive variable with grad > 0 would lower the cost.
      let best = -1;
      let bestVal = tol;
      for (let j = 0; j < k; j++) {
        if (passive[j] || excluded[j]) continue;
        let g = b[j]!;
        const row = j * k;
        for (let i = 0; i < k; i++) if (passive[i]) g -= G[row + i]! * x[i]!;
        grad[j] = g;
        if (g > bestVal) {
          bestVal = g;
          best = j;
        }
      }
      if (best < 0) break;
      passive[best] = 1;

      // Inner loop: solve on the passive set; step back towards the old x while that leaves the feasible set.
      for (let inner = 0; inner <= k; inner++) {
        const ok = this.solvePassive(G, b);
        if (!ok || (inner === 0 && z[best]! <= 0)) {
          // The new variable is (numerically) dependent on the passive set or makes no progress: drop it
          // for the rest of this solve, which keeps the method finite.
          passive[best] = 0;
          excluded[best] = 1;
          if (!ok) this.solvePassive(G, b);
          else break;
        }
        let feasible = true;
        for (let j = 0; j < k; j++) if (passive[j] && z[j]! <= 0) feasible = false;
        if (feasible) {
          for (let j = 0; j < k; j++) x[j] = passive[j] ? z[j]! : 0;
          // The cost went down: variables dropped as dependent may help again from here.
          if (!excluded[best]) excluded.fill(0);
          break;
        }
        let alpha = Infinity;
        for (let j = 0; j < k; j++) {
          if (!passive[j] || z[j]! > 0) continue;
          const a = x[j]! / (x[j]! - z[j]!);
          if (a < alpha) alpha = a;
        }
        for (let j = 0; j < k; j++) {
          if (!passive[j]) continue;
          const v = x[j]! + alpha * (z[j]! - x[j]!);
          if (v <= 1e-15 * Math.abs(x[j]!) || v <= 0) {
            x[j] = 0;
            passive[j] = 0;
          } else x[j] = v;
        }
      }
    }
    this.lastIterations = iterations;
    let positive = 0;
    for (let j = 0; j < k; j++) if (x[j]! > 0) positive++;
    return positive;
  }

  /** z_P = G_PP^-1 b_P by Cholesky; false if G_PP is not numerically positive definite. */
  private solvePassive(G: Float64Array, b: Float64Array): boolean {
    const k = this.k;
    const { passive, idx, chol: L, z, tmp } = this;
    let m = 0;
    for (let j = 0; j < k; j++) if (passive[j]) idx[m++] = j;
    z.fill(0);
    for (let r = 0; r < m; r++) {
      const gr = idx[r]! * k;
      for (let c = 0; c <= r; c++) {
        let s = G[gr + idx[c]!]!;
        for (let t = 0; t < c; t++) s -= L[r * k + t]! * L[c * k + t]!;
        if (r === c) {
          if (!(s > 1e-13 * G[gr + idx[r]!]!)) return false;
          L[r * k + r] = Math.sqrt(s);
        } else L[r * k + c] = s / L[c * k + c]!;
      }
    }
    for (let r = 0; r < m; r++) {
      let s = b[idx[r]!]!;
      for (let t = 0; t < r; t++) s -= L[r * k + t]! * tmp[t]!;
      tmp[r] = s / L[r * k + r]!;
    }
    for (let r = m - 1; r >= 0; r--) {
      let s = tmp[r]!;
      for (let t = r + 1; t < m; t++) s -= L[t * k + r]! * tmp[t]!;
      tmp[r] = s / L[r * k + r]!;
    }
    for (let r = 0; r < m; r++) z[idx[r]!] = tmp[r]!;
    return true;
  }
}
