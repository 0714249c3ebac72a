// UDP endpoint: each board sends its packets from its own socket (its own source port, as two FPGA boards
// have their own addresses) to the receiver's address. Datagrams are fire-and-forget: there is always
// "a receiver", and the kernel's drops on the far side are the receiver's to count.
import dgram from 'node:dgram';
import type { WireEndpoint } from './endpoint.js';
import { parseHostPort } from './tcp-server.js';

export interface UdpSenderOptions {
  /** host:port of the receiver. */
  target: string;
  /** Boards (sockets); packets go out through socket (board id) and anything else through socket 0. */
  boards: number;
  /** Send buffer per socket (bytes). Default 4 MiB. */
  sndbuf?: number;
}

export class UdpSenderEndpoint implements WireEndpoint {
  readonly address: string;
  private sockets: dgram.Socket[] = [];
  private readonly host: string;
  private readonly port: number;
  private datagrams = 0;
  private sendErrors = 0;
  private lastError: string | undefined;
  private pending = 0;
  private drainWaiters: Array<() => void> = [];

  private constructor(private readonly o: UdpSenderOptions) {
    const { host, port } = parseHostPort(o.target, 'target');
    if (port === 0) throw new Error('target: a UDP target needs a port (1-65535)');
    this.host = host === '0.0.0.0' ? '127.0.0.1' : host;
    this.port = port;
    this.address = `udp://${host.includes(':') ? `[${host}]` : host}:${port}?format=gemroc`;
  }

  static async open(o: UdpSenderOptions): Promise<UdpSenderEndpoint> {
    if (!Number.isInteger(o.boards) || o.boards < 1 || o.boards > 16) throw new Error(`boards: 1..16, got ${o.boards}`);
    const e = new UdpSenderEndpoint(o);
    await e.openSockets();
    return e;
  }

  private async openSockets(): Promise<void> {
    const type = this.host.includes(':') ? 'udp6' : 'udp4';
    const created: dgram.Socket[] = [];
    // allSettled, not all: if one board's socket fails to bind, every socket (bound, or still binding when
    // the first one failed) is closed before the error goes out, instead of leaking.
    const settled = await Promise.allSettled(
      Array.from({ length: this.o.boards }, () =>
        new Promise<dgram.Socket>((resolve, reject) => {
          const s = dgram.createSocket({ type, sendBufferSize: this.o.sndbuf ?? 4 * 1024 * 1024 });
          created.push(s);
          s.once('error', reject);
          s.bind(0, () => {
            s.removeListener('error', reject);
            s.on('error', (err) => {
              this.sendErrors++;
              this.lastError = err.message;
            });
            resolve(s);
          });
        }),
      ),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) {
      for (const s of created) {
        try {
          s.close();
        } catch {
          // already closed
        }
      }
      throw failed.reason;
    }
    this.sockets = settled.map((r) => (r as PromiseFulfilledResult<dgram.Socket>).value);
  }

  write(units: readonly Uint8Array[]): boolean {
    for (const u of units) {
      // Board id = low nibble of the status word (byte 8); garbage datagrams go through board 0.
      const board = u.length === 1458 ? u[8]! & 0xf : 0;
      const s = this.sockets[board < this.sockets.length ? board : 0]!;
      this.pending++;
      s.send(u, this.port, this.host, (err) => {
        this.pending--;
        if (err) {
          this.sendErrors++;
          this.lastError = err.message;
        } else this.datagrams++;
        if (this.pending === 0) for (const r of this.drainWaiters.splice(0)) r();
      });
    }
    return true;
  }

  hasReceiver(): boolean {
    return true;
  }

  whenReceiver(): Promise<void> {
    return Promise.resolve();
  }

  /** The unplug fault for UDP: the boards come back on new source ports (packet counters continue). */
  async disconnect(): Promise<void> {
    const old = this.sockets;
    await this.openSockets();
    // Sends still queued on the old sockets would be cancelled by close(): let them go out first (bounded).
    await this.drained(500);
    for (const s of old) s.close();
  }

  private drained(timeoutMs: number): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // Whichever comes first; the timer is cleared so it does not keep the process alive after a drain.
      const timer = setTimeout(resolve, timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    await this.drained(2000);
    for (const s of this.sockets) s.close();
    this.sockets = [];
  }

  stats(): Record<string, unknown> {
    return { kind: 'udp', address: this.address, boards: this.o.boards, datagrams: this.datagrams, sendErrors: this.sendErrors, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }
}
