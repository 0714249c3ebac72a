// storage.saveMaps: a stopped scan's final maps are saved into its folder (scans/<id>/maps/<method>/<El>.npy
// plus maps/index.json), equal to the final maps published over MQTT; saveMaps false writes nothing; a scan
// folder that cannot take them is reported (event maps-error, the record's error) and the scan stays
// completed; crash recovery writes roi and fit maps of the rebuilt cube.
// The model method runs when the shipped models/ are there (skipped without them, an error under CI).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { exportMapsFor } from '../../daemon/export/scan-maps.js';
import { loadStoredScan } from '../../daemon/export/scan-source.js';
import { listScanFiles } from '../../daemon/http/scan-files.js';
import { silentLogger } from '../../daemon/log.js';
import { decodeMapFrame, type MapFrame } from '../../daemon/mqtt/map-frame.js';
import { recoverInterruptedScans } from '../../daemon/scan/recovery.js';
import { ScanManager } from '../../daemon/scan/scan-manager.js';
import { ScanDb, type ScanRecord } from '../../daemon/storage/db.js';
import { encodeEventsFrame } from '../../drivers/codecs/gemx-encode.js';
import { buildMaps, cubeGrid } from '../../pipelines/maps/build.js';
import { cubeFromRecording } from '../../pipelines/maps/recording-cube.js';
import { roiBackgroundFromConfig } from '../../pipelines/maps/roi.js';
import { elementMap } from '../../pipelines/maps/types.js';
import { readNpy } from '../../simulator/dataset/npy.js';
import { repoRoot } from '../support/cli.js';
import { startRig, tempDir, testConfig, until, waitForMessage, type TestRig } from './helpers.js';

const base = 'gemxrf/test';
const ELEMENTS = ['Cr', 'Cu', 'Pb'];
const HAVE_MODEL = existsSync(join(repoRoot, 'models', 'lt-vit.onnx')) && existsSync(join(repoRoot, 'models', 'lt-vit.json'));

interface IndexJson {
  format: string;
  scan: string;
  width: number;
  height: number;
  events: number;
  missing: string[];
  methods: Array<{ method: string; unit: string; meaning: string; elements: string[]; files: string[]; events?: number; model?: { name: string; version: string }; final?: boolean }>;
}

function events(rig: TestRig): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  rig.sub.on('message', (topic, p) => {
    if (topic === `${base}/event`) out.push(JSON.parse(p.toString()) as Record<string, unknown>);
  });
  return out;
}

function eventOf(rig: TestRig, type: string, id: () => string | null, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return waitForMessage(rig.sub, `${base}/event`, (p) => {
    const ev = JSON.parse(p.toString()) as { type: string; scan: unknown };
    return ev.type === type && ev.scan === id();
  }, timeoutMs).then((p) => JSON.parse(p.toString()) as Record<string, unknown>);
}

async function startScan(rig: TestRig, name: string): Promise<string> {
  const r = await rig.req.request('scan/start', { name });
  assert.equal(r.status, 'ok', r.error);
  const id = (r.data as ScanRecord).id;
  await until(() => (rig.daemon.manager.progress()?.events ?? 0) > 5000, 'events in the scan', 20_000);
  return id;
}

/** The retained frames of live/maps/<method>/<El> a fresh subscriber gets. */
async function retainedFrames(url: string, topics: string[]): Promise<Map<string, MapFrame>> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const frames = new Map<string, MapFrame>();
  try {
    c.on('message', (topic, p) => {
      // live/maps/# matches the live/maps index too
      if (topic.startsWith(`${base}/live/maps/`)) frames.set(topic.slice(base.length + 1), decodeMapFrame(p));
    });
    await c.subscribeAsync(`${base}/live/maps/#`);
    await until(() => topics.every((t) => frames.has(t)), `retained frames ${topics.join(', ')}`);
  } finally {
    await c.endAsync();
  }
  return frames;
}

