// The real UsbBackend on the `usb` package (v3: node-usb-rs, WebUSB-style API). v3 has no legacy
// endpoint.startPoll(); the usb transport keeps several transferIn() calls in flight itself, which is the
// same thing (libusb queues the transfers, so the endpoint never idles between them). The native module is
// loaded on first use, so a machine without libusb can still run every other transport.
import type { UsbBackend, UsbBulkIn, UsbDeviceInfo, UsbHotplugEvent } from './usb-backend.js';

type UsbModule = typeof import('usb');
type NativeDevice = Awaited<ReturnType<UsbModule['usb']['getDevices']>>[number];

/** bulk IN timeout per transfer (ms); a timeout is an empty transfer, not an error. */
const TRANSFER_TIMEOUT_MS = 1000;

let modulePromise: Promise<UsbModule> | undefined;
function loadUsb(): Promise<UsbModule> {
  modulePromise ??= import('usb').catch((err: unknown) => {
    modulePromise = undefined;
    throw new Error(`usb support unavailable (${err instanceof Error ? err.message : String(err)})`);
  });
  return modulePromise;
}

const infoOf = (d: NativeDevice): UsbDeviceInfo => ({
  vendorId: d.vendorId,
  productId: d.productId,
  ...(d.serialNumber ? { serialNumber: d.serialNumber } : {}),
  id: `${d.bus}:${d.address}`,
});

export class LibusbBackend implements UsbBackend {
  private readonly devices = new Map<string, NativeDevice>();
  private readonly listeners = new Map<UsbHotplugEvent, Map<(d: UsbDeviceInfo) => void, (ev: Event) => void>>();

  async findDevice(vendorId: number, productId: number, serialNumber?: string): Promise<UsbDeviceInfo | undefined> {
    const { usb } = await loadUsb();
    const all = await usb.getDevices();
    const d = all.find((x) => x.vendorId === vendorId && x.productId === productId && (serialNumber === undefined || x.serialNumber === serialNumber));
    if (!d) return undefined;
    const info = infoOf(d);
    this.devices.set(info.id, d);
    return info;
  }

  async openBulkIn(device: UsbDeviceInfo, interfaceNumber: number, endpointAddress: number): Promise<UsbBulkIn> {
    const d = this.devices.get(device.id);
    if (!d) throw new Error(`usb device ${device.id} is not known (find it first)`);
    if (!(endpointAddress & 0x80)) throw new Error(`endpoint 0x${endpointAddress.toString(16)} is not an IN endpoint (expected bit 7 set, e.g. 0x81)`);
    await d.open();
    try {
      if (d.configuration === null || d.configuration === undefined) await d.selectConfiguration(1);
      await d.claimInterface(interfaceNumber);
    } catch (err) {
      await d.close().catch(() => undefined);
      throw err;
    }
    const endpointNumber = endpointAddress & 0x0f;
    return {
      transferIn: async (length: number) => {
        try {
          const res = await d.nativeTransferIn(endpointNumber, TRANSFER_TIMEOUT_MS, length);
          return res ?? new Uint8Array(0);
        } catch (err) {
          if (/time(d)? ?out/i.test(err instanceof Error ? err.message : String(err))) return new Uint8Array(0);
          throw err;
        }
      },
      close: async () => {
        await d.releaseInterface(interfaceNumber).catch(() => undefined);
        await d.close().catch(() => undefined);
      },
    };
  }

  on(event: UsbHotplugEvent, listener: (device: UsbDeviceInfo) => void): void {
    const wrapped = (ev: Event): void => {
      const d = (ev as Event & { device?: NativeDevice }).device;
      if (d) listener(infoOf(d));
    };
    let map = this.listeners.get(event);
    if (!map) this.listeners.set(event, (map = new Map()));
    map.set(listener, wrapped);
    void loadUsb()
      .then(({ usb }) => usb.addEventListener(event === 'attach' ? 'connect' : 'disconnect', wrapped))
      .catch(() => undefined); // no libusb: findDevice reports it in status
  }

  off(event: UsbHotplugEvent, listener: (device: UsbDeviceInfo) => void): void {
    const wrapped = this.listeners.get(event)?.get(listener);
    if (!wrapped) return;
    this.listeners.get(event)!.delete(listener);
    void loadUsb()
      .then(({ usb }) => usb.removeEventListener(event === 'attach' ? 'connect' : 'disconnect', wrapped))
      .catch(() => undefined);
  }
}
