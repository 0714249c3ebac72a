// The model maps saved into a scan folder (maps/model, maps/presence and their index.json entries) must be the
// values their metadata describes. The inference engine's maps are live views: when the next scan starts while
// the stopped scan's final pass still runs, there is no second final cycle, and the pass writes into those
// views after the first final cycle published them. The saved files must then hold what that cycle published
// (final: false, its eventsInferred), not the later values under the earlier metadata.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cube } from '../../pipelines/cube/cube.js';
import { createMapSet } from '../../pipelines/maps/types.js';
import { createLogger } from '../../daemon/log.js';
import type { ScanModelMaps } from '../../daemon/inference/scan-inference.js';
import { decodeMapFrame } from '../../daemon/mqtt/map-frame.js';
import { LivePublisher, type LiveSource } from '../../daemon/publish/live-publisher.js';
import type { MapMaker } from '../../daemon/publish/map-maker.js';
import type { ScanMaps } from '../../daemon/publish/scan-map-runner.js';
import type { MqttBridge } from '../../daemon/mqtt/bridge.js';
import { MapSaver } from '../../daemon/scan/save-maps.js';
import type { ScanDb } from '../../daemon/storage/db.js';
import { readNpy } from '../../simulator/dataset/npy.js';

describe('daemon/scan saved model maps: metadata matches the values written', () => {
  it('saves what the final cycle published when the final pass writes into the live views afterwards', async () => {
    const W = 2, H = 2;
    const A = '20250101-120000-a', B = '20250101-120500-b';
    const cubeA = { totalEvents: 100, width: W, height: H } as unknown as Cube;
    const cubeB = { totalEvents: 5, width: W, height: H } as unknown as Cube;
    const frames = new Map<string, Float32Array>();
    const bridge = {
      topic: (t: string) => `gemxrf/${t}`,
      publish: async (topic: string, payload: unknown) => {
        if (topic.startsWith('live/maps/') && Buffer.isBuffer(payload)) frames.set(topic, decodeMapFrame(payload).data);
      },
    } as unknown as MqttBridge;
    const roi = createMapSet('roi', ['Cu'], W, H);
    const runner = {
      method: 'roi' as const,
      request: () => null,
      complete: async (cube: Cube, scanId: string): Promise<ScanMaps> => ({ method: 'roi', scanId, id: 1, maps: roi, events: cube.totalEvents, ms: 1 }),
      failed: () => false,
      release: async () => undefined,
    };
    const maker = { methods: ['roi'], runners: [runner], release: async () => undefined } as unknown as MapMaker;
    // The engine's shared buffers (live views) and its state, as ScanInference.maps() reports them.
    const model = new Float32Array([1, 2, 3, 4]);
    const presence = new Float32Array([0.1, 0.2, 0.3, 0.4]);
    const engine = { final: false, eventsInferred: 60, pixelsFullResolution: 1 };
    const modelMaps = (scanId: string): ScanModelMaps | null => (scanId !== A ? null : {
      scanId, final: engine.final, eventsInferred: engine.eventsInferred, pixelsFullResolution: engine.pixelsFullResolution,
      model: { name: 'm', version: '1', architecture: 'x', presenceThreshold: 0.5 },
      layers: [
        { method: 'model', width: W, height: H, maps: [{ element: 'Cu', data: model.subarray(0, 4) }] },
        { method: 'presence', width: W, height: H, maps: [{ element: 'Cu', data: presence.subarray(0, 4) }] },
      ],
    });
    let cur = { cube: cubeA, scanId: A };
    let acquiring = false;
    const source: LiveSource = { cube: () => cur, state: () => ({}), stats: () => ({}), acquiring: () => acquiring, modelMaps };
    const log = createLogger('error', () => undefined);
    const pub = new LivePublisher(bridge, source, maker, { cadenceSeconds: 1, log });

    // Scan A stopped: its first final cycle (the model's final pass has not run yet).
    pub.scanStopped();
    await pub.publishMaps();
    const published = { model: frames.get('live/maps/model/Cu')!.slice(), presence: frames.get('live/maps/presence/Cu')!.slice() };
    // Scan B starts; then A's final pass ends, writing every pixel at full resolution into the live views.
    cur = { cube: cubeB, scanId: B };
    acquiring = true;
    model.set([10, 20, 30, 40]);
    presence.set([0.9, 0.8, 0.7, 0.6]);
    Object.assign(engine, { final: true, eventsInferred: 100, pixelsFullResolution: 4 });

    const rec = { id: A, status: 'completed', stopReason: 'manual', stoppedAt: new Date().toISOString(), totals: null, error: null };
    const db = { getScan: () => rec, finishScan: () => undefined } as unknown as ScanDb;
    const dataDir = mkdtempSync(join(tmpdir(), 'gemxrf-modelmeta-'));
    const dir = join(dataDir, 'scans', A);
    mkdirSync(dir, { recursive: true });
    const events: Array<Record<string, unknown>> = [];
    const saver = new MapSaver({ enabled: true, dataDir, db, log, event: (ev) => events.push(ev) });
    saver.save(A, () => pub.finalMaps(A));
    assert.equal(await saver.settled(), true);
    assert.deepEqual(events.map((e) => e.type), ['maps-saved'], JSON.stringify(events));

    const index = JSON.parse(readFileSync(join(dir, 'maps', 'index.json'), 'utf8')) as { methods: Array<{ method: string; final?: boolean; eventsInferred?: number; pixelsFullResolution?: number }> };
    for (const method of ['model', 'presence'] as const) {
      const entry = index.methods.find((m) => m.method === method)!;
      assert.equal(entry.final, false, `${method}: the cycle that published these maps ran before the final pass`);
      assert.equal(entry.eventsInferred, 60);
      assert.equal(entry.pixelsFullResolution, 1);
      const npy = readNpy(join(dir, 'maps', method, 'Cu.npy'));
      assert.deepEqual(npy.data, published[method], `${method}/Cu.npy holds the values that cycle published (and its metadata describes)`);
    }
    pub.stop();
  });
});
