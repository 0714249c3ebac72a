// storage.saveMaps when the stopped scan never got its final map cycle: the next scan started while a live cycle
// was still running, so the stopped scan's final cycle was void (LivePublisher.publishMaps) and finalMaps()
// has nothing for it. Its maps are then not saved; that must be reported like any other failure (a maps-error
// event and the record's error), not only logged at info level.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cube } from '../../pipelines/cube/cube.js';
import { createMapSet } from '../../pipelines/maps/types.js';
import { createLogger } from '../../daemon/log.js';
import { LivePublisher, type LiveSource } from '../../daemon/publish/live-publisher.js';
import type { MapMaker } from '../../daemon/publish/map-maker.js';
import type { ScanMaps } from '../../daemon/publish/scan-map-runner.js';
import type { MqttBridge } from '../../daemon/mqtt/bridge.js';
import { MapSaver } from '../../daemon/scan/save-maps.js';
import type { ScanDb, ScanRecord } from '../../daemon/storage/db.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('daemon/scan MapSaver: a stopped scan without a final map cycle', () => {
  it('reports the maps as not saved (maps-error event, record error) when the next scan started first', async () => {
    const cubeA = { totalEvents: 100, width: 2, height: 1 } as unknown as Cube;
    const cubeB = { totalEvents: 5, width: 2, height: 1 } as unknown as Cube;
    const A = '20250101-120000-a', B = '20250101-120500-b';
    // The live cycle's index publication is held at the broker until `release()`: the cycle is in flight.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const bridge = {
      topic: (t: string) => `gemxrf/${t}`,
      publish: async (topic: string) => {
        if (topic === 'live/maps') await gate;
      },
    } as unknown as MqttBridge;
    const maps = createMapSet('roi', ['Cu'], 2, 1);
    const runner = {
      method: 'roi' as const,
      request: () => null,
      complete: async (cube: Cube, scanId: string): Promise<ScanMaps> => ({ method: 'roi', scanId, id: 2, maps, events: cube.totalEvents, ms: 1 }),
      failed: () => false,
      release: async () => undefined,
    };
    const maker = { methods: ['roi'], runners: [runner], release: async () => undefined } as unknown as MapMaker;
    let cur = { cube: cubeA, scanId: A };
    let acquiring = true;
    const source: LiveSource = { cube: () => cur, state: () => ({}), stats: () => ({}), acquiring: () => acquiring };
    const log = createLogger('error', () => undefined);
    const pub = new LivePublisher(bridge, source, maker, { cadenceSeconds: 1, log });

    const live = pub.publishMaps(); // a live cycle of scan A is running (its index on its way to the broker)
    for (let i = 0; i < 5; i++) await tick();
    acquiring = false; // scan A stops: its final cycle waits for the live one
    pub.scanStopped();
    void pub.publishMaps();
    cur = { cube: cubeB, scanId: B }; // scan B starts before the live cycle ends
    acquiring = true;
    release();
    await live;
    for (let i = 0; i < 10; i++) await tick();

    const rec = { id: A, status: 'completed', stopReason: 'manual', stoppedAt: new Date().toISOString(), totals: null, error: null } as unknown as ScanRecord;
    const db = {
      getScan: (id: string) => (id === rec.id ? rec : null),
      finishScan: (_id: string, f: { error?: string | null }) => void (rec.error = f.error ?? null),
    } as unknown as ScanDb;
    const events: Array<Record<string, unknown>> = [];
    const dataDir = mkdtempSync(join(tmpdir(), 'gemxrf-nofinal-'));
    mkdirSync(join(dataDir, 'scans', A), { recursive: true });
    const saver = new MapSaver({ enabled: true, dataDir, db, log, event: (ev) => events.push(ev) });
    saver.save(A, () => pub.finalMaps(A));
    assert.equal(await saver.settled(), true);

    assert.deepEqual(events.map((e) => e.type), ['maps-error'], 'scan A\'s maps were not saved: an operator event says so');
    assert.equal(events[0]!.scan, A);
    assert.equal(existsSync(join(dataDir, 'scans', A, 'maps')), false);
    assert.match(rec.error ?? '', /^maps not saved: /);
    assert.equal(saver.failed, 1);
    pub.stop();
  });
});
