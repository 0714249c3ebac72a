// Event formation's counters and the gemroc decoder's board restarts, where operators see them: (1) a daemon
// acquiring gemx HITS frames from the in-process simulator shows `formation` in live/stats and in the retained
// state's scan block over MQTT, stores it in the scan's totals (SQLite), and `gemxrf replay --info` of the
// scan's raw.gemx reports the same counters; (2) a gemroc-udp scan (ScanManager fed packets in which board 1
// restarts) shows the restart in scan.gemroc, in the totals, after crash recovery and in replay --info;
// (3) an events-level scan has no formation block.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../daemon/log.js';
import { recoverInterruptedScans } from '../../daemon/scan/recovery.js';
import { ScanManager } from '../../daemon/scan/scan-manager.js';
import { ScanDb, type ScanTotals } from '../../daemon/storage/db.js';
import { encodeEventsFrame } from '../../drivers/codecs/gemx-encode.js';
import { GemrocEncoder } from '../../drivers/codecs/gemroc-encode.js';
import type { FormationCounters } from '../../pipelines/formation/event-former.js';
import { runCli, runCliAsync } from '../support/cli.js';
import { eventBatch } from '../drivers/codecs/helpers.js';
import { photonStream, toBatch, type Hit } from '../pipelines/formation/helpers/hit-stream.js';
import { startRig, tempDir, testConfig, waitForMessage, type TestRig } from './helpers.js';

const base = 'gemxrf/test';

/** The CLI as a child process, asynchronously (the daemon in this process must keep serving meanwhile). */
const cliAsync = (args: string[]) => runCliAsync(args);

/** Every cluster ends in exactly one counter (event-former.ts): exact once formation is flushed, and never
 *  exceeded while clusters still wait for their partner. */
function assertClusterBooks(f: FormationCounters, flushed: boolean): void {
  const x = f.events + f.tooWide + f.tooLong + f.ratio + f.xOnly;
  const y = f.events + f.tooWide + f.tooLong + f.ratio + f.yOnly;
  if (flushed) {
    assert.equal(x, f.clustersX, `X clusters: ${JSON.stringify(f)}`);
    assert.equal(y, f.clustersY, `Y clusters: ${JSON.stringify(f)}`);
  } else {
    assert.ok(x <= f.clustersX && y <= f.clustersY, JSON.stringify(f));
  }
}

function plausible(f: FormationCounters | null | undefined): asserts f is FormationCounters {
  assert.ok(f, 'a formation block');
  assert.ok(f.hitsIn > 0 && f.events > 0, JSON.stringify(f));
  assert.ok(f.clustersX > 0 && f.clustersY > 0);
  // two clusters (at least one hit each) per event
  assert.ok(f.hitsIn >= 2 * f.events);
  assert.equal(f.hitsBadPlane + f.hitsBadStrip, 0);
}

