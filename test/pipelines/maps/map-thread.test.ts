// Classical maps in a worker_thread (pipelines/maps/map-thread.ts): the worker's maps equal the main thread's
// on the same cube, the main thread's event loop keeps turning while a large fit runs in the worker, requests
// are never queued, a worker that throws is reported (no hang), a worker that hangs (endless loop) is terminated
// after its deadline and reported, and a stopped or timed-out thread lets the process exit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { configSchema } from '../../../config/schema.js';
import { DEFAULT_DETECTOR } from '../../../physics/index.js';
import { Cube } from '../../../pipelines/cube/cube.js';
import { cubeGrid } from '../../../pipelines/maps/build.js';
import { LinearFitter } from '../../../pipelines/maps/fit.js';
import { MapThread, MapThreadStopped } from '../../../pipelines/maps/map-thread.js';
import { planRoi, roiMaps } from '../../../pipelines/maps/roi.js';
import { repoRoot } from '../../support/cli.js';
import { phantomCube } from '../inference/support/phantom-cube.js';

const ELEMENTS = ['Cr', 'Cu', 'Pb'];
const HANGING_WORKER = new URL('./fixtures/hanging-map-worker.ts', import.meta.url);
const HANGING_START_WORKER = new URL('./fixtures/hanging-start-map-worker.ts', import.meta.url);

/** Runs a fixture script as its own process; its exit code (null: it did not exit within 30 s) and output. */
async function runScript(script: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, script)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 30_000);
    child.once('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  return { code, out };
}

