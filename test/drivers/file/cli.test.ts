import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEndFrame, encodeEventsFrame, encodeHitsFrame, encodeStatusFrame } from '../../../drivers/codecs/gemx-encode.js';
import { RecordingReader } from '../../../drivers/file/recording-reader.js';
import { RecordingWriter } from '../../../drivers/file/recording-writer.js';
import { repoRoot, runCli } from '../../support/cli.js';
import { eventBatch, hitBatch } from '../codecs/helpers.js';

describe('gemxrf record / replay', function () {
  this.timeout(120_000); // each CLI run starts tsx from source: seconds on a loaded machine
  let dir: string;
  let rec: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-cli-'));
    rec = join(dir, 'in.gemx');
    const w = RecordingWriter.create(rec, { instrumentId: 'lab-7', meta: { source: 'tcp://det:48300', config: { x: 1 } } }, { sync: false });
    w.append(encodeEventsFrame(0, 0, eventBatch([[1, 2, 3, 0], [4, 5, 6, 10]])));
    w.append(encodeHitsFrame(1, 100, hitBatch([[0, 1, 2, 100], [1, 2, 3, 105], [0, 3, 4, 110]])));
    w.append(encodeStatusFrame(2, 200, { flags: 1, eventRateHz: 1, hitRateHz: 1, hvVolts: 1, hvCurrentUa: 1, temperatureC: 1, deviceDropped: 0, thresholds: [] }));
    w.append(encodeEventsFrame(6, 250_000_000, eventBatch([[1, 1, 1, 500_000_000]])));
    const bad = encodeEventsFrame(7, 0, eventBatch([[1, 1, 1, 0]]));
    bad[33]! ^= 1;
    w.append(bad);
    w.append(encodeEndFrame(8, 500_000_000, 4, 6));
    await w.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replay --info prints header, duration, counts, gaps and CRC errors', () => {
    const r = runCli(['replay', rec, '--info']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /instrument:\s+lab-7/);
    assert.match(r.stdout, /duration:\s+0\.500 s/);
    assert.match(r.stdout, /frames:\s+5 \(HITS 1, EVENTS 2, STATUS 1, END 1, DATAGRAM 0\)/);
    assert.match(r.stdout, /records:\s+3 events, 3 hits/);
    assert.match(r.stdout, /2 gaps \(4 frames lost\)/); // 3,4,5 missing; 7 failed its CRC
    assert.match(r.stdout, /1 CRC errors/);
    const j = runCli(['replay', rec, '--info', '--json']);
    const s = JSON.parse(j.stdout) as { events: number; hits: number; counters: { crcErrors: number }; source: string };
    assert.equal(s.events, 3);
    assert.equal(s.hits, 3);
    assert.equal(s.counters.crcErrors, 1);
    assert.equal(s.source, 'tcp://det:48300');
  });

  it('replay --info on a missing or foreign file is one clear line', () => {
    const r = runCli(['replay', join(dir, 'none.gemx'), '--info']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^gemxrf: cannot open .*none\.gemx: ENOENT\n$/);
    const f = runCli(['replay', join(repoRoot, 'package.json'), '--info']);
    assert.match(f.stderr, /^gemxrf: .*package\.json: not a gemx recording \(bad magic\)\n$/);
  });

  it('record --from file://...?speed=max captures the stream untouched', () => {
    const out = join(dir, 'out.gemx');
    const r = runCli(['record', '--from', `file://${rec}?speed=max`, '--out', out, '-q']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /recorded \d+ bytes, 5 frames \(3 events, 3 hits, 4 lost, 1 CRC errors\)/);
    const a = RecordingReader.open(rec);
    const b = RecordingReader.open(out);
    assert.deepEqual(b.readBytes(b.header.headerLength, b.fileSize), a.readBytes(a.header.headerLength, a.fileSize));
    assert.equal(b.header.meta.source, `file://${rec}?speed=max`);
    a.close();
    b.close();
    const again = runCli(['record', '--from', `file://${rec}`, '--out', out]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists/);
    assert.match(runCli(['record', '--from', 'nope://x', '--out', join(dir, 'x.gemx')]).stderr, /transport nope:\/\/x: unknown scheme 'nope:'/);
  });

  it('replay serves over TCP and record captures it from the TCP transport', async () => {
    const server = spawn(process.execPath, [join(repoRoot, 'bin', 'gemxrf.js'), 'replay', rec, '--speed', 'max', '--listen', '127.0.0.1:0'], { env: { ...process.env, GEMXRF_FROM_SOURCE: '1' } });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let err = '';
        server.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /at (tcp:\/\/[^\s]+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        server.once('exit', () => reject(new Error(`replay exited: ${err}`)));
      });
      const out = join(dir, 'tcp.gemx');
      const r = runCli(['record', '--from', `${address}?reconnect=false`, '--out', out, '--duration', '50', '-q']);
      assert.equal(r.status, 0, r.stderr);
      const a = readFileSync(rec);
      const b = RecordingReader.open(out);
      const aHeader = RecordingReader.open(rec);
      assert.deepEqual(Buffer.from(b.readBytes(b.header.headerLength, b.fileSize)), a.subarray(aHeader.header.headerLength));
      b.close();
      aHeader.close();
    } finally {
      server.kill();
    }
  });
});