describe('daemon: formation counters of a gemx HITS stream (simulator level hits)', function () {
  this.timeout(120_000);
  let rig: TestRig;
  let dataDir: string;

  before(async () => {
    dataDir = tempDir('gemxrf-formation-');
    rig = await startRig(testConfig(dataDir, { simulator: { enabled: true, transport: 'tcp', level: 'hits', rate: 20_000, seed: 3 } }));
  });

  after(async () => {
    await rig?.stop();
  });

  it('live/stats and state carry formation; the totals store it; replay --info reports the same', async () => {
    const { req, sub, daemon } = rig;
    const r = await req.request('scan/start', { name: 'formation counters' });
    assert.equal(r.status, 'ok', r.error);
    const id = (r.data as { id: string }).id;

    type Stats = { scan: string | null; formation: FormationCounters | null; gemroc: unknown; framesOk: number };
    const statsBuf = await waitForMessage(sub, `${base}/live/stats`, (b) => {
      const m = JSON.parse(b.toString()) as Stats;
      return m.scan === id && (m.formation?.events ?? 0) > 0;
    }, 20_000);
    const stats = JSON.parse(statsBuf.toString()) as Stats;
    plausible(stats.formation);
    assertClusterBooks(stats.formation, false);
    assert.equal(stats.gemroc, null, 'a gemx stream has no gemroc block');
    assert.ok(stats.framesOk > 0);

    type State = { scan: { id: string; formation: FormationCounters | null; gemroc: unknown } | null };
    const stateBuf = await waitForMessage(sub, `${base}/state`, (b) => {
      const m = JSON.parse(b.toString()) as State;
      return m.scan?.id === id && (m.scan.formation?.events ?? 0) > stats.formation!.events;
    }, 20_000);
    const state = JSON.parse(stateBuf.toString()) as State;
    plausible(state.scan!.formation);
    assertClusterBooks(state.scan!.formation, false);
    assert.equal(state.scan!.gemroc, null);

    // `gemxrf scan status` prints them (its config names the daemon's instrument id: topic base gemxrf/test).
    writeFileSync(join(dataDir, 'cli.yaml'), 'instrument:\n  id: test\n');
    const st = await cliAsync(['--config', join(dataDir, 'cli.yaml'), 'scan', 'status', '--broker', daemon.brokerUrl]);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /formed\s+[1-9]\d* events from [1-9]\d* hits \(\d+ X \/ \d+ Y clusters\)/);
    assert.match(st.stdout, /rejected \d+ x-only, \d+ y-only, \d+ too wide, \d+ too long, \d+ ratio; \d+ late hits, 0 clock resets/);
    assert.doesNotMatch(st.stdout, /gemroc/);

    const stopped = await req.request('scan/stop');
    assert.equal(stopped.status, 'ok', stopped.error);
    const totals = (stopped.data as { totals: ScanTotals }).totals;
    const f = totals.formation;
    plausible(f);
    assertClusterBooks(f, true);
    assert.ok(f.events >= state.scan!.formation.events);
    assert.ok(totals.eventsIn > 0, 'events into the cube');
    assert.equal(totals.eventsIn, f.events, 'every formed event reaches the cube');
    assert.deepEqual(daemon.db.getScan(id)!.totals!.formation, f, 'stored in the catalogue');
    const listed = await req.request('scan/list', { limit: 5 });
    assert.deepEqual((listed.data as Array<{ id: string; totals: ScanTotals }>).find((s) => s.id === id)!.totals.formation, f);

    // The recording, read back through the same formation path, gives the same counters.
    const raw = join(dataDir, 'scans', id, 'raw.gemx');
    const j = runCli(['replay', raw, '--info', '--json']);
    assert.equal(j.status, 0, j.stderr);
    const info = JSON.parse(j.stdout) as { formation: FormationCounters | null; gemroc?: unknown };
    assert.deepEqual(info.formation, f);
    assert.equal(info.gemroc, undefined);
    const t = runCli(['replay', raw, '--info']);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, new RegExp(`formation:\\s+${f.hitsIn} hits in, ${f.events} events formed from ${f.clustersX} X / ${f.clustersY} Y clusters`));
    assert.match(t.stdout, new RegExp(`rejected:\\s+${f.xOnly} x-only, ${f.yOnly} y-only, ${f.tooWide} too wide, ${f.tooLong} too long, ${f.ratio} ratio`));
    assert.match(t.stdout, new RegExp(`other:\\s+${f.clockResets} clock resets`));
  });
});

/** Two boards (board b reads plane b), 40-hit chunks; board 1 goes down at restartAtNs for 200 us and its
 *  clock starts again from 0, while board 0's runs on from 10 s. */
function restartPackets(channelMap: ReturnType<typeof testConfig>['detector']['channelMap']): Uint8Array[] {
  const { hits } = photonStream({ photons: 6000, ratePerSecond: 1e6, seed: 5 });
  const restartAt = 3_000_000;
  const restartEnd = restartAt + 200_000;
  const enc = new GemrocEncoder(channelMap);
  const out: Uint8Array[] = [];
  for (let i = 0; i < hits.length; i += 40) {
    const chunk = hits.slice(i, i + 40);
    for (const board of [0, 1]) {
      const mine: Hit[] = [];
      for (const h of chunk) {
        if (h.plane !== board) continue;
        if (board === 1 && h.t >= restartAt) {
          if (h.t >= restartEnd) mine.push({ ...h, t: h.t - restartEnd });
        } else mine.push({ ...h, t: 10e9 + h.t });
      }
      if (mine.length > 0) out.push(...enc.encode(toBatch(mine)));
    }
  }
  return out;
}