/** Index of the first difference between two float arrays (exact comparison), -1 when equal. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe('pipelines/maps MapThread (roi and fit in a worker_thread)', function () {
  this.timeout(120_000);
  const threads: MapThread[] = [];
  const start = async (opts: Parameters<typeof MapThread.start>[0]) => {
    const t = await MapThread.start(opts);
    threads.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(threads.splice(0).map((t) => t.stop()));
  });

  it('computes the same fit and roi maps as the main thread, bit for bit, in another thread', async () => {
    const fill = phantomCube(24, 16, 3);
    fill.add(24 * 16 * 200);
    const grid = cubeGrid(fill.cube);
    for (const method of ['fit', 'roi'] as const) {
      const thread = await start({ cube: fill.cube, method, elements: ELEMENTS });
      assert.notEqual(thread.threadId, 0);
      const got = await thread.compute();
      const expected = method === 'fit'
        ? new LinearFitter(grid, ELEMENTS, { detector: DEFAULT_DETECTOR }).fitCube(fill.cube).maps
        : roiMaps(planRoi(grid, ELEMENTS, { detector: DEFAULT_DETECTOR }), fill.cube);
      assert.equal(got.maps.method, method);
      assert.deepEqual(got.maps.elements, expected.elements);
      assert.equal(got.maps.width, 24);
      assert.equal(got.maps.height, 16);
      assert.ok(expected.data.some((v) => v > 0), 'the maps are not empty');
      assert.equal(firstDifference(got.maps.data, expected.data), -1, `${method}: worker and main thread differ`);
      assert.equal(got.events, fill.cube.totalEvents);
      assert.ok(got.ms > 0);
    }
  });

  it('sees the cube grow through shared memory: a later request covers the new events', async () => {
    const fill = phantomCube(16, 16, 4);
    fill.add(16 * 16 * 50);
    const thread = await start({ cube: fill.cube, method: 'fit', elements: ELEMENTS });
    const first = await thread.compute();
    fill.add(16 * 16 * 50);
    const second = await thread.compute();
    assert.equal(second.events, fill.cube.totalEvents);
    assert.ok(second.events > first.events);
    const expected = new LinearFitter(cubeGrid(fill.cube), ELEMENTS).fitCube(fill.cube).maps;
    assert.equal(firstDifference(second.maps.data, expected.data), -1);
  });

  it('keeps the main event loop free while a 200 x 200 fit runs in the worker', async () => {
    const W = 200, H = 200;
    const fill = phantomCube(W, H, 9);
    fill.add(W * H * 100);
    const elements = configSchema.parse({}).maps.elements; // the default 10 map elements
    const fitter = new LinearFitter(cubeGrid(fill.cube), elements, { detector: DEFAULT_DETECTOR });
    const t0 = performance.now();
    const onMain = fitter.fitCube(fill.cube).maps;
    const mainMs = performance.now() - t0;

    const thread = await start({ cube: fill.cube, method: 'fit', elements });
    let ticks = 0;
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 1);
    let inWorker;
    try {
      last = performance.now();
      inWorker = await thread.compute();
    } finally {
      clearInterval(timer);
    }
    const note = `main-thread fit ${mainMs.toFixed(0)} ms; worker fit ${inWorker.ms.toFixed(0)} ms, meanwhile ${ticks} ticks of a 1 ms timer, longest gap ${maxGap.toFixed(1)} ms`;
    if (process.env['GEMXRF_TEST_VERBOSE']) console.log(`      ${note}`);
    assert.ok(maxGap < mainMs / 4, `event loop held: ${note}`);
    assert.ok(ticks >= 10, `the timer barely ran: ${note}`);
    assert.equal(firstDifference(inWorker.maps.data, onMain.data), -1, 'worker and main thread differ');
  });

  it('never queues: a request while one runs is refused, the running one completes', async () => {
    const fill = phantomCube(32, 32, 6);
    fill.add(32 * 32 * 50);
    const thread = await start({ cube: fill.cube, method: 'fit', elements: ELEMENTS });
    const running = thread.compute();
    assert.equal(thread.busy, true);
    await assert.rejects(thread.compute(), /already running \(requests are never queued\)/);
    const r = await running;
    assert.equal(r.maps.width, 32);
    assert.equal(thread.busy, false);
  });

  it('reports a worker that throws: the request rejects, lastError and onFailure say why, stop does not hang', async () => {
    const fill = phantomCube(8, 8, 2);
    fill.add(8 * 8 * 20);
    const failures: string[] = [];
    const thread = await start({
      cube: fill.cube, method: 'fit', elements: ELEMENTS,
      module: new URL('./fixtures/throwing-map-worker.ts', import.meta.url),
      onFailure: (m) => failures.push(m),
    });
    await assert.rejects(thread.compute(), /fixture: the map worker threw/);
    assert.equal(thread.running, false);
    assert.match(String(thread.lastError), /fit worker crashed: fixture: the map worker threw/);
    assert.equal(failures.length, 1);
    await assert.rejects(thread.compute(), /the map worker threw/); // stays dead, answers at once
    await thread.stop();
    assert.equal(failures.length, 1, 'stopping a dead thread is not a second failure');
  });

  it('terminates a worker that hangs in a computation after the deadline: rejected, reported as timed out, stop does not hang', async () => {
    const fill = phantomCube(8, 8, 3);
    fill.add(8 * 8 * 20);
    const failures: string[] = [];
    const thread = await start({ cube: fill.cube, method: 'fit', elements: ELEMENTS, module: HANGING_WORKER, timeoutMs: 300, onFailure: (m) => failures.push(m) });
    assert.equal(thread.timeoutMs, 300);
    const running = thread.compute();
    assert.equal(thread.busy, true);
    await assert.rejects(thread.compute(), /already running/, 'still never queued while the hung computation runs');
    await assert.rejects(running, /fit computation timed out after 0\.3 s; the worker was terminated/);
    assert.equal(thread.busy, false);
    assert.equal(thread.running, false);
    assert.match(String(thread.lastError), /timed out after 0\.3 s/);
    assert.deepEqual(failures, [thread.lastError]);
    await assert.rejects(thread.compute(), /timed out/); // stays dead, answers at once
    await thread.stop();
    assert.equal(failures.length, 1, 'stopping a timed-out thread is not a second failure');
  });

  it('stop() ends a worker stuck in an endless loop (it ignores every message)', async () => {
    const fill = phantomCube(8, 8, 4);
    fill.add(8 * 8 * 20);
    const failures: string[] = [];
    const thread = await start({ cube: fill.cube, method: 'roi', elements: ELEMENTS, module: HANGING_WORKER, onFailure: (m) => failures.push(m) });
    const running = assert.rejects(thread.compute(), MapThreadStopped);
    await new Promise((r) => setTimeout(r, 50)); // let the worker enter its loop
    await thread.stop();
    await running;
    assert.deepEqual(failures, []);
  });

  it('gives up on a worker that never gets ready after the deadline, with the reason', async () => {
    const fill = phantomCube(8, 8, 5);
    await assert.rejects(
      MapThread.start({ cube: fill.cube, method: 'fit', elements: ELEMENTS, module: HANGING_START_WORKER, startTimeoutMs: 300 }),
      /fit worker: not ready within 0\.3 s \(timed out; the worker was terminated\)/,
    );
  });

  it('refuses a deadline that is not > 0', async () => {
    const fill = phantomCube(8, 8, 6);
    await assert.rejects(MapThread.start({ cube: fill.cube, method: 'fit', elements: ELEMENTS, timeoutMs: 0 }), /timeoutMs must be > 0/);
  });

  it('a timed-out thread leaves nothing running: its process exits by itself', async () => {
    const { code, out } = await runScript('test/pipelines/maps/fixtures/map-thread-hang-exit.ts');
    assert.equal(code, 0, `the process did not exit by itself within 30 s:\n${out}`);
    assert.match(out, /rejected: fit computation timed out after 0\.3 s; the worker was terminated/);
    assert.match(out, /running=false lastError=fit computation timed out/);
  });

  it('refuses to start when the plan cannot be built, with the reason', async () => {
    // No line of Ca between 10 and 12 keV: the roi plan has no window for it.
    const cube = new Cube({ width: 8, height: 8, channels: 64, eMinKeV: 10, eMaxKeV: 12 });
    await assert.rejects(MapThread.start({ cube, method: 'roi', elements: ['Ca'] }), /roi worker: roi: Ca has no line between 10 and 12 keV/);
  });

  it('stop() during a computation rejects it as stopped (not a failure)', async () => {
    const fill = phantomCube(64, 64, 8);
    fill.add(64 * 64 * 50);
    const failures: string[] = [];
    const thread = await start({ cube: fill.cube, method: 'fit', elements: ELEMENTS, onFailure: (m) => failures.push(m) });
    const running = assert.rejects(thread.compute(), MapThreadStopped);
    await thread.stop();
    await running;
    await assert.rejects(thread.compute(), MapThreadStopped);
    assert.deepEqual(failures, []);
    assert.equal(thread.lastError, null);
  });

  it('a stopped thread leaves nothing running: its process exits by itself', async () => {
    const { code, out } = await runScript('test/pipelines/maps/fixtures/map-thread-exit.ts');
    assert.equal(code, 0, `the process did not exit by itself within 30 s:\n${out}`);
    assert.match(out, /computed 3 maps in thread [1-9]/);
  });
});
