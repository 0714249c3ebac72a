// Stopped scans whose saved maps are missing (storage.saveMaps): the daemon was killed between the stop and the
// end of the save, the save failed, or a crash left an orphan maps.tmp/. At the next start, after start-up in
// the background, such a scan gets roi and fit maps from its final checkpoint (which covers the whole recording
// after a clean stop: nothing is replayed), equal to the maps the stop saved; orphan maps.tmp/ folders go. A
// scan recorded with saveMaps false is left without maps. Real daemons on one data directory, real files.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { ScanDb, type ScanRecord } from '../../daemon/storage/db.js';
import { readNpy } from '../../simulator/dataset/npy.js';
import { startRig, tempDir, testConfig, until, waitForMessage, type TestRig } from './helpers.js';

const base = 'gemxrf/test';
const ELEMENTS = ['Cr', 'Cu', 'Pb'];

async function scan(rig: TestRig, name: string, saveMaps: boolean): Promise<string> {
  const r = await rig.req.request('scan/start', { name });
  assert.equal(r.status, 'ok', r.error);
  const id = (r.data as ScanRecord).id;
  const saved = saveMaps ? waitForMessage(rig.sub, `${base}/event`, (p) => {
    const ev = JSON.parse(p.toString()) as { type: string; scan: unknown };
    return ev.type === 'maps-saved' && ev.scan === id;
  }, 30_000) : null;
  await until(() => (rig.daemon.manager.progress()?.events ?? 0) > 5000, 'events in the scan', 20_000);
  assert.equal((await rig.req.request('scan/stop')).status, 'ok');
  await saved;
  return id;
}

describe('stopped scans missing their saved maps get them at the next start', function () {
  this.timeout(120_000);

  it('makes roi/fit maps from the final checkpoint, removes orphan maps.tmp/, leaves saveMaps-false scans alone', async () => {
    const dataDir = tempDir('gemxrf-missing-maps-');
    const cfg = (saveMaps: boolean) => testConfig(dataDir, {
      storage: { dataDir, checkpointSeconds: 0.5, flushSeconds: 0.2, saveMaps },
      maps: { methods: ['roi', 'fit'], elements: ELEMENTS, cadenceSeconds: 0.5 },
    });
    // A scan recorded with saveMaps false: its maps were deliberately not saved.
    let rig = await startRig(cfg(false), base);
    const off = await scan(rig, 'not saved', false);
    await rig.stop();
    // Two scans with saveMaps: one whose maps/ will be "lost" (killed before the save; an orphan maps.tmp/ from a
    // crash mid-rename), one whose save "failed" (noted in its record).
    rig = await startRig(cfg(true), base);
    const lost = await scan(rig, 'lost', true);
    const failed = await scan(rig, 'failed', true);
    await rig.stop();
    const dirOf = (id: string) => join(dataDir, 'scans', id);
    const saved = join(dataDir, 'saved-at-stop');
    mkdirSync(saved);
    for (const id of [lost, failed]) renameSync(join(dirOf(id), 'maps'), join(saved, id));
    cpSync(join(saved, lost), join(dirOf(lost), 'maps.tmp'), { recursive: true });
    writeFileSync(join(dirOf(lost), 'maps.tmp', 'index.json'), '{"truncated');
    {
      const db = new ScanDb(join(dataDir, 'gemxrf.db'));
      const rec = db.getScan(failed)!;
      db.finishScan(failed, { status: rec.status, stopReason: rec.stopReason, stoppedAt: rec.stoppedAt!, totals: rec.totals, error: 'maps not saved: ENOSPC: no space left on device' });
      db.close();
    }

    const daemon = await startDaemon(cfg(true), silentLogger);
    let results;
    try {
      assert.equal(existsSync(join(dirOf(lost), 'maps.tmp')), false, 'the orphan maps.tmp/ is removed at start');
      results = await daemon.missingMaps;
    } finally {
      await daemon.stop();
    }
    assert.deepEqual(results.map((r) => r.id).sort(), [lost, failed].sort());
    for (const r of results) {
      assert.equal(r.error, null);
      assert.deepEqual(r.methods, ['roi', 'fit']);
      assert.equal(r.fromCheckpoint, true);
      assert.equal(r.tailBytes, 0, 'after a clean stop the final checkpoint covers the whole recording');
      const index = JSON.parse(readFileSync(join(dirOf(r.id), 'maps', 'index.json'), 'utf8')) as { events: number; methods: Array<{ method: string }> };
      const atStop = JSON.parse(readFileSync(join(saved, r.id, 'index.json'), 'utf8')) as { events: number };
      assert.equal(index.events, atStop.events, 'the maps cover every event of the scan');
      assert.deepEqual(index.methods.map((m) => m.method), ['roi', 'fit']);
      for (const m of ['roi', 'fit']) {
        for (const e of ELEMENTS) {
          assert.deepEqual(readNpy(join(dirOf(r.id), 'maps', m, `${e}.npy`)).data, readNpy(join(saved, r.id, m, `${e}.npy`)).data, `${r.id} ${m}/${e} equals the maps saved at the stop`);
        }
      }
      assert.equal(existsSync(join(dirOf(r.id), 'maps.tmp')), false);
    }
    assert.equal(existsSync(join(dirOf(off), 'maps')), false, 'a scan recorded with saveMaps false gets no maps');

    // Done once: a further start finds nothing to do.
    const again = await startDaemon(cfg(true), silentLogger);
    try {
      assert.deepEqual(await again.missingMaps, []);
    } finally {
      await again.stop();
    }
  });
});
