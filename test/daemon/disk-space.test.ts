// Free space of the data directory: in health and the retained state, storage.minFreeGB refusing scan/start
// below it and stopping a running scan (reason 'disk') with its recording and final checkpoint complete.
// The refusal runs everywhere on the real data directory (a minimum above what statfs says is free). The
// stop-while-acquiring case runs on a real small filesystem: a 32 MiB tmpfs mounted for the test, filled with a
// plain file to take the space away. Mounting needs root with CAP_SYS_ADMIN, which no apt package gives (an
// unprivileged CI container lacks it): skipped there, with the reason printed, and not made a CI failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskSpace, GIB } from '../../daemon/storage/disk-space.js';
import { startRig, tempDir, testConfig, until, waitForMessage, type TestRig } from './helpers.js';

interface StorageDoc {
  freeBytes: number | null;
  totalBytes: number | null;
  minFreeBytes: number;
  lowSpace: boolean;
}

function tryMountTmpfs(dir: string, size: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'gemxrf-test', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return ((e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message).split('\n')[0]!;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
}

describe('data directory free space', function () {
  this.timeout(60_000);

  it('DiskSpace: one statfs per interval, a fresh one on demand, null and the reason for a missing directory', async () => {
    const dir = tempDir('gemxrf-df-');
    const d = new DiskSpace(dir, 60_000);
    const a = await d.sample();
    assert.ok(a && a.totalBytes > 0 && a.freeBytes >= 0 && a.freeBytes <= a.totalBytes);
    const s = await statfs(dir);
    assert.equal(a.totalBytes, Number(s.blocks) * Number(s.bsize));
    assert.equal(await d.sample(), a, 'kept within the interval');
    assert.notEqual(await d.sample(true), a, 'fresh on demand');
    rmSync(dir, { recursive: true });
    assert.equal(await d.sample(true), null);
    assert.match(d.lastError ?? '', /ENOENT/);
  });

  it('health and the retained state carry the free and total bytes', async () => {
    const rig = await startRig(testConfig(tempDir('gemxrf-df-daemon-'), { simulator: { enabled: false }, source: { url: 'tcp://127.0.0.1:1' } }));
    try {
      const h = await rig.req.request('health');
      assert.equal(h.status, 'ok', h.error);
      const st = (h.data as { storage: StorageDoc & { freeSpaceError: string | null } }).storage;
      const fs = await statfs(rig.daemon.dataDir);
      assert.equal(st.totalBytes, Number(fs.blocks) * Number(fs.bsize));
      assert.ok(st.freeBytes !== null && st.freeBytes > 0 && st.freeBytes <= st.totalBytes!);
      // Within 1 GiB of what statfs says now (other processes write meanwhile).
      assert.ok(Math.abs(st.freeBytes - Number(fs.bavail) * Number(fs.bsize)) < GIB);
      assert.equal(st.minFreeBytes, 2 * GIB, 'storage.minFreeGB defaults to 2');
      assert.equal(st.lowSpace, st.freeBytes < 2 * GIB);
      assert.equal(st.freeSpaceError, null);
      const state = JSON.parse((await waitForMessage(rig.sub, 'gemxrf/test/state')).toString()) as { storage: StorageDoc };
      assert.equal(state.storage.totalBytes, st.totalBytes);
      assert.ok(state.storage.freeBytes !== null && state.storage.freeBytes > 0);
    } finally {
      await rig.stop();
    }
  });

  it('refuses scan/start when storage.minFreeGB is above the free space of the real data directory', async () => {
    const dataDir = tempDir('gemxrf-df-min-');
    const s = await statfs(dataDir);
    const free = Number(s.bavail) * Number(s.bsize);
    // A minimum 64 GiB above what is free now: no other process frees that much meanwhile.
    const minFreeGB = Math.ceil(free / GIB) + 64;
    const rig = await startRig(testConfig(dataDir, { storage: { dataDir, checkpointSeconds: 0.5, flushSeconds: 0.2, minFreeGB } }));
    try {
      const refused = await rig.req.request('scan/start', { name: 'no room' });
      assert.equal(refused.status, 'error');
      assert.match(refused.error!, new RegExp(`free in the data directory .* below storage\\.minFreeGB \\(${minFreeGB} GiB\\)`));
      const list = await rig.req.request('scan/list', {});
      assert.deepEqual(list.data, [], 'no scan row for a refused start');
      const h = await rig.req.request('health');
      assert.equal((h.data as { storage: StorageDoc }).storage.lowSpace, true);
    } finally {
      await rig.stop();
    }
  });

  describe('storage.minFreeGB on a 32 MiB tmpfs', function () {
    let mnt: string;
    let mounted = false;
    let rig: TestRig | null = null;
    const filler = () => join(mnt, 'filler');

    before(function () {
      mnt = tempDir('gemxrf-tmpfs-');
      const why = tryMountTmpfs(mnt, '32m');
      if (why) {
        console.log(`      (tmpfs not mountable here, low-space stop not exercised: ${why})`);
        this.skip();
      }
      mounted = true;
    });

    after(async () => {
      await rig?.stop();
      if (mounted) unmount(mnt);
    });

    /** Writes a file that leaves about `leave` bytes free on the tmpfs. */
    async function fillLeaving(leave: number): Promise<void> {
      const s = await statfs(mnt);
      const free = Number(s.bavail) * Number(s.bsize);
      writeFileSync(filler(), Buffer.alloc(Math.max(0, free - leave)));
    }

    it('refuses scan/start below it, stops a running scan with reason disk, its files complete', async () => {
      const dataDir = join(mnt, 'data');
      mkdirSync(dataDir);
      // 12 MiB must stay free; the scan's checkpoint (32 x 32 x 256 channels) is about 1 MiB.
      rig = await startRig(testConfig(dataDir, { storage: { dataDir, checkpointSeconds: 0.5, flushSeconds: 0.2, minFreeGB: 12 / 1024 } }));
      const events: Array<Record<string, unknown>> = [];
      rig.sub.on('message', (topic, buf) => {
        if (topic === 'gemxrf/test/event') events.push(JSON.parse(buf.toString()) as Record<string, unknown>);
      });

      // Below the minimum before the start: refused, saying how much is free and which key.
      await fillLeaving(8 * 2 ** 20);
      const refused = await rig.req.request('scan/start', { name: 'too full' });
      assert.equal(refused.status, 'error');
      assert.match(refused.error!, /only [\d.]+ MiB free in the data directory .* below storage\.minFreeGB \(0\.01171875 GiB\): delete scans/);
      await until(() => rig!.daemon.manager.state === 'idle', 'idle');
      const list0 = await rig.req.request('scan/list', {});
      assert.deepEqual(list0.data, [], 'no scan row for a refused start');
      const h = await rig.req.request('health');
      const st = (h.data as { storage: StorageDoc }).storage;
      assert.equal(st.totalBytes, 32 * 2 ** 20);
      assert.equal(st.minFreeBytes, 12 * 2 ** 20);
      // health reads the last sample (every 2 s): it may predate the filler.
      const h2 = await (async () => {
        for (let i = 0; i < 40; i++) {
          const r = await rig!.req.request('health');
          const s2 = (r.data as { storage: StorageDoc }).storage;
          if (s2.lowSpace) return s2;
          await new Promise((res) => setTimeout(res, 250));
        }
        return null;
      })();
      assert.ok(h2 && h2.freeBytes! < 12 * 2 ** 20, 'health says lowSpace once sampled');

      // Room again: the scan starts; the space goes while it acquires: it stops, reason disk.
      rmSync(filler());
      const started = await rig.req.request('scan/start', { name: 'fills the disk' });
      assert.equal(started.status, 'ok', started.error);
      const id = (started.data as { id: string }).id;
      await until(() => (rig!.daemon.manager.progress()?.checkpoints ?? 0) >= 1, 'a checkpoint');
      await fillLeaving(9 * 2 ** 20);
      await until(() => events.some((e) => e['type'] === 'scan-stopped' || e['type'] === 'scan-error'), 'the scan to stop', 20_000);
      const ev = events.find((e) => e['type'] === 'scan-stopped' || e['type'] === 'scan-error')!;
      assert.equal(ev['type'], 'scan-stopped', String(ev['error']));
      assert.equal(ev['reason'], 'disk');
      const got = await rig.req.request('scan/get', { id });
      const rec = got.data as { status: string; stopReason: string; error: string | null; totals: { bytesRecorded: number; events: number }; lastCheckpoint: { recordingOffset: number; events: number } };
      assert.equal(rec.status, 'completed');
      assert.equal(rec.stopReason, 'disk');
      assert.equal(rec.error, null);
      // The recording and the final checkpoint are complete: the checkpoint covers the whole recording.
      const raw = statSync(join(dataDir, 'scans', id, 'raw.gemx')).size;
      assert.equal(rec.lastCheckpoint.recordingOffset, raw);
      assert.equal(rec.lastCheckpoint.events, rec.totals.events);
      assert.ok(rec.totals.events > 0);
      assert.ok(existsSync(join(dataDir, 'scans', id, 'cube.ckpt')));
      assert.equal(rig.daemon.manager.state, 'idle');

      // Still too full: refused again; deleting the scan is not enough here (the filler holds the space).
      const again = await rig.req.request('scan/start', { name: 'again' });
      assert.equal(again.status, 'error');
      assert.match(again.error!, /storage\.minFreeGB/);
      rmSync(filler());
      const ok = await rig.req.request('scan/start', { name: 'again', counts: 1000 });
      assert.equal(ok.status, 'ok', ok.error);
    });
  });
});
