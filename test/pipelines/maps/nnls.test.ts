import assert from 'node:assert/strict';
import { createRng } from '../../../physics/random.js';
import { NnlsSolver } from '../../../pipelines/maps/nnls.js';

/** G = A'A and b = A'y for a column-major list of columns. */
function normal(cols: Float64Array[], y: Float64Array): { G: Float64Array; b: Float64Array } {
  const k = cols.length;
  const G = new Float64Array(k * k);
  const b = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) for (let c = 0; c < y.length; c++) G[i * k + j]! += cols[i]![c]! * cols[j]![c]!;
    for (let c = 0; c < y.length; c++) b[i]! += cols[i]![c]! * y[c]!;
  }
  return { G, b };
}

/** Karush-Kuhn-Tucker conditions of min |Ax - y|^2, x >= 0 (sufficient for the optimum: convex). */
function assertKkt(G: Float64Array, b: Float64Array, x: Float64Array, scale: number): void {
  const k = b.length;
  for (let j = 0; j < k; j++) {
    assert.ok(x[j]! >= 0, `x[${j}] = ${x[j]} < 0`);
    let g = b[j]!;
    for (let i = 0; i < k; i++) g -= G[j * k + i]! * x[i]!;
    if (x[j]! > 0) assert.ok(Math.abs(g) < 1e-8 * scale, `active x[${j}] has gradient ${g}`);
    else assert.ok(g < 1e-8 * scale, `inactive x[${j}] could still lower the cost (gradient ${g})`);
  }
}

describe('pipelines/maps nnls (Lawson-Hanson on normal equations)', () => {
  it('satisfies the optimality (KKT) conditions on random problems, with and without active constraints', () => {
    const rng = createRng(7);
    let constrained = 0;
    for (let trial = 0; trial < 200; trial++) {
      const k = 1 + rng.int(8);
      const m = k + 2 + rng.int(20);
      const cols = Array.from({ length: k }, () => Float64Array.from({ length: m }, () => rng.normal()));
      const y = Float64Array.from({ length: m }, () => rng.normal() * 3);
      const { G, b } = normal(cols, y);
      const x = new Float64Array(k);
      new NnlsSolver(k).solve(G, b, x);
      let scale = 1;
      for (const v of G) scale = Math.max(scale, Math.abs(v));
      assertKkt(G, b, x, scale * 10);
      if (x.some((v) => v === 0)) constrained++;
    }
    assert.ok(constrained > 50, `only ${constrained} problems had an active bound: the test would not exercise them`);
  });

  it('recovers an exact non-negative solution and gives zeros for a negative-only target', () => {
    const cols = [Float64Array.of(1, 0, 0, 1), Float64Array.of(0, 1, 0, 1), Float64Array.of(0, 0, 1, 1)];
    const truth = [2, 0, 0.5];
    const y = new Float64Array(4);
    cols.forEach((c, j) => c.forEach((v, i) => (y[i]! += truth[j]! * v)));
    const { G, b } = normal(cols, y);
    const x = new Float64Array(3);
    const solver = new NnlsSolver(3);
    assert.equal(solver.solve(G, b, x), 2);
    truth.forEach((t, j) => assert.ok(Math.abs(x[j]! - t) < 1e-12, `x[${j}] = ${x[j]}, expected ${t}`));
    const neg = normal(cols, Float64Array.of(-1, -2, -3, -6));
    assert.equal(solver.solve(neg.G, neg.b, x), 0);
    assert.deepEqual(Array.from(x), [0, 0, 0]);
  });

  it('handles duplicated (collinear) columns without failing', () => {
    const a = Float64Array.of(1, 2, 3, 4);
    const cols = [a, Float64Array.from(a), Float64Array.of(1, -1, 1, -1)];
    const y = Float64Array.of(2, 4, 6, 8);
    const { G, b } = normal(cols, y);
    const x = new Float64Array(3);
    new NnlsSolver(3).solve(G, b, x);
    assert.ok(Math.abs(x[0]! + x[1]! - 2) < 1e-9, `duplicates should share the coefficient 2, got ${x[0]} + ${x[1]}`);
    assert.ok(Math.abs(x[2]!) < 1e-12);
    assertKkt(G, b, x, 100);
  });
});
