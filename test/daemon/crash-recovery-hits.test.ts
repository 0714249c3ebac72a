// Crash recovery of hits-level scans (gemx HITS frames, and gemroc-udp datagrams): a checkpoint is taken
// while hits and clusters are pending in event formation, more is recorded, then the scan is cut off (the
// recording closed, no final checkpoint, the row left 'acquiring': what a kill -9 leaves). The checkpoint's
// formation state makes the rebuild from checkpoint + tail equal a replay of the whole recording; a missing,
// damaged or mismatched formation file falls back to that replay; a checkpoint from before formation state
// still recovers as it used to.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../daemon/log.js';
import { formationFileOf, saveCheckpointFiles } from '../../daemon/scan/checkpoint-files.js';
import { loadStoredScan } from '../../daemon/export/scan-source.js';
import { recoverInterruptedScans } from '../../daemon/scan/recovery.js';
import { ScanManager } from '../../daemon/scan/scan-manager.js';
import { ScanDb } from '../../daemon/storage/db.js';
import { encodeHitsFrame } from '../../drivers/codecs/gemx-encode.js';
import { GemrocEncoder } from '../../drivers/codecs/gemroc-encode.js';
import type { Cube } from '../../pipelines/cube/cube.js';
import { loadSnapshot, saveSnapshot } from '../../pipelines/cube/snapshot.js';
import { pendingInFormerState } from '../../pipelines/formation/former-state.js';
import { decodeFormationState } from '../../pipelines/formation-state-file.js';
import { cubeFromRecording } from '../../pipelines/maps/recording-cube.js';
import { photonStream, toBatch } from '../pipelines/formation/helpers/hit-stream.js';
import { tempDir, testConfig } from './helpers.js';

type Link = 'gemx' | 'udp';

/** The detector's bytes, one chunk per element: gemx HITS frames, or gemroc packets (with duplicates of
 *  packets sent before the first checkpoint replayed after it, which only the packet history recognises). */
function chunks(link: Link, config: ReturnType<typeof testConfig>): Uint8Array[] {
  // Dense and disordered: at any cut, hits are buffered and clusters wait for their partner plane.
  const { hits } = photonStream({ photons: 4000, ratePerSecond: 2e6, seed: 42, disorderNs: 600 });
  const out: Uint8Array[] = [];
  const enc = new GemrocEncoder(config.detector.channelMap);
  for (let i = 0, seq = 0; i < hits.length; i += 64, seq++) {
    const b = toBatch(hits.slice(i, i + 64));
    if (link === 'gemx') out.push(encodeHitsFrame(seq, Math.floor(Math.min(...b.t)), b));
    else out.push(...enc.encode(b));
  }
  if (link === 'udp') out.splice(Math.floor(out.length * 0.6), 0, out[3]!, out[Math.floor(out.length / 2) - 2]!);
  return out;
}

interface Crashed { dataDir: string; db: ScanDb; id: string; dir: string; config: ReturnType<typeof testConfig> }

/** Records the first half, checkpoints (twice when `checkpoints` is 2, a few chunks apart), records the rest, cuts off. */
async function crashedScan(link: Link, checkpoints = 1, keepFirstFormation = false): Promise<Crashed & { firstFormation: Uint8Array | null }> {
  const dataDir = tempDir('gemxrf-recovery-hits-');
  const config = testConfig(dataDir, { storage: { dataDir, checkpointSeconds: 3600, flushSeconds: 10 } });
  const db = new ScanDb(join(dataDir, 'gemxrf.db'));
  const manager = new ScanManager(config, dataDir, db, silentLogger, () => (link === 'gemx' ? 'tcp://127.0.0.1:9' : 'udp://127.0.0.1:9'));
  const rec = await manager.start({ name: `crash-${link}` });
  const dir = join(dataDir, 'scans', rec.id);
  const all = chunks(link, config);
  const half = Math.floor(all.length / 2);
  let firstFormation: Uint8Array | null = null;
  for (let i = 0; i < all.length; i++) {
    if (i === half) {
      await manager.checkpoint();
      if (keepFirstFormation) firstFormation = readFileSync(formationFileOf(join(dir, 'cube.ckpt')));
    }
    if (checkpoints === 2 && i === half + 5) await manager.checkpoint();
    manager.onChunk(all[i]!);
  }
  await manager.current!.acquisition.close(); // on disk: the recording and the last mid-scan checkpoint
  (manager as unknown as { clearTimers(): void }).clearTimers();
  assert.equal(db.checkpointCount(rec.id), checkpoints);
  return { dataDir, db, id: rec.id, dir, config, firstFormation };
}

function assertSameCube(rebuilt: Cube, replayed: Cube): void {
  assert.ok(replayed.totalEvents > 500, `${replayed.totalEvents} events`);
  assert.equal(rebuilt.totalEvents, replayed.totalEvents);
  assert.deepEqual(rebuilt.totals, replayed.totals);
  assert.deepEqual(rebuilt.counts, replayed.counts);
  assert.deepEqual(rebuilt.sumSpectrum, replayed.sumSpectrum);
}

