// gemroc-udp decoder: one datagram in, one HitBatch out (or null for a rejected/duplicate packet).
// Never throws on bad bytes; every rejection is counted. Each board's packet counter is tracked
// separately (the two boards' packets interleave on one socket).
import type { ChannelMapEntry } from '../../config/index.js';
import type { HitBatch } from '../batches.js';
import { GemrocChannelMap } from './gemroc-channel-map.js';
import { ASIC_TICK_NS, FPGA_TICK_NS, GEMROC_BOARD_MASK, GEMROC_HITS_AT, GEMROC_MAX_HITS, GEMROC_PACKET_BYTES, GEMROC_TRAILER_AT } from './gemroc-format.js';
import { SequenceTracker, zeroSequenceCounters, type SequenceCounters } from './sequence-tracker.js';

const FPGA_RANGE = 2 ** 31;
const FPGA_HALF_RANGE = 2 ** 30;

export interface GemrocCounters extends SequenceCounters {
  datagrams: number;
  packetsOk: number;
  /** Datagrams that are not 1458 bytes long. */
  badLength: number;
  /** Trailer hit count above 180. */
  badHitCount: number;
  hits: number;
  /** Hits whose (board, ASIC, channel) is not in the channel map (dropped). */
  unmapped: number;
  pileup: number;
  overflow: number;
  /** Packets per board id. */
  packetsByBoard: number[];
  /** Packets lost per board id (gaps in that board's own packet counter, net of late arrivals). */
  lostByBoard: number[];
}

export function zeroGemrocCounters(): GemrocCounters {
  return { datagrams: 0, packetsOk: 0, badLength: 0, badHitCount: 0, hits: 0, unmapped: 0, pileup: 0, overflow: 0, packetsByBoard: new Array(16).fill(0), lostByBoard: new Array(16).fill(0), ...zeroSequenceCounters() };
}

/**
 * What decoding depends on besides the packet (checkpoints): per board the timestamp unwrap (latest FPGA time,
 * wrap count) and the packet-number history that tells a duplicate from a late packet; and the counters.
 */
export interface GemrocDecoderState {
  counters: GemrocCounters;
  lastFpga: Float64Array;
  fpgaEpoch: Float64Array;
  /** One per board id, in board order. */
  trackers: Array<{ last: number; seen: Uint8Array }>;
}

export interface GemrocDecoderOptions {
  counters?: GemrocCounters;
  /** Drop hits flagged as ADC overflow (default: keep, counted). */
  dropOverflow?: boolean;
  /** Drop hits flagged as pile-up (default: keep, counted). */
  dropPileup?: boolean;
}

export interface GemrocPacketInfo {
  board: number;
  packetNumber: number;
  statusWord: { lo: number; hi: number };
  hitCount: number;
}

/** Reads the packet header fields; null when the datagram is not a gemroc packet. */
export function readGemrocHeader(d: Uint8Array): GemrocPacketInfo | null {
  if (d.length !== GEMROC_PACKET_BYTES) return null;
  const dv = new DataView(d.buffer, d.byteOffset, d.length);
  const lo = dv.getUint32(8, true);
  return {
    packetNumber: dv.getUint32(0, true) + dv.getUint32(4, true) * 0x1_0000_0000,
    statusWord: { lo, hi: dv.getUint32(12, true) },
    board: lo & GEMROC_BOARD_MASK,
    hitCount: dv.getUint16(GEMROC_TRAILER_AT, true) >>> 3,
  };
}

export class GemrocDecoder {
  readonly counters: GemrocCounters;
  private readonly map: GemrocChannelMap;
  private readonly trackers: SequenceTracker[] = [];
  private readonly dropOverflow: boolean;
  private readonly dropPileup: boolean;
  /** Per board: the latest FPGA timestamp seen (-1: none yet) and how often it wrapped (31 bits: ~9.8 h). */
  private readonly lastFpga = new Float64Array(GEMROC_BOARD_MASK + 1).fill(-1);
  private readonly fpgaEpoch = new Float64Array(GEMROC_BOARD_MASK + 1);

  constructor(channelMap: readonly ChannelMapEntry[] | GemrocChannelMap, opts: GemrocDecoderOptions = {}) {
    this.map = channelMap instanceof GemrocChannelMap ? channelMap : new GemrocChannelMap(channelMap);
    this.counters = opts.counters ?? zeroGemrocCounters();
    this.dropOverflow = opts.dropOverflow ?? false;
    this.dropPileup = opts.dropPileup ?? false;
    // every board's tracker adds into the one set of sequence counters
    for (let b = 0; b <= GEMROC_BOARD_MASK; b++) this.trackers.push(new SequenceTracker(this.counters, 2 ** 53));
  }

  /** A copy of the decoding state (checkpoints; never per packet). */
  snapshot(): GemrocDecoderState {
    const c = this.counters;
    return {
      counters: { ...c, packetsByBoard: [...c.packetsByBoard], lostByBoard: [...c.lostByBoard] },
      lastFpga: this.lastFpga.slice(),
      fpgaEpoch: this.fpgaEpoch.slice(),
      trackers: this.trackers.map((t) => t.snapshot()),
    };
  }