describe('scan maps saved into the scan folder (storage.saveMaps)', function () {
  this.timeout(90_000);
  let rig: TestRig | null = null;

  afterEach(async () => {
    await rig?.stop();
    rig = null;
  });

  it('writes every method\'s final maps as .npy equal to the final live maps, with index.json', async function () {
    if (!HAVE_MODEL && process.env.CI) throw new Error('models/lt-vit.onnx is required in CI');
    const methods = HAVE_MODEL ? ['roi', 'fit', 'model'] : ['roi', 'fit'];
    const dataDir = tempDir('gemxrf-savemaps-');
    // roi without its default continuum: the export of the scan must follow the scan's maps.roi too.
    const config = testConfig(dataDir, {
      maps: { methods, elements: ELEMENTS, cadenceSeconds: 0.5, roi: { background: 'none' } },
      inference: { model: 'lt-vit', threads: 1 },
    });
    rig = await startRig(config, base);
    const evs = events(rig);
    let id: string | null = null;
    const saved = eventOf(rig, 'maps-saved', () => id);
    id = await startScan(rig, 'save maps');
    const stop = await rig.req.request('scan/stop');
    assert.equal(stop.status, 'ok', stop.error);
    const ev = await saved;
    const published = ['roi', 'fit', ...(HAVE_MODEL ? ['model', 'presence'] : [])];
    assert.deepEqual(ev.methods, published);
    assert.equal(ev.files, published.length * ELEMENTS.length + 1);
    assert.equal(ev.dir, 'maps');

    const dir = join(dataDir, 'scans', id);
    const index = JSON.parse(readFileSync(join(dir, 'maps', 'index.json'), 'utf8')) as IndexJson;
    const rec = (await rig.req.request('scan/get', { id })).data as ScanRecord;
    assert.equal(rec.status, 'completed');
    assert.equal(rec.error, null);
    assert.equal(index.format, 'gemxrf-scan-maps');
    assert.equal(index.scan, id);
    assert.deepEqual([index.width, index.height], [32, 32]);
    assert.equal(index.events, rec.totals!.events, 'the final maps cover every event of the scan');
    assert.deepEqual(index.missing, []);
    assert.deepEqual(index.methods.map((m) => m.method), published);
    for (const m of index.methods) {
      assert.deepEqual(m.elements, ELEMENTS, m.method);
      assert.deepEqual(m.files, ELEMENTS.map((e) => `${m.method}/${e}.npy`));
      assert.equal(m.unit, m.method === 'presence' ? 'probability' : 'counts');
      assert.ok(m.meaning.length > 10);
      if (m.method === 'roi') assert.equal((m as { background?: string }).background, 'none');
      if (m.method === 'roi' || m.method === 'fit') assert.equal(m.events, rec.totals!.events, m.method);
      else {
        assert.equal(m.model?.name, 'lt-vit');
        assert.equal(typeof m.model?.version, 'string');
        assert.equal(m.final, true, 'the model maps are those after the final pass');
      }
    }

    // The .npy files hold exactly the final maps a subscriber has (retained frames), in the same orientation.
    const topics = published.flatMap((m) => ELEMENTS.map((e) => `live/maps/${m}/${e}`));
    const frames = await retainedFrames(rig.daemon.brokerUrl, topics);
    let nonZero = 0;
    for (const m of published) {
      for (const e of ELEMENTS) {
        const npy = readNpy(join(dir, 'maps', m, `${e}.npy`));
        assert.deepEqual(npy.shape, [32, 32]);
        assert.ok(npy.data instanceof Float32Array);
        const f = frames.get(`live/maps/${m}/${e}`)!;
        assert.equal(f.scanId, id);
        assert.deepEqual(npy.data, f.data, `${m}/${e}.npy equals the final live map`);
        if (npy.data.some((v) => v > 0)) nonZero++;
      }
    }
    assert.ok(nonZero >= published.length, 'the maps are not all empty');

    // The export of the stored scan (cube rebuilt from its folder, maps computed in-process) has the same roi
    // and fit maps.
    const exported = await exportMapsFor(loadStoredScan(dataDir, id, config), { methods: ['roi', 'fit'] });
    for (const set of exported.maps) {
      for (const e of ELEMENTS) assert.deepEqual(readNpy(join(dir, 'maps', set.method, `${e}.npy`)).data, elementMap(set, e), `export ${set.method}/${e}`);
    }

    // The HTTP listing (dashboard downloads) shows them; nothing temporary is left.
    const listed = listScanFiles(dataDir, id).map((f) => f.path);
    for (const f of ['maps/index.json', ...topics.map((t) => `${t.slice('live/'.length)}.npy`)]) assert.ok(listed.includes(f), `${f} listed`);
    assert.equal(existsSync(join(dir, 'maps.tmp')), false);
    assert.equal(evs.filter((e) => e.type === 'maps-error').length, 0);
  });

  it('writes nothing with storage.saveMaps false', async () => {
    const dataDir = tempDir('gemxrf-savemaps-off-');
    rig = await startRig(testConfig(dataDir, {
      storage: { dataDir, checkpointSeconds: 0.5, flushSeconds: 0.2, saveMaps: false },
      maps: { methods: ['roi'], elements: ELEMENTS, cadenceSeconds: 0.5 },
    }), base);
    const evs = events(rig);
    const id = await startScan(rig, 'no maps');
    assert.equal((await rig.req.request('scan/stop')).status, 'ok');
    const final = await rig.daemon.publisher.finalMaps(id);
    assert.equal(final?.classical.length, 1, 'the scan had final roi maps');
    const r = rig;
    rig = null;
    await r.stop(); // waits for any save in progress
    const dir = join(dataDir, 'scans', id);
    assert.ok(existsSync(join(dir, 'raw.gemx')));
    assert.equal(existsSync(join(dir, 'maps')), false);
    assert.equal(existsSync(join(dir, 'maps.tmp')), false);
    assert.equal(evs.filter((e) => e.type === 'maps-saved' || e.type === 'maps-error').length, 0);
  });

  it('reports a scan folder that cannot take the maps; the scan stays completed', async () => {
    const dataDir = tempDir('gemxrf-savemaps-fail-');
    rig = await startRig(testConfig(dataDir, { maps: { methods: ['roi', 'fit'], elements: ELEMENTS, cadenceSeconds: 0.5 } }), base);
    let id: string | null = null;
    const failed = eventOf(rig, 'maps-error', () => id);
    id = await startScan(rig, 'unwritable');
    const dir = join(dataDir, 'scans', id);
    const moved = `${dir}.moved`;
    await rig.daemon.manager.stop('manual');
    // The stop is done (final checkpoint written); the maps are not yet (they wait for the map workers'
    // final results): the scan folder is now a file, which no one, root included, can create maps/ in.
    renameSync(dir, moved);
    writeFileSync(dir, 'not a directory');
    let ev: Record<string, unknown>;
    try {
      ev = await failed;
    } finally {
      rmSync(dir, { force: true });
      renameSync(moved, dir);
    }
    assert.match(String(ev.error), /ENOTDIR|EEXIST|not a directory/i);
    const rec = (await rig.req.request('scan/get', { id })).data as ScanRecord;
    assert.equal(rec.status, 'completed');
    assert.match(rec.error ?? '', /^maps not saved: /);
    assert.ok(rec.totals!.events > 5000);
    assert.ok(existsSync(join(dir, 'raw.gemx')) && existsSync(join(dir, 'cube.ckpt')));
    assert.equal(existsSync(join(dir, 'maps')), false);
    // The daemon goes on: the next scan's maps are saved.
    let id2: string | null = null;
    const saved = eventOf(rig, 'maps-saved', () => id2);
    id2 = await startScan(rig, 'writable again');
    assert.equal((await rig.req.request('scan/stop')).status, 'ok');
    assert.deepEqual((await saved).methods, ['roi', 'fit']);
    assert.ok(existsSync(join(dataDir, 'scans', id2, 'maps', 'fit', 'Pb.npy')));
  });
});

