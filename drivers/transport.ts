// The one interface every detector link implements (serial, usb, tcp, udp, file). A transport moves bytes
// only: chunks for stream links, whole datagrams for udp. Framing and decoding are the codecs' job
// (drivers/codecs/), so a recorder can store exactly what arrived.
import type { Observable } from 'rxjs';

export type TransportState = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'error';

export interface TransportStatus {
  url: string;
  state: TransportState;
  /** Last error message, if any (kept after a reconnect so operators can see why it dropped). */
  error?: string;
  bytesIn: number;
  chunksIn: number;
  reconnects: number;
  /** Transport-specific extras (e.g. udp: datagramsDropped; file: frames, progress). */
  [k: string]: unknown;
}

export interface Transport {
  readonly url: string;
  /** Chunks (stream links) or datagrams (udp). Completes when the source ends (file end, closed link). */
  open(): Observable<Uint8Array>;
  status(): TransportStatus;
  close(): Promise<void>;
}

export type TransportFactory = (url: URL) => Transport;
