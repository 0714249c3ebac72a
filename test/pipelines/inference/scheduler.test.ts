// The incremental scheduler on hand-made totals: which blocks are due, at which size, in which order.
import assert from 'node:assert/strict';
import { Scheduler } from '../../../pipelines/inference/scheduler.js';

const opts = { minCounts: 100, relativeThreshold: 0.25, absoluteThreshold: 50 };

function units(s: Scheduler, n: number): Array<[number, number, number]> {
  const w = s.work;
  const out: Array<[number, number, number]> = [];
  for (let i = 0; i < n; i++) {
    const u = w.order[i]!;
    out.push([w.x[u]!, w.y[u]!, w.size[u]!]);
  }
  return out;
}

/** Marks the planned units as inferred now (what the runner does after a run). */
function markDone(s: Scheduler, n: number, W: number, H: number, totals: Uint32Array, inferred: Uint32Array, levels: Uint8Array): void {
  const w = s.work;
  for (let i = 0; i < n; i++) {
    const u = w.order[i]!;
    const size = w.size[u]!;
    for (let y = w.y[u]!; y < Math.min(H, w.y[u]! + size); y++)
      for (let x = w.x[u]!; x < Math.min(W, w.x[u]! + size); x++) {
        inferred[y * W + x] = totals[y * W + x]!;
        levels[y * W + x] = size;
      }
  }
}

describe('inference scheduler (progressive refinement, incremental thresholds)', () => {
  const W = 8;
  const H = 8;

  it('infers low-count regions on 4x4 blocks, then 2x2, then single pixels as counts grow', () => {
    const s = new Scheduler(W, H, opts);
    const totals = new Uint32Array(W * H);
    const inferred = new Uint32Array(W * H);
    const levels = new Uint8Array(W * H);
    totals.fill(5); // 4x4 block: 80 < 100 -> nothing yet
    assert.equal(s.plan(totals, inferred, levels), 0);
    totals.fill(10); // 4x4: 160, 2x2: 40
    let n = s.plan(totals, inferred, levels);
    assert.deepEqual(units(s, n).sort(), [[0, 0, 4], [0, 4, 4], [4, 0, 4], [4, 4, 4]]);
    assert.ok(s.work.area.subarray(0, n).every((a) => a === 16));
    markDone(s, n, W, H, totals, inferred, levels);
    assert.equal(s.plan(totals, inferred, levels), 0, 'nothing grew: nothing due');
    totals.fill(30); // 2x2: 120
    n = s.plan(totals, inferred, levels);
    assert.equal(n, 16);
    assert.ok(units(s, n).every(([, , size]) => size === 2));
    markDone(s, n, W, H, totals, inferred, levels);
    totals.fill(100);
    n = s.plan(totals, inferred, levels);
    assert.equal(n, 64);
    assert.ok(units(s, n).every(([, , size]) => size === 1));
  });

  it('refines only where every sub-block has enough counts (mixed levels across the image)', () => {
    const s = new Scheduler(W, H, opts);
    const totals = new Uint32Array(W * H).fill(10);
    // Top-left 4x4 tile bright enough for single pixels; the rest stays on 4x4 blocks.
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) totals[y * W + x] = 150;
    const n = s.plan(totals, new Uint32Array(W * H), new Uint8Array(W * H));
    const got = units(s, n);
    assert.equal(got.filter(([, , size]) => size === 1).length, 16);
    assert.deepEqual(got.filter(([, , size]) => size === 4).map(([x, y]) => [x, y]).sort(), [[0, 4], [4, 0], [4, 4]]);
  });

  it('re-infers a pixel only when it grew by both thresholds; most grown first; others untouched', () => {
    const s = new Scheduler(W, H, opts);
    const totals = new Uint32Array(W * H).fill(200);
    const inferred = totals.slice();
    const levels = new Uint8Array(W * H).fill(1);
    totals[3] = 260; // +60 (30%): due
    totals[10] = 240; // +40: below the absolute threshold
    totals[20] = 600; // +400 (200%): due, first
    totals[30] = 1000; // due
    inferred[30] = 900; // +100 but only 11%: below the relative threshold
    const n = s.plan(totals, inferred, levels);
    assert.deepEqual(units(s, n), [[4, 2, 1], [3, 0, 1]]);
  });

  it('puts never-inferred blocks before refinements before growth', () => {
    const s = new Scheduler(W, H, opts);
    const totals = new Uint32Array(W * H).fill(200);
    const inferred = totals.slice();
    const levels = new Uint8Array(W * H).fill(1);
    levels[0] = 0; // never inferred
    levels[W * 4 + 4] = 2; // inferred coarser: refinement
    totals[63] = 2000; // grown a lot
    const n = s.plan(totals, inferred, levels);
    assert.deepEqual(units(s, n), [[0, 0, 1], [4, 4, 1], [7, 7, 1]]);
  });

  it('clips blocks at the image border', () => {
    const s = new Scheduler(10, 5, opts);
    const totals = new Uint32Array(50).fill(13);
    const n = s.plan(totals, new Uint32Array(50), new Uint8Array(50));
    const got = units(s, n);
    // Tiles at x = 0, 4, 8 (the last 2 wide) and y = 0, 4 (the last 1 high). 13 counts a pixel: a clipped 2x4
    // tile has 104 (due), a 4x1 tile 52 and a 2x1 tile 26 (not yet).
    assert.deepEqual(got.map(([x, y, size]) => [x, y, size]).sort(), [[0, 0, 4], [4, 0, 4], [8, 0, 4]].sort());
    const areas = got.map((_, i) => s.work.area[s.work.order[i]!]).sort();
    assert.deepEqual(areas, [16, 16, 8]);
  });

  it('final pass plans every pixel not already inferred alone at its current total', () => {
    const s = new Scheduler(W, H, opts);
    const totals = new Uint32Array(W * H).fill(50);
    const inferred = totals.slice();
    const levels = new Uint8Array(W * H).fill(4);
    levels[5] = 1; // done at full resolution, unchanged: skipped
    levels[6] = 1;
    totals[6] = 51; // full resolution but grew: planned
    const n = s.planFull(totals, inferred, levels);
    assert.equal(n, 63);
    assert.ok(units(s, n).every(([, , size]) => size === 1));
  });

  it('refuses block sizes that do not nest', () => {
    assert.throws(() => new Scheduler(8, 8, { ...opts, blockSizes: [4, 3, 1] }), /multiple of the next/);
    assert.throws(() => new Scheduler(8, 8, { ...opts, blockSizes: [4, 2] }), /end in 1/);
  });
});
