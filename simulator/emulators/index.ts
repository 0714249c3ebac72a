// Device emulators: the simulated detector over each real transport (see start-emulator.ts).
export { startEmulator, defaultChannelMap, type EmulatorOptions, type EmulatorTransport, type RunningEmulator } from './start-emulator.js';
export type { EmulatorStats, WireUnitId } from './frame-pump.js';
export type { FaultOptions } from './fault-injector.js';
export type { PacedSource } from './paced-source.js';
export { FakeUsbDevice, type FakeUsbDeviceOptions } from './fake-usb-device.js';
export { SocatPty, type PtyPair } from './socat-pty.js';
export { createPacedSource, type SourceOptions } from './sources.js';
