// health.storage.writable: a real write probe (root passes accessSync(W_OK) on anything), throttled.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { writableProbe } from '../../daemon/storage/writable-probe.js';
import { Requester, tempDir, testConfig } from './helpers.js';

describe('data directory write probe', function () {
  this.timeout(30_000);

  it('is true for a writable directory, leaves no file, and false once the directory is replaced by a file', () => {
    const dir = join(tempDir('gemxrf-probe-'), 'data');
    mkdirSync(dir);
    let t = 0;
    const probe = writableProbe(dir, { minIntervalMs: 1000, now: () => t });
    assert.equal(probe(), true);
    assert.deepEqual(readdirSync(dir), []);
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory');
    t = 999;
    assert.equal(probe(), true, 'reused within minIntervalMs');
    t = 1000;
    assert.equal(probe(), false);
    rmSync(dir);
    mkdirSync(dir);
    t = 2000;
    assert.equal(probe(), true);
  });

  it('daemon health reports writable: false for a data dir that became a file after start', async () => {
    const dataDir = tempDir('gemxrf-health-');
    const daemon = await startDaemon(testConfig(dataDir, { simulator: { enabled: false }, source: { url: 'tcp://127.0.0.1:1' } }), silentLogger);
    const req = await Requester.connect(daemon.brokerUrl, 'gemxrf/test');
    const moved = `${dataDir}.moved`;
    try {
      renameSync(dataDir, moved);
      writeFileSync(dataDir, 'not a directory');
      const h = await req.request('health');
      assert.equal(h.status, 'ok', h.error);
      assert.equal((h.data as { storage: { writable: boolean } }).storage.writable, false);
    } finally {
      rmSync(dataDir, { force: true });
      renameSync(moved, dataDir);
      await req.close();
      await daemon.stop();
    }
  });
});
