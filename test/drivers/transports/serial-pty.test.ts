// The serial transport on a real pty pair from socat: killing socat is an unplug (the tty vanishes), and the
// transport reconnects when socat brings the same path back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openTransport } from '../../../drivers/open-transport.js';
import type { Transport } from '../../../drivers/transport.js';
import '../../../drivers/transports/index.js';
import { SerialPtyEndpoint } from '../../../simulator/emulators/serial-pty.js';
import { concat, waitFor } from './wait.js';

function haveSocat(): boolean {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('transports: serial (real pty via socat)', function () {
  const cleanup: Array<() => Promise<void> | void> = [];
  before(function () {
    // Required in CI (it installs socat); a developer machine without it skips with a reason.
    if (!haveSocat()) {
      if (process.env.CI) throw new Error('socat is required in CI');
      this.skip();
    }
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('reads what the device end writes, survives socat being killed, and reconnects when it returns', async () => {
    const pty = await SerialPtyEndpoint.open();
    cleanup.push(() => pty.close());
    const t: Transport = openTransport(`serial://${pty.hostPath}?baud=115200&reconnectMinMs=20&reconnectMaxMs=100`);
    cleanup.push(() => t.close());
    const got: Uint8Array[] = [];
    const sub = t.open().subscribe({ next: (c) => got.push(c), error: (e) => assert.fail(String(e)) });
    cleanup.push(() => sub.unsubscribe());
    await waitFor(() => t.status().state === 'open', 'open');
    const text = () => Buffer.from(concat(got)).toString();

    assert.ok(pty.write([Buffer.from('before;')]));
    await waitFor(() => text() === 'before;', 'bytes through the pty');

    await pty.unplug(); // socat killed: the tty and its link are gone
    await waitFor(() => t.status().reconnects >= 1, 'unplug noticed');
    await waitFor(() => t.status().state === 'reconnecting' && /ttyGEM0/.test(String(t.status().error)), 'retrying a missing tty');

    await pty.replug(); // socat again, same link names
    await waitFor(() => t.status().state === 'open', 'reconnected', 5000);
    // The host end must be open before bytes are written, or the fresh pty would drop them.
    assert.ok(pty.write([Buffer.from('after;')]));
    await waitFor(() => text() === 'before;after;', 'bytes after the replug');
    assert.ok((t.status().connects as number) >= 2);
  });
});
