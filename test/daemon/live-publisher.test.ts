// LivePublisher's map cycles with stand-in runners and bridge (no broker): the order in which live results, the
// final cycle and the live/maps index go out; and, with real map workers, a fit worker that hangs costs the fit
// maps only: it is terminated after its deadline, and the final cycle and close() complete.
import assert from 'node:assert/strict';
import type { Cube } from '../../pipelines/cube/cube.js';
import { createMapSet } from '../../pipelines/maps/types.js';
import { createLogger } from '../../daemon/log.js';
import { LivePublisher, type LiveSource } from '../../daemon/publish/live-publisher.js';
import { MapMaker } from '../../daemon/publish/map-maker.js';
import type { ScanMaps } from '../../daemon/publish/scan-map-runner.js';
import type { MqttBridge } from '../../daemon/mqtt/bridge.js';
import { phantomCube } from '../pipelines/inference/support/phantom-cube.js';

const HANGING_WORKER = new URL('../pipelines/maps/fixtures/hanging-map-worker.ts', import.meta.url);

interface Published {
  topic: string;
  payload: unknown;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('daemon/publish LivePublisher (map cycles, stand-in workers)', () => {
  it("the final index lists a live result still going out when the final cycle reuses it (it covers every event)", async () => {
    const cube = { totalEvents: 100, width: 2, height: 1 } as unknown as Cube;
    const maps = createMapSet('roi', ['Cu'], 2, 1);
    maps.data.set([3, 4]);
    const r1: ScanMaps = { method: 'roi', scanId: 'scan-a', id: 1, maps, events: 100, ms: 1 };

    // The frame of the live result is held at the broker until `release()`.
    const published: Published[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const bridge = {
      topic: (t: string) => `gemxrf/${t}`,
      publish: async (topic: string, payload: unknown) => {
        if (topic.startsWith('live/maps/')) await gate;
        published.push({ topic, payload });
      },
    } as unknown as MqttBridge;

    let resolveLive!: (r: ScanMaps) => void;
    const runner = {
      method: 'roi' as const,
      request: () => new Promise<ScanMaps | null>((r) => (resolveLive = r)),
      // The cube did not grow after the live request: the live result is the final one.
      complete: async () => r1,
      failed: () => false,
      release: async () => undefined,
    };
    const maker = { methods: ['roi'], runners: [runner], release: async () => undefined } as unknown as MapMaker;
    let acquiring = true;
    const source: LiveSource = { cube: () => ({ cube, scanId: 'scan-a' }), state: () => ({}), stats: () => ({}), acquiring: () => acquiring };
    const pub = new LivePublisher(bridge, source, maker, { cadenceSeconds: 1, log: createLogger('error', () => undefined) });

    await pub.publishMaps(); // live cycle: the roi computation is requested
    resolveLive(r1); // its maps arrive; their frame is on its way to the broker
    for (let i = 0; i < 5; i++) await tick();

    acquiring = false; // the scan stops
    pub.scanStopped();
    const final = pub.publishMaps();
    for (let i = 0; i < 5; i++) await tick();
    release();
    await final;
    for (let i = 0; i < 10; i++) await tick();

    const indexes = published.filter((p) => p.topic === 'live/maps').map((p) => p.payload as { final: boolean; maps: Array<{ method: string; events?: number }> });
    const last = indexes[indexes.length - 1]!;
    assert.equal(last.final, true);
    assert.deepEqual(last.maps.map((m) => [m.method, m.events]), [['roi', 100]], 'the final index lists the roi maps that were published');
  });

  it('a fit worker that hangs is terminated after the deadline: the final cycle publishes roi, close() completes', async function () {
    this.timeout(60_000);
    const fill = phantomCube(8, 8, 21);
    fill.add(8 * 8 * 20);
    const published: Published[] = [];
    const bridge = {
      topic: (t: string) => `gemxrf/${t}`,
      publish: async (topic: string, payload: unknown) => void published.push({ topic, payload }),
    } as unknown as MqttBridge;
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l));
    // The limit applies to both methods: generous enough that the healthy roi (an 8x8 cube, milliseconds) never
    // meets it on a loaded machine, short enough for the hung fit to time out quickly.
    const maker = new MapMaker(['roi', 'fit'], ['Cr', 'Cu', 'Pb'], log, { workerModules: { fit: HANGING_WORKER }, workerTimeoutMs: 2000 });
    let acquiring = true;
    const source: LiveSource = { cube: () => ({ cube: fill.cube, scanId: 'scan-h' }), state: () => ({}), stats: () => ({}), acquiring: () => acquiring };
    const pub = new LivePublisher(bridge, source, maker, { cadenceSeconds: 1, log });

    await pub.publishMaps(); // live cycle: roi and fit requested; the fit worker hangs in its computation
    await pub.publishMaps(); // the next tick while fit still runs: fit is skipped (never queued)
    const fit = maker.runners.find((r) => r.method === 'fit')!;
    assert.equal(fit.stats().skipped, 1);
    assert.equal(fit.stats().busy, true);

    acquiring = false; // the scan stops and the daemon shuts down: close() runs the final cycle
    pub.scanStopped();
    await pub.close(); // completes: the hung fit computation is terminated at its deadline

    const stats = maker.stats()!;
    assert.match(String(stats['fit']!.lastError), /fit computation timed out after 2 s; the worker was terminated/);
    assert.equal(stats['fit']!.running, false);
    assert.equal(stats['roi']!.lastError, null);
    assert.equal(stats['roi']!.running, false, 'close() ended the workers');
    const indexes = published.filter((p) => p.topic === 'live/maps').map((p) => p.payload as { final: boolean; events: number; maps: Array<{ method: string; events?: number }> });
    const last = indexes[indexes.length - 1]!;
    assert.equal(last.final, true, 'the final cycle published its index');
    assert.deepEqual([...new Set(last.maps.map((m) => m.method))], ['roi'], 'roi maps are listed, fit maps are not');
    assert.ok(last.maps.every((m) => m.events === fill.cube.totalEvents), 'the final roi maps cover every event');
    assert.ok(!published.some((p) => p.topic.startsWith('live/maps/fit/')), 'no fit frame');
    const errors = lines.filter((l) => / error /.test(l));
    assert.equal(errors.length, 1, lines.join('\n'));
    assert.match(errors[0]!, /fit maps failed; none for the rest of this scan scan=scan-h method=fit error=.*timed out/);
  });
});
