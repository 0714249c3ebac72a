// Passwords never leave the daemon: scan records (answers and events) and the raw.gemx header carry '***'.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { RecordingReader } from '../../drivers/file/recording-reader.js';
import { Requester, tempDir, testConfig, until } from './helpers.js';

describe('daemon secrets', function () {
  this.timeout(30_000);
  let daemon: Daemon;
  let req: Requester;
  let dataDir: string;

  before(async () => {
    dataDir = tempDir();
    daemon = await startDaemon(
      testConfig(dataDir, { mqtt: { embedded: { host: '127.0.0.1', port: 0, wsPort: 0, username: 'operator', password: 'hunter2-secret' } } }),
      silentLogger,
    );
    req = await Requester.connect(daemon.brokerUrl, 'gemxrf/test', { username: 'operator', password: 'hunter2-secret' });
  });

  after(async () => {
    await req?.close();
    await daemon?.stop();
  });

  it('redacts the broker password in scan records, config/get and the recording header', async () => {
    const started = await req.request('scan/start', { name: 'secret', counts: 2000 });
    assert.equal(started.status, 'ok', started.error);
    const id = (started.data as { id: string }).id;
    assert.ok(!JSON.stringify(started.data).includes('hunter2'), 'scan/start answer');
    await until(() => daemon.manager.state === 'idle', 'scan stopped', 15_000);
    const got = await req.request('scan/get', { id });
    assert.equal((got.data as { config: { mqtt: { embedded: { password: string } } } }).config.mqtt.embedded.password, '***');
    const cfg = await req.request('config/get');
    assert.ok(!JSON.stringify(cfg.data).includes('hunter2'));
    const raw = join(dataDir, 'scans', id, 'raw.gemx');
    const reader = RecordingReader.open(raw);
    const meta = reader.header.meta as { config: { mqtt: { embedded: { password: string } } } };
    reader.close();
    assert.equal(meta.config.mqtt.embedded.password, '***');
    assert.ok(!readFileSync(raw).includes(Buffer.from('hunter2')), 'no password bytes in raw.gemx');
  });
});
