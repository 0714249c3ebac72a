// startEmulator(options): a simulated detector serving the real wire formats — gemx frames over a TCP
// server, a socat pty pair (serial) or a fake USB device, gemroc-udp datagrams over UDP — paced in real
// time at the requested rate, with optional wire faults. The daemon starts it in-process; tests use it.
import type { ChannelMapEntry } from '../../config/index.js';
import { openTransport } from '../../drivers/open-transport.js';
import type { Transport } from '../../drivers/transport.js';
import { createUsbTransport } from '../../drivers/transports/usb.js';
import '../../drivers/transports/index.js';
import type { WireEndpoint } from './endpoint.js';
import { checkFaults, type FaultOptions } from './fault-injector.js';
import { FakeUsbDevice, type FakeUsbDeviceOptions } from './fake-usb-device.js';
import { FramePump, type EmulatorStats } from './frame-pump.js';
import type { Framer } from './framer.js';
import { GemrocFramer } from './gemroc-framer.js';
import { GemxFramer } from './gemx-framer.js';
import type { PacedSource } from './paced-source.js';
import { SerialPtyEndpoint, type SerialPtyOptions } from './serial-pty.js';
import { createPacedSource } from './sources.js';
import { TcpServerEndpoint } from './tcp-server.js';
import { UdpSenderEndpoint } from './udp-sender.js';

export type EmulatorTransport = 'tcp' | 'udp' | 'serial' | 'usb';

export interface EmulatorOptions {
  transport: EmulatorTransport;
  level?: 'events' | 'hits';
  /** Events per second. */
  rate: number;
  phantom?: string;
  seed?: number;
  /** A source of your own instead of the phantom generator (tests). */
  source?: PacedSource;
  /** tcp: host:port to listen on (default 127.0.0.1:0, a free port). */
  listen?: string;
  /** udp: host:port to send to (default 127.0.0.1:48350). */
  target?: string;
  /** udp hits: (board, ASIC, channel) <-> strip map; default the config's default wiring. */
  channelMap?: readonly ChannelMapEntry[];
  /** Image grid and strip count of the simulated detector. */
  width?: number;
  height?: number;
  stripsPerPlane?: number;
  framePeriodMs?: number;
  maxRecordsPerFrame?: number;
  statusEverySec?: number;
  durationSec?: number;
  maxRecords?: number;
  faults?: FaultOptions;
  /**
   * When the device clock starts: 'receiver' (tcp, usb default: once a client connects / the endpoint is
   * claimed), 'now' (serial, udp default: they cannot tell whether anyone listens), or 'manual' (begin()).
   */
  start?: 'receiver' | 'now' | 'manual';
  usb?: FakeUsbDeviceOptions;
  /**
   * Run the emulator on a worker thread (not with usb or a custom source). The receiving side keeps its
   * event loop to itself: what the daemon and the loopback benchmark want at high rates.
   */
  thread?: boolean;
  serial?: SerialPtyOptions;
}

export interface RunningEmulator {
  /** The transport URL to open (usb: open it with openReceiver(), which brings the fake device's backend). */
  readonly address: string;
  readonly transport: EmulatorTransport;
  /** Opens a receiving transport on this emulator (extra URL query parameters appended). */
  openReceiver(params?: Record<string, string | number | boolean>): Transport;
  stats(): EmulatorStats;
  /** Starts the device clock (start: 'manual'); no effect once running. */
  begin(): void;
  /** Sends END, closes the endpoint; resolves with the final stats. Idempotent. */
  stop(): Promise<EmulatorStats>;
  /** Resolves when the emulator stopped by itself (duration or maxRecords) or through stop(). */
  readonly done: Promise<EmulatorStats>;
  /** The fake USB device (transport 'usb'): detach()/attach() for hot-plug tests. */
  readonly usbDevice?: FakeUsbDevice;
  /** The serial endpoint (transport 'serial', not threaded): unplug()/replug() for tests. */
  readonly serialEndpoint?: SerialPtyEndpoint;
}

