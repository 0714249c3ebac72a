// Framers turn a tick's batch into wire units: gemx frames for the stream links (tcp, serial, usb) or
// gemroc datagrams for udp. Each unit keeps its sequence number and record count so the emulator's stats
// can be compared exactly with what a receiver's decoder counts.
import type { EventBatch, HitBatch } from '../../drivers/batches.js';

export interface WireUnit {
  bytes: Uint8Array;
  /** Events or hits inside (0 for STATUS / END). */
  records: number;
  /** The unit's sequence number within its stream (gemx seq, or the board's packet number). */
  seq: number;
  /** 0 for gemx; the board id for gemroc. */
  stream: number;
  kind: 'data' | 'status' | 'end';
}

export interface DeviceTelemetry {
  eventRateHz: number;
  hitRateHz: number;
  deviceDropped: number;
}

export interface Framer {
  /** Wire units for one batch; an empty batch gives none. */
  frames(batch: EventBatch | HitBatch): WireUnit[];
  /** A housekeeping unit (gemx STATUS), or null where the wire format has none. */
  status(timeNs: number, telemetry: DeviceTelemetry): WireUnit | null;
  /** The end-of-stream unit (gemx END with what was sent), or null where the wire format has none. */
  end(timeNs: number, framesSent: number, recordsSent: number): WireUnit | null;
}
