// A fake USB detector behind the usb transport's UsbBackend interface: a bulk IN endpoint whose FIFO the
// emulator fills with real gemx bytes, and hot-plug (detach / attach) that behaves like libusb's: a detach
// fails the pending transfers and loses what the device had buffered, an attach announces a device with a
// new bus address. It is both the USB emulator's endpoint and a test double for the usb transport.
import { EventEmitter } from 'node:events';
import type { UsbBackend, UsbBulkIn, UsbDeviceInfo, UsbHotplugEvent } from '../../drivers/transports/usb-backend.js';
import type { WireEndpoint } from './endpoint.js';

export interface FakeUsbDeviceOptions {
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
  interfaceNumber?: number;
  /** Bulk IN endpoint address (bit 7 set). Default 0x81. */
  endpoint?: number;
  /** Device-side FIFO bound (bytes); frames that do not fit are lost (backpressureDrops). Default 16 MiB. */
  fifoBytes?: number;
  /** How long an unplug lasts before the device comes back (ms). Default 200. */
  replugDelayMs?: number;
  /** Start detached (plug it in with attach()). Default false. */
  detached?: boolean;
}

interface PendingTransfer {
  length: number;
  resolve: (b: Uint8Array) => void;
  reject: (e: Error) => void;
}

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

export class FakeUsbDevice implements UsbBackend, WireEndpoint {
  readonly vendorId: number;
  readonly productId: number;
  readonly address: string;
  private readonly events = new EventEmitter();
  private attached: boolean;
  private plugCount = 1;
  private claimed = false;
  private fifo: Uint8Array[] = [];
  private fifoHead = 0;
  private fifoBytes = 0;
  private pending: PendingTransfer[] = [];
  private closed = false;
  private readonly stat = { transfers: 0, bytesOut: 0, backpressureDrops: 0, detaches: 0, attaches: 0, opens: 0, bytesLostOnDetach: 0 };
  private receiverWaiters: Array<() => void> = [];
  private replugTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: FakeUsbDeviceOptions = {}) {
    this.vendorId = o.vendorId ?? 0x1234;
    this.productId = o.productId ?? 0x5678;
    this.attached = !(o.detached ?? false);
    const q = new URLSearchParams();
    q.set('interface', String(o.interfaceNumber ?? 0));
    q.set('endpoint', `0x${(o.endpoint ?? 0x81).toString(16)}`);
    if (o.serialNumber) q.set('serialNumber', o.serialNumber);
    this.address = `usb:${hex4(this.vendorId)}:${hex4(this.productId)}?${q.toString()}`;
    this.events.setMaxListeners(100);
  }

  private info(): UsbDeviceInfo {
    return { vendorId: this.vendorId, productId: this.productId, ...(this.o.serialNumber ? { serialNumber: this.o.serialNumber } : {}), id: `fake:${this.plugCount}` };
  }

  // ---- UsbBackend (what the usb transport sees) ----

  async findDevice(vendorId: number, productId: number, serialNumber?: string): Promise<UsbDeviceInfo | undefined> {
    if (!this.attached || this.closed) return undefined;
    if (vendorId !== this.vendorId || productId !== this.productId) return undefined;
    if (serialNumber !== undefined && serialNumber !== this.o.serialNumber) return undefined;
    return this.info();
  }

  async openBulkIn(device: UsbDeviceInfo, interfaceNumber: number, endpointAddress: number): Promise<UsbBulkIn> {
    if (!this.attached || device.id !== this.info().id) throw new Error('LIBUSB_ERROR_NO_DEVICE');
    if (interfaceNumber !== (this.o.interfaceNumber ?? 0)) throw new Error(`LIBUSB_ERROR_NOT_FOUND: no interface ${interfaceNumber}`);
    if (endpointAddress !== (this.o.endpoint ?? 0x81)) throw new Error(`LIBUSB_ERROR_NOT_FOUND: no endpoint 0x${endpointAddress.toString(16)}`);
    if (this.claimed) throw new Error('LIBUSB_ERROR_BUSY: interface already claimed');
    this.claimed = true;
    this.stat.opens++;
    const plug = this.plugCount;
    for (const r of this.receiverWaiters.splice(0)) r();
    return {
      transferIn: (length: number) =>
        new Promise<Uint8Array>((resolve, reject) => {
          if (!this.attached || plug !== this.plugCount) return reject(new Error('LIBUSB_ERROR_NO_DEVICE'));
          if (!this.claimed) return reject(new Error('LIBUSB_ERROR_IO: interface released'));
          this.pending.push({ length, resolve, reject });
          this.serve();
        }),
      close: async () => {
        if (plug !== this.plugCount) return; // released by the unplug already
        this.claimed = false;
        for (const p of this.pending.splice(0)) p.reject(new Error('LIBUSB_TRANSFER_CANCELLED'));
      },
    };
  }

  on(event: UsbHotplugEvent, listener: (device: UsbDeviceInfo) => void): void {
    this.events.on(event, listener);
  }

  off(event: UsbHotplugEvent, listener: (device: UsbDeviceInfo) => void): void {
    this.events.off(event, listener);
  }

  // ---- hot-plug ----

  /** Unplug: pending transfers fail, the FIFO's bytes are lost, listeners hear 'detach'. */
  detach(): void {
    if (!this.attached) return;
    const info = this.info();
    this.attached = false;
    this.claimed = false;
    this.stat.detaches++;
    this.stat.bytesLostOnDetach += this.fifoBytes;
    this.fifo = [];
    this.fifoHead = 0;
    this.fifoBytes = 0;
    for (const p of this.pending.splice(0)) p.reject(new Error('LIBUSB_ERROR_NO_DEVICE'));
    this.events.emit('detach', info);
  }

  /** Plug in again (a new bus address); listeners hear 'attach'. */
  attach(): void {
    if (this.attached || this.closed) return;
    this.plugCount++;
    this.attached = true;
    this.stat.attaches++;
    this.events.emit('attach', this.info());
  }

  get isAttached(): boolean {
    return this.attached;
  }

  // ---- WireEndpoint (what the emulator's frame pump sees) ----

  write(units: readonly Uint8Array[]): boolean {
    if (!this.attached || !this.claimed) return false;
    const limit = this.o.fifoBytes ?? 16 * 1024 * 1024;
    for (const u of units) {
      if (this.fifoBytes + u.length > limit) {
        this.stat.backpressureDrops++;
        continue;
      }
      this.fifo.push(u);
      this.fifoBytes += u.length;
    }
    this.serve();
    return true;
  }

  hasReceiver(): boolean {
    return this.attached && this.claimed;
  }

  whenReceiver(): Promise<void> {
    if (this.hasReceiver()) return Promise.resolve();
    return new Promise((r) => this.receiverWaiters.push(r));
  }

  async disconnect(): Promise<void> {
    this.detach();
    if (this.replugTimer) clearTimeout(this.replugTimer);
    this.replugTimer = setTimeout(() => {
      this.replugTimer = undefined;
      this.attach();
    }, this.o.replugDelayMs ?? 200);
  }

  /** Waits (bounded, 2 s) for the host to read what is buffered, then goes away for good. */
  async close(): Promise<void> {
    const until = Date.now() + 2000;
    while (this.fifoBytes > 0 && this.attached && this.claimed && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    if (this.replugTimer) clearTimeout(this.replugTimer);
    this.detach();
    this.closed = true;
    for (const r of this.receiverWaiters.splice(0)) r();
  }

  stats(): Record<string, unknown> {
    return { kind: 'usb', address: this.address, attached: this.attached, claimed: this.claimed, fifoBytes: this.fifoBytes, ...this.stat };
  }

  /** Hands FIFO bytes to waiting transfers, in order; each transfer gets up to its length (bulk semantics). */
  private serve(): void {
    while (this.pending.length > 0 && this.fifoBytes > 0) {
      const p = this.pending.shift()!;
      const out = new Uint8Array(Math.min(p.length, this.fifoBytes));
      let k = 0;
      while (k < out.length) {
        const head = this.fifo[0]!;
        const take = Math.min(head.length - this.fifoHead, out.length - k);
        out.set(head.subarray(this.fifoHead, this.fifoHead + take), k);
        k += take;
        this.fifoHead += take;
        if (this.fifoHead === head.length) {
          this.fifo.shift();
          this.fifoHead = 0;
        }
      }
      this.fifoBytes -= out.length;
      this.stat.transfers++;
      this.stat.bytesOut += out.length;
      p.resolve(out);
    }
  }
}
