// The scan folder and the saved maps, two gaps: (1) the maps writer never recreates a scan folder that is gone
// (deleted or moved while its final maps were being made): it fails, reported as maps-error, and no folder
// appears; (2) scan/delete of the scan whose maps are shown clears their retained live/maps/<method>/<El> frames
// and the retained live/maps index on the broker. Real daemon, real files.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { writeScanMaps } from '../../daemon/scan/save-maps.js';
import type { ScanRecord } from '../../daemon/storage/db.js';
import { createMapSet } from '../../pipelines/maps/types.js';
import { startRig, tempDir, testConfig, until, waitForMessage, type TestRig } from './helpers.js';

const base = 'gemxrf/test';
const ELEMENTS = ['Cr', 'Cu', 'Pb'];

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

describe('saved maps and the scan folder', function () {
  this.timeout(90_000);
  let rig: TestRig | null = null;
  afterEach(async () => {
    await rig?.stop();
    rig = null;
  });

  it('writeScanMaps refuses a missing scan folder instead of creating it', async () => {
    const dataDir = tempDir('gemxrf-maps-nofolder-');
    const id = '20250101-120000-gone';
    const input = { scanId: id, width: 2, height: 1, events: 3, classical: [{ method: 'roi', events: 3, maps: createMapSet('roi', ['Cu'], 2, 1) }], model: null };
    await assert.rejects(writeScanMaps(dataDir, input), /no longer exists/);
    assert.equal(existsSync(join(dataDir, 'scans', id)), false, 'no scan folder was created');
    mkdirSync(join(dataDir, 'scans', id), { recursive: true });
    const r = await writeScanMaps(dataDir, input);
    assert.deepEqual(r.methods, ['roi']);
  });

  it('a scan folder moved away before the save is not recreated; the save is reported failed', async () => {
    const dataDir = tempDir('gemxrf-maps-moved-');
    rig = await startRig(testConfig(dataDir, { maps: { methods: ['roi', 'fit'], elements: ELEMENTS, cadenceSeconds: 0.5 } }), base);
    let id: string | null = null;
    const failed = eventOf(rig, 'maps-error', () => id);
    id = await startScan(rig, 'moved');
    const dir = join(dataDir, 'scans', id);
    await rig.daemon.manager.stop('manual');
    // The stop is done; the maps wait for the workers' final results. The folder goes (as a deletion by hand).
    renameSync(dir, `${dir}.moved`);
    const ev = await failed;
    assert.match(String(ev.error), /no longer exists|ENOENT/);
    assert.equal(existsSync(dir), false, 'the scan folder was not recreated');
    const rec = (await rig.req.request('scan/get', { id })).data as ScanRecord;
    assert.equal(rec.status, 'completed');
    assert.match(rec.error ?? '', /^maps not saved: /);
    rmSync(`${dir}.moved`, { recursive: true, force: true });
  });

  it("scan/delete of the scan shown clears its retained live maps and the live/maps index", async () => {
    const dataDir = tempDir('gemxrf-maps-delete-');
    rig = await startRig(testConfig(dataDir, { maps: { methods: ['roi', 'fit'], elements: ELEMENTS, cadenceSeconds: 0.5 } }), base);
    let id: string | null = null;
    const saved = eventOf(rig, 'maps-saved', () => id);
    id = await startScan(rig, 'to delete');
    assert.equal((await rig.req.request('scan/stop')).status, 'ok');
    await saved; // the post-stop work is done: the scan can be deleted
    const frameTopics = ['roi', 'fit'].flatMap((m) => ELEMENTS.map((e) => `${base}/live/maps/${m}/${e}`));
    const topics = [...frameTopics, `${base}/live/maps`];
    // Before: a fresh subscriber gets the scan's retained frames and index.
    const before = await retainedOn(rig.daemon.brokerUrl);
    for (const t of topics) assert.ok(before.has(t), `${t} retained before the deletion`);

    const cleared = new Set<string>();
    rig.sub.on('message', (topic, p) => {
      if (topics.includes(topic) && p.length === 0) cleared.add(topic);
    });
    const del = await rig.req.request('scan/delete', { id, confirm: id });
    assert.equal(del.status, 'ok', del.error);
    await until(() => topics.every((t) => cleared.has(t)), 'empty retained payloads on every live maps topic');
    const after = await retainedOn(rig.daemon.brokerUrl);
    assert.deepEqual([...after.keys()].filter((t) => topics.includes(t)), [], 'no retained live maps of the deleted scan');
  });
});

/** The retained messages (non-empty) a fresh subscriber to live/maps and live/maps/# gets, up to a sentinel
 *  published after its subscription. */
async function retainedOn(url: string): Promise<Map<string, Buffer>> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const got = new Map<string, Buffer>();
  const sentinel = `${base}/live/maps/zz-sentinel-${process.pid}`;
  try {
    let done = false;
    c.on('message', (topic, p) => {
      if (topic === sentinel) done = true;
      else if (p.length > 0) got.set(topic, p);
    });
    await c.subscribeAsync([`${base}/live/maps`, `${base}/live/maps/#`], { qos: 1 });
    // Retained messages are sent on subscription, before a message published after it (same session, qos 1).
    await c.publishAsync(sentinel, 'x', { qos: 1 });
    await until(() => done, 'the sentinel');
  } finally {
    await c.endAsync();
  }
  return got;
}
