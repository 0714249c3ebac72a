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
const BOARDS = GEMROC_BOARD_MASK + 1;

// Board restarts (power cycle, FPGA reset): the board's timestamp falls back to ~0 while the other boards'
// clocks run on. Why these numbers, see the comment in decode() and docs/protocol.md "Board restarts".
/** A step back of the first hit of an in-order packet by more than this (~1 s, formation.clockResetNs's default)
 *  is a wrap or a restart; less is a late hit (readout disorder is microseconds, UDP reordering milliseconds). */
export const RESTART_BACK_TICKS = Math.ceil(1e9 / FPGA_TICK_NS);
/** The same when the board's packet counter restarted too (independent evidence: ~1 ms is enough). */
export const RESTART_BACK_TICKS_COUNTER_RESET = 64;
/** A step back is a wrap only when the time it skips across the top of the 31-bit range is at most this
 *  (2^25 ticks, ~9.2 min): a wrap comes from near the top, a restart lands near 0 from anywhere. */
export const WRAP_GAP_TICKS = 2 ** 25;
/** Recent hit times (all boards, arrival order) kept for re-aligning a restarted board by coincidences. */
export const RECENT_HITS = 2048;
/** A restarted board's hits per coincidence alignment attempt; attempts after 1, 2, 3, 4 times this many. */
export const ALIGN_HITS = 256;
const ALIGN_ATTEMPTS = 4;
/** Histogram bin of the cross-board time differences (ns); the peak is looked for over 3 bins. */
const ALIGN_BIN_NS = 64;

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
  /** Board restarts (its timestamp fell back to ~0: not a wrap): the board was re-aligned to the others. */
  boardRestarts: number;
  /** Restarts per board id. */
  restartsByBoard: number[];
  /** Restarts whose fine re-alignment (cross-board coincidences) found no clear peak: the board keeps the
   *  coarse offset (its times continue from the other boards' latest time, off by up to a packet's span). */
  restartsUnaligned: number;
}

export function zeroGemrocCounters(): GemrocCounters {
  return { datagrams: 0, packetsOk: 0, badLength: 0, badHitCount: 0, hits: 0, unmapped: 0, pileup: 0, overflow: 0, packetsByBoard: new Array(16).fill(0), lostByBoard: new Array(16).fill(0), boardRestarts: 0, restartsByBoard: new Array(16).fill(0), restartsUnaligned: 0, ...zeroSequenceCounters() };
}

/**
 * What decoding depends on besides the packet (checkpoints): per board the timestamp unwrap (latest FPGA time,
 * wrap count) and the packet-number history that tells a duplicate from a late packet; the restart
 * re-alignment (per board offset, latest time, pending alignment; the recent hit times); and the counters.
 * The restart fields are optional: checkpoints made before restarts were handled lack them and load as
 * "no board ever restarted" (offsets 0, no recent hits, nothing aligning).
 */
