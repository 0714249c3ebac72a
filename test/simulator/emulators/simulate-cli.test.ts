// gemxrf simulate as an operator runs it: a separate process serving TCP, read by the tcp transport.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { GemxDecoder } from '../../../drivers/codecs/gemx-decode.js';
import { openTransport } from '../../../drivers/open-transport.js';
import '../../../drivers/transports/index.js';
import { repoRoot, runCli } from '../../support/cli.js';
import { waitFor } from '../../drivers/transports/wait.js';

describe('cli: gemxrf simulate', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('serves the stream over TCP, prints the URL first and a summary at the end', async () => {
    child = spawn(process.execPath, [join(repoRoot, 'bin', 'gemxrf.js'), 'simulate', '--transport', 'tcp', '--listen', '127.0.0.1:0', '--rate', '200000', '--max-records', '20000', '--seed', '4', '--json'], {
      env: { ...process.env, GEMXRF_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    await waitFor(() => out.includes('\n'), `the URL line (stderr: ${err})`, 20_000);
    const url = out.split('\n')[0]!;
    assert.match(url, /^tcp:\/\/127\.0\.0\.1:\d+$/);

    const t = openTransport(`${url}?reconnect=false`);
    const dec = new GemxDecoder();
    let events = 0;
    let ended = false;
    const sub = t.open().subscribe((c) => {
      for (const f of dec.push(c)) {
        if (f.item?.kind === 'events') events += f.item.n;
        if (f.item?.kind === 'end') ended = true;
      }
    });
    try {
      await waitFor(() => ended, 'the END frame', 15_000);
    } finally {
      sub.unsubscribe();
      await t.close();
    }
    assert.equal(events, 20_000);
    assert.equal(dec.counters.framesLost, 0);
    assert.equal(await exited, 0);
    const stats = JSON.parse(out.trim().split('\n').pop()!) as { records: number; framesDropped: number };
    assert.equal(stats.records, 20_000);
    assert.equal(stats.framesDropped, 0);
  });

  it('explains an impossible combination in one line and exits 1', () => {
    const udpEvents = runCli(['simulate', '--transport', 'udp', '--level', 'events', '--duration', '0.1']);
    assert.equal(udpEvents.status, 1);
    assert.match(udpEvents.stderr, /gemxrf: simulate: udp speaks gemroc-udp.*--level hits/);
  });
});
