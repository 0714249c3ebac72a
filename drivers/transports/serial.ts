// serial:///dev/ttyUSB0?baud=3000000, or serial://?serialNumber=ABC&vendorId=0403&productId=6015 to find the
// port by its USB identity (SerialPort.list()), so the link survives the device coming back under another
// /dev name after an unplug. Every (re)connect resolves the port again; an unplug (read error, EIO, close
// with `disconnected`) becomes a reconnect with backoff, and every error lands in status(), never a throw.
// The binding is injectable: tests pass @serialport/binding-mock's MockBinding.
import { statSync } from 'node:fs';
import { SerialPortStream, type OpenOptions } from '@serialport/stream';
import { SerialPort } from 'serialport';
import { registerTransport } from '../open-transport.js';
import type { Transport } from '../transport.js';
import { backoffFromUrl } from './backoff.js';
import { ReconnectingTransport, type Link, type LinkSink } from './reconnecting-transport.js';
import { boolParam, checkKnownParams, intParam, RECONNECT_PARAMS } from './url-params.js';

// @serialport/bindings-interface's own types do not resolve under NodeNext; take them from the stream's.
export type SerialBinding = OpenOptions['binding'];
export type PortInfo = Awaited<ReturnType<SerialBinding['list']>>[number];

export interface SerialTransportOptions {
  /** Defaults to the platform binding (what `new SerialPort()` uses). */
  binding?: SerialBinding;
}

export interface SerialMatch {
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

export const DEFAULT_BAUD = 3_000_000;

const normId = (s: string): string => s.toLowerCase().replace(/^0x/, '').padStart(4, '0');

/** Does a listed port match every given identity field? (ids compared as hex, case- and 0x-insensitive) */
export function portMatches(info: PortInfo, match: SerialMatch): boolean {
  if (match.serialNumber !== undefined && info.serialNumber !== match.serialNumber) return false;
  if (match.vendorId !== undefined && (info.vendorId === undefined || normId(info.vendorId) !== normId(match.vendorId))) return false;
  if (match.productId !== undefined && (info.productId === undefined || normId(info.productId) !== normId(match.productId))) return false;
  return true;
}

/** How often an open port's device node is checked for an unplug (ms). */
const UNPLUG_CHECK_MS = 250;

function statNode(path: string): { ino: number; rdev: number } | null {
  try {
    const st = statSync(path);
    return { ino: st.ino, rdev: st.rdev };
  } catch {
    return null;
  }
}

export function createSerialTransport(url: URL, opts: SerialTransportOptions = {}): Transport {
  checkKnownParams(url, ['baud', 'serialNumber', 'vendorId', 'productId', ...RECONNECT_PARAMS]);
  const binding = opts.binding ?? (SerialPort.binding as unknown as SerialBinding);
  const baudRate = intParam(url, 'baud', DEFAULT_BAUD, { min: 50, max: 100_000_000 });
  const path = decodeURIComponent(url.pathname);
  const match: SerialMatch = {};
  for (const key of ['serialNumber', 'vendorId', 'productId'] as const) {
    const v = url.searchParams.get(key);
    if (v !== null && v !== '') match[key] = v;
  }
  const byIdentity = Object.keys(match).length > 0;
  if (!path && !byIdentity) throw new Error('expected serial:///dev/ttyX or serial://?serialNumber=...&vendorId=... (no port given)');
  if (path && byIdentity) throw new Error('give either a device path or serialNumber/vendorId/productId, not both');

  let currentPath: string | undefined;

  const resolvePath = async (): Promise<string> => {
    if (!byIdentity) return path;
    const ports = await binding.list();
    const found = ports.filter((p) => portMatches(p, match));
    const want = Object.entries(match).map(([k, v]) => `${k}=${v}`).join(' ');
    if (found.length === 0) throw new Error(`no serial port with ${want} (found: ${ports.map((p) => p.path).join(', ') || 'none'})`);
    if (found.length > 1) throw new Error(`${found.length} serial ports match ${want}: ${found.map((p) => p.path).join(', ')}`);
    return found[0]!.path;
  };

  const connect = async (sink: LinkSink): Promise<Link> => {
    const portPath = await resolvePath();
    const port = new SerialPortStream({ binding, path: portPath, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new Error(`open ${portPath}: ${err.message}`)) : resolve())),
    );
    currentPath = portPath;
    // Unplug watchdog: the error/EOF an unplugged device should raise on the open descriptor does not always
    // come (a pty whose socat was restarted, some USB-serial drivers), and a silent port looks like a quiet
    // detector. The device node is checked instead: gone, or a different node behind the same path (a
    // re-created link), ends the link and the reconnect loop finds the port again. Paths that are not
    // filesystem nodes (a mock binding) have no watchdog.
    const node = statNode(portPath);
    const watchdog = node
      ? setInterval(() => {
          const now = statNode(portPath);
          if (!now || now.ino !== node.ino || now.rdev !== node.rdev) sink.end(new Error(`${portPath} unplugged (device node ${now ? 'changed' : 'gone'})`));
        }, UNPLUG_CHECK_MS)
      : null;
    watchdog?.unref();
    const stopWatchdog = () => {
      if (watchdog) clearInterval(watchdog);
    };
    port.on('close', stopWatchdog);
    port.on('end', stopWatchdog);
    port.on('error', stopWatchdog);
    port.on('data', (chunk: Buffer) => sink.data(chunk));
    port.on('error', (err: Error) => sink.end(new Error(`${portPath}: ${err.message}`)));
    // A read of 0 bytes (EOF: the pty's other side went away) ends the readable side without a 'close'.
    port.on('end', () => sink.end(new Error(`${portPath}: end of stream (device gone)`)));
    port.on('close', (err?: Error & { disconnected?: boolean }) =>
      sink.end(new Error(err?.disconnected ? `${portPath} unplugged (${err.message})` : `${portPath} closed`)),
    );
    return {
      close: () =>
        new Promise<void>((resolve) => {
          stopWatchdog();
          if (!port.isOpen) return resolve();
          port.close(() => resolve());
        }),
    };
  };

  return new ReconnectingTransport(url.toString(), connect, {
    backoff: backoffFromUrl(url),
    reconnect: boolParam(url, 'reconnect', true),
    extraStatus: () => ({ baudRate, ...(currentPath ? { path: currentPath } : {}), ...(byIdentity ? { match } : {}) }),
  });
}

registerTransport('serial', (url) => createSerialTransport(url));
