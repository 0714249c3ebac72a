// udp://bind-address:port?format=gemroc&rcvbuf=8388608 — receives the readout's datagrams; each datagram is
// one emission (the codec sees packet boundaries). The receive buffer is large by default because a UDP
// socket drops whatever arrives while the event loop is busy; status() reports what the OS actually granted
// (Linux caps it at net.core.rmem_max and reports double the request) and the kernel's own drop counter.
// Per-board counters (format=gemroc: board id and packet number from the header, read by the codecs'
// readGemrocHeader, losses by their SequenceTracker); per-sender packet counts with format=raw.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { registerTransport } from '../open-transport.js';
import type { Transport } from '../transport.js';
import { backoffFromUrl } from './backoff.js';
import { ReconnectingTransport, type Link, type LinkSink } from './reconnecting-transport.js';
import { readGemrocHeader } from '../codecs/gemroc-decode.js';
import { SequenceTracker, zeroSequenceCounters, type SequenceCounters } from '../codecs/sequence-tracker.js';
import { boolParam, checkKnownParams, intParam, RECONNECT_PARAMS } from './url-params.js';

export const DEFAULT_UDP_RCVBUF = 8 * 1024 * 1024;

export type UdpFormat = 'gemroc' | 'raw';

export interface UdpStreamCounters {
  /** gemroc: 'board N' (the board id in the packet's status word); raw: the sender's address:port. */
  key: string;
  /** gemroc: the board id. */
  board?: number;
  /** Where the last datagram came from. */
  sender: string;
  packets: number;
  bytes: number;
  /** gemroc only: the sender's packet-number accounting (gaps, lost, duplicates, reordered, resets). */
  sequence?: SequenceCounters;
  /** gemroc: the first and the latest packet number seen from this board. */
  firstPacketNumber?: number;
  lastPacketNumber?: number;
}

export function createUdpTransport(url: URL): Transport {
  checkKnownParams(url, ['format', 'rcvbuf', ...RECONNECT_PARAMS]);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  const port = url.port === '' ? 48350 : Number(url.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`port must be 0-65535, got '${url.port}'`);
  const format = (url.searchParams.get('format') ?? 'gemroc') as UdpFormat;
  if (format !== 'gemroc' && format !== 'raw') throw new Error(`format: expected gemroc or raw, got '${String(format)}'`);
  const rcvbufRequested = intParam(url, 'rcvbuf', DEFAULT_UDP_RCVBUF, { min: 4096, max: 1 << 30 });
  const type: 'udp4' | 'udp6' = host.includes(':') ? 'udp6' : 'udp4';

  let rcvbufGranted: number | undefined;
  let boundPort: number | undefined;
  let datagrams = 0;
  let notGemroc = 0;
  const senders = new Map<string, { c: UdpStreamCounters; seq: SequenceTracker | undefined }>();

  const count = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    datagrams++;
    const sender = `${rinfo.address}:${rinfo.port}`;
    // gemroc: per board, from the header the codecs read (board id and that board's own packet number).
    const header = format === 'gemroc' ? readGemrocHeader(msg) : null;
    if (format === 'gemroc' && !header) {
      notGemroc++;
      return;
    }
    const key = header ? `board ${header.board}` : sender;
    let s = senders.get(key);
    if (!s) {
      // gemroc's packet number is a u64; JS numbers hold it exactly up to 2^53 (centuries at any real rate).
      s = {
        c: { key, ...(header ? { board: header.board } : {}), sender, packets: 0, bytes: 0 },
        seq: header ? new SequenceTracker(zeroSequenceCounters(), 2 ** 53) : undefined,
      };
      senders.set(key, s);
    }
    s.c.sender = sender;
    s.c.packets++;
    s.c.bytes += msg.length;
    if (s.seq && header) {
      s.seq.observe(header.packetNumber);
      s.c.firstPacketNumber ??= header.packetNumber;
      s.c.lastPacketNumber = header.packetNumber;
    }
  };

  const connect = (sink: LinkSink): Promise<Link> =>
    new Promise<Link>((resolve, reject) => {
      const socket = dgram.createSocket({ type, recvBufferSize: rcvbufRequested, reuseAddr: false });
      let bound = false;
      socket.on('message', (msg, rinfo) => {
        count(msg, rinfo);
        sink.data(msg);
      });
      socket.on('error', (err) => {
        if (!bound) {
          socket.close();
          reject(new Error(`bind ${host}:${port}: ${err.message}`));
        } else sink.end(err);
      });
      socket.bind(port, host, () => {
        bound = true;
        try {
          rcvbufGranted = socket.getRecvBufferSize();
        } catch {
          rcvbufGranted = undefined;
        }
        boundPort = socket.address().port;
        resolve({ close: () => new Promise<void>((r) => socket.close(() => r())) });
      });
    });

  return new ReconnectingTransport(url.toString(), connect, {
    backoff: backoffFromUrl(url),
    reconnect: boolParam(url, 'reconnect', true),
    extraStatus: () => {
      const list: UdpStreamCounters[] = [...senders.values()].map((s) => (s.seq ? { ...s.c, sequence: { ...s.seq.counters } } : { ...s.c }));
      return {
        format,
        bind: `${host}:${boundPort ?? port}`,
        port: boundPort ?? port,
        datagrams,
        notGemroc,
        rcvbufRequested,
        ...(rcvbufGranted !== undefined ? { rcvbufGranted } : {}),
        ...(rcvbufGranted !== undefined && rcvbufGranted < rcvbufRequested
          ? { rcvbufWarning: `OS granted ${rcvbufGranted} bytes of the ${rcvbufRequested} requested (raise net.core.rmem_max)` }
          : {}),
        ...(boundPort !== undefined ? kernelDrops(type, boundPort) : {}),
        streams: list,
        packetsLost: list.reduce((a, s) => a + (s.sequence?.framesLost ?? 0), 0),
      };
    },
  });
}

/** Linux: the kernel's per-socket drop counter from /proc/net/udp (datagrams lost before we could read them). */
function kernelDrops(type: 'udp4' | 'udp6', port: number): { kernelDrops?: number } {
  let text: string;
  try {
    text = readFileSync(type === 'udp4' ? '/proc/net/udp' : '/proc/net/udp6', 'utf8');
  } catch {
    return {};
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  let drops: number | undefined;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13) continue;
    if (cols[1]?.endsWith(`:${portHex}`)) drops = (drops ?? 0) + Number(cols[cols.length - 1]);
  }
  return drops === undefined || !Number.isFinite(drops) ? {} : { kernelDrops: drops };
}

registerTransport('udp', (url) => createUdpTransport(url));
