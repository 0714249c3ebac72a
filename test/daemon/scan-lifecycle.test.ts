// The scan lifecycle's edges: a shutdown while a stop is in flight waits for it (the row ends completed, not
// interrupted), no scan starts once the shutdown began, and a database that fails while a scan stops or fails
// (disk full: SQLITE_FULL) neither crashes the process nor leaves the manager stuck in 'stopping'.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { ScanManager } from '../../daemon/scan/scan-manager.js';
import { ScanDb } from '../../daemon/storage/db.js';
import { encodeEventsFrame } from '../../drivers/codecs/gemx-encode.js';
import { tempDir, testConfig } from './helpers.js';

function eventsChunk(seq: number, n = 100): Uint8Array {
  const x = new Uint16Array(n), y = new Uint16Array(n), adc = new Uint16Array(n), t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = i % 32;
    y[i] = (i * 7) % 32;
    adc[i] = 1000 + i;
    t[i] = seq * 1e6 + i * 10;
  }
  return encodeEventsFrame(seq, seq * 1e6, { kind: 'events', n, x, y, adc, t });
}

/** Collects unhandled rejections while fn runs (the daemon must never leave one: Node 20 exits on it). */
async function withRejectionWatch(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onRej = (r: unknown) => seen.push(r);
  const listeners = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', onRej);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('unhandledRejection', onRej);
    for (const l of listeners) process.on('unhandledRejection', l);
  }
  return seen;
}

describe('scan lifecycle edges', function () {
  this.timeout(30_000);

  describe('database failures while a scan ends', () => {
    let db: ScanDb;
    let manager: ScanManager;

    beforeEach(() => {
      const dataDir = tempDir('gemxrf-lifecycle-');
      const config = testConfig(dataDir, { storage: { dataDir, checkpointSeconds: 3600, flushSeconds: 10 } });
      db = new ScanDb(join(dataDir, 'gemxrf.db'));
      manager = new ScanManager(config, dataDir, db, silentLogger, () => 'tcp://127.0.0.1:9');
    });
    afterEach(() => db.close());

    it('a recording failure with the database full ends in error, no crash, no stuck state', async () => {
      await manager.start({ name: 'disk full' });
      manager.onChunk(eventsChunk(0));
      const cur = manager.current!;
      cur.acquisition.push = () => {
        throw new Error('write failed: ENOSPC');
      };
      db.finishScan = () => {
        throw new Error('SQLITE_FULL: database or disk is full');
      };
      const errors: unknown[] = [];
      manager.on('event', (e: { type: string }) => errors.push(e.type));
      const rejections = await withRejectionWatch(async () => {
        manager.onChunk(eventsChunk(1));
        await new Promise((r) => setTimeout(r, 100));
      });
      assert.deepEqual(rejections, []);
      assert.equal(manager.state, 'error');
      assert.equal(manager.current, null);
      assert.match(manager.lastError ?? '', /ENOSPC/);
      assert.deepEqual(errors, ['scan-error']);
      // The manager takes the next scan.
      delete (db as { finishScan?: unknown }).finishScan;
      const next = await manager.start({ name: 'after' });
      assert.equal(manager.state, 'acquiring');
      await manager.stop('manual');
      assert.equal(db.getScan(next.id)!.status, 'completed');
    });

    it('a start that fails half-way leaves no open recording and no row marked acquiring', async () => {
      db.addRecording = () => {
        throw new Error('SQLITE_FULL: database or disk is full');
      };
      await assert.rejects(manager.start({ name: 'half' }), /cannot start scan: SQLITE_FULL/);
      assert.equal(manager.state, 'error');
      assert.equal(manager.current, null);
      assert.deepEqual(db.listScans({ status: 'acquiring' }).map((r) => r.id), []);
      if (existsSync('/proc/self/fd')) {
        const open = readdirSync('/proc/self/fd').filter((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`).endsWith('raw.gemx');
          } catch {
            return false;
          }
        });
        assert.deepEqual(open, [], 'raw.gemx is closed');
      }
    });

    it('a stop whose database update fails rejects with the reason and leaves the manager usable', async () => {
      await manager.start({ name: 'stop fails' });
      manager.onChunk(eventsChunk(0));
      const real = db.finishScan.bind(db);
      db.finishScan = () => {
        throw new Error('SQLITE_FULL: database or disk is full');
      };
      await assert.rejects(manager.stop('manual'), /SQLITE_FULL/);
      assert.equal(manager.state, 'error');
      assert.equal(manager.current, null);
      assert.match(manager.lastError ?? '', /SQLITE_FULL/);
      db.finishScan = real;
      await manager.start({ name: 'after' });
      assert.equal(manager.state, 'acquiring');
      await manager.stop('manual');
    });
  });

  describe('daemon shutdown', () => {
    let daemon: Daemon | null = null;
    afterEach(async () => {
      await daemon?.stop();
      daemon = null;
    });

    it('waits for a stop already in flight: the scan ends completed, not interrupted', async () => {
      const dataDir = tempDir('gemxrf-lifecycle-');
      daemon = await startDaemon(testConfig(dataDir, { simulator: { enabled: false }, source: { url: 'tcp://127.0.0.1:9' } }), silentLogger);
      const d = daemon;
      const rec = await d.manager.start({ name: 'stop then shutdown' });
      d.manager.onChunk(eventsChunk(0));
      // A slow disk: the final checkpoint takes a while, so the shutdown overtakes the stop.
      const acq = d.manager.current!.acquisition;
      const finalCheckpoint = acq.finalCheckpoint.bind(acq);
      acq.finalCheckpoint = async () => {
        await new Promise((r) => setTimeout(r, 500));
        return finalCheckpoint();
      };
      const rejections = await withRejectionWatch(async () => {
        const stopped = d.manager.stop('manual');
        const down = d.stop();
        const [s] = await Promise.allSettled([stopped, down]);
        assert.equal(s.status, 'fulfilled', s.status === 'rejected' ? String(s.reason) : '');
      });
      assert.deepEqual(rejections, []);
      const db = new ScanDb(join(dataDir, 'gemxrf.db'));
      try {
        const row = db.getScan(rec.id)!;
        assert.equal(row.status, 'completed');
        assert.equal(row.stopReason, 'manual');
      } finally {
        db.close();
      }
    });

    it('refuses a scan start once the shutdown began', async () => {
      const dataDir = tempDir('gemxrf-lifecycle-');
      daemon = await startDaemon(testConfig(dataDir, { simulator: { enabled: false }, source: { url: 'tcp://127.0.0.1:9' } }), silentLogger);
      const down = daemon.stop();
      await assert.rejects(daemon.manager.start({ name: 'too late' }), /shutting down/);
      await down;
      const db = new ScanDb(join(dataDir, 'gemxrf.db'));
      try {
        assert.equal(db.listScans().length, 0);
      } finally {
        db.close();
      }
    });
  });
});
