// LivePublisher's map cycles with stand-in runners and bridge (no workers, no broker): the order in which
// live results, the final cycle and the live/maps index go out.
import assert from 'node:assert/strict';
import type { Cube } from '../../pipelines/cube/cube.js';
import { createMapSet } from '../../pipelines/maps/types.js';
import { createLogger } from '../../daemon/log.js';
import { LivePublisher, type LiveSource } from '../../daemon/publish/live-publisher.js';
import type { MapMaker } from '../../daemon/publish/map-maker.js';
import type { ScanMaps } from '../../daemon/publish/scan-map-runner.js';
import type { MqttBridge } from '../../daemon/mqtt/bridge.js';

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
});
