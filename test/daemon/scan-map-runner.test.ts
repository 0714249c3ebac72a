// The daemon's per-method map runner (daemon/publish/scan-map-runner.ts) around a MapThread: never queues (a
// tick while a computation runs is skipped), complete() gives maps of every event of the stopped cube, one
// worker per scan, a worker that fails is logged once and leaves the method without maps for that scan, and so
// does a worker that hangs (terminated after the deadline): complete() and release() still finish.
import assert from 'node:assert/strict';
import { createLogger } from '../../daemon/log.js';
import { ScanMapRunner } from '../../daemon/publish/scan-map-runner.js';
import { cubeGrid } from '../../pipelines/maps/build.js';
import { LinearFitter } from '../../pipelines/maps/fit.js';
import { phantomCube } from '../pipelines/inference/support/phantom-cube.js';

const ELEMENTS = ['Cr', 'Cu', 'Pb'];
const THROWING_WORKER = new URL('../pipelines/maps/fixtures/throwing-map-worker.ts', import.meta.url);
const HANGING_WORKER = new URL('../pipelines/maps/fixtures/hanging-map-worker.ts', import.meta.url);

function logger() {
  const lines: string[] = [];
  return { log: createLogger('debug', (l) => lines.push(l)), lines };
}

describe('daemon/publish ScanMapRunner (a classical method of the live cube, in a worker)', function () {
  this.timeout(60_000);
  const runners: ScanMapRunner[] = [];
  const runner = (method: 'roi' | 'fit', module?: URL, timeoutMs?: number) => {
    const { log, lines } = logger();
    const r = new ScanMapRunner(method, ELEMENTS, log, { module, timeoutMs });
    runners.push(r);
    return { r, lines };
  };
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.release()));
  });

  it('skips a tick while the previous computation runs; complete() covers every event, once', async () => {
    const fill = phantomCube(48, 48, 12);
    fill.add(48 * 48 * 40);
    const { r } = runner('fit');
    const first = r.request(fill.cube, 'scan-a');
    assert.ok(first, 'the first tick starts a computation');
    assert.equal(r.request(fill.cube, 'scan-a'), null, 'the next tick is skipped, not queued');
    assert.equal(r.stats().skipped, 1);
    assert.equal(r.stats().busy, true);
    const live = await first;
    assert.ok(live);
    assert.equal(live.events, fill.cube.totalEvents);

    fill.add(48 * 48 * 10); // events after the last live maps: the final maps must include them
    const final = await r.complete(fill.cube, 'scan-a');
    assert.ok(final);
    assert.ok(final.id > live.id);
    assert.equal(final.events, fill.cube.totalEvents);
    const expected = new LinearFitter(cubeGrid(fill.cube), ELEMENTS).fitCube(fill.cube).maps;
    assert.deepEqual(final.maps.data, expected.data);

    await r.release('scan-a');
    assert.equal(r.stats().running, false);
    const again = await r.complete(fill.cube, 'scan-a');
    assert.equal(again, final, 'a second final reuses the maps (no new worker)');
    assert.equal(r.stats().running, false);
    assert.equal(r.stats().computed, 2);
  });

  it('complete() while a computation runs waits for it and computes again only if events came in since', async () => {
    const fill = phantomCube(32, 32, 13);
    fill.add(32 * 32 * 30);
    const { r } = runner('roi');
    const live = r.request(fill.cube, 'scan-b');
    const final = await r.complete(fill.cube, 'scan-b'); // no event after the request: the live maps are final
    assert.equal(final, await live);
    assert.equal(r.stats().computed, 1);
  });

  it('a new scan gets a new worker; results of the old one are dropped', async () => {
    const a = phantomCube(16, 16, 14);
    a.add(16 * 16 * 30);
    const b = phantomCube(20, 12, 15);
    b.add(20 * 12 * 30);
    const { r } = runner('fit');
    const old = r.request(a.cube, 'scan-1');
    const next = r.request(b.cube, 'scan-2');
    assert.ok(next, 'the new scan does not wait for the old scan\'s computation');
    assert.equal(await old, null);
    const maps = await next;
    assert.equal(maps?.scanId, 'scan-2');
    assert.equal(maps?.maps.width, 20);
  });

  it('a worker that throws: logged once, no maps for the rest of the scan, the next scan tries again', async () => {
    const fill = phantomCube(8, 8, 16);
    fill.add(8 * 8 * 20);
    const { r, lines } = runner('fit', THROWING_WORKER);
    assert.equal(await r.request(fill.cube, 'scan-x'), null);
    assert.equal(r.failed('scan-x'), true);
    assert.match(String(r.stats().lastError), /fixture: the map worker threw/);
    assert.equal(r.request(fill.cube, 'scan-x'), null, 'no new worker within the scan');
    assert.equal(await r.complete(fill.cube, 'scan-x'), null, 'no final fit maps for the scan');
    const errors = lines.filter((l) => / error /.test(l));
    assert.equal(errors.length, 1, lines.join('\n'));
    assert.match(errors[0]!, /fit maps failed; none for the rest of this scan scan=scan-x method=fit error=.*the map worker threw/);
    assert.equal(r.stats().running, false, 'the dead worker is released');

    const next = phantomCube(8, 8, 17);
    next.add(8 * 8 * 20);
    assert.ok(r.request(next.cube, 'scan-y'), 'a new scan starts a new worker');
    assert.equal(r.failed('scan-x'), false);
  });

  it('a worker that hangs: terminated after the deadline, logged once as timed out, complete() and release() finish', async () => {
    const fill = phantomCube(8, 8, 18);
    fill.add(8 * 8 * 20);
    const { r, lines } = runner('fit', HANGING_WORKER, 300);
    const live = r.request(fill.cube, 'scan-h');
    assert.ok(live, 'the first tick starts a computation');
    assert.equal(r.request(fill.cube, 'scan-h'), null, 'a tick while the hung computation runs is skipped');
    assert.equal(r.stats().skipped, 1);
    // The scan stops while the computation hangs: the final maps wait for it, and the deadline ends the wait.
    assert.equal(await r.complete(fill.cube, 'scan-h'), null, 'no final fit maps for the scan');
    assert.equal(await live, null);
    assert.equal(r.failed('scan-h'), true);
    const stats = r.stats();
    assert.match(String(stats.lastError), /fit computation timed out after 0\.3 s; the worker was terminated/);
    assert.equal(stats.busy, false);
    assert.equal(stats.running, false, 'the hung worker is released');
    assert.equal(r.request(fill.cube, 'scan-h'), null, 'no new worker within the scan');
    await r.release('scan-h');
    const errors = lines.filter((l) => / error /.test(l));
    assert.equal(errors.length, 1, lines.join('\n'));
    assert.match(errors[0]!, /fit maps failed; none for the rest of this scan scan=scan-h method=fit error=.*timed out after 0\.3 s/);

    const next = phantomCube(8, 8, 19);
    next.add(8 * 8 * 20);
    const again = r.request(next.cube, 'scan-i');
    assert.ok(again, 'a new scan starts a fresh worker');
    assert.equal(r.failed('scan-h'), false);
    assert.equal(r.stats().lastError, null);
    await r.release(); // ends the new (hung) worker too: release does not wait for the computation
    assert.equal(await again, null, 'dropped by the release, not a failure');
    assert.equal(r.stats().lastError, null);
  });
});
