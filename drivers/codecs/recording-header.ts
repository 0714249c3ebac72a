// The .gemx recording file header. A recording is this header followed by the raw gemx byte stream exactly
// as it arrived (frames, and any garbage between them), so replay reproduces the link bit for bit.
//
//   0   u8[8]  magic "GEMXREC" 0x1A (0x1A stops `type`-ing a binary to a terminal, catches text-mode mangling)
//   8   u16    format version (1)
//   10  u16    stream format: 0 = gemx frames, 1 = gemroc-udp datagrams wrapped in gemx DATAGRAM frames
//   12  u32    header length in bytes (the first frame starts here)
//   16  u64    start time, ns since the Unix epoch
//   24  u8[64] instrument id, UTF-8, zero-padded
//   88  u32    metadata JSON length L
//   92  u8[L]  metadata JSON (UTF-8): { config, source, software, ... }
//   92+L u32   CRC-32 of bytes [0, 92+L)
import { crc32 } from './crc32.js';

export const RECORDING_MAGIC = new Uint8Array([0x47, 0x45, 0x4d, 0x58, 0x52, 0x45, 0x43, 0x1a]); // "GEMXREC" 0x1A
export const RECORDING_VERSION = 1;
export const RECORDING_FIXED_BYTES = 92;
export const RECORDING_ID_BYTES = 64;
/** A header claiming more metadata than this is treated as corrupt. */
export const RECORDING_MAX_META_BYTES = 16 << 20;

export const StreamFormat = { GEMX: 0, GEMROC_UDP: 1 } as const;
export type StreamFormatCode = (typeof StreamFormat)[keyof typeof StreamFormat];

export interface RecordingMeta {
  /** The effective configuration when recording started. */
  config?: unknown;
  /** Transport URL the stream came from. */
  source?: string;
  software?: string;
  [k: string]: unknown;
}

export interface RecordingHeader {
  version: number;
  streamFormat: StreamFormatCode;
  /** Byte offset of the first frame. */
  headerLength: number;
  /** ns since the Unix epoch (bigint: epoch ns exceed 2^53). */
  startTimeNs: bigint;
  instrumentId: string;
  meta: RecordingMeta;
}

export function encodeRecordingHeader(h: { streamFormat?: StreamFormatCode; startTimeNs: bigint; instrumentId: string; meta: RecordingMeta }): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(h.meta));
  const id = new TextEncoder().encode(h.instrumentId);
  if (id.length > RECORDING_ID_BYTES) throw new RangeError(`recording: instrument id longer than ${RECORDING_ID_BYTES} bytes`);
  const total = RECORDING_FIXED_BYTES + json.length + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(RECORDING_MAGIC, 0);
  dv.setUint16(8, RECORDING_VERSION, true);
  dv.setUint16(10, h.streamFormat ?? StreamFormat.GEMX, true);
  dv.setUint32(12, total, true);
  dv.setBigUint64(16, h.startTimeNs, true);
  out.set(id, 24);
  dv.setUint32(88, json.length, true);
  out.set(json, RECORDING_FIXED_BYTES);
  dv.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

export type HeaderParse =
  | { ok: true; header: RecordingHeader }
  /** `need`: bytes required before the header can be parsed (the caller should read more). */
  | { ok: false; need: number; error?: undefined }
  | { ok: false; error: string; need?: undefined };

/** Parses a header from the start of `buf`; never throws. */
export function parseRecordingHeader(buf: Uint8Array): HeaderParse {
  if (buf.length < RECORDING_FIXED_BYTES) {
    for (let i = 0; i < Math.min(buf.length, 8); i++) if (buf[i] !== RECORDING_MAGIC[i]) return { ok: false, error: 'not a gemx recording (bad magic)' };
    return { ok: false, need: RECORDING_FIXED_BYTES };
  }
  for (let i = 0; i < 8; i++) if (buf[i] !== RECORDING_MAGIC[i]) return { ok: false, error: 'not a gemx recording (bad magic)' };
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const version = dv.getUint16(8, true);
  if (version !== RECORDING_VERSION) return { ok: false, error: `unsupported recording version ${version} (this build reads ${RECORDING_VERSION})` };
  const streamFormat = dv.getUint16(10, true);
  if (streamFormat !== StreamFormat.GEMX && streamFormat !== StreamFormat.GEMROC_UDP) return { ok: false, error: `unknown stream format ${streamFormat}` };
  const headerLength = dv.getUint32(12, true);
  const metaLength = dv.getUint32(88, true);
  if (metaLength > RECORDING_MAX_META_BYTES || headerLength !== RECORDING_FIXED_BYTES + metaLength + 4) return { ok: false, error: 'corrupt recording header (lengths disagree)' };
  if (buf.length < headerLength) return { ok: false, need: headerLength };
  if (crc32(buf.subarray(0, headerLength - 4)) !== dv.getUint32(headerLength - 4, true)) return { ok: false, error: 'corrupt recording header (CRC mismatch)' };
  const idBytes = buf.subarray(24, 24 + RECORDING_ID_BYTES);
  const idEnd = idBytes.indexOf(0);
  const instrumentId = new TextDecoder().decode(idEnd < 0 ? idBytes : idBytes.subarray(0, idEnd));
  let meta: RecordingMeta;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(buf.subarray(RECORDING_FIXED_BYTES, RECORDING_FIXED_BYTES + metaLength)));
    meta = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as RecordingMeta) : { value: parsed };
  } catch (e) {
    return { ok: false, error: `corrupt recording header (metadata JSON: ${(e as Error).message})` };
  }
  return { ok: true, header: { version, streamFormat: streamFormat as StreamFormatCode, headerLength, startTimeNs: dv.getBigUint64(16, true), instrumentId, meta } };
}
