// gemx encoders: batches -> frames (Uint8Array, one frame each). Used by the device emulators, the
// recorder tests and the benchmark. Encoding mistakes are programmer errors, so these throw RangeError
// (unlike the decoder, which never throws on input bytes).
import type { EventBatch, HitBatch } from '../batches.js';
import { crc32 } from './crc32.js';
import {
  END_PAYLOAD_BYTES, EVENT_RECORD_BYTES, FrameType, GEMX_HEADER_BYTES, GEMX_OVERHEAD_BYTES, GEMX_SYNC,
  GEMX_VERSION, GEMX_HEADER_FIELDS as H, HIT_RECORD_BYTES, MAX_EVENTS_PER_FRAME, MAX_HITS_PER_FRAME, STATUS_PAYLOAD_BYTES, STATUS_THRESHOLDS,
  type GemxStatus,
} from './gemx-format.js';
import { LITTLE_ENDIAN_HOST } from './endian.js';

const U32 = 0x1_0000_0000;

/** Allocates a frame, writes its header (with header CRC); the caller fills the payload, then seals it. */
function beginFrame(type: number, seq: number, count: number, baseTimeNs: number, payloadLength: number): { frame: Uint8Array; dv: DataView } {
  if (!Number.isInteger(seq) || seq < 0 || seq >= U32) throw new RangeError(`gemx: seq must be a u32, got ${seq}`);
  if (!Number.isSafeInteger(baseTimeNs) || baseTimeNs < 0) throw new RangeError(`gemx: baseTimeNs must be a non-negative safe integer, got ${baseTimeNs}`);
  const frame = new Uint8Array(GEMX_OVERHEAD_BYTES + payloadLength);
  const dv = new DataView(frame.buffer);
  dv.setUint32(H.sync, GEMX_SYNC, true);
  dv.setUint8(H.version, GEMX_VERSION);
  dv.setUint8(H.type, type);
  dv.setUint16(H.flags, 0, true);
  dv.setUint32(H.seq, seq, true);
  dv.setUint32(H.count, count, true);
  dv.setUint32(H.baseTimeNs, baseTimeNs % U32, true);
  dv.setUint32(H.baseTimeNs + 4, Math.floor(baseTimeNs / U32), true);
  dv.setUint32(H.payloadLength, payloadLength, true);
  dv.setUint32(H.headerCrc, crc32(frame.subarray(0, H.headerCrc)), true);
  return { frame, dv };
}

function sealFrame(frame: Uint8Array, dv: DataView): Uint8Array {
  const end = frame.length - 4;
  dv.setUint32(end, crc32(frame.subarray(0, end)), true);
  return frame;
}

/** dt[i] = round(t[i] - base) as u32 into the frame at byte offset `at` (4-aligned). */
function writeDeltas(frame: Uint8Array, dv: DataView, at: number, t: Float64Array, from: number, to: number, baseTimeNs: number): void {
  const n = to - from;
  const dt = LITTLE_ENDIAN_HOST ? new Uint32Array(frame.buffer, at, n) : null;
  for (let i = 0; i < n; i++) {
    const d = Math.round(t[from + i]! - baseTimeNs);
    if (!(d >= 0 && d < U32)) throw new RangeError(`gemx: record ${from + i} time ${t[from + i]} ns is not within [base, base + 2^32) of base ${baseTimeNs}`);
    if (dt) dt[i] = d;
    else dv.setUint32(at + 4 * i, d, true);
  }
}

function writeU16s(frame: Uint8Array, dv: DataView, at: number, src: Uint16Array, from: number, to: number): void {
  if (LITTLE_ENDIAN_HOST) new Uint16Array(frame.buffer, at, to - from).set(src.subarray(from, to));
  else for (let i = from; i < to; i++) dv.setUint16(at + 2 * (i - from), src[i]!, true);
}

function checkRange(what: string, n: number, from: number, to: number, max: number): void {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= n))
    throw new RangeError(`gemx: ${what} range [${from}, ${to}) outside batch of ${n}`);
  if (to - from > max) throw new RangeError(`gemx: ${to - from} ${what} exceed ${max} per frame (default payload limit)`);
}

/** An EVENTS frame with records [from, to) of `batch`; times are stored as u32 ns after baseTimeNs. */
export function encodeEventsFrame(seq: number, baseTimeNs: number, batch: EventBatch, from = 0, to = batch.n): Uint8Array {
  checkRange('events', batch.n, from, to, MAX_EVENTS_PER_FRAME);
  const n = to - from;
  const { frame, dv } = beginFrame(FrameType.EVENTS, seq, n, baseTimeNs, n * EVENT_RECORD_BYTES);
  const p = GEMX_HEADER_BYTES;
  writeDeltas(frame, dv, p, batch.t, from, to, baseTimeNs);
  writeU16s(frame, dv, p + 4 * n, batch.x, from, to);
  writeU16s(frame, dv, p + 6 * n, batch.y, from, to);
  writeU16s(frame, dv, p + 8 * n, batch.adc, from, to);
  return sealFrame(frame, dv);
}

