// gemroc-udp sources in the daemon. (1) The in-process simulator over udp (simulator.transport udp, level hits):
// the daemon binds its udp source on an ephemeral port and the emulator sends there; a scan acquires, maps
// arrive, counts grow, state shows the per-board packet counters, and raw.gemx is a gemroc-udp recording
// whose replay (cubeFromRecording, crash recovery of the whole recording, export of the scan folder) equals
// the final checkpoint. (2) source.url udp://127.0.0.1:0?format=gemroc fed by an emulator of the test's own
// that drops packets (faults.drop): the drops show up as per-board lost packets, in the scan and the link.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { loadStoredScan } from '../../daemon/export/scan-source.js';
import { silentLogger } from '../../daemon/log.js';
import { decodeMapFrame } from '../../daemon/mqtt/map-frame.js';
import { loadSnapshot } from '../../pipelines/cube/snapshot.js';
import { recoverInterruptedScans } from '../../daemon/scan/recovery.js';
import { ScanDb } from '../../daemon/storage/db.js';
import { StreamFormat } from '../../drivers/codecs/recording-header.js';
import { RecordingReader } from '../../drivers/file/recording-reader.js';
import { cubeFromRecording } from '../../pipelines/maps/recording-cube.js';
import { startEmulator, type RunningEmulator } from '../../simulator/emulators/index.js';
import { Requester, tempDir, testConfig, until, waitForMessage, startRig, type TestRig } from './helpers.js';

const base = 'gemxrf/test';

interface Board {
  board: number | null;
  packets: number;
  lost: number;
}
interface StateDoc {
  state: string;
  scan: { id: string; events: number; framesLost: number; gemroc: { packets: number; packetsLost: number; boards: Board[] } | null } | null;
  link: { url: string; state: string; datagrams?: number; packetsLost?: number; boards?: Board[] };
  simulator: { transport: string } | null;
}

describe('daemon: gemroc-udp source from the in-process simulator', function () {
  this.timeout(30_000);
  let rig: TestRig;
  let daemon: Daemon;
  let req: Requester;
  let sub: mqtt.MqttClient;
  let dataDir: string;
  let scanId = '';

  before(async () => {
    dataDir = tempDir('gemxrf-udp-');
    rig = await startRig(testConfig(dataDir, { simulator: { enabled: true, transport: 'udp', level: 'hits', rate: 20_000, listen: '127.0.0.1:0', seed: 5 } }));
    ({ daemon, req, sub } = rig);
  });

  after(async () => {
    await rig?.stop();
  });

  it('binds an ephemeral udp port and acquires: maps arrive, counts grow, state shows per-board counters', async () => {
    assert.match(daemon.sourceUrl, /^udp:\/\/127\.0\.0\.1:[1-9]\d*\?format=gemroc$/);
    const countsMsg = waitForMessage(sub, `${base}/live/counts`);
    const fitMsg = waitForMessage(sub, `${base}/live/maps/fit/Cu`);
    const r = await req.request('scan/start', { name: 'udp scan' });
    assert.equal(r.status, 'ok', r.error);
    scanId = (r.data as { id: string }).id;
    const fit = decodeMapFrame(await fitMsg);
    assert.equal(fit.scanId, scanId);
    assert.equal(fit.data.length, 32 * 32);
    const counts = decodeMapFrame(await countsMsg);
    assert.equal(counts.method, 'counts');

    await until(() => (daemon.manager.progress()?.events ?? 0) > 0, 'events');
    const first = daemon.manager.progress()!.events;
    await until(() => (daemon.manager.progress()?.events ?? 0) > first && (daemon.manager.progress()?.checkpoints ?? 0) >= 1, 'counts to grow past a checkpoint');

    const st = (await req.request('scan/status')).data as StateDoc;
    assert.equal(st.state, 'acquiring');
    assert.equal(st.simulator?.transport, 'udp');
    assert.equal(st.link.url, daemon.sourceUrl);
    assert.equal(st.link.state, 'open');
    const g = st.scan?.gemroc;
    assert.ok(g, 'scan.gemroc in state');
    assert.ok(g.packets > 0);
    assert.deepEqual(g.boards.map((b) => b.board), [0, 1], 'both boards (X and Y planes) send');
    for (const b of g.boards) assert.ok(b.packets > 0 && b.lost === 0, `board ${b.board}: ${JSON.stringify(b)}`);
    assert.deepEqual(st.link.boards?.map((b) => b.board).sort(), [0, 1]);
    assert.equal(st.link.packetsLost, 0);

    const stopped = await req.request('scan/stop');
    assert.equal(stopped.status, 'ok', stopped.error);
    const rec = stopped.data as { status: string; totals: { events: number; gemroc?: { packets: number; boards: Board[] } } };
    assert.equal(rec.status, 'completed');
    assert.ok(rec.totals.events > 0);
    assert.equal(rec.totals.gemroc?.boards.length, 2);
  });

  it('records raw.gemx as gemroc-udp; replay, recovery and export rebuild the final checkpoint exactly', async () => {
    assert.ok(scanId);
    const dir = join(dataDir, 'scans', scanId);
    const raw = join(dir, 'raw.gemx');
    const reader = RecordingReader.open(raw);
    try {
      assert.equal(reader.header.streamFormat, StreamFormat.GEMROC_UDP);
      let n = 0;
      for (const f of reader.frames()) {
        assert.equal(f.item?.kind, 'datagram');
        n++;
      }
      assert.ok(n > 0);
    } finally {
      reader.close();
    }
    const { cube: saved, header } = loadSnapshot(join(dir, 'cube.ckpt'));
    assert.ok(saved.totalEvents > 0);
    assert.ok(header.recordingOffset > 0n);

    const { cube: replayed } = cubeFromRecording(raw, daemon.config);
    assert.equal(replayed.totalEvents, saved.totalEvents);
    assert.deepEqual(replayed.counts, saved.counts);

    // Crash recovery of the whole recording: a copy of the scan, still 'acquiring', without a checkpoint.
    const rec = daemon.db.getScan(scanId)!;
    const data2 = tempDir('gemxrf-udp-recover-');
    mkdirSync(join(data2, 'scans', scanId), { recursive: true });
    copyFileSync(raw, join(data2, 'scans', scanId, 'raw.gemx'));
    const db2 = new ScanDb(join(data2, 'gemxrf.db'));
    try {
      db2.insertScan({ ...rec, status: 'acquiring', stopReason: null, stoppedAt: null, totals: null, error: null });
      const out = await recoverInterruptedScans(data2, db2, silentLogger);
      assert.equal(out.length, 1);
      assert.equal(out[0]!.fromCheckpoint, false);
      const back = db2.getScan(scanId)!;
      assert.equal(back.status, 'interrupted');
      assert.equal(back.totals?.gemroc?.boards.length, 2);
    } finally {
      db2.close();
    }
    const { cube: recovered } = loadSnapshot(join(data2, 'scans', scanId, 'cube.ckpt'));
    assert.deepEqual(recovered.counts, saved.counts);

    // Export's source of a scan folder holding only raw.gemx (no catalogue, no checkpoint).
    const data3 = tempDir('gemxrf-udp-export-');
    mkdirSync(join(data3, 'scans', scanId), { recursive: true });
    copyFileSync(raw, join(data3, 'scans', scanId, 'raw.gemx'));
    const exported = loadStoredScan(data3, scanId, daemon.config);
    assert.equal(exported.origin.kind, 'recording');
    assert.deepEqual(exported.cube.counts, saved.counts);
  });
});

