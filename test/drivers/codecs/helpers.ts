// Builders shared by the codec tests: random batches and frame streams.
import fc from 'fast-check';
import { allocEventBatch, allocHitBatch, type EventBatch, type HitBatch } from '../../../drivers/batches.js';
import { encodeEventsFrame, encodeHitsFrame, encodeStatusFrame, encodeEndFrame } from '../../../drivers/codecs/gemx-encode.js';

export function eventBatch(rows: Array<[number, number, number, number]>): EventBatch {
  const b = allocEventBatch(rows.length);
  rows.forEach(([x, y, adc, t], i) => { b.x[i] = x; b.y[i] = y; b.adc[i] = adc; b.t[i] = t; });
  b.n = rows.length;
  return b;
}

export function hitBatch(rows: Array<[number, number, number, number]>): HitBatch {
  const b = allocHitBatch(rows.length);
  rows.forEach(([plane, strip, adc, t], i) => { b.plane[i] = plane; b.strip[i] = strip; b.adc[i] = adc; b.t[i] = t; });
  b.n = rows.length;
  return b;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** A plain, comparable view of an item (typed arrays as number arrays). */
export function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (ArrayBuffer.isView(x) ? Array.from(x as Uint8Array) : x)));
}

const row = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }));
const hitRow = fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }));
const base = fc.integer({ min: 0, max: 2 ** 40 });

/** One arbitrary frame spec: what was encoded, with the seq assigned later. */
export type FrameSpec =
  | { type: 'events'; base: number; rows: Array<[number, number, number, number]> }
  | { type: 'hits'; base: number; rows: Array<[number, number, number, number]> }
  | { type: 'status'; base: number; flags: number; temp: number; thresholds: number[] }
  | { type: 'end'; base: number; frames: number; records: number };

export const frameSpec: fc.Arbitrary<FrameSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('events' as const), base, rows: fc.array(row, { maxLength: 40 }) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('hits' as const), base, rows: fc.array(hitRow, { maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('status' as const), base, flags: fc.integer({ min: 0, max: 7 }), temp: fc.integer({ min: -40, max: 80 }), thresholds: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }) }) },
);

export function encodeSpec(seq: number, s: FrameSpec): Uint8Array {
  switch (s.type) {
    case 'events': return encodeEventsFrame(seq, s.base, eventBatch(s.rows.map(([x, y, a, dt]) => [x, y, a, s.base + dt])));
    case 'hits': return encodeHitsFrame(seq, s.base, hitBatch(s.rows.map(([p, st, a, dt]) => [p, st, a, s.base + dt])));
    case 'status': return encodeStatusFrame(seq, s.base, { flags: s.flags, eventRateHz: 1000, hitRateHz: 2000, hvVolts: 3900, hvCurrentUa: 1.25, temperatureC: s.temp, deviceDropped: 0, thresholds: s.thresholds });
    case 'end': return encodeEndFrame(seq, s.base, s.frames, s.records);
  }
}

/** What decoding `s` must give back. */
export function expectedItem(seq: number, s: FrameSpec): unknown {
  switch (s.type) {
    case 'events': return { kind: 'events', n: s.rows.length, t: s.rows.map((r) => s.base + r[3]), x: s.rows.map((r) => r[0]), y: s.rows.map((r) => r[1]), adc: s.rows.map((r) => r[2]) };
    case 'hits': return { kind: 'hits', n: s.rows.length, t: s.rows.map((r) => s.base + r[3]), strip: s.rows.map((r) => r[1]), adc: s.rows.map((r) => r[2]), plane: s.rows.map((r) => r[0]) };
    case 'status': return { kind: 'status', timeNs: s.base, seq, flags: s.flags, eventRateHz: 1000, hitRateHz: 2000, hvVolts: 3900, hvCurrentUa: 1.25, temperatureC: s.temp, deviceDropped: 0, thresholds: s.thresholds };
    case 'end': return { kind: 'end', timeNs: s.base, seq, recordsSent: s.records, framesSent: s.frames };
  }
}
