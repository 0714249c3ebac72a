import assert from 'node:assert/strict';
import net from 'node:net';
import type { Subscription } from 'rxjs';
import { openTransport } from '../../../drivers/open-transport.js';
import type { Transport } from '../../../drivers/transport.js';
import '../../../drivers/transports/index.js';
import { concat, waitFor } from './wait.js';

/** A plain TCP server standing in for a detector: remembers its sockets so a test can cut them. */
async function server(port = 0): Promise<{ srv: net.Server; port: number; sockets: Set<net.Socket>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  return {
    srv,
    port: (srv.address() as net.AddressInfo).port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

describe('transports: tcp', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('delivers the bytes a server sends, one emission per chunk', async () => {
    const s = await server();
    cleanup.push(() => s.close());
    const t = openTransport(`tcp://127.0.0.1:${s.port}`);
    cleanup.push(() => t.close());
    const got: Uint8Array[] = [];
    const sub = t.open().subscribe((c) => got.push(c));
    cleanup.push(() => sub.unsubscribe());
    await waitFor(() => s.sockets.size === 1, 'the connection');
    const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i & 0xff));
    for (const sock of s.sockets) sock.write(payload);
    await waitFor(() => got.reduce((a, c) => a + c.length, 0) === payload.length, 'all bytes');
    assert.deepEqual(Buffer.from(concat(got)), payload);
    const st = t.status();
    assert.equal(st.state, 'open');
    assert.equal(st.bytesIn, payload.length);
    assert.equal(st.chunksIn, got.length);
  });

  it('reconnects with backoff when the peer drops the connection, and keeps streaming', async () => {
    const s = await server();
    cleanup.push(() => s.close());
    const t = openTransport(`tcp://127.0.0.1:${s.port}?reconnectMinMs=10&reconnectMaxMs=40`);
    cleanup.push(() => t.close());
    const got: Uint8Array[] = [];
    const sub = t.open().subscribe((c) => got.push(c));
    cleanup.push(() => sub.unsubscribe());
    await waitFor(() => s.sockets.size === 1, 'first connection');
    for (const sock of s.sockets) sock.write('abc');
    await waitFor(() => got.length > 0, 'first bytes');
    for (const sock of s.sockets) sock.destroy(); // the detector drops the link
    await waitFor(() => t.status().reconnects === 1, 'reconnect counted');
    await waitFor(() => s.sockets.size === 1 && t.status().state === 'open', 'second connection');
    for (const sock of s.sockets) sock.write('def');
    await waitFor(() => Buffer.from(concat(got)).toString() === 'abcdef', 'bytes after reconnect');
    const st = t.status();
    assert.equal(st.connects, 2);
    assert.match(String(st.error), /closed the connection/);
  });

  it('keeps retrying while nobody listens, reports why in status, and connects once the port opens', async () => {
    const probe = await server();
    const port = probe.port;
    await probe.close(); // a port that was free a moment ago: nothing listens there now
    const t = openTransport(`tcp://127.0.0.1:${port}?reconnectMinMs=10&reconnectMaxMs=30`);
    cleanup.push(() => t.close());
    const got: Uint8Array[] = [];
    const sub = t.open().subscribe({ next: (c) => got.push(c), error: (e) => assert.fail(`stream errored: ${String(e)}`) });
    cleanup.push(() => sub.unsubscribe());
    await waitFor(() => t.status().reconnects >= 2, 'failed attempts');
    const st = t.status();
    assert.equal(st.state, 'reconnecting');
    assert.match(String(st.error), /ECONNREFUSED/);
    const s = await server(port);
    cleanup.push(() => s.close());
    await waitFor(() => s.sockets.size === 1, 'connection once listening', 5000);
    for (const sock of s.sockets) sock.write('x');
    await waitFor(() => got.length === 1, 'data');
  });

  it('with reconnect=false completes the stream when the link drops; close() completes it too', async () => {
    const s = await server();
    cleanup.push(() => s.close());
    const t = openTransport(`tcp://127.0.0.1:${s.port}?reconnect=false`);
    let completed = false;
    t.open().subscribe({ complete: () => (completed = true) });
    await waitFor(() => s.sockets.size === 1, 'connection');
    for (const sock of s.sockets) sock.end();
    await waitFor(() => completed, 'completion');
    assert.equal(t.status().state, 'closed');

    const t2: Transport = openTransport(`tcp://127.0.0.1:${s.port}`);
    let completed2 = false;
    const sub: Subscription = t2.open().subscribe({ complete: () => (completed2 = true) });
    await waitFor(() => t2.status().state === 'open', 'open');
    await t2.close();
    assert.ok(completed2);
    assert.ok(sub.closed);
    assert.equal(t2.status().state, 'closed');
  });

  it('rejects bad URLs with a clear message', () => {
    assert.throws(() => openTransport('tcp://127.0.0.1'), /tcp:\/\/127\.0\.0\.1.*port/);
    assert.throws(() => openTransport('tcp://127.0.0.1:7000?reconect=1'), /unknown parameter 'reconect'/);
  });

  it('refuses a second concurrent open() (share() the stream instead)', async () => {
    const s = await server();
    cleanup.push(() => s.close());
    const t = openTransport(`tcp://127.0.0.1:${s.port}`);
    cleanup.push(() => t.close());
    const sub = t.open().subscribe();
    cleanup.push(() => sub.unsubscribe());
    let err: unknown;
    t.open().subscribe({ error: (e) => (err = e) });
    assert.match(String(err), /already open/);
  });
});
