// tcp://host:port — a client to a detector's (or the emulator's) TCP port. Reconnects with backoff when the
// peer closes or is not there yet. Query: reconnect=false (end the stream when the link drops),
// reconnectMinMs, reconnectMaxMs, noDelay (default true).
import net from 'node:net';
import { registerTransport } from '../open-transport.js';
import type { Transport } from '../transport.js';
import { backoffFromUrl } from './backoff.js';
import { ReconnectingTransport, type Link, type LinkSink } from './reconnecting-transport.js';
import { boolParam, checkKnownParams, RECONNECT_PARAMS } from './url-params.js';

export interface TcpTransportOptions {
  /** Connect timeout (ms): a host that never answers counts as a failed attempt. */
  connectTimeoutMs?: number;
}

export function createTcpTransport(url: URL, opts: TcpTransportOptions = {}): Transport {
  checkKnownParams(url, [...RECONNECT_PARAMS]);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port);
  if (!host) throw new Error('expected tcp://host:port (no host)');
  if (!url.port || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error('expected tcp://host:port (port 1-65535)');
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
  const connect = (sink: LinkSink): Promise<Link> =>
    new Promise<Link>((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      let connected = false;
      const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${connectTimeoutMs} ms`)), connectTimeoutMs);
      socket.once('connect', () => {
        connected = true;
        clearTimeout(timer);
        resolve({ close: () => void socket.destroy() });
      });
      socket.on('data', (chunk: Buffer) => sink.data(chunk));
      socket.on('error', (err: Error) => {
        clearTimeout(timer);
        if (!connected) reject(new Error(`connect ${host}:${port}: ${err.message}`));
        else sink.end(err);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        if (connected) sink.end(new Error(`${host}:${port} closed the connection`));
        else reject(new Error(`connect ${host}:${port}: closed`));
      });
    });
  return new ReconnectingTransport(url.toString(), connect, {
    backoff: backoffFromUrl(url),
    reconnect: boolParam(url, 'reconnect', true),
    extraStatus: () => ({ peer: `${host}:${port}` }),
  });
}

registerTransport('tcp', (url) => createTcpTransport(url));