export interface GemrocDecoderState {
  counters: GemrocCounters;
  lastFpga: Float64Array;
  fpgaEpoch: Float64Array;
  /** One per board id, in board order. */
  trackers: Array<{ last: number; seen: Uint8Array }>;
  /** Per board: ns added to its unwrapped time (0 until it restarts). */
  offsetNs?: Float64Array | undefined;
  /** Per board: its latest decoded time (ns; -Infinity: none yet). */
  latestNs?: Float64Array | undefined;
  /** Per board: the `recent.written` count at its restart while its fine alignment is pending, else -1. */
  alignSince?: Float64Array | undefined;
  /** Per board: hits decoded since its restart while its alignment is pending. */
  alignHits?: Float64Array | undefined;
  /** Ring of the last RECENT_HITS decoded hits (time, board), slot = index mod RECENT_HITS; `written` counts all. */
  recent?: { t: Float64Array; board: Uint8Array; written: number } | undefined;
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
  /** Restart re-alignment, per board: offset (ns), latest decoded time, pending alignment (see the state). */
  private readonly offsetNs = new Float64Array(BOARDS);
  private readonly latestNs = new Float64Array(BOARDS).fill(-Infinity);
  private readonly alignSince = new Float64Array(BOARDS).fill(-1);
  private readonly alignHits = new Float64Array(BOARDS);
  private readonly recentT = new Float64Array(RECENT_HITS);
  private readonly recentBoard = new Uint8Array(RECENT_HITS);
  private recentWritten = 0;

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
      counters: { ...c, packetsByBoard: [...c.packetsByBoard], lostByBoard: [...c.lostByBoard], restartsByBoard: [...c.restartsByBoard] },
      lastFpga: this.lastFpga.slice(),
      fpgaEpoch: this.fpgaEpoch.slice(),
      trackers: this.trackers.map((t) => t.snapshot()),
      offsetNs: this.offsetNs.slice(),
      latestNs: this.latestNs.slice(),
      alignSince: this.alignSince.slice(),
      alignHits: this.alignHits.slice(),
      recent: { t: this.recentT.slice(), board: this.recentBoard.slice(), written: this.recentWritten },
    };
  }

  /** Takes a snapshot's state; the counters object is updated in place (the trackers add into it). */
  restore(s: GemrocDecoderState): void {
    const boards = GEMROC_BOARD_MASK + 1;
    if (s.lastFpga.length !== boards || s.fpgaEpoch.length !== boards || s.trackers.length !== boards)
      throw new Error(`gemroc decoder state: not ${boards} boards`);
    for (const [name, a] of [['offsetNs', s.offsetNs], ['latestNs', s.latestNs], ['alignSince', s.alignSince], ['alignHits', s.alignHits]] as const)
      if (a && a.length !== boards) throw new Error(`gemroc decoder state: ${name} not ${boards} boards`);
    if (s.recent && (s.recent.t.length !== RECENT_HITS || s.recent.board.length !== RECENT_HITS))
      throw new Error(`gemroc decoder state: recent hits not ${RECENT_HITS}`);
    this.trackers.forEach((t, b) => t.restore(s.trackers[b]!));
    this.lastFpga.set(s.lastFpga);
    this.fpgaEpoch.set(s.fpgaEpoch);
    // A checkpoint from before restarts were handled: no board restarted, each board's latest time is
    // (about: without the ASIC part) its unwrapped latest FPGA time, nothing pending, no recent hits.
    this.offsetNs.set(s.offsetNs ?? new Float64Array(boards));
    if (s.latestNs) this.latestNs.set(s.latestNs);
    else for (let b = 0; b < boards; b++) this.latestNs[b] = s.lastFpga[b]! < 0 ? -Infinity : (s.fpgaEpoch[b]! * FPGA_RANGE + s.lastFpga[b]!) * FPGA_TICK_NS;
    this.alignSince.set(s.alignSince ?? new Float64Array(boards).fill(-1));
    this.alignHits.set(s.alignHits ?? new Float64Array(boards));
    this.recentT.set(s.recent?.t ?? new Float64Array(RECENT_HITS));
    this.recentBoard.set(s.recent?.board ?? new Uint8Array(RECENT_HITS));
    this.recentWritten = s.recent?.written ?? 0;
    const sc = s.counters;
    Object.assign(this.counters, sc, {
      packetsByBoard: [...sc.packetsByBoard], lostByBoard: [...sc.lostByBoard],
      boardRestarts: sc.boardRestarts ?? 0, restartsByBoard: sc.restartsByBoard ? [...sc.restartsByBoard] : new Array(16).fill(0), restartsUnaligned: sc.restartsUnaligned ?? 0,
    });
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
    //
    // A board restart (power cycle, FPGA reset) also steps its timestamp back, to ~0, from wherever it was,
    // while the other boards' clocks run on. Read as a wrap (it had run > 4.9 h) its times would jump ~9.8 h
    // ahead; read as late hits (shorter run) they would fall behind; either way its hits never again match the
    // other boards' in time. So the first hit of an in-order packet (a restart happens between packets: a
    // reset clears the board's buffer; a 'reordered' packet is a late one, never a restart) that steps back
    // by more than RESTART_BACK_TICKS (~1 s; RESTART_BACK_TICKS_COUNTER_RESET when the board's packet counter
    // restarted as well) is
    //  - a wrap when the board's counter did not restart and the time skipped across the top of the range,
    //    (2^31 - last) + fpga, is at most WRAP_GAP_TICKS (~9.2 min): a wrap comes from near the top;
    //  - else a restart: the board starts a new epoch 0 with an offset that puts this hit at the latest time of
    //    the other boards (its own latest when it is alone), then the offset is refined by cross-board
    //    coincidences (align()). Which way a restart within ~9 min below the top (without a counter restart)
    //    goes cannot be told from timestamps: it is read as a wrap (docs/protocol.md "Board restarts").
    // Hits after the first, and hits of reordered packets, follow the wrap rules above unchanged.
    const board = info.board;
    let last = this.lastFpga[board]!;
    let epoch = this.fpgaEpoch[board]!;
    let off = this.offsetNs[board]!;
    const backLimit = verdict === 'reset' ? RESTART_BACK_TICKS_COUNTER_RESET : RESTART_BACK_TICKS;
    const late = verdict === 'reordered';
    const recentT = this.recentT;
    const recentBoard = this.recentBoard;
    let w = this.recentWritten;
    let latest = -Infinity;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const at = GEMROC_HITS_AT + 8 * i;
      const lo = dv.getUint32(at, true);
      const hi = dv.getUint32(at + 4, true);
      const fpga = (hi & 0xfffff) * 2048 + (lo >>> 21);
      let ep = epoch;
      if (last < 0) last = fpga;
      else if (i === 0 && fpga < last - backLimit && !late && (verdict === 'reset' || FPGA_RANGE - last + fpga > WRAP_GAP_TICKS)) {
        off = this.restart(board, fpga);
        ep = epoch = 0;
        last = fpga;
      }
      else if (fpga < last - FPGA_HALF_RANGE) ep = ++epoch, last = fpga;
      else if (fpga > last + FPGA_HALF_RANGE) {
        if (epoch > 0) ep = epoch - 1;
        else if (!late) last = fpga; // no wrap seen yet: the times are as read (docs/protocol.md), nothing to undo
      }
      // A reordered (late) packet never moves the board's clock on: one sent before a restart and delivered
      // after it would otherwise set `last` back to the old clock, and the board's next packet would be
      // taken for a second restart (re-aligned coarsely again, counted twice).
      else if (fpga > last && !late) last = fpga;
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
      const t = (ep * FPGA_RANGE + fpga) * FPGA_TICK_NS + ((lo >>> 9) & 0xfff) * ASIC_TICK_NS + off;
      out.plane[k] = plane;
      out.strip[k] = mapStrip[idx]!;
      out.adc[k] = hi >>> 20;
      out.t[k] = t;
      if (t > latest) latest = t;
      recentT[w & (RECENT_HITS - 1)] = t;
      recentBoard[w & (RECENT_HITS - 1)] = board;
      w++;
      k++;
    }
    this.recentWritten = w;
    this.lastFpga[board] = last;
    this.fpgaEpoch[board] = epoch;
    if (!late && latest > this.latestNs[board]!) this.latestNs[board] = latest;
    if (this.alignSince[board]! >= 0) {
      const before = this.alignHits[board]!;
      this.alignHits[board] = before + k;
      if (Math.floor(before / ALIGN_HITS) < Math.floor((before + k) / ALIGN_HITS)) this.align(board);
    }
    c.hits += k;
    if (k === n) {
      out.n = k;
      return out;
    }
    // some hits were dropped: hand out views of exactly k entries
    return { kind: 'hits', n: k, plane: out.plane.subarray(0, k), strip: out.strip.subarray(0, k), adc: out.adc.subarray(0, k), t: out.t.subarray(0, k) };
  }

  /**
   * Board `board` restarted; its first hit after the restart reads FPGA time `fpga`. Returns its new offset:
   * the coarse re-alignment puts that hit at the latest time any other board has sent (its clock runs on,
   * and the boards share one clock: their hits are simultaneous), or at the board's own latest time when no
   * other board has sent anything. That is off by up to about a packet's time span (whichever board's
   * packet filled first), far more than formation.matchWindowNs, so when other boards are there the board
   * is also marked for fine alignment by coincidences (align()). A restart while another board's alignment
   * is pending ends that one: that board keeps its offset and serves as reference, so after several boards
   * restart together (a common reset) they at least agree with each other.
   */
  private restart(board: number, fpga: number): number {
    const c = this.counters;
    c.boardRestarts++;
    c.restartsByBoard[board]!++;
    let ref = -Infinity;
    for (let b = 0; b < BOARDS; b++) if (b !== board && this.latestNs[b]! > ref) ref = this.latestNs[b]!;
    const others = ref > -Infinity;
    if (!others) ref = Math.max(0, this.latestNs[board]!);
    const off = ref - fpga * FPGA_TICK_NS;
    this.offsetNs[board] = off;
    this.latestNs[board] = ref;
    this.alignSince.fill(-1);
    this.alignHits.fill(0);
    if (others) this.alignSince[board] = this.recentWritten;
    return off;
  }

  /**
   * Fine re-alignment of a restarted board: the boards share a clock, so hits of one photon on two boards
   * (X and Y strips) are simultaneous, and the differences between the restarted board's recent hit times
   * and the other boards' pile up at the residual offset while random pairs spread out. Takes the restarted
   * board's last ALIGN_HITS hits since its restart against all other boards' hits in the recent ring,
   * histograms the differences (ALIGN_BIN_NS bins), finds the densest 3 bins and, when that peak stands
   * well above the background (at least 16 pairs and 4x the mean of a 3-bin window plus 8), shifts the board
   * by the mean difference inside the peak. Its hits decoded before that keep the coarse offset (they rarely
   * form events); its later hits step by the correction (at most about a packet's span; formation drops the
   * few that fall behind as late). No clear peak after ALIGN_ATTEMPTS tries: the coarse offset stays, counted
   * in restartsUnaligned. Runs at most ALIGN_ATTEMPTS times per restart (about 0.5 M differences each).
   */
  private align(board: number): void {
    const w = this.recentWritten;
    const start = Math.max(0, w - RECENT_HITS, this.alignSince[board]!);
    const mine: number[] = [];
    for (let i = w - 1; i >= start && mine.length < ALIGN_HITS; i--) if (this.recentBoard[i & (RECENT_HITS - 1)] === board) mine.push(this.recentT[i & (RECENT_HITS - 1)]!);
    const theirs: number[] = [];
    for (let i = Math.max(0, w - RECENT_HITS); i < w; i++) if (this.recentBoard[i & (RECENT_HITS - 1)] !== board) theirs.push(this.recentT[i & (RECENT_HITS - 1)]!);
    const bins = new Map<number, number>();
    let lo = Infinity;
    let hi = -Infinity;
    for (const a of mine) {
      for (const o of theirs) {
        const d = o - a;
        const key = Math.floor(d / ALIGN_BIN_NS);
        bins.set(key, (bins.get(key) ?? 0) + 1);
        if (d < lo) lo = d;
        if (d > hi) hi = d;
      }
    }
    let best = 0;
    let bestKey = 0;
    for (const key of bins.keys()) {
      const n = (bins.get(key - 1) ?? 0) + bins.get(key)! + (bins.get(key + 1) ?? 0);
      if (n > best || (n === best && key < bestKey)) best = n, bestKey = key;
    }
    const pairs = mine.length * theirs.length;
    const background = pairs > 0 ? ((pairs - best) * 3 * ALIGN_BIN_NS) / (hi - lo + ALIGN_BIN_NS) : 0;
    if (pairs > 0 && best >= 16 && best >= 4 * background + 8) {
      const from = (bestKey - 1) * ALIGN_BIN_NS;
      const to = (bestKey + 2) * ALIGN_BIN_NS;
      let sum = 0;
      let count = 0;
      for (const a of mine) for (const o of theirs) {
        const d = o - a;
        if (d >= from && d < to) sum += d, count++;
      }
      const delta = Math.round(sum / count);
      this.offsetNs[board]! += delta;
      this.latestNs[board]! += delta;
      for (let i = start; i < w; i++) if (this.recentBoard[i & (RECENT_HITS - 1)] === board) this.recentT[i & (RECENT_HITS - 1)]! += delta;
      this.alignSince[board] = -1;
      this.alignHits[board] = 0;
    } else if (this.alignHits[board]! >= ALIGN_ATTEMPTS * ALIGN_HITS) {
      this.counters.restartsUnaligned++;
      this.alignSince[board] = -1;
      this.alignHits[board] = 0;
    }
  }
}

