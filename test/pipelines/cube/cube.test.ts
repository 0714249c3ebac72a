import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { from, lastValueFrom, toArray } from 'rxjs';
import { allocEventBatch, type EventBatch } from '../../../drivers/batches.js';
import { Calibration } from '../../../pipelines/calibration/calibration.js';
import { Cube } from '../../../pipelines/cube/cube.js';
import { fillCube } from '../../../pipelines/cube/fill-cube.js';
import { loadSnapshot, restoreSnapshotInto, saveSnapshot, saveSnapshotAsync, readSnapshotHeader, SnapshotError } from '../../../pipelines/cube/snapshot.js';

const W = 5;
const H = 4;
const C = 16;
// 1 keV per ADC, 16 channels of 1 keV: channel = adc for adc < 16.
const config = {
  detector: { width: W, height: H },
  calibration: { gainKeVPerAdc: 1, offsetKeV: 0, quadraticKeVPerAdc2: 0, gainMapFile: null },
  histogram: { channels: C, eMinKeV: 0, eMaxKeV: 16 },
};

function batch(events: Array<[x: number, y: number, adc: number]>): EventBatch {
  const b = allocEventBatch(events.length);
  events.forEach(([x, y, adc], i) => {
    b.x[i] = x;
    b.y[i] = y;
    b.adc[i] = adc;
    b.t[i] = i;
  });
  b.n = events.length;
  return b;
}

/** A deterministic pseudo-random batch (xorshift), some events off the grid or out of range. */
function randomBatch(n: number, seed: number): EventBatch {
  const b = allocEventBatch(n);
  let s = seed >>> 0 || 1;
  const next = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0));
  for (let i = 0; i < n; i++) {
    b.x[i] = next() % (W + 1);
    b.y[i] = next() % (H + 1);
    b.adc[i] = next() % 20;
  }
  b.n = n;
  return b;
}

