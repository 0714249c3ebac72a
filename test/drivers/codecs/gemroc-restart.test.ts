// One GEMROC board restarting (power cycle, FPGA reset) mid-stream while the other runs on: its timestamp falls
// back to ~0 and must neither be read as a wrap nor leave its clock offset from the other board's. Packets are
// made with the project's encoder from simulated photons (X strips on board 0, Y strips on board 1, hits of one
// photon simultaneous at the source), so "aligned" means: hits simultaneous at the source decode to the same time.
import assert from 'node:assert/strict';
import { configSchema } from '../../../config/schema.js';
import type { EventBatch } from '../../../drivers/batches.js';
import { ALIGN_HITS, GemrocDecoder, type GemrocDecoderState } from '../../../drivers/codecs/gemroc-decode.js';
import { encodeGemrocPacket, GemrocEncoder } from '../../../drivers/codecs/gemroc-encode.js';
import type { GemxDatagram } from '../../../drivers/codecs/gemx-format.js';
import { packHitWord } from '../../../drivers/codecs/gemroc-format.js';
import { decodeFormationState, encodeFormationState } from '../../../pipelines/formation-state-file.js';
import { FrameEvents, type FrameEventsState } from '../../../pipelines/frame-events.js';
import { photonStream, toBatch, type Hit } from '../../pipelines/formation/helpers/hit-stream.js';

const defaults = configSchema.parse({});
const channelMap = defaults.detector.channelMap; // board b reads plane b
const TICK = 16384;
const RANGE_NS = 2 ** 31 * TICK; // ~9.8 h
const HOUR = 3600e9;

interface Scenario {
  /** Both boards' clocks read this (ns) at photon-stream time 0 (how long they had run). */
  startNs: number;
  /** Board 1 goes down at this photon-stream time (ns; null: never)... */
  restartAtNs: number | null;
  /** ...for this long (its hits meanwhile are lost), then its clock starts again from 0. */
  downNs?: number;
  /** Board 1's packet counter starts again from 0 at the restart (else it runs on). */
  counterReset?: boolean;
  /** Only board 1 sends (a board on its own). */
  board1Only?: boolean;
  photons?: number;
  seed?: number;
}

interface Packet {
  bytes: Uint8Array;
  board: number;
  /** The source (common clock) time of each hit, in packet order. */
  source: number[];
}

/** The packets a two-board readout sends for a photon stream: chunks of 40 hits, each board's hits of a chunk
 *  in one packet (board 0 first), board 1's clock and optionally its counter restarting as the scenario says. */
function packets(s: Scenario): Packet[] {
  const { hits } = photonStream({ photons: s.photons ?? 6000, ratePerSecond: 1e6, seed: s.seed ?? 5 });
  const q = (t: number) => 4 * Math.round(t / 4); // the encoder's 4 ns grid
  const before = new GemrocEncoder(channelMap);
  const after = s.counterReset ? new GemrocEncoder(channelMap) : before;
  const restartEnd = s.restartAtNs === null ? Infinity : s.restartAtNs + (s.downNs ?? 200_000);
  const out: Packet[] = [];
  for (let i = 0; i < hits.length; i += 40) {
    const chunk = hits.slice(i, i + 40).map((h) => ({ ...h, t: q(h.t) }));
    for (const board of [0, 1]) {
      if (board === 0 && s.board1Only) continue;
      const mine: Hit[] = [];
      const source: number[] = [];
      let enc = before;
      for (const h of chunk) {
        if (h.plane !== board) continue;
        const src = s.startNs + h.t;
        if (board === 1 && s.restartAtNs !== null && h.t >= s.restartAtNs) {
          if (h.t < restartEnd) continue; // the board is down
          mine.push({ ...h, t: h.t - restartEnd }); // its clock restarted from 0
          enc = after;
        } else mine.push({ ...h, t: src });
        source.push(src);
      }
      if (mine.length === 0) continue;
      for (const bytes of enc.encode(toBatch(mine))) out.push({ bytes, board, source });
    }
  }
  return out;
}

/** Decodes the packets; per board, decoded minus source time of every hit, in order. */
function decodeAll(ps: Packet[], d = new GemrocDecoder(channelMap), from = 0): { d: GemrocDecoder; err: number[][] } {
  const err: number[][] = [[], []];
  for (const p of ps.slice(from)) {
    const b = d.decode(p.bytes);
    assert.ok(b, 'every packet decodes');
    assert.equal(b.n, p.source.length);
    for (let i = 0; i < b.n; i++) err[p.board]!.push(b.t[i]! - p.source[i]!);
  }
  return { d, err };
}

