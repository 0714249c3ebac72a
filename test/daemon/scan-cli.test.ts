// gemxrf scan start|stop|status|list against an in-process daemon, run as child processes (async: the
// daemon in this process must keep serving while the CLI waits).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { runCliAsync } from '../support/cli.js';
import { tempDir, testConfig } from './helpers.js';

const cli = (args: string[], cwd: string) => runCliAsync(args, { cwd, timeoutMs: 40_000 });

describe('gemxrf scan (operator CLI over MQTT)', function () {
  this.timeout(60_000);
  let daemon: Daemon;
  let dir: string;
  let broker: string[];

  before(async () => {
    dir = tempDir('gemxrf-cli-');
    daemon = await startDaemon(testConfig(join(dir, 'data')), silentLogger);
    // The CLI's config must name the same instrument id (topic base gemxrf/test).
    broker = ['--broker', daemon.brokerUrl];
  });

  after(async () => {
    await daemon?.stop();
  });

  const withId = (args: string[]) => ['--config', join(dir, 'cli.yaml'), ...args];

  it('reports status, runs a watched scan to its count target, lists it', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'cli.yaml'), 'instrument:\n  id: test\n');
    const st = await cli(withId(['scan', 'status', ...broker]), dir);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /state\s+idle/);

    const run = await cli(withId(['scan', 'start', '--name', 'cli scan', '--counts', '4000', '--operator', 'me', '--watch', ...broker]), dir);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /started \d{8}-\d{6}-cli_scan/);
    assert.match(run.stdout, /done: \d+ counts/);

    const list = await cli(withId(['scan', 'list', '--json', ...broker]), dir);
    assert.equal(list.status, 0, list.stderr);
    const scans = JSON.parse(list.stdout) as Array<{ name: string; status: string; operator: string; stopReason: string }>;
    assert.equal(scans.length, 1);
    assert.equal(scans[0]!.name, 'cli scan');
    assert.equal(scans[0]!.status, 'completed');
    assert.equal(scans[0]!.stopReason, 'counts');
  });

  it('gives one clear line and a non-zero exit when refused', async () => {
    const stop = await cli(withId(['scan', 'stop', ...broker]), dir);
    assert.notEqual(stop.status, 0);
    assert.match(stop.stderr, /gemxrf: no scan is acquiring/);
    const nobroker = await cli(withId(['scan', 'status', '--broker', 'mqtt://127.0.0.1:9']), dir);
    assert.notEqual(nobroker.status, 0);
    assert.match(nobroker.stderr, /gemxrf: cannot (reach|connect)/);
  });
});
