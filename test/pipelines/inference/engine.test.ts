// The inference engine with a real ONNX model (shipped lt-vit when present, else the training smoke model) in
// a real worker_thread, on a cube filled from the simulator's phantom-painting.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceEngine } from '../../../pipelines/inference/engine.js';
import { ModelCardError } from '../../../pipelines/inference/model-card.js';
import { takeWorker } from '../../../pipelines/inference/native-gate.js';
import { OnnxModel } from '../../../pipelines/inference/onnx-model.js';
import { createRebinner } from '../../../pipelines/inference/rebin.js';
import { pearson } from '../../../pipelines/maps/compare.js';
import { truthMaps } from '../../../simulator/phantoms/index.js';
import { phantomCube } from './support/phantom-cube.js';
import { testModel, type TestModel } from './support/test-model.js';

const W = 32;
const H = 24;

describe('inference engine (worker_thread, real ONNX model)', function () {
  this.timeout(120_000);
  let model: TestModel;
  let dir: string;
  const engines: InferenceEngine[] = [];
  const start = async (opts: Omit<Parameters<typeof InferenceEngine.start>[0], 'model'>) => {
    const e = await InferenceEngine.start({ model: model.onnx, auto: false, ...opts });
    engines.push(e);
    return e;
  };

  before(function () {
    this.timeout(300_000);
    model = testModel();
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-inference-'));
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.stop()));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('refuses a model whose card does not match the graph, with a clear error', async () => {
    const card = JSON.parse(readFileSync(model.onnx.replace(/\.onnx$/, '.json'), 'utf8'));
    copyFileSync(model.onnx, join(dir, 'wrong.onnx'));
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ ...card, input: { ...card.input, name: 'spectra' } }));
    const { cube } = phantomCube(8, 8);
    await assert.rejects(InferenceEngine.start({ cube, model: 'wrong', modelsDir: dir }), (err: Error) => {
      assert.ok(err instanceof ModelCardError, `${err.name}: ${err.message}`);
      assert.match(err.message, /card input 'spectra' is not an input of the graph \(graph inputs: spectrum\)/);
      return true;
    });
    // A card listing more elements than its outputs have columns is refused before any worker starts.
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ ...card, elements: [...card.elements, 'U'] }));
    await assert.rejects(InferenceEngine.start({ cube, model: 'wrong', modelsDir: dir }), /output 'fractions' has \d+ columns but the card lists \d+ elements/);
    await assert.rejects(InferenceEngine.start({ cube, model: 'absent', modelsDir: dir }), /model file not found/);
  });

  it('infers a low-count cube on coarse blocks first, then refines; the final pass is full resolution', async () => {
    const fill = phantomCube(W, H);
    fill.add(W * H * 15); // ~15 counts a pixel: 4x4 blocks (240) pass minCounts 100, 2x2 blocks (60) do not
    const engine = await start({ cube: fill.cube, cycleBudgetMs: 60_000 });
    const r1 = await engine.cycle();
    assert.notEqual(r1.threadId, 0, 'ran on the main thread');
    assert.equal(r1.coarsestLevel, 4);
    const { levels, fractions, model: net } = engine.maps();
    const P = W * H;
    assert.ok(r1.levelPixels['4']! > 0.9 * P, JSON.stringify(r1.levelPixels));
    // A block's result is written to all its pixels; net counts scale with each pixel's own total.
    const totals = fill.cube.totals;
    const E = engine.elements.length;
    for (let e = 0; e < E; e++)
      for (let p = 0; p < P; p++) {
        if (levels[p] !== 4) continue;
        const q = Math.floor(p / W / 4) * 4 * W + Math.floor((p % W) / 4) * 4; // the block's first pixel
        assert.equal(fractions.data[e * P + p], fractions.data[e * P + q]);
        assert.ok(Math.abs(net.data[e * P + p]! - fractions.data[e * P + p]! * totals[p]!) <= 1e-3 * Math.max(1, net.data[e * P + p]!));
      }
    assert.equal(engine.stats().coarseLevel, 4);

    fill.add(W * H * 20); // ~35 a pixel: 2x2 blocks now have enough
    const r2 = await engine.cycle();
    assert.ok(r2.finestLevel <= 2 && r2.levelPixels['2']! > 0.5 * P, JSON.stringify(r2));
    fill.add(W * H * 200); // ~235 a pixel: single pixels
    const r3 = await engine.cycle();
    assert.equal(r3.finestLevel, 1);
    assert.ok(r3.levelPixels['1']! > 0.5 * P, JSON.stringify(r3.levelPixels));

    const fin = await engine.finalPass();
    assert.equal(fin.final, true);
    assert.equal(fin.backlogPixels, 0);
    assert.deepEqual(fin.levelPixels, { '0': 0, '1': P, '2': 0, '4': 0 });
    assert.ok(levels.every((l) => l === 1));
  });

  it('final-pass maps equal the model run directly on each pixel spectrum (rebinned to the card grid)', async () => {
    const fill = phantomCube(W, H, 11);
    fill.add(W * H * 150);
    const engine = await start({ cube: fill.cube, batchSize: 100 });
    await engine.finalPass();
    const direct = await OnnxModel.load(model.onnx);
    try {
      const cube = fill.cube;
      const grid = direct.card.energyGrid;
      const rebin = createRebinner(cube, grid);
      const pixels = [0, 1, W + 5, 7 * W + 13, W * H - 1];
      const input = new Float32Array(pixels.length * grid.channels);
      pixels.forEach((p, i) => rebin.apply(cube.pixelSpectrum(p % W, Math.floor(p / W)), input, i * grid.channels));
      const out = await direct.run(input, pixels.length);
      const E = direct.elements.length;
      const { fractions, presence, model: net } = engine.maps();
      const P = W * H;
      pixels.forEach((p, i) => {
        for (let e = 0; e < E; e++) {
          assert.ok(Math.abs(fractions.data[e * P + p]! - out.fractions[i * E + e]!) < 1e-5, `pixel ${p} element ${e}`);
          assert.ok(Math.abs(presence.data[e * P + p]! - out.presence[i * E + e]!) < 1e-5);
          assert.ok(Math.abs(net.data[e * P + p]! - out.fractions[i * E + e]! * cube.totals[p]!) < 1e-3 * Math.max(1, net.data[e * P + p]!));
        }
      });
      assert.deepEqual([...cube.inferredTotals], [...cube.totals]);
    } finally {
      await direct.release();
    }
  });

  it('re-infers only the pixels whose counts grew past the thresholds; the others keep their values', async () => {
    const fill = phantomCube(W, H, 13);
    fill.add(W * H * 300);
    const engine = await start({ cube: fill.cube, relativeThreshold: 0.25, absoluteThreshold: 50 });
    await engine.finalPass();
    const before = { fr: engine.maps().fractions.data.slice(), inferred: fill.cube.inferredTotals.slice() };
    // New events only in rows 0..3: real spectra (the generator's), moved onto those rows. ~+400 counts a pixel.
    const batch = fill.gen.next(4 * W * 400);
    for (let i = 0; i < batch.n; i++) batch.y[i] = batch.y[i]! % 4;
    const { Calibration } = await import('../../../pipelines/calibration/calibration.js');
    const { configSchema } = await import('../../../config/schema.js');
    fill.cube.addEvents(batch, new Calibration(configSchema.parse({ detector: { width: W, height: H } })));
    const r = await engine.cycle();
    const P = W * H;
    const grown = (p: number) => {
      const d = fill.cube.totals[p]! - before.inferred[p]!;
      return d >= 50 && d >= 0.25 * before.inferred[p]!;
    };
    let due = 0;
    for (let p = 0; p < P; p++) if (grown(p)) due++;
    assert.ok(due > 3 * W, `only ${due} pixels grew enough`);
    assert.equal(r.pixels, due);
    const after = engine.maps().fractions.data;
    const E = engine.elements.length;
    for (let p = 0; p < P; p++) {
      const same = Array.from({ length: E }, (_, e) => after[e * P + p] === before.fr[e * P + p]).every(Boolean);
      if (grown(p)) assert.equal(fill.cube.inferredTotals[p], fill.cube.totals[p], `pixel ${p} not re-inferred`);
      else {
        assert.ok(same, `pixel ${p} changed without growing`);
        assert.equal(fill.cube.inferredTotals[p], before.inferred[p]);
      }
    }
    assert.equal((await engine.cycle()).spectra, 0, 'nothing due twice');
  });

  it('runs off the main thread: the event loop keeps turning while the worker is mid-pass', async () => {
    const fill = phantomCube(W, H, 17);
    fill.add(W * H * 50);
    const engine = await start({ cube: fill.cube, batchSize: 32 }); // 24 batches of 32 pixels
    const levels = engine.maps().levels;
    const seen = new Set<number>();
    let ticks = 0;
    let done = false;
    const pass = engine.finalPass().finally(() => (done = true));
    await new Promise<void>((resolve) => {
      const tick = () => {
        ticks++;
        let full = 0;
        for (let p = 0; p < levels.length; p++) if (levels[p] === 1) full++;
        seen.add(full);
        if (done) resolve();
        else setImmediate(tick);
      };
      setImmediate(tick);
    });
    const report = await pass;
    assert.notEqual(report.threadId, 0);
    const partial = [...seen].filter((n) => n > 0 && n < W * H);
    assert.ok(partial.length >= 2, `main thread saw ${seen.size} states in ${ticks} ticks: ${[...seen].sort((a, b) => a - b).join(', ')}`);
  });

  it('cycles on its own in auto mode and reports stats for live/stats', async () => {
    const fill = phantomCube(W, H, 19);
    fill.add(W * H * 40);
    let reports = 0;
    const engine = await start({ cube: fill.cube, auto: true, cycleBudgetMs: 100, idleMs: 20, onReport: () => reports++ });
    const deadline = Date.now() + 60_000;
    while ((engine.stats().levelPixels['0'] ?? 1) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const s = engine.stats();
    assert.equal(s.levelPixels['0'], 0, JSON.stringify(s));
    assert.ok(reports >= 1 && s.cycles >= 1);
    assert.ok(s.firstMapMs !== null && s.firstMapMs > 0);
    assert.ok(s.pixelsInferred >= W * H && s.pixelsPerSecond > 0 && s.spectraPerSecond > 0);
    assert.deepEqual(s.elements, engine.elements);
    assert.ok(s.eventLoopDelayMs.max >= 0 && Number.isFinite(s.eventLoopDelayMs.p99));
    assert.equal(s.lastError, null);
    assert.doesNotThrow(() => JSON.stringify(s));
    await engine.stop();
    await assert.rejects(engine.cycle(), /stopped/);
  });

  it('a reset cube clears the maps at the next cycle', async () => {
    const fill = phantomCube(16, 16, 23);
    fill.add(16 * 16 * 200);
    const engine = await start({ cube: fill.cube });
    await engine.finalPass();
    fill.cube.reset();
    const r = await engine.cycle();
    assert.equal(r.spectra, 0);
    assert.deepEqual(r.levelPixels['0'], 256);
    assert.ok(engine.maps().fractions.data.every((v) => v === 0));
  });

  it('stop during a final pass: the pass in flight completes, stop resolves, later requests reject', async () => {
    const fill = phantomCube(W, H, 29);
    fill.add(W * H * 30);
    const engine = await start({ cube: fill.cube, batchSize: 32 });
    const pass = engine.finalPass();
    const stopped = engine.stop();
    const report = await pass;
    assert.equal(report.final, true);
    await stopped;
    assert.equal(engine.stats().running, false);
    assert.equal(engine.stats().lastError, null);
    await assert.rejects(engine.finalPass(), /stopped/);
    await assert.rejects(engine.cycle(), /stopped/);
    await engine.stop(); // twice is fine
  });

  it('a worker that dies mid-pass rejects the pending request (no hang); stop and later requests do not hang', async () => {
    const fill = phantomCube(W, H, 31);
    fill.add(W * H * 30);
    const engine = await start({ cube: fill.cube, batchSize: 32 });
    const pass = engine.finalPass();
    const inner = engine as unknown as { worker: { terminate(): Promise<number> }; control: Int32Array };
    // Stands in for a crash (native abort, out of memory). Terminated only while it runs JavaScript: a worker
    // terminated inside onnxruntime's run aborts the whole process when the run returns (native-gate.ts). If it
    // is inside a run now, it is abandoned and exits by itself when the run returns: the engine sees the same exit.
    if (takeWorker(inner.control) === 'terminate') await inner.worker.terminate();
    await assert.rejects(pass, /inference: inference worker exited/);
    const s = engine.stats();
    assert.equal(s.running, false);
    assert.match(String(s.lastError), /exited/);
    await engine.stop();
    await assert.rejects(engine.finalPass(), /stopped/);
    // The event-loop delay monitor (a 10 ms timer) is released too, not left running for every crashed scan.
    assert.equal((engine as unknown as { delay: { disable(): boolean } }).delay.disable(), false, 'delay monitor still enabled');
  });

  it('shipped model only: net-count maps follow the phantom truth for Cr, Cu and Pb', async function () {
    if (!model.shipped) {
      if (process.env.CI) throw new Error('the shipped models/lt-vit must be present in CI');
      this.skip();
    }
    const fill = phantomCube(48, 40, 5);
    fill.add(48 * 40 * 300);
    const engine = await start({ cube: fill.cube });
    await engine.finalPass();
    const truth = truthMaps(fill.gen.phantom, 48, 40);
    const P = 48 * 40;
    for (const el of ['Cr', 'Cu', 'Pb']) {
      const e = truth.elements.indexOf(el);
      const m = engine.elements.indexOf(el);
      if (e < 0 || m < 0) continue;
      const expected = Float64Array.from({ length: P }, (_, p) => truth.maps[e * P + p]! * fill.cube.totals[p]!);
      const r = pearson(engine.maps().model.data.subarray(m * P, (m + 1) * P), expected);
      assert.ok(r > 0.8, `${el}: correlation ${r.toFixed(3)}`);
    }
  });
});
