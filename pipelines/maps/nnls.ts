// Non-negative least squares on the normal equations (Lawson & Hanson's active-set method):
//   minimise 1/2 x'Gx - b'x  subject to x >= 0,   G = A'WA (k x k), b = A'Wy.
// Working on G and b instead of A keeps each pixel's solve at k x k (k ~ 10-20) whatever the channel
// count. The passive (free) set is kept as an ordered list with the Cholesky factor of G over it, in
// the order the variables entered: adding a variable appends one row (O(m^2)), dropping the newest
// drops a row, and only dropping an older one refactors (O(m^3 / 6), m <= k).
// When G is shared by many right-hand sides (a cube fit with one weight vector, see fit.ts) each solve
// starts from the previous solve's passive set (neighbouring pixels share most of it), pruned of the
// variables that come out non-positive on it: the optimum on a set with all coefficients positive is a
// valid Lawson-Hanson state, and the method continues from there instead of from x = 0.
// All work arrays are allocated once per solver: a solve allocates nothing.

export class NnlsSolver {
  readonly k: number;
  /** Passive variables in entry order (P[0..m)) and membership flags. */
  private readonly P: Int32Array;
  private m = 0;
  private readonly inP: Uint8Array;
  private readonly excluded: Uint8Array;
  /** Lower Cholesky factor of G over P (row r <-> variable P[r]), row stride k. */
  private readonly L: Float64Array;
  /** Solution on P, in P order. */
  private readonly zP: Float64Array;
  private readonly prevP: Int32Array;
  private prevM = 0;
  private G: Float64Array | null = null;
  /** Outer iterations (variables added) of the last solve, for diagnostics and the benchmark. */
  lastIterations = 0;

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`nnls: k must be a positive integer, got ${k}`);
    this.k = k;
    this.P = new Int32Array(k);
    this.inP = new Uint8Array(k);
    this.excluded = new Uint8Array(k);
    this.L = new Float64Array(k * k);
    this.zP = new Float64Array(k);
    this.prevP = new Int32Array(k);
  }

  /** Fixes G (row-major k x k, symmetric positive semi-definite) for the following solveShared calls
   *  and forgets the warm-start set. G is read, not copied. */
  setMatrix(G: Float64Array): void {
    if (G.length !== this.k * this.k) throw new Error(`nnls: G must be ${this.k}x${this.k}`);
    this.G = G;
    this.prevM = 0;
  }

  /** One-off solve: setMatrix(G) + solveShared(b, x). */
  solve(G: Float64Array, b: Float64Array, x: Float64Array): number {
    this.setMatrix(G);
    return this.solveShared(b, x);
  }

  /** Solves into x (length k, overwritten) with the matrix from setMatrix, warm-started from the
   *  previous solve's passive set. Returns the number of positive coefficients. */
  solveShared(b: Float64Array, x: Float64Array): number {
    const G = this.G;
    if (!G) throw new Error('nnls: setMatrix before solveShared');
    const k = this.k;
    const { P, inP, excluded, zP } = this;
    excluded.fill(0);
    inP.fill(0);
    x.fill(0);
    let bMax = 0;
    for (let j = 0; j < k; j++) bMax = Math.max(bMax, Math.abs(b[j]!));
    // Gradients below this are rounding noise (a variable collinear with the passive set ends at ~1e-16 bMax).
    const tol = 1e-11 * bMax;

    // Warm start (see top): the previous set, pruned until its solution is strictly positive.
    this.m = 0;
    for (let r = 0; r < this.prevM; r++) {
      P[this.m++] = this.prevP[r]!;
      inP[this.prevP[r]!] = 1;
    }
    while (this.m > 0) {
      if (!this.refactor()) {
        this.clearP();
        break;
      }
      this.solveP(b);
      if (this.keepPositive() === 0) break;
    }
    for (let r = 0; r < this.m; r++) x[P[r]!] = zP[r]!;

    let iterations = 0;
    const maxOuter = 3 * k + 10;
    for (; iterations < maxOuter; iterations++) {
      // grad = b - G x over the non-passive variables: one with grad > 0 would lower the cost.
      let best = -1;
      let bestVal = tol;
      const m0 = this.m;
      for (let j = 0; j < k; j++) {
        if (inP[j] || excluded[j]) continue;
        let g = b[j]!;
        const row = j * k;
        for (let r = 0; r < m0; r++) {
          const i = P[r]!;
          g -= G[row + i]! * x[i]!;
        }
        if (g > bestVal) {
          bestVal = g;
          best = j;
        }
      }
      if (best < 0) break;
      if (!this.append(best)) {
        // Numerically dependent on the passive set: drop it until the cost next goes down.
        excluded[best] = 1;
        continue;
      }

      // Inner loop: solve on P; step back towards the old x while that leaves the feasible set.
      for (let inner = 0; inner <= k; inner++) {
        this.solveP(b);
        const m = this.m;
        if (inner === 0 && !(zP[m - 1]! > 0)) {
          // No progress from the new variable (rounding): drop it (it is the last row) and exclude it.
          this.m--;
          inP[best] = 0;
          excluded[best] = 1;
          break;
        }
        let alpha = Infinity;
        for (let r = 0; r < m; r++) {
          const z = zP[r]!;
          if (z > 0) continue;
          const xi = x[P[r]!]!;
          const a = xi / (xi - z);
          if (a < alpha) alpha = a;
        }
        if (alpha === Infinity) {
          for (let r = 0; r < m; r++) x[P[r]!] = zP[r]!;
          excluded.fill(0);
          break;
        }
        for (let r = 0; r < m; r++) {
          const i = P[r]!;
          zP[r] = x[i]! + alpha * (zP[r]! - x[i]!);
          x[i] = zP[r]!;
        }
        this.keepPositive();
        for (let j = 0; j < k; j++) if (!inP[j]) x[j] = 0;
        if (this.m > 0 && !this.refactor()) {
          // A subset of a positive definite set is positive definite: only rounding gets here.
          this.clearP();
          x.fill(0);
          break;
        }
      }
    }
    this.lastIterations = iterations;
    let positive = 0;
    this.prevM = 0;
    for (let r = 0; r < this.m; r++) {
      const i = P[r]!;
      if (x[i]! > 0) {
        positive++;
        this.prevP[this.prevM++] = i;
      } else x[i] = 0;
    }
    return positive;
  }

  private clearP(): void {
    for (let r = 0; r < this.m; r++) this.inP[this.P[r]!] = 0;
    this.m = 0;
  }

  /** Drops passive variables whose zP is not positive (keeping order); returns how many it dropped.
   *  The factor is stale afterwards unless nothing was dropped. */
  private keepPositive(): number {
    const { P, zP, inP } = this;
    let w = 0;
    for (let r = 0; r < this.m; r++) {
      if (zP[r]! > 0) {
        P[w] = P[r]!;
        zP[w] = zP[r]!;
        w++;
      } else inP[P[r]!] = 0;
    }
    const dropped = this.m - w;
    this.m = w;
    return dropped;
  }

  /** Appends variable j to P, extending the factor by one row; false (P unchanged) if G over P + j is
   *  not numerically positive definite. */
  private append(j: number): boolean {
    const G = this.G!;
    const { k, L, P } = this;
    const m = this.m;
    const row = m * k;
    for (let c = 0; c < m; c++) {
      let s = G[j * k + P[c]!]!;
      for (let t = 0; t < c; t++) s -= L[row + t]! * L[c * k + t]!;
      L[row + c] = s / L[c * k + c]!;
    }
    let d = G[j * k + j]!;
    for (let t = 0; t < m; t++) d -= L[row + t]! * L[row + t]!;
    if (!(d > 1e-13 * G[j * k + j]!)) return false;
    L[row + m] = Math.sqrt(d);
    P[m] = j;
    this.inP[j] = 1;
    this.m = m + 1;
    return true;
  }

  /** Factor of G over P from scratch; false if not numerically positive definite. */
  private refactor(): boolean {
    const G = this.G!;
    const { k, L, P } = this;
    const m = this.m;
    for (let r = 0; r < m; r++) {
      const gr = P[r]! * k;
      const lr = r * k;
      for (let c = 0; c <= r; c++) {
        let s = G[gr + P[c]!]!;
        const lc = c * k;
        for (let t = 0; t < c; t++) s -= L[lr + t]! * L[lc + t]!;
        if (r === c) {
          if (!(s > 1e-13 * G[gr + P[r]!]!)) return false;
          L[lr + r] = Math.sqrt(s);
        } else L[lr + c] = s / L[lc + c]!;
      }
    }
    return true;
  }

  /** zP = G_PP^-1 b_P with the current factor. */
  private solveP(b: Float64Array): void {
    const { k, L, P, zP } = this;
    const m = this.m;
    for (let r = 0; r < m; r++) {
      let s = b[P[r]!]!;
      const lr = r * k;
      for (let t = 0; t < r; t++) s -= L[lr + t]! * zP[t]!;
      zP[r] = s / L[lr + r]!;
    }
    for (let r = m - 1; r >= 0; r--) {
      let s = zP[r]!;
      for (let t = r + 1; t < m; t++) s -= L[t * k + r]! * zP[t]!;
      zP[r] = s / L[r * k + r]!;
    }
  }
}
