// The small interface the usb transport needs from a USB stack: find a device, hear about hot-plug, open a
// bulk IN endpoint. The real implementation wraps the `usb` package (usb-libusb.ts); tests and the
// simulator plug in a fake device (simulator/emulators/fake-usb-device.ts) that produces real gemx bytes.

export interface UsbDeviceInfo {
  vendorId: number;
  productId: number;
  serialNumber?: string;
  /** Stable for as long as the device stays attached (bus/address or a fake's name). */
  id: string;
}

export interface UsbBulkIn {
  /**
   * One bulk IN transfer of up to `length` bytes. Resolves with the bytes received (possibly none, when the
   * backend's transfer timed out on a quiet device); rejects when the device is gone or the endpoint failed.
   */
  transferIn(length: number): Promise<Uint8Array>;
  /** Release the interface and close the device; pending transfers reject. */
  close(): Promise<void>;
}

export type UsbHotplugEvent = 'attach' | 'detach';

export interface UsbBackend {
  findDevice(vendorId: number, productId: number, serialNumber?: string): Promise<UsbDeviceInfo | undefined>;
  openBulkIn(device: UsbDeviceInfo, interfaceNumber: number, endpointAddress: number): Promise<UsbBulkIn>;
  on(event: UsbHotplugEvent, listener: (device: UsbDeviceInfo) => void): void;
  off(event: UsbHotplugEvent, listener: (device: UsbDeviceInfo) => void): void;
}
