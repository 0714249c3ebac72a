// roi and fit maps computed in worker threads, end to end on the embedded broker: the final publication after a
// stop holds maps of the complete cube (equal to the main-thread computation on the scan's final checkpoint),
// live/stats reports the map workers, a fit worker that dies mid-scan is reported while the daemon (and roi)
// carries on, and no map worker outlives the daemon.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { MapMaker } from '../../daemon/publish/map-maker.js';
import { decodeMapFrame, type MapFrame } from '../../daemon/mqtt/map-frame.js';
import { DEFAULT_DETECTOR } from '../../physics/index.js';
import { loadSnapshot } from '../../pipelines/cube/snapshot.js';
import { cubeGrid } from '../../pipelines/maps/build.js';
import { LinearFitter } from '../../pipelines/maps/fit.js';
import type { MapThread } from '../../pipelines/maps/map-thread.js';
import { planRoi, roiMaps } from '../../pipelines/maps/roi.js';
import { elementMap } from '../../pipelines/maps/types.js';
import { startRig, tempDir, testConfig, until, waitForMessage, type TestRig } from './helpers.js';

interface MapsIndex {
  scanId: string;
  final: boolean;
  events: number;
  maps: Array<{ method: string; element: string; sequence: number; events?: number }>;
}

interface MethodStats {
  running: boolean;
  computed: number;
  lastError: string | null;
}

const ELEMENTS = ['Cr', 'Cu', 'Pb'];

