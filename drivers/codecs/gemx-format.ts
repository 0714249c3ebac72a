// The gemx frame layout (docs/protocol.md is the byte-level reference; keep the two in step).
//
//   header (32 bytes, little-endian)                 payload (struct-of-arrays)   trailer
//   sync "GEMX" | ver | type | flags | seq | count |  dt[] | ... per type       | CRC-32 (header+payload)
//   | base ts u64 ns | payload length | header CRC-32 |
//
// The header has its own CRC so a false sync word inside garbage is rejected at once, without trusting
// its length field and waiting for bytes that never form a frame.

export const GEMX_SYNC = 0x584d4547; // bytes 47 45 4D 58 = "GEMX" read as a little-endian u32
export const GEMX_VERSION = 1;
export const GEMX_HEADER_BYTES = 32;
export const GEMX_TRAILER_BYTES = 4;
export const GEMX_OVERHEAD_BYTES = GEMX_HEADER_BYTES + GEMX_TRAILER_BYTES;
/** Default decoder limit; a frame announcing more is counted `oversize` and skipped. */
export const GEMX_DEFAULT_MAX_PAYLOAD = 1 << 20;
/** Hard ceiling of the format (the length field is u32, but no sane frame is this big). */
export const GEMX_ABSOLUTE_MAX_PAYLOAD = 1 << 26;

/** Header field offsets (bytes from the sync word). */
export const GEMX_HEADER_FIELDS = {
  sync: 0,
  version: 4,
  type: 5,
  flags: 6,
  seq: 8,
  count: 12,
  baseTimeNs: 16,
  payloadLength: 24,
  headerCrc: 28,
} as const;

/** Short alias of GEMX_HEADER_FIELDS (the emulator's framer imports it under this name). */
export const H = GEMX_HEADER_FIELDS;

export const FrameType = {
  HITS: 1,
  EVENTS: 2,
  STATUS: 3,
  END: 4,
  /** A wrapped datagram of another wire format (e.g. a gemroc-udp packet in a recording). */
  DATAGRAM: 5,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];
export const frameTypeName: Record<number, string> = { 1: 'HITS', 2: 'EVENTS', 3: 'STATUS', 4: 'END', 5: 'DATAGRAM' };

/** Bytes per record. EVENTS: dt u32 + x u16 + y u16 + adc u16. HITS: dt u32 + strip u16 + adc u16 + plane u8. */
export const EVENT_RECORD_BYTES = 10;
export const HIT_RECORD_BYTES = 9;
export const STATUS_PAYLOAD_BYTES = 48;
export const END_PAYLOAD_BYTES = 16;
/** Thresholds carried in a STATUS frame: 2 boards x 4 ASICs. */
export const STATUS_THRESHOLDS = 8;

/** Largest record counts that fit the default payload limit. */
export const MAX_EVENTS_PER_FRAME = Math.floor(GEMX_DEFAULT_MAX_PAYLOAD / EVENT_RECORD_BYTES);
export const MAX_HITS_PER_FRAME = Math.floor(GEMX_DEFAULT_MAX_PAYLOAD / HIT_RECORD_BYTES);

/** STATUS payload: the device's housekeeping at baseTimeNs. */
export interface GemxStatus {
  readonly kind: 'status';
  /** Device clock (ns) of the reading, from the frame header. */
  timeNs: number;
  seq: number;
  /** bit 0: HV on, bit 1: acquiring, bit 2: device buffer overflowed since last status. */
  flags: number;
  eventRateHz: number;
  hitRateHz: number;
  hvVolts: number;
  hvCurrentUa: number;
  temperatureC: number;
  /** Events the device itself dropped since it started (its buffers were full). */
  deviceDropped: number;
  /** Per-ASIC thresholds in ADC units (board * 4 + asic). */
  thresholds: number[];
}

export const StatusFlag = { HV_ON: 1, ACQUIRING: 2, OVERFLOW: 4 } as const;

/** END payload: what the sender says it sent, so the receiver can account for loss end to end. */
export interface GemxEnd {
  readonly kind: 'end';
  timeNs: number;
  seq: number;
  /** Data frames (HITS + EVENTS + STATUS + DATAGRAM) sent before this END. */
  framesSent: number;
  /** Records (events + hits) sent before this END. */
  recordsSent: number;
}

/** A wrapped foreign datagram; `tag` is the frame's count field (e.g. the UDP source port). */
export interface GemxDatagram {
  readonly kind: 'datagram';
  timeNs: number;
  seq: number;
  tag: number;
  payload: Uint8Array;
}

/** Per-type payload size check: record count and payload length must agree exactly. */
export function expectedPayloadLength(type: number, count: number): number {
  switch (type) {
    case FrameType.EVENTS: return count * EVENT_RECORD_BYTES;
    case FrameType.HITS: return count * HIT_RECORD_BYTES;
    case FrameType.STATUS: return count === 1 ? STATUS_PAYLOAD_BYTES : -1;
    case FrameType.END: return count === 1 ? END_PAYLOAD_BYTES : -1;
    default: return -1; // DATAGRAM: any length; checked by the caller
  }
}
