import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aliasRowDistribution, allocAliasTables, buildAliasRow, packAliasTables, sampleAlias, samplePacked } from '../../simulator/alias.js';
import { createRng } from '../../physics/random.js';

describe('simulator/alias tables', () => {
  it('encode exactly the normalised weights (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 64 }), (ws) => {
        fc.pre(ws.some((w) => w > 0));
        const t = allocAliasTables(2, ws.length);
        buildAliasRow(t, 1, ws);
        const p = aliasRowDistribution(t, 1);
        const sum = ws.reduce((a, b) => a + b, 0);
        ws.forEach((w, i) => assert.ok(Math.abs(p[i]! - w / sum) < 1e-9, `outcome ${i}: ${p[i]} vs ${w / sum}`));
      }),
      { numRuns: 200 },
    );
  });

  it('never draws a zero-weight outcome and matches frequencies', () => {
    const ws = [0, 3, 0, 1, 6, 0];
    const t = allocAliasTables(1, ws.length);
    buildAliasRow(t, 0, ws);
    const rng = createRng(5);
    const hist = new Float64Array(ws.length);
    const N = 200_000;
    for (let i = 0; i < N; i++) hist[sampleAlias(t, 0, rng.next())]!++;
    assert.equal(hist[0], 0);
    assert.equal(hist[2], 0);
    assert.equal(hist[5], 0);
    for (const [i, w] of ws.entries()) if (w > 0) assert.ok(Math.abs(hist[i]! / N - w / 10) < 0.005, `outcome ${i}`);
  });

  it('packed tables draw exactly what the unpacked ones draw (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (ws, us) => {
          fc.pre(ws.some((w) => w > 0));
          const t = allocAliasTables(1, ws.length);
          buildAliasRow(t, 0, ws);
          const packed = packAliasTables(t);
          for (const u of us) {
            const a = samplePacked(packed, ws.length, 0, u);
            const b = sampleAlias(t, 0, u);
            if (a === b) continue;
            // Packing keeps 53 - log2(n) bits of the threshold: draws may differ only within that of it.
            const x = u * ws.length;
            const j = Math.floor(x);
            assert.ok(Math.abs(x - j - t.prob[j]!) < 1e-12, `u=${u}: packed ${a}, unpacked ${b}, threshold ${t.prob[j]}`);
          }
        },
      ),
      { numRuns: 200 },
    );
    // Large tables: aliases near 2^20 with thresholds close to 1 must not round up into the next integer.
    const n = 1 << 20;
    const t = allocAliasTables(1, n);
    const ws = new Float64Array(n).fill(1);
    ws[n - 1] = 2; // forces slots with prob just below 1 whose alias is n - 1
    buildAliasRow(t, 0, ws);
    const packed = packAliasTables(t);
    for (let i = 0; i < n; i++) assert.ok(Math.floor(packed[i]!) === (t.prob[i]! >= 1 ? i : t.alias[i]!) || t.alias[i] === i, `slot ${i}`);
  });

  it('rejects bad weights with a clear error', () => {
    const t = allocAliasTables(1, 3);
    assert.throws(() => buildAliasRow(t, 0, [0, 0, 0]), /sum to zero/);
    assert.throws(() => buildAliasRow(t, 0, [1, -1, 0]), /weight 1/);
    assert.throws(() => buildAliasRow(t, 0, [1, 2]), /expected 3 weights/);
    assert.throws(() => buildAliasRow(t, 1, [1, 2, 3]), /out of range/);
  });
});
