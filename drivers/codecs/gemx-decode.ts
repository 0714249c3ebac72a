// Streaming gemx decoder: push() any chunk (split anywhere), get back the frames it completed.
// It never throws on input bytes: anything that is not a valid frame is skipped byte by byte up to the
// next sync word and counted. Frames are CRC-checked, sequence-accounted and unpacked into batches.
import type { EventBatch, HitBatch } from '../batches.js';
import { crc32 } from './crc32.js';
import {
  expectedPayloadLength, FrameType, GEMX_ABSOLUTE_MAX_PAYLOAD, GEMX_DEFAULT_MAX_PAYLOAD, GEMX_HEADER_BYTES,
  GEMX_OVERHEAD_BYTES, GEMX_VERSION, GEMX_HEADER_FIELDS as H, type FrameTypeCode, type GemxDatagram, type GemxEnd, type GemxStatus,
} from './gemx-format.js';
import { decodeEndPayload, decodeEventsPayload, decodeHitsPayload, decodeStatusPayload } from './gemx-payload.js';
import { SequenceTracker, zeroSequenceCounters, type SequenceCounters, type SequenceVerdict } from './sequence-tracker.js';

export type GemxItem = EventBatch | HitBatch | GemxStatus | GemxEnd | GemxDatagram;

export interface DecodedFrame {
  type: FrameTypeCode;
  seq: number;
  baseTimeNs: number;
  /** Record count from the header. */
  count: number;
  /** Stream byte offset of the frame's first byte (plus the decoder's startOffset). */
  offset: number;
  /** Whole frame length in bytes (header + payload + CRC). */
  length: number;
  order: SequenceVerdict;
  /** The unpacked payload; null when the decoder was made with decodePayload: false. */
  item: GemxItem | null;
  /** The frame's exact bytes (keepRaw: true): a view of the pushed chunk when possible, else a copy. */
  raw?: Uint8Array;
}

export interface GemxCounters extends SequenceCounters {
  bytesIn: number;
  /** Frames that passed both CRCs (duplicates included; they are counted, then dropped). */
  framesOk: number;
  hitsFrames: number;
  eventsFrames: number;
  statusFrames: number;
  endFrames: number;
  datagramFrames: number;
  events: number;
  hits: number;
  /** Frames whose payload CRC failed (their header was valid). */
  crcErrors: number;
  /** A sync word whose header CRC failed: garbage that looked like a frame start, or a damaged header. */
  headerErrors: number;
  /** Valid header, but unknown version/type or a record count that disagrees with the payload length. */
  malformed: number;
  /** Valid header announcing a payload above the decoder's limit. */
  oversize: number;
  /** An incomplete frame left when the stream ended. */
  truncated: number;
  /** Bytes that were not part of any accepted frame. */
  bytesSkipped: number;
}

export function zeroGemxCounters(): GemxCounters {
  return {
    bytesIn: 0, framesOk: 0, hitsFrames: 0, eventsFrames: 0, statusFrames: 0, endFrames: 0, datagramFrames: 0,
    events: 0, hits: 0, crcErrors: 0, headerErrors: 0, malformed: 0, oversize: 0, truncated: 0, bytesSkipped: 0,
    ...zeroSequenceCounters(),
  };
}

export interface GemxDecoderOptions {
  /** Counters to update (shared with a status publisher); a fresh set by default. */
  counters?: GemxCounters;
  /** Largest accepted payload in bytes (default 1 MiB). */
  maxPayload?: number;
  /** Attach each frame's exact bytes as `raw`. */
  keepRaw?: boolean;
  /** false: check framing and CRC only, leave `item` null (the file transport's pacing scan). */
  decodePayload?: boolean;
  /** Stream offset of the first pushed byte (a recording's header length, or a resume offset). */
  startOffset?: number;
}

const G = 0x47, E = 0x45, M = 0x4d, X = 0x58;

function rd32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

export class GemxDecoder {
  readonly counters: GemxCounters;
  private readonly maxPayload: number;
  private readonly keepRaw: boolean;
  private readonly decodePayload: boolean;
  private readonly seq: SequenceTracker;
  /** Bytes carried over between pushes; always starts at a sync candidate. */
  private pending = new Uint8Array(4096);
  private pendLen = 0;
  /** Stream offset of pending[0]. */
  private pendOffset: number;

