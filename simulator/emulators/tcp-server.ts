// TCP server endpoint: the detector listens, every connected client gets every frame (as a GEM readout's
// TCP port does). A client that cannot keep up loses whole frames once its send queue passes a bound,
// counted as backpressureDrops, rather than the emulator buffering without limit.
import net from 'node:net';
import type { WireEndpoint } from './endpoint.js';

export interface TcpServerOptions {
  /** host:port to listen on; port 0 picks a free one. */
  listen: string;
  /** Per-client send queue bound (bytes) above which frames are dropped for that client. Default 64 MiB. */
  maxQueuedBytes?: number;
}

export function parseHostPort(s: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]*)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`${what}: expected host:port, got '${s}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${what}: port must be 0-65535, got ${port}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export class TcpServerEndpoint implements WireEndpoint {
  private readonly clients = new Set<net.Socket>();
  private accepted = 0;
  private backpressureDrops = 0;
  private waiters: Array<() => void> = [];
  private closing = false;

  private constructor(private readonly server: net.Server, readonly address: string, private readonly maxQueued: number) {
    server.on('connection', (socket) => {
      if (this.closing) return void socket.destroy();
      socket.setNoDelay(true);
      this.clients.add(socket);
      this.accepted++;
      // The emulator only writes; whatever a client sends is ignored, and a client error just ends it.
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.on('close', () => this.clients.delete(socket));
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    });
  }

  static listen(opts: TcpServerOptions): Promise<TcpServerEndpoint> {
    const { host, port } = parseHostPort(opts.listen, 'listen');
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', (err) => reject(new Error(`listen ${opts.listen}: ${err.message}`)));
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        server.on('error', () => undefined);
        const a = server.address() as net.AddressInfo;
        const shownHost = a.address.includes(':') ? `[${a.address}]` : a.address;
        resolve(new TcpServerEndpoint(server, `tcp://${shownHost}:${a.port}`, opts.maxQueuedBytes ?? 64 * 1024 * 1024));
      });
    });
  }

  write(units: readonly Uint8Array[]): boolean {
    if (this.clients.size === 0) return false;
    for (const c of this.clients) {
      if (c.destroyed || !c.writable) continue;
      if (c.writableLength > this.maxQueued) {
        this.backpressureDrops += units.length;
        continue;
      }
      // cork/uncork turns a tick's frames into one writev.
      c.cork();
      for (const u of units) c.write(u);
      c.uncork();
    }
    return true;
  }

  hasReceiver(): boolean {
    return this.clients.size > 0;
  }

  whenReceiver(): Promise<void> {
    if (this.clients.size > 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  async disconnect(): Promise<void> {
    for (const c of this.clients) c.destroy();
    this.clients.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    // Let each client drain and see an orderly end (bounded: a stuck client is destroyed after 2 s).
    await Promise.all(
      [...this.clients].map(
        (c) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => c.destroy(), 2000);
            c.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            c.end();
          }),
      ),
    );
    await new Promise<void>((r) => this.server.close(() => r()));
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  stats(): Record<string, unknown> {
    let queued = 0;
    for (const c of this.clients) queued += c.writableLength;
    return { kind: 'tcp', address: this.address, clients: this.clients.size, accepted: this.accepted, backpressureDrops: this.backpressureDrops, queuedBytes: queued };
  }
}
