// TLS to an external broker with the lab's own certificate authority (README's mqtts example): a real mosquitto
// with a TLS listener and a throw-away CA made by openssl. The daemon connects with mqtt.ca, and so must the
// operator CLI (`gemxrf scan ...`), which reads the same configuration.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { runCliAsync } from '../support/cli.js';
import { tempDir, testConfig } from './helpers.js';
import { freePort, Mosquitto, mosquittoPath } from './mosquitto.js';
import { makeTestCerts, opensslPath, type TestCerts } from './tls-certs.js';

const cli = (args: string[], cwd: string) => runCliAsync(args, { cwd, timeoutMs: 40_000 });

describe('TLS broker with a lab CA (daemon and operator CLI)', function () {
  this.timeout(60_000);
  let broker: Mosquitto;
  let daemon: Daemon;
  let dir: string;
  let certs: TestCerts;

  before(async function () {
    const bin = mosquittoPath();
    if (!bin || !opensslPath()) {
      if (process.env.CI) throw new Error('mosquitto and openssl are required in CI');
      this.skip();
    }
    dir = tempDir('gemxrf-tls-');
    certs = makeTestCerts(dir);
    broker = new Mosquitto(bin!, await freePort(), dir, { cafile: certs.ca, certfile: certs.cert, keyfile: certs.key });
    await broker.start();
    daemon = await startDaemon(testConfig(join(dir, 'data'), { mqtt: { url: broker.url, protocolVersion: 5, ca: certs.ca } }), silentLogger);
  });

  after(async () => {
    await daemon?.stop();
    await broker?.kill();
  });

  const yaml = (extra: string) => `instrument:\n  id: test\nmqtt:\n  url: "${broker.url}"\n${extra}`;

  it('the CLI reaches the daemon over mqtts with mqtt.ca from the configuration', async () => {
    writeFileSync(join(dir, 'with-ca.yaml'), yaml(`  ca: ${certs.ca}\n`));
    const st = await cli(['--config', join(dir, 'with-ca.yaml'), 'scan', 'status'], dir);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /state\s+idle/);
  });

  it('without the CA the CLI refuses the broker certificate with one clear line', async () => {
    writeFileSync(join(dir, 'no-ca.yaml'), yaml(''));
    const st = await cli(['--config', join(dir, 'no-ca.yaml'), 'scan', 'status'], dir);
    assert.notEqual(st.status, 0);
    assert.match(st.stderr, /gemxrf: cannot connect to mqtts:\/\/127\.0\.0\.1:\d+: .*certificate/i);
    assert.equal(st.stderr.trim().split('\n').length, 1, st.stderr);
  });

  it('a CA file that cannot be read is named by its key', async () => {
    writeFileSync(join(dir, 'bad-ca.yaml'), yaml(`  ca: ${join(dir, 'missing.pem')}\n`));
    const st = await cli(['--config', join(dir, 'bad-ca.yaml'), 'scan', 'status'], dir);
    assert.notEqual(st.status, 0);
    assert.match(st.stderr, /mqtt\.ca: cannot read .*missing\.pem: ENOENT/);
  });
});