describe('daemon: udp:// source with packets dropped on the wire', function () {
  this.timeout(30_000);
  let daemon: Daemon;
  let emu: RunningEmulator;
  let req: Requester;

  before(async () => {
    const dataDir = tempDir('gemxrf-udp-drop-');
    daemon = await startDaemon(testConfig(dataDir, { simulator: { enabled: false }, source: { url: 'udp://127.0.0.1:0?format=gemroc' } }), silentLogger);
    const port = new URL(daemon.sourceUrl).port;
    assert.notEqual(port, '0');
    emu = await startEmulator({ transport: 'udp', level: 'hits', rate: 20_000, seed: 9, width: 32, height: 32, stripsPerPlane: 128, target: `127.0.0.1:${port}`, faults: { drop: 0.1 } });
    req = await Requester.connect(daemon.brokerUrl, base);
  });

  after(async () => {
    await req?.close();
    await emu?.stop();
    await daemon?.stop();
  });

  it('counts the dropped packets per board, in the scan and on the link', async () => {
    await daemon.manager.start({ name: 'lossy' });
    await until(() => {
      const g = daemon.manager.progress()?.gemroc;
      return !!g && g.boards.length === 2 && g.boards.every((b) => b.lost > 0);
    }, 'lost packets on both boards');
    const p = daemon.manager.progress()!;
    const g = p.gemroc!;
    assert.equal(g.packetsLost, g.boards.reduce((a, b) => a + b.lost, 0));
    assert.ok(p.framesLost >= g.packetsLost);
    assert.ok(p.events > 0);
    const st = (await req.request('scan/status')).data as StateDoc;
    assert.equal(st.link.url, daemon.sourceUrl);
    assert.deepEqual(st.scan?.gemroc?.boards.map((b) => b.board), [0, 1]);
    assert.ok(st.scan!.gemroc!.boards.every((b) => b.lost > 0));
    assert.deepEqual(st.link.boards?.map((b) => b.board).sort(), [0, 1]);
    assert.ok(st.link.boards!.every((b) => b.lost > 0), JSON.stringify(st.link.boards));
    assert.ok((st.link.packetsLost ?? 0) > 0);
    await daemon.manager.stop('manual');
  });
});
