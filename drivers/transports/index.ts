// Importing this module registers every hardware transport's URL scheme (serial, usb, tcp, udp) with
// openTransport(). The libusb native module loads only when a usb:// transport first looks for a device.
export { createSerialTransport, portMatches, DEFAULT_BAUD, type SerialTransportOptions, type SerialBinding } from './serial.js';
export { createUsbTransport, normalizeUsbUrl, parseUsbTarget, type UsbTransportOptions } from './usb.js';
export { createTcpTransport, type TcpTransportOptions } from './tcp.js';
export { createUdpTransport, DEFAULT_UDP_RCVBUF, type UdpStreamCounters } from './udp.js';
export { Backoff, backoffFromUrl, withReconnectParams, DEFAULT_RECONNECT, type BackoffOptions } from './backoff.js';
export { ReconnectingTransport, type Connect, type Link, type LinkSink } from './reconnecting-transport.js';
export type { UsbBackend, UsbBulkIn, UsbDeviceInfo, UsbHotplugEvent } from './usb-backend.js';
export { LibusbBackend } from './usb-libusb.js';