function eventsChunk(seq: number, n = 400): Uint8Array {
  const x = new Uint16Array(n), y = new Uint16Array(n), adc = new Uint16Array(n), t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = (i + seq) % 32;
    y[i] = (i * 7 + seq) % 32;
    adc[i] = 500 + ((i * 13 + seq * 5) % 3000);
    t[i] = seq * 1e6 + i * 10;
  }
  return encodeEventsFrame(seq, seq * 1e6, { kind: 'events', n, x, y, adc, t });
}

/** A scan cut off by a "crash" (row left 'acquiring'), as in recovery-faults.test.ts. */
async function crashedScan(): Promise<{ dataDir: string; db: ScanDb; id: string; dir: string; config: ReturnType<typeof testConfig> }> {
  const dataDir = tempDir('gemxrf-savemaps-recovery-');
  const config = testConfig(dataDir, { storage: { dataDir, checkpointSeconds: 3600, flushSeconds: 10 } });
  const db = new ScanDb(join(dataDir, 'gemxrf.db'));
  const manager = new ScanManager(config, dataDir, db, silentLogger, () => 'tcp://127.0.0.1:9');
  const rec = await manager.start({ name: 'crash' });
  for (let s = 0; s < 5; s++) manager.onChunk(eventsChunk(s));
  await manager.checkpoint();
  for (let s = 5; s < 10; s++) manager.onChunk(eventsChunk(s));
  await manager.current!.acquisition.close();
  (manager as unknown as { clearTimers(): void }).clearTimers();
  return { dataDir, db, id: rec.id, dir: join(dataDir, 'scans', rec.id), config };
}

describe('crash recovery and the scan maps', function () {
  this.timeout(30_000);

  it('writes roi and fit maps of the rebuilt cube (no model maps) with saveMaps', async () => {
    const { dataDir, db, id, dir, config } = await crashedScan();
    try {
      await recoverInterruptedScans(dataDir, db, silentLogger, { saveMaps: true });
      const scan = db.getScan(id)!;
      assert.equal(scan.status, 'interrupted');
      assert.equal(scan.error, null);
      const index = JSON.parse(readFileSync(join(dir, 'maps', 'index.json'), 'utf8')) as IndexJson;
      assert.deepEqual(index.methods.map((m) => m.method), ['roi', 'fit']);
      assert.equal(index.events, 10 * 400);
      const { cube } = cubeFromRecording(join(dir, 'raw.gemx'), config);
      for (const method of ['roi', 'fit'] as const) {
        const want = buildMaps(cube, cubeGrid(cube), method, ELEMENTS, { roi: roiBackgroundFromConfig(config.maps.roi) }).maps;
        for (const e of ELEMENTS) {
          const npy = readNpy(join(dir, 'maps', method, `${e}.npy`));
          assert.deepEqual(npy.shape, [32, 32]);
          assert.deepEqual(npy.data, elementMap(want, e), `${method}/${e}`);
        }
      }
      assert.equal(existsSync(join(dir, 'maps', 'model')), false);
    } finally {
      db.close();
    }
  });

  it('writes no maps without saveMaps', async () => {
    const { dataDir, db, id, dir } = await crashedScan();
    try {
      await recoverInterruptedScans(dataDir, db, silentLogger);
      assert.equal(db.getScan(id)!.status, 'interrupted');
      assert.equal(existsSync(join(dir, 'maps')), false);
    } finally {
      db.close();
    }
  });
});
