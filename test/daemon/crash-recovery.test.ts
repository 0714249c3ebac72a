// kill -9 recovery: a child `gemxrf daemon` records a scan and is killed mid-scan after at least one
// checkpoint. The next start finds the scan still 'acquiring', rebuilds the cube from the checkpoint plus the
// recording's tail and marks it 'interrupted'; the rebuilt cube equals a replay of the whole raw.gemx.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { loadSnapshot } from '../../pipelines/cube/snapshot.js';
import { cubeFromRecording } from '../../pipelines/maps/recording-cube.js';
import { repoRoot } from '../support/cli.js';
import { Requester, tempDir, testConfig, waitForMessage } from './helpers.js';

describe('crash recovery (kill -9 mid-scan)', function () {
  this.timeout(60_000);
  let child: ChildProcess | null = null;
  let daemon: Daemon | null = null;
  let req: Requester | null = null;

  after(async () => {
    await req?.close().catch(() => undefined);
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await daemon?.stop();
  });

  it('rebuilds the interrupted scan from checkpoint + tail, equal to a full replay', async () => {
    const dir = tempDir('gemxrf-crash-');
    const dataDir = join(dir, 'data');
    const cfg = testConfig(dataDir, { log: { level: 'info' } });
    const cfgFile = join(dir, 'gemxrf.yaml');
    writeFileSync(cfgFile, JSON.stringify(cfg)); // JSON is YAML
    child = spawn(process.execPath, [join(repoRoot, 'bin', 'gemxrf.js'), '--config', cfgFile, 'daemon'], {
      cwd: dir,
      env: { ...process.env, GEMXRF_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const brokerUrl = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`child daemon did not become ready:\n${out}`)), 30_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /daemon ready broker=(mqtt:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      };
      child!.stdout!.on('data', onData);
      child!.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      child!.once('exit', (code) => reject(new Error(`child exited (${code}):\n${out}`)));
    });
    req = await Requester.connect(brokerUrl, 'gemxrf/test');
    await req.client.subscribeAsync('gemxrf/test/live/stats');
    const r = await req.request('scan/start', { name: 'crash me' });
    assert.equal(r.status, 'ok', r.error);
    const id = (r.data as { id: string }).id;
    // Past a checkpoint and with more recorded since, so the rebuild needs both the checkpoint and the tail.
    let ckptBytes = 0;
    await waitForMessage(req.client, 'gemxrf/test/live/stats', (p) => {
      const s = JSON.parse(p.toString()) as { checkpoints: number; bytesRecorded: number };
      if (s.checkpoints >= 1 && ckptBytes === 0) ckptBytes = s.bytesRecorded;
      return ckptBytes > 0 && s.bytesRecorded > ckptBytes;
    }, 20_000);
    const exited = new Promise((res) => child!.once('exit', res));
    child.kill('SIGKILL');
    await exited;
    await req.close();
    req = null;

    daemon = await startDaemon(testConfig(dataDir, { simulator: { enabled: false }, source: { url: 'tcp://127.0.0.1:9' } }), silentLogger);
    assert.equal(daemon.recovered.length, 1);
    const info = daemon.recovered[0]!;
    assert.equal(info.id, id);
    assert.equal(info.fromCheckpoint, true);
    assert.ok(info.tailBytes > 0, 'the recording has a tail after the checkpoint');
    const scan = daemon.db.getScan(id)!;
    assert.equal(scan.status, 'interrupted');
    assert.equal(scan.stopReason, 'crash');

    const scanDir = join(dataDir, 'scans', id);
    const { cube: rebuilt } = loadSnapshot(join(scanDir, 'cube.ckpt'));
    const { cube: replayed } = cubeFromRecording(join(scanDir, 'raw.gemx'), cfg);
    assert.ok(rebuilt.totalEvents > 0);
    assert.equal(rebuilt.totalEvents, replayed.totalEvents);
    assert.deepEqual(rebuilt.totals, replayed.totals);
    assert.deepEqual(rebuilt.counts, replayed.counts);
    assert.deepEqual(rebuilt.sumSpectrum, replayed.sumSpectrum);
  });
});
