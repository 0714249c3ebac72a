// Crash recovery from a damaged scan folder: the raw recording is the source of truth, so a corrupt or
// mismatched checkpoint is set aside and the cube rebuilt from the whole recording, and a recording cut off
// mid-frame (power loss) recovers up to its last whole frame.
import assert from 'node:assert/strict';
import { statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../daemon/log.js';
import { recoverInterruptedScans } from '../../daemon/scan/recovery.js';
import { ScanManager } from '../../daemon/scan/scan-manager.js';
import { ScanDb } from '../../daemon/storage/db.js';
import { encodeEventsFrame } from '../../drivers/codecs/gemx-encode.js';
import { loadSnapshot } from '../../pipelines/cube/snapshot.js';
import { cubeFromRecording } from '../../pipelines/maps/recording-cube.js';
import { tempDir, testConfig } from './helpers.js';

function eventsChunk(seq: number, n = 200): Uint8Array {
  const x = new Uint16Array(n), y = new Uint16Array(n), adc = new Uint16Array(n), t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = (i + seq) % 32;
    y[i] = (i * 7) % 32;
    adc[i] = 500 + ((i * 13) % 3000);
    t[i] = seq * 1e6 + i * 10;
  }
  return encodeEventsFrame(seq, seq * 1e6, { kind: 'events', n, x, y, adc, t });
}

/** A scan cut off by a "crash": a checkpoint after 5 frames, 5 more frames recorded, row left 'acquiring'. */
async function crashedScan(): Promise<{ dataDir: string; db: ScanDb; id: string; dir: string; config: ReturnType<typeof testConfig> }> {
  const dataDir = tempDir('gemxrf-recovery-');
  const config = testConfig(dataDir, { storage: { dataDir, checkpointSeconds: 3600, flushSeconds: 10 } });
  const db = new ScanDb(join(dataDir, 'gemxrf.db'));
  const manager = new ScanManager(config, dataDir, db, silentLogger, () => 'tcp://127.0.0.1:9');
  const rec = await manager.start({ name: 'crash' });
  for (let s = 0; s < 5; s++) manager.onChunk(eventsChunk(s));
  await manager.checkpoint();
  for (let s = 5; s < 10; s++) manager.onChunk(eventsChunk(s));
  await manager.current!.acquisition.close(); // what was recorded is on disk; the row stays 'acquiring'
  (manager as unknown as { clearTimers(): void }).clearTimers();
  assert.equal(db.checkpointCount(rec.id), 1);
  return { dataDir, db, id: rec.id, dir: join(dataDir, 'scans', rec.id), config };
}

describe('crash recovery from a damaged scan folder', function () {
  this.timeout(30_000);

  it('rebuilds from the whole recording when the checkpoint is corrupt', async () => {
    const { dataDir, db, id, dir, config } = await crashedScan();
    try {
      writeFileSync(join(dir, 'cube.ckpt'), 'not a cube snapshot');
      const out = await recoverInterruptedScans(dataDir, db, silentLogger);
      assert.equal(db.getScan(id)!.status, 'interrupted', db.getScan(id)!.error ?? '');
      assert.equal(out.length, 1);
      assert.equal(out[0]!.fromCheckpoint, false);
      const { cube: replayed } = cubeFromRecording(join(dir, 'raw.gemx'), config);
      const { cube: rebuilt } = loadSnapshot(join(dir, 'cube.ckpt'));
      assert.equal(replayed.totalEvents, 10 * 200);
      assert.equal(rebuilt.totalEvents, replayed.totalEvents);
      assert.deepEqual(rebuilt.counts, replayed.counts);
    } finally {
      db.close();
    }
  });

  it('recovers a recording cut off mid-frame up to its last whole frame', async () => {
    const { dataDir, db, id, dir } = await crashedScan();
    try {
      const raw = join(dir, 'raw.gemx');
      truncateSync(raw, statSync(raw).size - 7);
      await recoverInterruptedScans(dataDir, db, silentLogger);
      const scan = db.getScan(id)!;
      assert.equal(scan.status, 'interrupted', scan.error ?? '');
      assert.equal(scan.totals!.events, 9 * 200);
      const { cube: rebuilt } = loadSnapshot(join(dir, 'cube.ckpt'));
      assert.equal(rebuilt.totalEvents, 9 * 200);
    } finally {
      db.close();
    }
  });
});
