// Deadlines of the inference worker (inference.workerTimeoutSeconds) with REAL graphs that hang inside
// onnxruntime, no mocks: a Loop whose session.run() lasts seconds (support/loop-model.py) against a 0.25 s
// deadline, and a model file that is a named pipe, so that the graph load blocks in open(). Outcomes only (no
// timing assertions): the request rejects naming the timeout, stats report it, stop() and the final pass do not
// hang, a healthy graph under the same short deadline still works.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InferenceEngine, InferenceTimeoutError, probeModel, stuckInferenceWorkers, stuckInferenceWorkersEnded,
} from '../../../pipelines/inference/engine.js';
import { phantomCube } from './support/phantom-cube.js';
import { fifoModel, loopModel, missing } from './support/loop-model.js';

/** A run of this many Loop iterations lasts seconds (about 1 us each): far past the deadline, yet it ends, so
 *  the abandoned worker ends too and the test process can exit. */
const LONG_TRIPS = 4_000_000;
const DEADLINE_MS = 250;

describe('inference deadlines (real hanging ONNX graphs)', function () {
  this.timeout(120_000);
  let dir: string;
  let quick: string;
  let slow: string;
  const engines: InferenceEngine[] = [];
  const feeds: Array<() => void> = [];

  before(function () {
    const why = missing();
    if (why) {
      if (process.env.CI) throw new Error(`${why}: required in CI`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-deadline-'));
    quick = loopModel(dir, 'quick', 1000);
    slow = loopModel(dir, 'slow', LONG_TRIPS);
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.stop()));
    for (const feed of feeds.splice(0)) feed();
  });
  after(async function () {
    this.timeout(300_000);
    // Node joins worker threads at exit: wait for the abandoned ones to end on their own.
    await stuckInferenceWorkersEnded();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a healthy graph under a short deadline: cycles and the final pass complete, no timeout', async () => {
    const fill = phantomCube(8, 8);
    fill.add(8 * 8 * 200);
    const engine = await InferenceEngine.start({ cube: fill.cube, model: quick, auto: false, timeoutMs: DEADLINE_MS, batchSize: 16 });
    engines.push(engine);
    // Several batches, each well inside the deadline: the final pass as a whole may take longer.
    const report = await engine.finalPass();
    assert.equal(report.final, true);
    assert.equal(report.pixels, 64);
    const s = engine.stats();
    assert.equal(s.lastError, null);
    assert.equal(s.timeouts, 0);
    assert.equal(s.running, true);
  });

  it('a model run that does not return: the final pass rejects naming the timeout, stats say so, stop() returns', async () => {
    const fill = phantomCube(8, 8);
    fill.add(8 * 8 * 200);
    const engine = await InferenceEngine.start({ cube: fill.cube, model: slow, auto: false, timeoutMs: DEADLINE_MS });
    engines.push(engine);
    await assert.rejects(engine.finalPass(), /model run timed out after 0\.25 s \(inference\.workerTimeoutSeconds\)/);
    const s = engine.stats();
    assert.equal(s.running, false);
    assert.equal(s.timeouts, 1);
    assert.match(String(s.lastError), /timed out/);
    // Given up inside onnxruntime (terminating it there would abort the process when the run returns).
    assert.equal(stuckInferenceWorkers(), 1);
    await engine.stop();
    await assert.rejects(engine.cycle(), /stopped \(model run timed out/);
    // The abandoned worker ends by itself once the run returns.
    await stuckInferenceWorkersEnded();
    assert.equal(stuckInferenceWorkers(), 0);
  });

  it('auto cycles on a hanging graph: the engine gives the worker up by itself (no request pending)', async () => {
    const fill = phantomCube(8, 8);
    fill.add(8 * 8 * 200);
    const engine = await InferenceEngine.start({ cube: fill.cube, model: slow, auto: true, timeoutMs: DEADLINE_MS });
    engines.push(engine);
    while (engine.stats().running) await new Promise((r) => setTimeout(r, 50));
    const s = engine.stats();
    assert.equal(s.timeouts, 1);
    assert.match(String(s.lastError), /model run timed out after 0\.25 s/);
    await engine.stop();
    await stuckInferenceWorkersEnded();
  });

  it('stop() queued behind a hanging cycle returns once the deadline gives the worker up', async () => {
    const fill = phantomCube(8, 8);
    fill.add(8 * 8 * 200);
    const engine = await InferenceEngine.start({ cube: fill.cube, model: slow, auto: false, timeoutMs: DEADLINE_MS });
    engines.push(engine);
    const cycle = engine.cycle();
    await engine.stop();
    await assert.rejects(cycle, /model run timed out/);
    assert.equal(engine.stats().timeouts, 1);
    await stuckInferenceWorkersEnded();
  });

  it('a graph load that blocks (model file on a hung mount): start and probe reject with InferenceTimeoutError', async () => {
    const { cube } = phantomCube(8, 8);
    const pipe = fifoModel(dir, 'blocked', quick);
    feeds.push(pipe.feed);
    await assert.rejects(InferenceEngine.start({ cube, model: pipe.onnx, timeoutMs: DEADLINE_MS }), (err: Error) => {
      assert.ok(err instanceof InferenceTimeoutError, `${err.name}: ${err.message}`);
      assert.match(err.message, /the graph did not load within 0\.25 s \(timed out/);
      return true;
    });
    assert.equal(stuckInferenceWorkers(), 1);
    // The load ends when a graph arrives; the abandoned worker then ends itself.
    pipe.feed();
    await stuckInferenceWorkersEnded();
    await assert.rejects(probeModel(pipe.onnx, { timeoutMs: DEADLINE_MS }), InferenceTimeoutError);
    pipe.feed();
    await stuckInferenceWorkersEnded();
    // A healthy graph passes the same probe.
    assert.equal((await probeModel(quick, { timeoutMs: DEADLINE_MS })).name, 'quick');
  });
});