describe('daemon roi and fit maps in worker threads (embedded broker)', function () {
  this.timeout(60_000);
  const base = 'gemxrf/test';
  let rig: TestRig;
  let dataDir: string;
  /** The latest frame per topic (under live/maps/), every live/maps index and every live/stats, in order. */
  const frames = new Map<string, MapFrame>();
  const indexes: MapsIndex[] = [];
  const stats: Array<{ maps: Record<string, MethodStats> | null }> = [];

  const maker = (): MapMaker => (rig.daemon.publisher as unknown as { maker: MapMaker }).maker;
  const methodStats = (method: string) => maker().runners.find((r) => r.method === method)!.stats();

  before(async () => {
    dataDir = tempDir();
    rig = await startRig(testConfig(dataDir));
    rig.sub.on('message', (topic, payload) => {
      if (topic === `${base}/live/maps`) indexes.push(JSON.parse(payload.toString()) as MapsIndex);
      else if (topic.startsWith(`${base}/live/maps/`)) frames.set(topic.slice(base.length + 1), decodeMapFrame(payload));
      else if (topic === `${base}/live/stats`) stats.push(JSON.parse(payload.toString()) as (typeof stats)[number]);
    });
  });

  after(async () => {
    await rig?.stop();
  });

  const finalIndex = (scanId: string) => waitForMessage(rig.sub, `${base}/live/maps`, (p) => {
    const i = JSON.parse(p.toString()) as MapsIndex;
    return i.scanId === scanId && i.final;
  }, 30_000);

  it('publishes final roi and fit maps of the complete cube, equal to the main thread on the final checkpoint', async () => {
    const r = await rig.req.request('scan/start', { name: 'final maps' });
    assert.equal(r.status, 'ok', r.error);
    const scanId = (r.data as { id: string }).id;
    await until(() => indexes.some((i) => i.scanId === scanId && i.maps.some((m) => m.method === 'fit')), 'a live fit map');
    await until(() => stats.some((s) => (s.maps?.['fit']?.computed ?? 0) > 0), 'live/stats maps.fit');
    const final = finalIndex(scanId);
    assert.equal((await rig.req.request('scan/stop')).status, 'ok');
    const index = JSON.parse((await final).toString()) as MapsIndex;

    const { cube } = loadSnapshot(join(dataDir, 'scans', scanId, 'cube.ckpt'));
    assert.equal(index.events, cube.totalEvents, 'the final index covers the whole scan');
    const grid = cubeGrid(cube);
    const expected = {
      fit: new LinearFitter(grid, ELEMENTS, { detector: DEFAULT_DETECTOR }).fitCube(cube).maps,
      roi: roiMaps(planRoi(grid, ELEMENTS, { detector: DEFAULT_DETECTOR }), cube),
    };
    for (const method of ['roi', 'fit'] as const) {
      for (const el of ELEMENTS) {
        const entry = index.maps.find((m) => m.method === method && m.element === el);
        assert.ok(entry, `${method}/${el} in the final index`);
        assert.equal(entry.events, cube.totalEvents, `${method}/${el} covers every event`);
        const f = frames.get(`live/maps/${method}/${el}`);
        assert.ok(f);
        assert.equal(f.sequence, entry.sequence, `${method}/${el}: the frame is the final publication's`);
        assert.deepEqual(f.data, elementMap(expected[method], el), `${method}/${el} differs from the main-thread maps`);
      }
    }
    await until(() => !methodStats('fit').running && !methodStats('roi').running, 'the scan\'s map workers to end');
  });

  it('a fit worker that dies mid-scan is reported; roi and the daemon carry on; the next scan has fit again', async () => {
    const r = await rig.req.request('scan/start', { name: 'fit crash' });
    assert.equal(r.status, 'ok', r.error);
    const scanId = (r.data as { id: string }).id;
    await until(() => indexes.some((i) => i.scanId === scanId && i.maps.some((m) => m.method === 'fit')), 'a live fit map');
    const runner = maker().runners.find((m) => m.method === 'fit')! as unknown as { thread: Promise<MapThread> | null };
    await until(() => runner.thread !== null, 'the fit worker');
    const thread = await runner.thread!;
    await (thread as unknown as { worker: Worker }).worker.terminate(); // stands in for a crash (native abort, out of memory)

    await until(() => stats.some((s) => /fit worker exited/.test(s.maps?.['fit']?.lastError ?? '')), 'live/stats maps.fit.lastError');
    const roiSeq = frames.get('live/maps/roi/Cu')!.sequence;
    await until(() => frames.get('live/maps/roi/Cu')!.sequence > roiSeq + 1, 'roi maps after the crash');
    await until(() => indexes.at(-1)!.scanId === scanId && !indexes.at(-1)!.maps.some((m) => m.method === 'fit'), 'an index without fit');
    assert.equal(rig.daemon.manager.state, 'acquiring');

    const final = finalIndex(scanId);
    const stopped = await rig.req.request('scan/stop');
    assert.equal(stopped.status, 'ok', stopped.error);
    assert.equal((stopped.data as { status: string }).status, 'completed');
    const index = JSON.parse((await final).toString()) as MapsIndex;
    assert.deepEqual([...new Set(index.maps.map((m) => m.method))], ['roi'], 'final maps: roi, no fit for this scan');
    const health = await rig.req.request('health');
    assert.equal((health.data as { ok: boolean }).ok, true);

    const again = await rig.req.request('scan/start', { name: 'after the crash' });
    const next = (again.data as { id: string }).id;
    await until(() => indexes.some((i) => i.scanId === next && i.maps.some((m) => m.method === 'fit')), 'fit maps in the next scan');
    assert.equal(methodStats('fit').lastError, null);
    assert.equal((await rig.req.request('scan/stop')).status, 'ok');
  });

  it('no map worker outlives the daemon', async () => {
    const r = await rig.req.request('scan/start', { name: 'shutdown' });
    assert.equal(r.status, 'ok', r.error);
    const scanId = (r.data as { id: string }).id;
    await until(() => methodStats('fit').running && methodStats('roi').running, 'the map workers');
    const m = maker();
    await rig.daemon.stop();
    assert.deepEqual(m.runners.map((x) => x.stats().running), [false, false]);
    assert.ok(indexes.some((i) => i.scanId === scanId && i.final), 'the scan stopped by the shutdown got its final maps');
  });
});