describe('scan totals: gemroc board restarts and formation (gemroc-udp), none for events-level', function () {
  this.timeout(120_000);

  it('a board restart shows in scan.gemroc, the totals, crash recovery and replay --info', async () => {
    const dataDir = tempDir('gemxrf-formation-udp-');
    const config = testConfig(dataDir, { storage: { dataDir, checkpointSeconds: 3600, flushSeconds: 10 } });
    const db = new ScanDb(join(dataDir, 'gemxrf.db'));
    try {
      const manager = new ScanManager(config, dataDir, db, silentLogger, () => 'udp://127.0.0.1:9');
      const rec = await manager.start({ name: 'restart' });
      const before = manager.progress()!;
      assert.deepEqual(before.formation, { ...before.formation!, hitsIn: 0, events: 0 }, 'zeros before the first packet');
      assert.equal(before.gemroc?.boardRestarts, 0);
      for (const p of restartPackets(config.detector.channelMap)) manager.onChunk(p);
      const p = manager.progress()!;
      const g = p.gemroc!;
      assert.equal(g.boardRestarts, 1);
      assert.equal(g.restartsUnaligned, 0);
      assert.deepEqual(g.boards.map((b) => [b.board, b.restarts]), [[0, 0], [1, 1]]);
      plausible(p.formation);
      assert.equal(p.formation.clockResets, 0, 'the decoder re-aligned the board: formation saw no clock reset');
      const done = await manager.stop('manual');
      assert.equal(done.totals?.gemroc?.boardRestarts, 1);
      plausible(done.totals?.formation);
      assertClusterBooks(done.totals.formation, true);
      assert.deepEqual(db.getScan(rec.id)!.totals!.gemroc!.boards[1], { board: 1, packets: g.boards[1]!.packets, lost: 0, restarts: 1 });

      // The same scan rebuilt by crash recovery (row set back to 'acquiring'; the final checkpoint carries
      // no formation state, so the whole recording is decoded again): the same counters.
      const row = db.getScan(rec.id)!;
      db.finishScan(rec.id, { status: 'acquiring', stopReason: null, stoppedAt: row.stoppedAt!, totals: null });
      db.addCheckpoint({ scanId: rec.id, file: 'missing.ckpt', recordingOffset: 0, events: 0, createdAt: new Date().toISOString() });
      const out = await recoverInterruptedScans(dataDir, db, silentLogger);
      assert.equal(out.length, 1);
      const recovered = db.getScan(rec.id)!.totals!;
      assert.equal(recovered.gemroc?.boardRestarts, 1);
      assert.deepEqual(recovered.formation, done.totals.formation);

      const raw = join(dataDir, 'scans', rec.id, 'raw.gemx');
      const j = runCli(['replay', raw, '--info', '--json']);
      assert.equal(j.status, 0, j.stderr);
      const info = JSON.parse(j.stdout) as { formation: FormationCounters; gemroc: { boardRestarts: number; restartsUnaligned: number; restartsByBoard: Record<string, number> } };
      assert.deepEqual(info.formation, done.totals.formation);
      assert.equal(info.gemroc.boardRestarts, 1);
      assert.deepEqual(info.gemroc.restartsByBoard, { 1: 1 });
      const t = runCli(['replay', raw, '--info']);
      assert.match(t.stdout, /restarts:\s+1 board restarts, by board \{"1":1\}, 0 unaligned/);
    } finally {
      db.close();
    }
  });

  it('an events-level scan has no formation block (progress null, totals without it)', async () => {
    const dataDir = tempDir('gemxrf-formation-events-');
    const config = testConfig(dataDir, { storage: { dataDir, checkpointSeconds: 3600, flushSeconds: 10 } });
    const db = new ScanDb(join(dataDir, 'gemxrf.db'));
    try {
      const manager = new ScanManager(config, dataDir, db, silentLogger, () => 'tcp://127.0.0.1:9');
      await manager.start({ name: 'events' });
      manager.onChunk(encodeEventsFrame(0, 0, eventBatch([[1, 2, 300, 0], [4, 5, 600, 10]])));
      const p = manager.progress()!;
      assert.equal(p.formation, null);
      assert.equal(p.gemroc, null);
      const done = await manager.stop('manual');
      assert.equal(done.totals?.eventsIn, 2);
      assert.equal('formation' in done.totals!, false);
    } finally {
      db.close();
    }
  });
});