/** What operators see of a gemroc-udp stream: totals and, per board that sent, lost or restarted, its packets,
 *  the packets missing from its own counter and its restarts. */
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
  /** Board restarts (timestamp back to ~0, not a wrap): the board was re-aligned to the others. */
  boardRestarts: number;
  /** Restarts whose fine re-alignment by cross-board coincidences found no clear peak (coarse offset kept). */
  restartsUnaligned: number;
  boards: Array<{ board: number; packets: number; lost: number; restarts: number }>;
}

export function summarizeGemroc(c: GemrocCounters): GemrocSummary {
  const boards: GemrocSummary['boards'] = [];
  for (let b = 0; b < c.packetsByBoard.length; b++) {
    const packets = c.packetsByBoard[b] ?? 0;
    const lost = c.lostByBoard[b] ?? 0;
    const restarts = c.restartsByBoard[b] ?? 0;
    if (packets > 0 || lost > 0 || restarts > 0) boards.push({ board: b, packets, lost, restarts });
  }
  return {
    datagrams: c.datagrams, packets: c.packetsOk, hits: c.hits, unmapped: c.unmapped, badPackets: c.badLength + c.badHitCount,
    packetsLost: c.framesLost, duplicates: c.duplicates, reordered: c.reordered,
    boardRestarts: c.boardRestarts, restartsUnaligned: c.restartsUnaligned, boards,
  };
}
