// Serial endpoint: the emulator writes gemx frames into the detector end of a socat pty pair and the host
// opens the other end (serial:///tmp/gemxrf-XXXX/ttyGEM0). The unplug fault kills socat and starts it again
// after a pause, so the host's serial transport sees a real disappearing device.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import type { SerialBinding } from '../../drivers/transports/serial.js';
import type { WireEndpoint } from './endpoint.js';
import { SocatPty } from './socat-pty.js';

export interface SerialPtyOptions {
  /** Directory for the two links; a fresh temporary one by default (removed on close). */
  dir?: string;
  /** Baud rate the host should use (a pty ignores it; it is part of the printed URL). */
  baud?: number;
  /** Bytes queued towards the pty above which frames are dropped (backpressureDrops). Default 4 MiB. */
  maxQueuedBytes?: number;
  /** How long an unplug lasts (ms). Default 300. */
  replugDelayMs?: number;
  /** On close, how long to wait after the last write before socat goes (ms). Default 300. */
  lingerMs?: number;
}

export class SerialPtyEndpoint implements WireEndpoint {
  readonly address: string;
  readonly hostPath: string;
  private port: SerialPortStream | undefined;
  private readonly socat: SocatPty;
  private readonly ownDir: string | undefined;
  private backpressureDrops = 0;
  private unplugs = 0;
  private writeErrors = 0;
  private lastError: string | undefined;
  private replugging: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly o: SerialPtyOptions, dir: string, ownDir: boolean) {
    this.ownDir = ownDir ? dir : undefined;
    this.hostPath = join(dir, 'ttyGEM0');
    this.socat = new SocatPty({ hostPath: this.hostPath, devicePath: join(dir, 'ttyGEM0-device') });
    this.address = `serial://${this.hostPath}?baud=${o.baud ?? 3_000_000}`;
  }

  static async open(o: SerialPtyOptions = {}): Promise<SerialPtyEndpoint> {
    const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'gemxrf-pty-'));
    const e = new SerialPtyEndpoint(o, dir, o.dir === undefined);
    try {
      await e.plugIn();
    } catch (err) {
      if (e.ownDir) rmSync(e.ownDir, { recursive: true, force: true });
      throw err;
    }
    return e;
  }

  private async plugIn(): Promise<void> {
    await this.socat.start();
    const port = new SerialPortStream({ binding: SerialPort.binding as unknown as SerialBinding, path: this.socat.pair.devicePath, baudRate: this.o.baud ?? 3_000_000, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(new Error(`open ${this.socat.pair.devicePath}: ${err.message}`)) : resolve())));
    port.on('error', (err: Error) => {
      this.writeErrors++;
      this.lastError = err.message;
    });
    port.on('close', () => {
      if (this.port === port) this.port = undefined;
    });
    port.on('data', () => undefined); // the host does not talk back
    this.port = port;
  }

  write(units: readonly Uint8Array[]): boolean {
    const port = this.port;
    if (!port || !port.isOpen) return false;
    if (port.writableLength > (this.o.maxQueuedBytes ?? 4 * 1024 * 1024)) {
      this.backpressureDrops += units.length;
      return true;
    }
    port.cork();
    for (const u of units) port.write(u);
    port.uncork();
    return true;
  }

  /** A pty has no notion of the other end being open: the link is "there" once socat runs. */
  hasReceiver(): boolean {
    return this.port !== undefined;
  }

  whenReceiver(): Promise<void> {
    return Promise.resolve();
  }

  async disconnect(): Promise<void> {
    if (this.replugging || this.closed) return;
    this.unplugs++;
    this.replugging = (async () => {
      await this.closePort();
      await this.socat.stop();
      await new Promise((r) => setTimeout(r, this.o.replugDelayMs ?? 300));
      if (!this.closed) {
        try {
          await this.plugIn();
        } catch (err) {
          this.lastError = err instanceof Error ? err.message : String(err);
        }
      }
    })().finally(() => (this.replugging = undefined));
    return this.replugging;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.replugging;
    const port = this.port;
    // Bounded: when nobody reads the host end, the pty stays full and drain would never call back.
    if (port?.isOpen) await Promise.race([new Promise<void>((r) => port.drain(() => r())), new Promise((r) => setTimeout(r, 2000))]);
    // socat still holds bytes in flight between the two ptys, and killing it hangs up the host end, which
    // flushes the host's unread input: give the host a moment to read the tail (the END frame) first.
    if (port) await new Promise((r) => setTimeout(r, this.o.lingerMs ?? 300));
    await this.closePort();
    await this.socat.stop();
    if (this.ownDir) rmSync(this.ownDir, { recursive: true, force: true });
  }

  private async closePort(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }

  /** Unplugs the cable without plugging it back (tests drive the replug with replug()). */
  async unplug(): Promise<void> {
    this.unplugs++;
    await this.closePort();
    await this.socat.stop();
  }

  async replug(): Promise<void> {
    await this.plugIn();
  }

  stats(): Record<string, unknown> {
    return {
      kind: 'serial',
      address: this.address,
      open: this.port !== undefined,
      socat: this.socat.running,
      queuedBytes: this.port?.writableLength ?? 0,
      backpressureDrops: this.backpressureDrops,
      unplugs: this.unplugs,
      writeErrors: this.writeErrors,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