  /** Takes a snapshot's state; the counters object is updated in place (the trackers add into it). */
  restore(s: GemrocDecoderState): void {
    const boards = GEMROC_BOARD_MASK + 1;
    if (s.lastFpga.length !== boards || s.fpgaEpoch.length !== boards || s.trackers.length !== boards)
      throw new Error(`gemroc decoder state: not ${boards} boards`);
    this.trackers.forEach((t, b) => t.restore(s.trackers[b]!));
    this.lastFpga.set(s.lastFpga);
    this.fpgaEpoch.set(s.fpgaEpoch);
    Object.assign(this.counters, s.counters, { packetsByBoard: [...s.counters.packetsByBoard], lostByBoard: [...s.counters.lostByBoard] });
  }

  decode(d: Uint8Array): HitBatch | null {
    const c = this.counters;
    c.datagrams++;
    const info = readGemrocHeader(d);
    if (!info) {
      c.badLength++;
      return null;
    }
    if (info.hitCount > GEMROC_MAX_HITS) {
      c.badHitCount++;
      return null;
    }
    c.packetsOk++;
    c.packetsByBoard[info.board]!++;
    const lostBefore = c.framesLost;
    const verdict = this.trackers[info.board]!.observe(info.packetNumber);
    if (c.framesLost !== lostBefore) c.lostByBoard[info.board]! += c.framesLost - lostBefore;
    if (verdict === 'duplicate') return null;

    const n = info.hitCount;
    const out: HitBatch = { kind: 'hits', n: 0, plane: new Uint8Array(n), strip: new Uint16Array(n), adc: new Uint16Array(n), t: new Float64Array(n) };
    const dv = new DataView(d.buffer, d.byteOffset, d.length);
    const mapPlane = this.map.plane;
    const mapStrip = this.map.strip;
    const boardBase = info.board << 7;
    // The FPGA timestamp is 31 bits of 16.384 us: it wraps every ~9.8 h. Unwrapped per board, so times keep
    // increasing (event formation would otherwise drop every hit after the wrap as late): a step back by more
    // than half the range is a wrap; a step forward by more than half, once the clock has wrapped, is a late
    // hit from before the last wrap. Before the first wrap, times are FPGA_ts * 16384 + ASIC_ts * 4 as read.
    let last = this.lastFpga[info.board]!;
    let epoch = this.fpgaEpoch[info.board]!;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const at = GEMROC_HITS_AT + 8 * i;
      const lo = dv.getUint32(at, true);
      const hi = dv.getUint32(at + 4, true);
      const fpga = (hi & 0xfffff) * 2048 + (lo >>> 21);
      let ep = epoch;
      if (last < 0) last = fpga;
      else if (fpga < last - FPGA_HALF_RANGE) ep = ++epoch, last = fpga;
      else if (fpga > last + FPGA_HALF_RANGE) {
        if (epoch > 0) ep = epoch - 1;
        else last = fpga; // no wrap seen yet: the times are as read (docs/protocol.md), nothing to undo
      }
      else if (fpga > last) last = fpga;
      if (lo & 2) {
        c.pileup++;
        if (this.dropPileup) continue;
      }
      if (lo & 1) {
        c.overflow++;
        if (this.dropOverflow) continue;
      }
      const idx = boardBase | (((lo >>> 2) & 0x3) << 5) | ((lo >>> 4) & 0x1f);
      const plane = mapPlane[idx]!;
      if (plane === 255) {
        c.unmapped++;
        continue;
      }
      out.plane[k] = plane;
      out.strip[k] = mapStrip[idx]!;
      out.adc[k] = hi >>> 20;
      out.t[k] = (ep * FPGA_RANGE + fpga) * FPGA_TICK_NS + ((lo >>> 9) & 0xfff) * ASIC_TICK_NS;
      k++;
    }
    this.lastFpga[info.board] = last;
    this.fpgaEpoch[info.board] = epoch;
    c.hits += k;
    if (k === n) {
      out.n = k;
      return out;
    }
    // some hits were dropped: hand out views of exactly k entries
    return { kind: 'hits', n: k, plane: out.plane.subarray(0, k), strip: out.strip.subarray(0, k), adc: out.adc.subarray(0, k), t: out.t.subarray(0, k) };
  }
}

/** What operators see of a gemroc-udp stream: totals and, per board that sent or lost packets, its packets
 *  and the packets missing from its own counter. */
export interface GemrocSummary {
  datagrams: number;
  packets: number;
  hits: number;
  unmapped: number;
  /** Datagrams that are not gemroc packets (wrong length, impossible hit count). */
  badPackets: number;
  packetsLost: number;
  duplicates: number;
  reordered: number;
  boards: Array<{ board: number; packets: number; lost: number }>;
}

export function summarizeGemroc(c: GemrocCounters): GemrocSummary {
  const boards: GemrocSummary['boards'] = [];
  for (let b = 0; b < c.packetsByBoard.length; b++) {
    const packets = c.packetsByBoard[b] ?? 0;
    const lost = c.lostByBoard[b] ?? 0;
    if (packets > 0 || lost > 0) boards.push({ board: b, packets, lost });
  }
  return {
    datagrams: c.datagrams, packets: c.packetsOk, hits: c.hits, unmapped: c.unmapped, badPackets: c.badLength + c.badHitCount,
    packetsLost: c.framesLost, duplicates: c.duplicates, reordered: c.reordered, boards,
  };
}
