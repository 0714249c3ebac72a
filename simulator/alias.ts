// Walker/Vose alias tables: O(1) sampling from a discrete distribution with one uniform draw.
// Many tables of the same length live side by side in one flat pair of typed arrays (row r occupies
// [r*n, (r+1)*n)), so the hot loop indexes plain arrays instead of chasing objects.

/** Flat storage for `rows` alias tables of `n` outcomes each. */
export interface AliasTables {
  readonly rows: number;
  readonly n: number;
  /** Acceptance threshold of slot i of row r, at [r*n + i], in [0, 1]. */
  readonly prob: Float64Array;
  /** Outcome taken when slot i is rejected, at [r*n + i]. */
  readonly alias: Uint32Array;
}

export function allocAliasTables(rows: number, n: number): AliasTables {
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`alias tables: rows must be a positive integer, got ${rows}`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`alias tables: n must be a positive integer, got ${n}`);
  return { rows, n, prob: new Float64Array(rows * n), alias: new Uint32Array(rows * n) };
}

/**
 * Builds row `row` of `tables` from non-negative weights (any scale; need not sum to 1).
 * Vose's method with index stacks: exact up to float rounding, O(n).
 * Scratch arrays may be passed in to avoid allocating when building many rows.
 */
export function buildAliasRow(
  tables: AliasTables,
  row: number,
  weights: ArrayLike<number>,
  scratch: { scaled: Float64Array; small: Uint32Array; large: Uint32Array } = aliasScratch(tables.n),
): void {
  const n = tables.n;
  if (weights.length !== n) throw new Error(`alias row: expected ${n} weights, got ${weights.length}`);
  if (!Number.isInteger(row) || row < 0 || row >= tables.rows) throw new Error(`alias row ${row} out of range 0..${tables.rows - 1}`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`alias row: weight ${i} is ${w} (must be finite and >= 0)`);
    sum += w;
  }
  if (!(sum > 0)) throw new Error('alias row: weights sum to zero');
  const { scaled, small, large } = scratch;
  let ns = 0;
  let nl = 0;
  for (let i = 0; i < n; i++) {
    const s = (weights[i]! * n) / sum;
    scaled[i] = s;
    if (s < 1) small[ns++] = i;
    else large[nl++] = i;
  }
  const base = row * n;
  const prob = tables.prob;
  const alias = tables.alias;
  while (ns > 0 && nl > 0) {
    const s = small[--ns]!;
    const l = large[nl - 1]!;
    prob[base + s] = scaled[s]!;
    alias[base + s] = l;
    const rest = scaled[l]! + scaled[s]! - 1;
    scaled[l] = rest;
    if (rest < 1) {
      nl--;
      small[ns++] = l;
    }
  }
  // Leftovers are 1 up to rounding: they always accept.
  while (nl > 0) {
    const l = large[--nl]!;
    prob[base + l] = 1;
    alias[base + l] = l;
  }
  while (ns > 0) {
    const s = small[--ns]!;
    prob[base + s] = 1;
    alias[base + s] = s;
  }
}

export function aliasScratch(n: number): { scaled: Float64Array; small: Uint32Array; large: Uint32Array } {
  return { scaled: new Float64Array(n), small: new Uint32Array(n), large: new Uint32Array(n) };
}

/**
 * The same tables packed one slot per float64: value = alias + prob (prob in [0, 1); a slot that always
 * accepts stores its own index + 0.5). One 8-byte load yields both halves, so a draw costs one cache miss
 * instead of two — the generators' loops are bound by these misses. Precision: prob keeps 53 - log2(n) bits.
 * Draw: x = u * n; j = x | 0; v = packed[row * n + j]; a = v | 0; result = x - j < v - a ? j : a.
 */
export function packAliasTables(t: AliasTables): Float64Array {
  if (t.n > 2 ** 31) throw new Error('alias tables too large to pack');
  const out = new Float64Array(t.rows * t.n);
  // Largest prob that still rounds below alias + 1 for every alias < n.
  const pMax = 1 - 2 ** (Math.ceil(Math.log2(t.n + 1)) - 51);
  for (let r = 0; r < t.rows; r++)
    for (let i = 0; i < t.n; i++) {
      const k = r * t.n + i;
      const p = t.prob[k]!;
      const a = t.alias[k]!;
      out[k] = p >= 1 || a === i ? i + 0.5 : a + Math.min(p, pMax);
    }
  return out;
}

/** One draw from a packed row given a uniform u in [0, 1). */
export function samplePacked(packed: Float64Array, n: number, row: number, u: number): number {
  const x = u * n;
  const j = x | 0;
  const v = packed[row * n + j]!;
  const a = v | 0;
  return x - j < v - a ? j : a;
}

/** One draw from row `row` given a uniform u in [0, 1). (The generators inline this in their loops.) */
export function sampleAlias(tables: AliasTables, row: number, u: number): number {
  const x = u * tables.n;
  const i = x | 0;
  const k = row * tables.n + i;
  return x - i < tables.prob[k]! ? i : tables.alias[k]!;
}

/** The distribution a row encodes (for tests): p[j] = sum over slots of their share that lands on j. */
export function aliasRowDistribution(tables: AliasTables, row: number): Float64Array {
  const n = tables.n;
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const q = tables.prob[row * n + i]!;
    p[i]! += q / n;
    p[tables.alias[row * n + i]!]! += (1 - q) / n;
  }
  return p;
}
