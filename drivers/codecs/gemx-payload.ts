// Payload unpacking for each gemx frame type. The payload is struct-of-arrays, so a frame decodes with one
// memcpy into a fresh, aligned buffer (the batch's x/y/adc/strip/plane arrays are views into it) plus one
// tight loop that turns u32 time offsets into absolute Float64 ns.
import type { EventBatch, HitBatch } from '../batches.js';
import { LITTLE_ENDIAN_HOST } from './endian.js';
import { STATUS_THRESHOLDS, type GemxEnd, type GemxStatus } from './gemx-format.js';

const U32 = 0x1_0000_0000;

/** Copies payload bytes into an aligned ArrayBuffer (wire bytes can sit at any offset of a chunk). */
function alignedCopy(buf: Uint8Array, at: number, length: number): ArrayBuffer {
  const ab = new ArrayBuffer(length);
  new Uint8Array(ab).set(buf.subarray(at, at + length));
  return ab;
}

function timesFrom(ab: ArrayBuffer, n: number, base: number): Float64Array {
  const t = new Float64Array(n);
  if (LITTLE_ENDIAN_HOST) {
    const dt = new Uint32Array(ab, 0, n);
    for (let i = 0; i < n; i++) t[i] = base + dt[i]!;
  } else {
    const dv = new DataView(ab);
    for (let i = 0; i < n; i++) t[i] = base + dv.getUint32(4 * i, true);
  }
  return t;
}

/** t = base + dt, reading the u32 dt array where it lies in the wire buffer (4-aligned, little-endian host). */
function timesInPlace(buf: Uint8Array, at: number, n: number, base: number): Float64Array {
  const t = new Float64Array(n);
  const dt = new Uint32Array(buf.buffer, buf.byteOffset + at, n);
  for (let i = 0; i < n; i++) t[i] = base + dt[i]!;
  return t;
}

function u16s(ab: ArrayBuffer, at: number, n: number): Uint16Array {
  if (LITTLE_ENDIAN_HOST) return new Uint16Array(ab, at, n);
  const dv = new DataView(ab);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getUint16(at + 2 * i, true);
  return out;
}

export function decodeEventsPayload(buf: Uint8Array, at: number, n: number, baseTimeNs: number): EventBatch {
  if (LITTLE_ENDIAN_HOST && ((buf.byteOffset + at) & 3) === 0) {
    // dt is aligned where it lies: read it in place and copy only x, y, adc (measured: ~30% faster)
    const t = timesInPlace(buf, at, n, baseTimeNs);
    const ab = alignedCopy(buf, at + 4 * n, 6 * n);
    return { kind: 'events', n, t, x: new Uint16Array(ab, 0, n), y: new Uint16Array(ab, 2 * n, n), adc: new Uint16Array(ab, 4 * n, n) };
  }
  const ab = alignedCopy(buf, at, n * 10);
  return { kind: 'events', n, t: timesFrom(ab, n, baseTimeNs), x: u16s(ab, 4 * n, n), y: u16s(ab, 6 * n, n), adc: u16s(ab, 8 * n, n) };
}

export function decodeHitsPayload(buf: Uint8Array, at: number, n: number, baseTimeNs: number): HitBatch {
  if (LITTLE_ENDIAN_HOST && ((buf.byteOffset + at) & 3) === 0) {
    const t = timesInPlace(buf, at, n, baseTimeNs);
    const ab = alignedCopy(buf, at + 4 * n, 5 * n);
    return { kind: 'hits', n, t, strip: new Uint16Array(ab, 0, n), adc: new Uint16Array(ab, 2 * n, n), plane: new Uint8Array(ab, 4 * n, n) };
  }
  const ab = alignedCopy(buf, at, n * 9);
  return { kind: 'hits', n, t: timesFrom(ab, n, baseTimeNs), strip: u16s(ab, 4 * n, n), adc: u16s(ab, 6 * n, n), plane: new Uint8Array(ab, 8 * n, n) };
}

export function decodeStatusPayload(buf: Uint8Array, at: number, seq: number, timeNs: number): GemxStatus {
  const dv = new DataView(buf.buffer, buf.byteOffset + at, 48);
  const thresholds: number[] = [];
  for (let i = 0; i < STATUS_THRESHOLDS; i++) thresholds.push(dv.getUint16(28 + 2 * i, true));
  return {
    kind: 'status',
    timeNs,
    seq,
    flags: dv.getUint32(0, true),
    eventRateHz: dv.getFloat32(4, true),
    hitRateHz: dv.getFloat32(8, true),
    hvVolts: dv.getFloat32(12, true),
    hvCurrentUa: dv.getFloat32(16, true),
    temperatureC: dv.getFloat32(20, true),
    deviceDropped: dv.getUint32(24, true),
    thresholds,
  };
}

export function decodeEndPayload(buf: Uint8Array, at: number, seq: number, timeNs: number): GemxEnd {
  const dv = new DataView(buf.buffer, buf.byteOffset + at, 16);
  return { kind: 'end', timeNs, seq, recordsSent: dv.getUint32(0, true) + dv.getUint32(4, true) * U32, framesSent: dv.getUint32(8, true) };
}