describe('pipelines/cube', () => {
  const cal = new Calibration(config);

  it('adds events: counts, totals, sum spectrum and drop counters exact', () => {
    const cube = Cube.fromConfig(config);
    const added = cube.addEvents(
      batch([
        [0, 0, 3], [0, 0, 3], [4, 3, 15], [2, 1, 0], // in
        [5, 0, 3], [0, 4, 3], // off grid
        [1, 1, 16], [1, 1, 400], // out of energy range
      ]),
      cal,
    );
    assert.equal(added, 4);
    assert.deepEqual([...cube.pixelSpectrum(0, 0)], [0, 0, 0, 2, ...new Array(12).fill(0)]);
    assert.equal(cube.counts[(3 * W + 4) * C + 15], 1);
    assert.equal(cube.counts[(1 * W + 2) * C + 0], 1);
    const totals = new Uint32Array(W * H);
    totals[0] = 2;
    totals[3 * W + 4] = 1;
    totals[1 * W + 2] = 1;
    assert.deepEqual(cube.countMap(), totals);
    assert.deepEqual([...cube.sumSpectrum], [1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(cube.counters(), { eventsIn: 8, eventsAdded: 4, droppedOffGrid: 2, droppedOutOfRange: 2, droppedDeadPixel: 0, generation: 0 });
    assert.equal(cube.totalEvents, 4);
  });

  it('agrees with a plain reference histogram on random batches, with and without a gain map', () => {
    const gain = new Float32Array(W * H);
    for (let i = 0; i < gain.length; i++) gain[i] = [1, 0.5, 2, 0.25, 0][i % 5]!;
    for (const g of [null, gain]) {
      const c = new Calibration(config, g);
      const cube = Cube.fromConfig(config);
      const ref = new Uint32Array(W * H * C);
      let dropped = 0;
      for (let k = 0; k < 5; k++) {
        const b = randomBatch(1000, 17 + k);
        cube.addEvents(b, c);
        for (let i = 0; i < b.n; i++) {
          const x = b.x[i]!, y = b.y[i]!;
          const gg = g ? g[y * W + x]! : 1;
          const e = x < W && y < H && gg > 0 ? b.adc[i]! / gg : -1;
          if (e >= 0 && e < 16) ref[(y * W + x) * C + Math.floor(e)]!++;
          else dropped++;
        }
      }
      assert.deepEqual(cube.counts, ref);
      const cnt = cube.counters();
      assert.equal(cnt.eventsIn, 5000);
      assert.equal(cnt.droppedOffGrid + cnt.droppedOutOfRange + cnt.droppedDeadPixel, dropped);
      if (g) assert.ok(cnt.droppedDeadPixel > 0, 'gain 0 pixels count as dead');
      let sumTotals = 0;
      for (const t of cube.totals) sumTotals += t;
      assert.equal(sumTotals, cnt.eventsAdded);
      assert.equal(cube.sumSpectrum.reduce((a, b) => a + b, 0), cnt.eventsAdded);
    }
  });

  it('region spectrum sums the clipped rectangle; pixel spectrum copies into out', () => {
    const cube = Cube.fromConfig(config);
    cube.addEvents(batch([[0, 0, 1], [1, 0, 1], [1, 1, 2], [4, 3, 5], [3, 3, 5]]), cal);
    const r = cube.regionSpectrum(0, 0, 2, 2);
    assert.equal(r[1], 2);
    assert.equal(r[2], 1);
    assert.equal(r[5], 0);
    const clipped = cube.regionSpectrum(3, 3, 10, 10);
    assert.equal(clipped[5], 2);
    const out = new Uint32Array(C);
    assert.equal(cube.pixelSpectrum(1, 1, out), out);
    assert.equal(out[2], 1);
    assert.throws(() => cube.pixelSpectrum(5, 0), RangeError);
    assert.deepEqual(cube.countMapFloat32()[0], 1);
  });

  it('reset empties everything and bumps the generation', () => {
    const cube = Cube.fromConfig(config);
    cube.addEvents(randomBatch(500, 3), cal);
    cube.reset();
    assert.ok(cube.counts.every((v) => v === 0));
    assert.ok(cube.totals.every((v) => v === 0));
    assert.ok(cube.sumSpectrum.every((v) => v === 0));
    assert.equal(cube.counters().eventsIn, 0);
    assert.equal(cube.counters().generation, 1);
  });

  it('fillCube operator histograms each batch and passes it on', async () => {
    const cube = Cube.fromConfig(config);
    const batches = [randomBatch(100, 1), randomBatch(200, 2)];
    const out = await lastValueFrom(from(batches).pipe(fillCube(cube, cal), toArray()));
    assert.equal(out.length, 2);
    assert.equal(out[1], batches[1]);
    assert.equal(cube.counters().eventsIn, 300);
  });

  it('rejects a calibration made for another grid', () => {
    const cube = Cube.fromConfig(config);
    const other = new Calibration({ ...config, detector: { width: 6, height: 4 } });
    assert.throws(() => cube.addEvents(randomBatch(1, 1), other), /calibration is for 6x4x16/);
  });

  describe('snapshots', () => {
    let dir = '';
    before(() => (dir = mkdtempSync(join(tmpdir(), 'gemxrf-cube-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('round trip (sync and async) is identical, recordingOffset kept', async () => {
      const cube = Cube.fromConfig(config);
      cube.addEvents(randomBatch(3000, 9), cal);
      cube.inferredTotals[7] = 42;
      const f = join(dir, 'a.cube');
      saveSnapshot(cube, f, 123456789012345n);
      const { cube: back, header } = loadSnapshot(f);
      assert.equal(header.recordingOffset, 123456789012345n);
      assert.deepEqual(back.counts, cube.counts);
      assert.deepEqual(back.totals, cube.totals);
      assert.deepEqual(back.inferredTotals, cube.inferredTotals);
      assert.deepEqual(back.sumSpectrum, cube.sumSpectrum);
      const { generation: _g1, ...c1 } = back.counters();
      const { generation: _g2, ...c2 } = cube.counters();
      assert.deepEqual(c1, c2);

      const g = join(dir, 'b.cube');
      await saveSnapshotAsync(cube, g, 7n);
      assert.deepEqual(readFileSync(g).subarray(256), readFileSync(f).subarray(256));
      assert.equal(readSnapshotHeader(g).recordingOffset, 7n);
    });

    it('restores into a live cube (same buffers) and refuses mismatched or damaged files', () => {
      const cube = Cube.fromConfig(config);
      cube.addEvents(randomBatch(1000, 5), cal);
      const f = join(dir, 'c.cube');
      saveSnapshot(cube, f, 1n);
      const live = Cube.fromConfig(config);
      const view = live.counts;
      live.addEvents(randomBatch(10, 6), cal);
      restoreSnapshotInto(live, f);
      assert.equal(live.counts, view, 'same typed array, same SharedArrayBuffer');
      assert.deepEqual(live.counts, cube.counts);
      assert.equal(live.counters().generation, 1);

      const other = new Cube({ width: 4, height: 4, channels: C, eMinKeV: 0, eMaxKeV: 16 });
      assert.throws(() => restoreSnapshotInto(other, f), /is 5x4x16, cube is 4x4x16/);
      const bytes = readFileSync(f);
      writeFileSync(join(dir, 'short.cube'), bytes.subarray(0, bytes.length - 1));
      assert.throws(() => restoreSnapshotInto(live, join(dir, 'short.cube')), SnapshotError);
      writeFileSync(join(dir, 'junk.cube'), Buffer.from('not a cube at all'.repeat(20)));
      assert.throws(() => loadSnapshot(join(dir, 'junk.cube')), /bad magic/);
    });
  });

  it('a worker_thread attached with fromShared sees the same counts, live', async () => {
    const cube = Cube.fromConfig(config);
    cube.addEvents(randomBatch(2000, 11), cal);
    const worker = new Worker(new URL('./fixtures/ts-worker.mjs', import.meta.url), {
      workerData: { entry: new URL('./fixtures/cube-worker.ts', import.meta.url).href, cube: cube.shared() },
    });
    try {
      const ask = (msg: unknown) =>
        new Promise<{ totals: number[]; spectrum: number[]; events: number }>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.postMessage(msg);
        });
      const first = await ask({ x: 2, y: 1 });
      assert.deepEqual(first.totals, [...cube.totals]);
      assert.deepEqual(first.spectrum, [...cube.pixelSpectrum(2, 1)]);
      assert.equal(first.events, cube.totalEvents);
      cube.addEvents(batch([[2, 1, 7], [2, 1, 7]]), cal); // written here, read there without a message
      const second = await ask({ x: 2, y: 1 });
      assert.equal(second.spectrum[7], first.spectrum[7]! + 2);
      assert.equal(second.events, first.events + 2);
    } finally {
      await worker.terminate();
    }
  });
});