async function recoverAndCompare(s: Crashed, expect: { fromCheckpoint: boolean; formationRestored: boolean }): Promise<void> {
  const out = await recoverInterruptedScans(s.dataDir, s.db, silentLogger);
  const scan = s.db.getScan(s.id)!;
  assert.equal(scan.status, 'interrupted', scan.error ?? '');
  assert.equal(out.length, 1);
  assert.equal(out[0]!.fromCheckpoint, expect.fromCheckpoint);
  assert.equal(out[0]!.formationRestored, expect.formationRestored);
  if (expect.fromCheckpoint) assert.ok(out[0]!.tailBytes > 0);
  const { cube: rebuilt } = loadSnapshot(join(s.dir, 'cube.ckpt'));
  const { cube: replayed } = cubeFromRecording(join(s.dir, 'raw.gemx'), s.config);
  assertSameCube(rebuilt, replayed);
}

describe('crash recovery of hits-level scans', function () {
  this.timeout(60_000);

  for (const link of ['gemx', 'udp'] as const) {
    it(`${link}: checkpoint + formation state + tail rebuilds exactly the cube of a full replay`, async () => {
      const s = await crashedScan(link);
      try {
        const ckpt = join(s.dir, 'cube.ckpt');
        const { header } = loadSnapshot(ckpt);
        assert.ok(header.companion, 'the checkpoint names its formation file');
        const f = decodeFormationState(readFileSync(formationFileOf(ckpt)), 'sidecar');
        assert.equal(f.recordingOffset, Number(header.recordingOffset));
        // Hits of clusters not yet closed on both planes (queued clusters are usually matched at once): the
        // events a checkpoint without formation state would lose.
        const former = f.state.former!;
        assert.ok(former.planes[0].hits.t.length > 0 && former.planes[1].hits.t.length > 0, `formation state pending at the checkpoint: ${JSON.stringify(pendingInFormerState(former))}`);
        if (link === 'udp') assert.ok(f.state.gemroc, 'the gemroc decoder state is saved');
        await recoverAndCompare(s, { fromCheckpoint: true, formationRestored: true });
        if (link === 'udp') assert.equal(s.db.getScan(s.id)!.totals?.gemroc?.duplicates, 2, 'duplicates of pre-checkpoint packets recognised');
      } finally {
        s.db.close();
      }
    });
  }

  it('a damaged formation file falls back to the whole-recording rebuild (exact)', async () => {
    const s = await crashedScan('gemx');
    try {
      const file = formationFileOf(join(s.dir, 'cube.ckpt'));
      const bytes = readFileSync(file);
      bytes[bytes.length - 3] ^= 0xff;
      writeFileSync(file, bytes);
      await recoverAndCompare(s, { fromCheckpoint: false, formationRestored: false });
    } finally {
      s.db.close();
    }
  });

  it('a missing formation file falls back to the whole-recording rebuild (exact)', async () => {
    const s = await crashedScan('udp');
    try {
      rmSync(formationFileOf(join(s.dir, 'cube.ckpt')));
      await recoverAndCompare(s, { fromCheckpoint: false, formationRestored: false });
    } finally {
      s.db.close();
    }
  });

  it('a formation file of another checkpoint is never paired with the cube (whole-recording rebuild)', async () => {
    const s = await crashedScan('gemx', 2, true);
    try {
      // What a crash between the two renames could leave, the other way round: the cube of the second
      // checkpoint next to the formation state of the first.
      writeFileSync(formationFileOf(join(s.dir, 'cube.ckpt')), s.firstFormation!);
      await recoverAndCompare(s, { fromCheckpoint: false, formationRestored: false });
    } finally {
      s.db.close();
    }
  });

  it('a checkpoint from before formation state (no formation file named) recovers as before', async () => {
    const s = await crashedScan('gemx');
    try {
      const ckpt = join(s.dir, 'cube.ckpt');
      const { cube, header } = loadSnapshot(ckpt);
      saveSnapshot(cube, ckpt, header.recordingOffset); // the old format: no companion in the header
      rmSync(formationFileOf(ckpt));
      const out = await recoverInterruptedScans(s.dataDir, s.db, silentLogger);
      assert.equal(s.db.getScan(s.id)!.status, 'interrupted');
      assert.equal(out[0]!.fromCheckpoint, true);
      assert.equal(out[0]!.formationRestored, false);
      // The events pending at the cut are what the old checkpoint could not hold: the rebuild is not exact.
      const { cube: rebuilt } = loadSnapshot(ckpt);
      const { cube: replayed } = cubeFromRecording(join(s.dir, 'raw.gemx'), s.config);
      assert.notDeepEqual(rebuilt.counts, replayed.counts);
    } finally {
      s.db.close();
    }
  });
});

describe('export of a hits-level scan from its checkpoint', function () {
  this.timeout(60_000);

  it('a formation state that loads but cannot be restored falls back to the whole recording (exact), not a failed export', async () => {
    const s = await crashedScan('gemx');
    try {
      const ckpt = join(s.dir, 'cube.ckpt');
      const { cube, header } = loadSnapshot(ckpt);
      const f = decodeFormationState(readFileSync(formationFileOf(ckpt)), 'sidecar');
      // Well-formed file, inconsistent content: a plane's strip array one shorter than its times.
      const plane = f.state.former!.planes[0].hits;
      plane.strip = plane.strip.slice(0, plane.strip.length - 1);
      await saveCheckpointFiles(cube, ckpt, Number(header.recordingOffset), f.state, s.config);
      const source = loadStoredScan(s.dataDir, s.id, s.config);
      assert.equal(source.origin.kind, 'recording');
      const { cube: replayed } = cubeFromRecording(join(s.dir, 'raw.gemx'), s.config);
      assertSameCube(source.cube, replayed);
    } finally {
      s.db.close();
    }
  });
});
