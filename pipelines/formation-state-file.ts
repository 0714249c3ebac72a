// The formation-state sidecar of a cube checkpoint (cube.ckpt.formation): a FrameEventsState (event formation's
// pending hits and clusters, the gemroc decoder's per-board unwrap and packet history) with the recording
// offset it was taken at and a key of the configuration that made it.
//
//   offset  size  field
//   0       8     magic "GXRFFORM"
//   8       4     u32 version (1)
//   12      4     u32 JSON bytes J
//   16      8     i64 recordingOffset (must equal the paired cube checkpoint's)
//   24      4     u32 blob bytes B
//   28      4     u32 configKey (crc32 of the formation/detector configuration it was made with)
//   32      J     JSON (typed-json.ts): the state, typed arrays as references into the blob area
//   32+J'   B     blob area (J' = J rounded up to 8)
// Pairing with the cube checkpoint (its header records this file's length and crc32) is checked by the
// caller; here every structural problem throws FormationStateError.
import { z } from 'zod';
import type { FrameEventsState } from './frame-events.js';
import { decodeTypedJson, encodeTypedJson } from './typed-json.js';

const MAGIC = 'GXRFFORM';
const VERSION = 1;
const HEADER_BYTES = 32;

export class FormationStateError extends Error {
  constructor(file: string, reason: string) {
    super(`formation state ${file}: ${reason}`);
    this.name = 'FormationStateError';
  }
}

const count = z.number().int().nonnegative();
const f64 = z.instanceof(Float64Array);
const u16 = z.instanceof(Uint16Array);
const i32 = z.instanceof(Int32Array);
const u8 = z.instanceof(Uint8Array);

const planeSchema = z.strictObject({
  hits: z.strictObject({ t: f64, strip: u16, adc: u16 }),
  forcedCuts: count,
  clusters: count,
});
const queueSchema = z.strictObject({ tStart: f64, tEnd: f64, centroid: f64, charge: f64, span: i32, hits: i32, used: u8 });
const formerSchema = z.strictObject({
  times: f64,
  counters: z.strictObject({
    hitsIn: count, hitsBadPlane: count, hitsBadStrip: count, hitsLate: count, clustersX: count, clustersY: count, events: count,
    xOnly: count, yOnly: count, tooWide: count, tooLong: count, ratio: count, adcSaturated: count, forcedCuts: count,
    stalledSettles: count, clockResets: count,
  }),
  planes: z.tuple([planeSchema, planeSchema]),
  queues: z.tuple([queueSchema, queueSchema]),
});
const gemrocSchema = z.strictObject({
  counters: z.strictObject({
    datagrams: count, packetsOk: count, badLength: count, badHitCount: count, hits: count, unmapped: count, pileup: count,
    overflow: count, packetsByBoard: z.array(count), lostByBoard: z.array(count),
    seqGaps: count, framesLost: count, duplicates: count, reordered: count, seqResets: count,
    // board restart handling (absent in checkpoints written before it: no restart then)
    boardRestarts: count.default(0), restartsByBoard: z.array(count).default(() => new Array<number>(16).fill(0)), restartsUnaligned: count.default(0),
  }),
  lastFpga: f64,
  fpgaEpoch: f64,
  trackers: z.array(z.strictObject({ last: z.number(), seen: u8 })),
  offsetNs: f64.optional(),
  latestNs: f64.optional(),
  alignSince: f64.optional(),
  alignHits: f64.optional(),
  recent: z.strictObject({ t: f64, board: u8, written: count }).optional(),
});
const stateSchema = z.strictObject({
  counts: z.strictObject({ eventFrames: count, hitFrames: count, statusFrames: count, endFrames: count, datagramFrames: count, eventsOut: count }),
  former: formerSchema.nullable(),
  gemroc: gemrocSchema.nullable(),
});

export interface FormationStateFile {
  state: FrameEventsState;
  recordingOffset: number;
  configKey: number;
}

export function encodeFormationState(f: FormationStateFile): Uint8Array {
  const { json, blobs } = encodeTypedJson(f.state);
  const text = new TextEncoder().encode(json);
  const jsonPadded = (text.length + 7) & ~7;
  const out = new Uint8Array(HEADER_BYTES + jsonPadded + blobs.length);
  const v = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  v.setUint32(8, VERSION, true);
  v.setUint32(12, text.length, true);
  v.setBigInt64(16, BigInt(f.recordingOffset), true);
  v.setUint32(24, blobs.length, true);
  v.setUint32(28, f.configKey >>> 0, true);
  out.set(text, HEADER_BYTES);
  out.set(blobs, HEADER_BYTES + jsonPadded);
  return out;
}

export function decodeFormationState(bytes: Uint8Array, file: string): FormationStateFile {
  if (bytes.length < HEADER_BYTES) throw new FormationStateError(file, 'shorter than its header');
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) throw new FormationStateError(file, 'not a formation state (bad magic)');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(8, true);
  if (version !== VERSION) throw new FormationStateError(file, `version ${version} not supported (expected ${VERSION})`);
  const jsonBytes = v.getUint32(12, true);
  const blobBytes = v.getUint32(24, true);
  const jsonPadded = (jsonBytes + 7) & ~7;
  if (bytes.length !== HEADER_BYTES + jsonPadded + blobBytes) throw new FormationStateError(file, `size ${bytes.length} bytes, expected ${HEADER_BYTES + jsonPadded + blobBytes}`);
  let raw: unknown;
  try {
    const json = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + jsonBytes));
    raw = decodeTypedJson(json, bytes.subarray(HEADER_BYTES + jsonPadded));
  } catch (e) {
    throw new FormationStateError(file, (e as Error).message);
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) throw new FormationStateError(file, `unexpected content: ${parsed.error.issues[0]?.message ?? 'invalid'} at ${parsed.error.issues[0]?.path.join('.') ?? '?'}`);
  const state: FrameEventsState = parsed.data;
  return { state, recordingOffset: Number(v.getBigInt64(16, true)), configKey: v.getUint32(28, true) };
}