/** Board 1's errors after its restart: the first `coarse` hits (pending fine alignment) and the rest. */
function afterRestart(err: number[], s: Scenario): number[] {
  const { hits } = photonStream({ photons: s.photons ?? 6000, ratePerSecond: 1e6, seed: s.seed ?? 5 });
  const beforeCount = hits.filter((h) => h.plane === 1 && Math.round(h.t / 4) * 4 < s.restartAtNs!).length;
  return err.slice(beforeCount);
}

describe('gemroc decoder: one board restarting', () => {
  for (const [name, startNs] of [['a short run (1 h: the fall looks like late hits)', 1 * HOUR], ['a run longer than half the range (6 h: the fall looks like a wrap)', 6 * HOUR]] as const) {
    for (const counterReset of [true, false]) {
      it(`board 1 restarts after ${name}, packet counter ${counterReset ? 'restarting too' : 'running on'}: its hits stay aligned with board 0's`, () => {
        const s: Scenario = { startNs, restartAtNs: 1_500_000, counterReset };
        const { d, err } = decodeAll(packets(s));
        assert.equal(d.counters.boardRestarts, 1);
        assert.deepEqual(d.counters.restartsByBoard.slice(0, 2), [0, 1]);
        assert.equal(d.counters.restartsUnaligned, 0);
        // board 0's times are as read; board 1's before the restart too
        assert.ok(err[0]!.every((e) => e === 0), 'board 0 decodes its own clock unchanged');
        const post = afterRestart(err[1]!, s);
        const pre = err[1]!.slice(0, err[1]!.length - post.length);
        assert.ok(pre.length > 1000 && pre.every((e) => e === 0));
        // After the restart: first the coarse re-alignment (continues from board 0's latest time: off by at most
        // a packet's span, here microseconds, not hours), then, once enough hits are in, the fine one (ns).
        assert.ok(post.length > 4 * ALIGN_HITS);
        assert.ok(post.every((e) => Math.abs(e) < 100_000), `coarse error up to ${Math.max(...post.map(Math.abs))} ns`);
        const fine = post.slice(ALIGN_HITS + 200); // the alignment runs after a packet that crosses ALIGN_HITS hits
        assert.ok(fine.every((e) => Math.abs(e) <= 20), `after fine alignment: error up to ${Math.max(...fine.map(Math.abs))} ns`);
      });
    }
  }

  it('without the re-alignment the same streams would be hours off (the scenario really restarts the clock)', () => {
    // the raw FPGA time of board 1's first hit after the restart is near 0, while board 0 reads hours
    const ps = packets({ startNs: 6 * HOUR, restartAtNs: 1_500_000 });
    const firstAfter = ps.find((p) => p.board === 1 && p.source[0]! > 6 * HOUR + 1_700_000)!;
    const dv = new DataView(firstAfter.bytes.buffer);
    const fpga = (dv.getUint32(20, true) & 0xfffff) * 2048 + (dv.getUint32(16, true) >>> 21);
    assert.ok(fpga * TICK < 1e6, `board 1 restarted near 0 (read ${fpga} ticks)`);
  });

  it('a board on its own that restarts continues from its own latest time', () => {
    const s: Scenario = { startNs: 2 * HOUR, restartAtNs: 1_500_000, board1Only: true, photons: 3000 };
    const ps = packets(s);
    const d = new GemrocDecoder(channelMap);
    let prev = -Infinity;
    let minStep = Infinity;
    for (const p of ps) {
      const b = d.decode(p.bytes)!;
      for (let i = 0; i < b.n; i++) {
        minStep = Math.min(minStep, b.t[i]! - prev);
        prev = Math.max(prev, b.t[i]!);
      }
    }
    assert.equal(d.counters.boardRestarts, 1);
    assert.equal(d.counters.restartsUnaligned, 0);
    assert.ok(minStep > -1000, `times keep (about) increasing: largest step back ${-minStep} ns`);
    assert.ok(prev > 2 * HOUR && prev < 2 * HOUR + 10e6, 'no jump of hours');
  });

  it('a true wrap of both boards is still a wrap (no restart), times unwrapped exactly', () => {
    const startNs = RANGE_NS - 2_000_000 - 4 * 1000; // the wrap falls inside the stream, on the 4 ns grid
    const { d, err } = decodeAll(packets({ startNs: 4 * Math.round(startNs / 4), restartAtNs: null }));
    assert.equal(d.counters.boardRestarts, 0);
    assert.ok(err[0]!.length > 1000 && err[1]!.length > 1000);
    assert.ok(err[0]!.every((e) => e === 0) && err[1]!.every((e) => e === 0), 'both boards unwrapped to the source time');
  });

  it('wrap or restart, told by where the previous time was and by the packet counter', () => {
    const WRAP = 2 ** 31;
    const word = (fpgaTs: number, channel = 1) => packHitWord({ adc: 100, fpgaTs, asicTs: 0, channel, asic: 0, pileup: false, overflow: false });
    const packet = (n: number, board: number, ts: number[]) => {
      const ws = ts.map((t) => word(t));
      return encodeGemrocPacket(n, board, ws.map((w) => w[0]), ws.map((w) => w[1]));
    };
    const t = (d: GemrocDecoder, p: Uint8Array) => d.decode(p)!.t[0]!;
    const min = Math.round(60e9 / TICK); // a minute in ticks
    const tenS = Math.round(10e9 / TICK);
    // from a minute below the top to 10 s past it, counter running on: a wrap (a board silent for a minute)
    let d = new GemrocDecoder(channelMap);
    t(d, packet(0, 0, [WRAP - min]));
    assert.equal(t(d, packet(1, 0, [tenS])), (WRAP + tenS) * TICK);
    assert.equal(d.counters.boardRestarts, 0);
    // the same, but the board's packet counter started again at 0: a restart (continues from its own time)
    d = new GemrocDecoder(channelMap);
    t(d, packet(500, 0, [WRAP - min]));
    assert.equal(t(d, packet(0, 0, [tenS])), (WRAP - min) * TICK);
    assert.equal(d.counters.boardRestarts, 1);
    // from the middle of the range to near 0 (more than half back), counter running on: a restart, not a wrap
    d = new GemrocDecoder(channelMap);
    t(d, packet(0, 0, [WRAP / 2 + 5 * min]));
    assert.equal(t(d, packet(1, 0, [100])), (WRAP / 2 + 5 * min) * TICK);
    assert.equal(d.counters.boardRestarts, 1);
    // a late packet (reordered) is never a restart, and a small step back in order is a late hit
    d = new GemrocDecoder(channelMap);
    t(d, packet(0, 0, [3 * min]));
    t(d, packet(2, 0, [4 * min]));
    assert.equal(t(d, packet(1, 0, [1000])), 1000 * TICK);
    assert.equal(t(d, packet(3, 0, [4 * min - 1000])), (4 * min - 1000) * TICK);
    assert.equal(d.counters.boardRestarts, 0);
    assert.equal(d.counters.reordered, 1);
  });

  it('a late packet from before the restart, arriving after it, neither counts as a second restart nor moves the board\'s clock', () => {
    const word = (fpgaTs: number) => packHitWord({ adc: 100, fpgaTs, asicTs: 0, channel: 1, asic: 0, pileup: false, overflow: false });
    const packet = (n: number, board: number, ts: number[]) => {
      const ws = ts.map((t) => word(t));
      return encodeGemrocPacket(n, board, ws.map((w) => w[0]), ws.map((w) => w[1]));
    };
    const hour = Math.round(HOUR / TICK);
    const d = new GemrocDecoder(channelMap);
    const t = (p: Uint8Array) => Array.from(d.decode(p)!.t);
    t(packet(0, 0, [hour, hour + 1]));
    t(packet(0, 1, [hour, hour + 1]));
    t(packet(1, 0, [hour + 2, hour + 3]));
    // board 1 restarts (counter running on); its packet 1, sent before the restart, is delayed past packet 2
    const first = t(packet(2, 1, [10, 11]));
    assert.equal(first[0], (hour + 3) * TICK, 'coarse re-alignment to board 0\'s latest time');
    t(packet(1, 1, [hour + 2, hour + 3]));
    assert.equal(d.counters.reordered, 1);
    // the board's next packet continues its new clock
    assert.deepEqual(t(packet(3, 1, [12, 13])), [first[0]! + 2 * TICK, first[0]! + 3 * TICK]);
    assert.equal(d.counters.boardRestarts, 1, 'one restart');
    // nor does its (future-looking) time become board 1's latest: board 0 restarting now continues from board 1's real time
    assert.deepEqual(t(packet(2, 0, [5])), [first[0]! + 3 * TICK]);
    assert.equal(d.counters.boardRestarts, 2);
  });

  it('decoder state taken mid-alignment and restored (through the checkpoint file) decodes the rest identically', () => {
    const s: Scenario = { startNs: 6 * HOUR, restartAtNs: 1_500_000, counterReset: true };
    const ps = packets(s);
    const whole = decodeAll(ps);
    const roundTrip = (g: GemrocDecoderState): GemrocDecoderState => {
      const state: FrameEventsState = { counts: { eventFrames: 0, hitFrames: 0, statusFrames: 0, endFrames: 0, datagramFrames: 0, eventsOut: 0 }, former: null, gemroc: g };
      return decodeFormationState(encodeFormationState({ state, recordingOffset: 1, configKey: 2 }), 'test').state.gemroc!;
    };
    const restartPacket = ps.findIndex((p) => p.board === 1 && p.source[0]! >= 6 * HOUR + 1_700_000);
    for (const cut of [restartPacket - 3, restartPacket + 1, restartPacket + 5, restartPacket + 12, restartPacket + 40]) {
      const first = decodeAll(ps.slice(0, cut));
      const restored = new GemrocDecoder(channelMap);
      restored.restore(roundTrip(first.d.snapshot()));
      const rest = decodeAll(ps, restored, cut);
      assert.deepEqual([first.err[0]!.concat(rest.err[0]!), first.err[1]!.concat(rest.err[1]!)], whole.err, `cut before packet ${cut}`);
      assert.deepEqual(rest.d.counters, whole.d.counters);
    }
  });

  it('a checkpoint written before restarts were handled (no restart fields) still loads and decodes on', () => {
    const s: Scenario = { startNs: 1 * HOUR, restartAtNs: 1_500_000 };
    const ps = packets(s);
    const whole = decodeAll(ps);
    const cut = 30; // well before the restart (the recent-hit ring refills long before it)
    const first = decodeAll(ps.slice(0, cut));
    const g = first.d.snapshot();
    const { boardRestarts: _a, restartsByBoard: _b, restartsUnaligned: _c, ...oldCounters } = g.counters;
    const old = { counters: oldCounters, lastFpga: g.lastFpga, fpgaEpoch: g.fpgaEpoch, trackers: g.trackers };
    const state = { counts: { eventFrames: 0, hitFrames: 0, statusFrames: 0, endFrames: 0, datagramFrames: 0, eventsOut: 0 }, former: null, gemroc: old } as unknown as FrameEventsState;
    const loaded = decodeFormationState(encodeFormationState({ state, recordingOffset: 1, configKey: 2 }), 'old').state.gemroc!;
    assert.equal(loaded.offsetNs, undefined);
    assert.equal(loaded.counters.boardRestarts, 0);
    const restored = new GemrocDecoder(channelMap);
    restored.restore(loaded);
    const rest = decodeAll(ps, restored, cut);
    assert.deepEqual([first.err[0]!.concat(rest.err[0]!), first.err[1]!.concat(rest.err[1]!)], whole.err);
    assert.equal(rest.d.counters.boardRestarts, 1);
  });

  it('end to end: events still form across the two boards after board 1 restarts', () => {
    const cfg = { formation: defaults.formation, detector: { ...defaults.detector, stripsPerPlane: 128, width: 100, height: 100 } };
    const events = (s: Scenario): number[] => {
      const fe = new FrameEvents(cfg);
      const out: EventBatch[] = [];
      packets(s).forEach((p, i) => {
        const item: GemxDatagram = { kind: 'datagram', timeNs: 0, seq: i, tag: 0, payload: p.bytes };
        const ev = fe.accept(item);
        if (ev) out.push({ ...ev, t: ev.t.slice() });
      });
      const last = fe.flush();
      if (last) out.push(last);
      return out.flatMap((b) => Array.from(b.t.subarray(0, b.n)));
    };
    const startNs = 6 * HOUR;
    const s: Scenario = { startNs, restartAtNs: 1_500_000, counterReset: true, photons: 8000 };
    const later = (ts: number[]) => ts.filter((t) => t > startNs + 3_000_000 && t < startNs + 7_000_000).length; // well after the restart
    const withRestart = later(events(s));
    const without = later(events({ ...s, restartAtNs: null }));
    assert.ok(without > 2000, `baseline forms events (${without})`);
    assert.ok(withRestart >= 0.95 * without, `after the restart ${withRestart} events, without a restart ${without}`);
  });
});