/** Default wiring (as config/schema.ts): board b reads plane b, ASIC a covers strips 32a..32a+31. */
export function defaultChannelMap(): ChannelMapEntry[] {
  const map: ChannelMapEntry[] = [];
  for (let board = 0; board < 2; board++) for (let asic = 0; asic < 4; asic++) map.push({ board, asic, plane: board as 0 | 1, firstStrip: asic * 32, step: 1 });
  return map;
}

export async function startEmulator(o: EmulatorOptions): Promise<RunningEmulator> {
  if (o.thread) {
    const { startEmulatorThread } = await import('./threaded.js');
    return startEmulatorThread(o);
  }
  const level = o.level ?? 'events';
  if (!(o.rate > 0) || !Number.isFinite(o.rate)) throw new Error(`rate: events per second > 0, got ${o.rate}`);
  if (o.transport === 'udp' && level !== 'hits') throw new Error('udp speaks gemroc-udp, which carries strip hits: use level hits (--level hits)');
  if (!['tcp', 'udp', 'serial', 'usb'].includes(o.transport)) throw new Error(`transport: tcp, udp, serial or usb, got '${String(o.transport)}'`);
  checkFaults(o.faults ?? {});
  if (o.transport === 'udp' && (o.faults?.corrupt ?? 0) > 0) throw new Error('corrupt: gemroc-udp has no CRC, so bit flips cannot be detected; use drop or garbage with udp');
  const seed = o.seed ?? 1;
  const source =
    o.source ??
    createPacedSource({
      level,
      phantom: o.phantom ?? 'phantom-painting',
      rate: o.rate,
      seed,
      ...(o.width !== undefined ? { width: o.width } : {}),
      ...(o.height !== undefined ? { height: o.height } : {}),
      ...(o.stripsPerPlane !== undefined ? { stripsPerPlane: o.stripsPerPlane } : {}),
    });
  const channelMap = o.channelMap ?? defaultChannelMap();
  const framer: Framer = o.transport === 'udp' ? new GemrocFramer(channelMap) : new GemxFramer(o.maxRecordsPerFrame ?? 8192);

  let endpoint: WireEndpoint;
  let usbDevice: FakeUsbDevice | undefined;
  let serialEndpoint: SerialPtyEndpoint | undefined;
  switch (o.transport) {
    case 'tcp':
      endpoint = await TcpServerEndpoint.listen({ listen: o.listen ?? '127.0.0.1:0' });
      break;
    case 'udp': {
      // One socket per board id in the map (board b sends from socket b).
      const boards = 1 + Math.max(0, ...channelMap.map((e) => e.board));
      endpoint = await UdpSenderEndpoint.open({ target: o.target ?? '127.0.0.1:48350', boards });
      break;
    }
    case 'serial':
      endpoint = serialEndpoint = await SerialPtyEndpoint.open(o.serial ?? {});
      break;
    case 'usb':
      endpoint = usbDevice = new FakeUsbDevice(o.usb ?? {});
      break;
  }

  const pump = new FramePump({
    source,
    framer,
    endpoint,
    rate: o.rate,
    ...(o.framePeriodMs !== undefined ? { framePeriodMs: o.framePeriodMs } : {}),
    ...(o.statusEverySec !== undefined ? { statusEverySec: o.statusEverySec } : {}),
    ...(o.durationSec !== undefined ? { durationSec: o.durationSec } : {}),
    ...(o.maxRecords !== undefined ? { maxRecords: o.maxRecords } : {}),
    ...(o.faults ? { faults: o.faults } : {}),
    seed,
    start: o.start ?? (o.transport === 'tcp' || o.transport === 'usb' ? 'receiver' : 'now'),
  });
  pump.start();
  const done = pump.done.then(() => pump.stats());

  return {
    address: endpoint.address,
    transport: o.transport,
    openReceiver: (params = {}) => {
      const url = new URL(endpoint.address);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
      return usbDevice ? createUsbTransport(url, { backend: usbDevice }) : openTransport(url.toString());
    },
    stats: () => pump.stats(),
    begin: () => pump.begin(),
    stop: async () => {
      await pump.stop();
      return pump.stats();
    },
    done,
    ...(usbDevice ? { usbDevice } : {}),
    ...(serialEndpoint ? { serialEndpoint } : {}),
  };
}