  constructor(opts: GemxDecoderOptions = {}) {
    this.counters = opts.counters ?? zeroGemxCounters();
    this.maxPayload = Math.min(opts.maxPayload ?? GEMX_DEFAULT_MAX_PAYLOAD, GEMX_ABSOLUTE_MAX_PAYLOAD);
    this.keepRaw = opts.keepRaw ?? false;
    this.decodePayload = opts.decodePayload ?? true;
    this.seq = new SequenceTracker(this.counters);
    this.pendOffset = opts.startOffset ?? 0;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.pendLen;
  }

  /** Stream offset up to which every byte has been accounted for (frames delivered or bytes skipped). */
  get consumedOffset(): number {
    return this.pendOffset;
  }

  /** Forget sequence history (call on reconnect: a new connection may restart its numbering). */
  resetSequence(): void {
    this.seq.reset();
  }

  push(chunk: Uint8Array): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    this.counters.bytesIn += chunk.length;
    let c = 0;
    // 1. Complete what is pending, copying as few bytes of the chunk as possible.
    while (this.pendLen > 0 && c < chunk.length) {
      if (this.pendLen < GEMX_HEADER_BYTES) {
        const take = Math.min(GEMX_HEADER_BYTES - this.pendLen, chunk.length - c);
        this.append(chunk, c, c + take);
        c += take;
        if (this.pendLen < GEMX_HEADER_BYTES) return out;
      }
      const total = this.frameTotalAt(this.pending, 0);
      if (total < 0) {
        // Not a valid header: no shortcut, scan pending + the rest of the chunk together.
        this.append(chunk, c, chunk.length);
        c = chunk.length;
        this.compact(this.parse(this.pending, 0, this.pendLen, this.pendOffset, false, out));
        return out;
      }
      const take = Math.min(total - this.pendLen, chunk.length - c);
      this.append(chunk, c, c + take);
      c += take;
      if (this.pendLen < total) return out;
      this.compact(this.parse(this.pending, 0, this.pendLen, this.pendOffset, false, out));
    }
    if (c >= chunk.length) return out;
    // 2. Nothing pending: decode straight from the chunk (frames' raw bytes are views of it).
    const chunkOffset = this.pendOffset; // pending is empty, so the stream position is here
    const p = this.parse(chunk, c, chunk.length, chunkOffset - c, true, out);
    this.pendOffset = chunkOffset - c + p;
    this.append(chunk, p, chunk.length);
    return out;
  }

  /** The stream ended: recover any complete frames behind an incomplete one, count what is left. */
  end(): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    while (this.pendLen > 0) {
      const p = this.parse(this.pending, 0, this.pendLen, this.pendOffset, false, out);
      if (p >= this.pendLen) { this.compact(p); break; }
      // parse stopped at p: an incomplete frame, or fewer than 4 bytes
      if (this.pendLen - p >= GEMX_HEADER_BYTES && this.frameTotalAt(this.pending, p) > 0) this.counters.truncated++;
      this.counters.bytesSkipped++;
      this.compact(p + 1);
    }
    return out;
  }

  private append(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    if (this.pendLen + n > this.pending.length) {
      const grown = new Uint8Array(Math.max(this.pending.length * 2, this.pendLen + n));
      grown.set(this.pending.subarray(0, this.pendLen));
      this.pending = grown;
    }
    this.pending.set(src.subarray(from, to), this.pendLen);
    this.pendLen += n;
  }

  /** Drops pending[0, p). */
  private compact(p: number): void {
    if (p <= 0) return;
    this.pending.copyWithin(0, p, this.pendLen);
    this.pendLen -= p;
    this.pendOffset += p;
  }

  /**
   * Full frame length if buf[at..] holds a sync word and a valid, acceptable header; -1 if not (the caller
   * counts why via checkHeader). Needs 32 bytes at `at`.
   */
  private frameTotalAt(buf: Uint8Array, at: number): number {
    if (buf[at] !== G || buf[at + 1] !== E || buf[at + 2] !== M || buf[at + 3] !== X) return -1;
    return this.checkHeader(buf, at, false);
  }

  /** Validates the header at `at`; returns the frame's total length or -1, counting the reason if `count`. */
  private checkHeader(buf: Uint8Array, at: number, count: boolean): number {
    const c = this.counters;
    if (crc32(buf.subarray(at, at + H.headerCrc)) !== rd32(buf, at + H.headerCrc)) {
      if (count) c.headerErrors++;
      return -1;
    }
    const type = buf[at + H.type]!;
    const countField = rd32(buf, at + H.count);
    const len = rd32(buf, at + H.payloadLength);
    if (buf[at + H.version] !== GEMX_VERSION || type < FrameType.HITS || type > FrameType.DATAGRAM) {
      if (count) c.malformed++;
      return -1;
    }
    if (len > this.maxPayload) {
      if (count) c.oversize++;
      return -1;
    }
    if (type !== FrameType.DATAGRAM && expectedPayloadLength(type, countField) !== len) {
      if (count) c.malformed++;
      return -1;
    }
    return GEMX_OVERHEAD_BYTES + len;
  }

  /**
   * Decodes every complete frame in buf[p, end); returns where it stopped (an incomplete frame, or < 4
   * bytes that may begin a sync word). `base` is the stream offset of buf[0].
   */
  private parse(buf: Uint8Array, p: number, end: number, base: number, direct: boolean, out: DecodedFrame[]): number {
    const c = this.counters;
    while (end - p >= 4) {
      if (buf[p] !== G || buf[p + 1] !== E || buf[p + 2] !== M || buf[p + 3] !== X) {
        let q = buf.indexOf(G, p + 1);
        if (q < 0 || q > end - 4) {
          // keep up to 3 trailing bytes: they may be the start of a sync word
          q = Math.max(p + 1, end - 3);
          while (q < end && buf[q] !== G) q++;
        }
        c.bytesSkipped += q - p;
        p = q;
        continue;
      }
      if (end - p < GEMX_HEADER_BYTES) break;
      const total = this.checkHeader(buf, p, true);
      if (total < 0) {
        c.bytesSkipped++;
        p++;
        continue;
      }
      if (end - p < total) break;
      const crcAt = p + total - 4;
      if (crc32(buf.subarray(p, crcAt)) !== rd32(buf, crcAt)) {
        c.crcErrors++;
        c.bytesSkipped++;
        p++; // resync inside: if this frame was cut short, the next frame starts within its length
        continue;
      }
      this.accept(buf, p, total, base, direct, out);
      p += total;
    }
    return p;
  }

  private accept(buf: Uint8Array, p: number, total: number, base: number, direct: boolean, out: DecodedFrame[]): void {
    const c = this.counters;
    const type = buf[p + H.type]! as FrameTypeCode;
    const seq = rd32(buf, p + H.seq);
    const count = rd32(buf, p + H.count);
    const baseTimeNs = rd32(buf, p + H.baseTimeNs) + rd32(buf, p + H.baseTimeNs + 4) * 0x1_0000_0000;
    c.framesOk++;
    const order = this.seq.observe(seq);
    if (type === FrameType.END) this.seq.reset(); // the sender starts numbering afresh after END
    if (order === 'duplicate') return;
    const at = p + GEMX_HEADER_BYTES;
    let item: GemxItem | null = null;
    switch (type) {
      case FrameType.EVENTS:
        c.eventsFrames++;
        c.events += count;
        if (this.decodePayload) item = decodeEventsPayload(buf, at, count, baseTimeNs);
        break;
      case FrameType.HITS:
        c.hitsFrames++;
        c.hits += count;
        if (this.decodePayload) item = decodeHitsPayload(buf, at, count, baseTimeNs);
        break;
      case FrameType.STATUS:
        c.statusFrames++;
        if (this.decodePayload) item = decodeStatusPayload(buf, at, seq, baseTimeNs);
        break;
      case FrameType.END:
        c.endFrames++;
        if (this.decodePayload) item = decodeEndPayload(buf, at, seq, baseTimeNs);
        break;
      case FrameType.DATAGRAM:
        c.datagramFrames++;
        if (this.decodePayload) item = { kind: 'datagram', timeNs: baseTimeNs, seq, tag: count, payload: buf.slice(at, p + total - 4) };
        break;
    }
    const frame: DecodedFrame = { type, seq, baseTimeNs, count, offset: base + p, length: total, order, item };
    if (this.keepRaw) frame.raw = direct ? buf.subarray(p, p + total) : buf.slice(p, p + total);
    out.push(frame);
  }
}
