// request/scan/delete and `gemxrf scan delete ID --yes`: a stored scan's folder and rows go, an event says so,
// scan/list no longer shows it; refused without the id repeated in confirm, for an unknown id, for the
// scan being acquired and while it is exported. Real daemon over MQTT, real SQLite file read back with its own connection.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ScanDb } from '../../daemon/storage/db.js';
import { deleteStoredScan, sweepDeletedScans } from '../../daemon/storage/delete-scan.js';
import { runCliAsync } from '../support/cli.js';
import { startRig, tempDir, testConfig, until, type TestRig } from './helpers.js';

const cli = (args: string[], cwd: string) => runCliAsync(args, { cwd, timeoutMs: 40_000 });

/** Rows of the scan in each table, read from the database file with a connection of its own. */
function rowsOf(dbFile: string, id: string): { scans: number; recordings: number; checkpoints: number } {
  const db = new Database(dbFile, { readonly: true });
  try {
    const n = (t: string, col: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${t} WHERE ${col} = ?`).get(id) as { n: number }).n;
    return { scans: n('scans', 'id'), recordings: n('recordings', 'scan_id'), checkpoints: n('checkpoints', 'scan_id') };
  } finally {
    db.close();
  }
}

describe('scan/delete', function () {
  this.timeout(90_000);
  let rig: TestRig;
  let dir: string;
  let dataDir: string;
  const events: Array<Record<string, unknown>> = [];

  before(async () => {
    dir = tempDir('gemxrf-delete-');
    dataDir = join(dir, 'data');
    rig = await startRig(testConfig(dataDir));
    rig.sub.on('message', (topic, buf) => {
      if (topic === 'gemxrf/test/event') events.push(JSON.parse(buf.toString()) as Record<string, unknown>);
    });
  });

  after(async () => {
    await rig?.stop();
  });

  /** Runs a scan to its count target and waits until its maps are in its folder (the post-stop work done). */
  async function finishedScan(name: string): Promise<string> {
    const r = await rig.req.request('scan/start', { name, counts: 3000 });
    assert.equal(r.status, 'ok', r.error);
    const id = (r.data as { id: string }).id;
    await until(() => events.some((e) => (e['type'] === 'maps-saved' || e['type'] === 'maps-error') && e['scan'] === id), `maps of ${id}`, 30_000);
    return id;
  }

  it('deletes a finished scan: folder and rows gone, event published, no longer listed', async () => {
    const keep = await finishedScan('keep me');
    const id = await finishedScan('delete me');
    const folder = join(dataDir, 'scans', id);
    const dbFile = join(dataDir, 'gemxrf.db');
    assert.ok(existsSync(join(folder, 'raw.gemx')));
    const before = rowsOf(dbFile, id);
    assert.deepEqual({ scans: before.scans, recordings: before.recordings }, { scans: 1, recordings: 1 });
    assert.ok(before.checkpoints >= 1);

    const r = await rig.req.request('scan/delete', { id, confirm: id });
    assert.equal(r.status, 'ok', r.error);
    const d = r.data as { id: string; dir: string; files: number; bytes: number; leftover: string | null };
    assert.equal(d.id, id);
    assert.equal(d.dir, join('scans', id));
    assert.ok(d.files >= 3, `files ${d.files}`); // raw.gemx, cube.ckpt, maps/...
    assert.ok(d.bytes > 0);
    assert.equal(d.leftover, null);

    assert.equal(existsSync(folder), false);
    assert.deepEqual(readdirSync(join(dataDir, 'scans')).filter((n) => n.startsWith('.')), [], 'no .deleting- folder left');
    assert.deepEqual(rowsOf(dbFile, id), { scans: 0, recordings: 0, checkpoints: 0 });
    await until(() => events.some((e) => e['type'] === 'scan-deleted' && e['scan'] === id), 'scan-deleted event');
    const ev = events.find((e) => e['type'] === 'scan-deleted' && e['scan'] === id)!;
    assert.equal(ev['bytes'], d.bytes);
    assert.equal(ev['files'], d.files);
    assert.equal(typeof ev['time'], 'string');

    const list = await rig.req.request('scan/list', {});
    const ids = (list.data as Array<{ id: string }>).map((s) => s.id);
    assert.ok(!ids.includes(id));
    assert.ok(ids.includes(keep), 'the other scan stays');
    assert.ok(existsSync(join(dataDir, 'scans', keep, 'raw.gemx')));
    const get = await rig.req.request('scan/get', { id });
    assert.equal(get.status, 'error');
    // The retained state no longer names it as the last scan.
    const st = await rig.req.request('scan/status', {});
    assert.notEqual((st.data as { lastScan: string | null }).lastScan, id);
  });

  it('is refused without confirm, with a wrong confirm, and for an unknown id; nothing is deleted', async () => {
    const id = await finishedScan('refusals');
    const none = await rig.req.request('scan/delete', { id });
    assert.equal(none.status, 'error');
    assert.match(none.error!, /needs "confirm": the scan id repeated/);
    const wrong = await rig.req.request('scan/delete', { id, confirm: id.slice(0, -1) });
    assert.equal(wrong.status, 'error');
    assert.match(wrong.error!, /must repeat the scan id exactly/);
    const bad = await rig.req.request('scan/delete', { id: '../etc', confirm: '../etc' });
    assert.equal(bad.status, 'error');
    assert.match(bad.error!, /not a scan id/);
    const extra = await rig.req.request('scan/delete', { id, confirm: id, force: true });
    assert.equal(extra.status, 'error');
    assert.match(extra.error!, /unknown field/);
    const unknown = await rig.req.request('scan/delete', { id: '20200101-000000-nothing', confirm: '20200101-000000-nothing' });
    assert.equal(unknown.status, 'error');
    assert.match(unknown.error!, /no scan with id '20200101-000000-nothing'/);
    assert.ok(existsSync(join(dataDir, 'scans', id, 'raw.gemx')));
    assert.equal(rowsOf(join(dataDir, 'gemxrf.db'), id).scans, 1);
  });

  it('is refused for the scan being acquired', async () => {
    const r = await rig.req.request('scan/start', { name: 'running' });
    assert.equal(r.status, 'ok', r.error);
    const id = (r.data as { id: string }).id;
    try {
      const d = await rig.req.request('scan/delete', { id, confirm: id });
      assert.equal(d.status, 'error');
      assert.match(d.error!, /is acquiring; stop it/);
      assert.ok(existsSync(join(dataDir, 'scans', id, 'raw.gemx')));
    } finally {
      const s = await rig.req.request('scan/stop', {}, 30_000);
      assert.equal(s.status, 'ok', s.error);
    }
    await until(() => events.some((e) => (e['type'] === 'maps-saved' || e['type'] === 'maps-error') && e['scan'] === id), `maps of ${id}`, 30_000);
    const d = await rig.req.request('scan/delete', { id, confirm: id });
    assert.equal(d.status, 'ok', d.error);
  });

  it('is refused while an export of the scan runs, and then deletes the export too', async () => {
    const id = await finishedScan('exported');
    // The export (a child process, seconds) is asked first: requests are handled in order, so the delete
    // arrives while it runs.
    const exporting = rig.req.request('scan/export', { id, format: ['npy'], methods: ['roi'] }, 60_000);
    const d = await rig.req.request('scan/delete', { id, confirm: id });
    assert.equal(d.status, 'error');
    assert.match(d.error!, /cannot be deleted now: an export of it is running/);
    const e = await exporting;
    assert.equal(e.status, 'ok', e.error);
    assert.ok(existsSync(join(dataDir, 'scans', id, 'export')));
    const ok = await rig.req.request('scan/delete', { id, confirm: id });
    assert.equal(ok.status, 'ok', ok.error);
    assert.equal(existsSync(join(dataDir, 'scans', id)), false);
  });

  it('gemxrf scan delete ID: refused without --yes, deletes with it', async () => {
    const id = await finishedScan('cli delete');
    writeFileSync(join(dir, 'cli.yaml'), 'instrument:\n  id: test\n');
    const args = (a: string[]) => ['--config', join(dir, 'cli.yaml'), ...a, '--broker', rig.daemon.brokerUrl];
    const no = await cli(args(['scan', 'delete', id]), dir);
    assert.notEqual(no.status, 0);
    assert.match(no.stderr, /gemxrf: deleting scan .* add --yes/);
    assert.ok(existsSync(join(dataDir, 'scans', id)));
    const yes = await cli(args(['scan', 'delete', id, '--yes']), dir);
    assert.equal(yes.status, 0, yes.stderr);
    assert.match(yes.stdout, new RegExp(`deleted ${id}: \\d+ files, [\\d.]+ MiB freed`));
    assert.equal(existsSync(join(dataDir, 'scans', id)), false);
    const again = await cli(args(['scan', 'delete', id, '--yes']), dir);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /gemxrf: no scan with id/);
    const list = await cli(args(['scan', 'list', '--json']), dir);
    assert.equal(list.status, 0, list.stderr);
    assert.ok(!(JSON.parse(list.stdout) as Array<{ id: string }>).some((s) => s.id === id));
  });
});

describe('deleting a stored scan (storage)', () => {
  it('removes the rows of one scan only, and a scan whose folder is already gone', async () => {
    const dataDir = tempDir('gemxrf-delete-db-');
    const db = new ScanDb(join(dataDir, 'gemxrf.db'));
    try {
      for (const id of ['20260101-000000-a', '20260101-000001-b']) {
        db.insertScan({ id, name: id, notes: '', operator: '', status: 'completed', stopCondition: {}, stopReason: 'manual', startedAt: new Date().toISOString(), stoppedAt: null, totals: null, error: null, dir: `scans/${id}`, config: {} });
        db.addRecording(id, 'raw.gemx', 1);
        db.addCheckpoint({ scanId: id, file: 'cube.ckpt', recordingOffset: 64, events: 1, createdAt: new Date().toISOString() });
      }
      mkdirSync(join(dataDir, 'scans', '20260101-000000-a'), { recursive: true });
      writeFileSync(join(dataDir, 'scans', '20260101-000000-a', 'raw.gemx'), Buffer.alloc(1000));
      const a = await deleteStoredScan(dataDir, db, '20260101-000000-a');
      assert.deepEqual({ files: a.files, bytes: a.bytes }, { files: 1, bytes: 1000 });
      // b has rows but no folder (removed by hand): it leaves the catalogue all the same.
      const b = await deleteStoredScan(dataDir, db, '20260101-000001-b');
      assert.deepEqual({ files: b.files, bytes: b.bytes }, { files: 0, bytes: 0 });
      assert.equal(db.listScans().length, 0);
      assert.equal(db.checkpointCount('20260101-000000-a'), 0);
      assert.deepEqual(db.recordings('20260101-000001-b'), []);
      await assert.rejects(deleteStoredScan(dataDir, db, '20260101-000000-a'), /no scan with id/);
    } finally {
      db.close();
    }
  });

  it('sweeps folders a deletion left behind, and nothing else', async () => {
    const dataDir = tempDir('gemxrf-sweep-');
    mkdirSync(join(dataDir, 'scans', '.deleting-20260101-000000-a-123', 'maps'), { recursive: true });
    writeFileSync(join(dataDir, 'scans', '.deleting-20260101-000000-a-123', 'raw.gemx'), 'x');
    mkdirSync(join(dataDir, 'scans', '20260101-000001-b'), { recursive: true });
    assert.deepEqual(await sweepDeletedScans(dataDir), ['.deleting-20260101-000000-a-123']);
    assert.deepEqual(readdirSync(join(dataDir, 'scans')), ['20260101-000001-b']);
    assert.deepEqual(await sweepDeletedScans(join(dataDir, 'missing')), []);
  });
});