/** A HITS frame with records [from, to) of `batch`. */
export function encodeHitsFrame(seq: number, baseTimeNs: number, batch: HitBatch, from = 0, to = batch.n): Uint8Array {
  checkRange('hits', batch.n, from, to, MAX_HITS_PER_FRAME);
  const n = to - from;
  const { frame, dv } = beginFrame(FrameType.HITS, seq, n, baseTimeNs, n * HIT_RECORD_BYTES);
  const p = GEMX_HEADER_BYTES;
  writeDeltas(frame, dv, p, batch.t, from, to, baseTimeNs);
  writeU16s(frame, dv, p + 4 * n, batch.strip, from, to);
  writeU16s(frame, dv, p + 6 * n, batch.adc, from, to);
  frame.set(batch.plane.subarray(from, to), p + 8 * n);
  return sealFrame(frame, dv);
}

export type StatusFields = Omit<GemxStatus, 'kind' | 'timeNs' | 'seq'>;

export function encodeStatusFrame(seq: number, timeNs: number, s: StatusFields): Uint8Array {
  if (s.thresholds.length > STATUS_THRESHOLDS) throw new RangeError(`gemx: at most ${STATUS_THRESHOLDS} thresholds`);
  const { frame, dv } = beginFrame(FrameType.STATUS, seq, 1, timeNs, STATUS_PAYLOAD_BYTES);
  const p = GEMX_HEADER_BYTES;
  dv.setUint32(p + 0, s.flags >>> 0, true);
  dv.setFloat32(p + 4, s.eventRateHz, true);
  dv.setFloat32(p + 8, s.hitRateHz, true);
  dv.setFloat32(p + 12, s.hvVolts, true);
  dv.setFloat32(p + 16, s.hvCurrentUa, true);
  dv.setFloat32(p + 20, s.temperatureC, true);
  dv.setUint32(p + 24, Math.min(s.deviceDropped, U32 - 1) >>> 0, true);
  for (let i = 0; i < STATUS_THRESHOLDS; i++) dv.setUint16(p + 28 + 2 * i, s.thresholds[i] ?? 0, true);
  // bytes 44..47 reserved, zero
  return sealFrame(frame, dv);
}

export function encodeEndFrame(seq: number, timeNs: number, framesSent: number, recordsSent: number): Uint8Array {
  const { frame, dv } = beginFrame(FrameType.END, seq, 1, timeNs, END_PAYLOAD_BYTES);
  const p = GEMX_HEADER_BYTES;
  dv.setUint32(p + 0, recordsSent % U32, true);
  dv.setUint32(p + 4, Math.floor(recordsSent / U32), true);
  dv.setUint32(p + 8, framesSent >>> 0, true);
  dv.setUint32(p + 12, 0, true);
  return sealFrame(frame, dv);
}

/** Wraps a foreign datagram (e.g. a gemroc-udp packet) so a recording can keep its boundaries. */
export function encodeDatagramFrame(seq: number, timeNs: number, tag: number, payload: Uint8Array): Uint8Array {
  const { frame, dv } = beginFrame(FrameType.DATAGRAM, seq, tag >>> 0, timeNs, payload.length);
  frame.set(payload, GEMX_HEADER_BYTES);
  return sealFrame(frame, dv);
}

/**
 * Splits a whole batch into EVENTS frames (seq, seq+1, ...), each at most `maxPerFrame` records and each
 * with base = floor(earliest time in the frame), so unsorted times and long spans both encode.
 */
export function encodeEventsFrames(firstSeq: number, batch: EventBatch, maxPerFrame = 8192): Uint8Array[] {
  return splitFrames(batch.t, batch.n, maxPerFrame, (i, base, from, to) => encodeEventsFrame((firstSeq + i) % U32, base, batch, from, to));
}

export function encodeHitsFrames(firstSeq: number, batch: HitBatch, maxPerFrame = 8192): Uint8Array[] {
  return splitFrames(batch.t, batch.n, maxPerFrame, (i, base, from, to) => encodeHitsFrame((firstSeq + i) % U32, base, batch, from, to));
}

function splitFrames(t: Float64Array, n: number, maxPer: number, encode: (i: number, base: number, from: number, to: number) => Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let from = 0;
  while (from < n) {
    let lo = t[from]!;
    let hi = lo;
    let to = from + 1;
    while (to < n && to - from < maxPer) {
      const v = t[to]!;
      const nlo = v < lo ? v : lo;
      const nhi = v > hi ? v : hi;
      if (nhi - Math.floor(nlo) >= U32 - 1) break;
      lo = nlo;
      hi = nhi;
      to++;
    }
    frames.push(encode(frames.length, Math.max(0, Math.floor(lo)), from, to));
    from = to;
  }
  return frames;
}
