import assert from 'node:assert/strict';
import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { ChannelMapEntry } from '../../../config/index.js';
import { GemrocDecoder, readGemrocHeader, zeroGemrocCounters } from '../../../drivers/codecs/gemroc-decode.js';
import { encodeGemrocPacket, GemrocEncoder } from '../../../drivers/codecs/gemroc-encode.js';
import { GEMROC_PACKET_BYTES, hitTimeNs, packHitWord, unpackHitWord } from '../../../drivers/codecs/gemroc-format.js';
import { decodeGemroc } from '../../../drivers/codecs/gemroc-rx.js';
import { hitBatch, plain } from './helpers.js';

const defaultMap: ChannelMapEntry[] = [];
for (let board = 0; board < 2; board++) for (let asic = 0; asic < 4; asic++) defaultMap.push({ board, asic, plane: board, firstStrip: asic * 32, step: 1 });

/** A 64-bit word as [lo, hi] from a BigInt (so the test's bit layout is independent of the code's). */
function halves(w: bigint): [number, number] {
  return [Number(w & 0xffffffffn), Number(w >> 32n)];
}

describe('gemroc-udp codec', () => {
  it('extracts every hit-word field exactly from crafted words', () => {
    // ADC 0xABC, FPGA ts 0x5A5A5A5A & 31 bits, ASIC ts 0x9C3, channel 0x15, ASIC 2, pile-up 1, overflow 0
    const fpga = 0x5a5a5a5a & 0x7fffffff;
    const w = (0xabcn << 52n) | (BigInt(fpga) << 21n) | (0x9c3n << 9n) | (0x15n << 4n) | (2n << 2n) | (1n << 1n);
    assert.equal(w & 0xfff0000000000000n, 0xabcn << 52n); // the masks from the readout's documentation
    assert.equal((w & 0x000fffffffe00000n) >> 21n, BigInt(fpga));
    const [lo, hi] = halves(w);
    assert.deepEqual(unpackHitWord(lo, hi), { adc: 0xabc, fpgaTs: fpga, asicTs: 0x9c3, channel: 0x15, asic: 2, pileup: true, overflow: false });
    assert.deepEqual(packHitWord(unpackHitWord(lo, hi)), [lo, hi]);
    // all ones: every field at its maximum
    const [l1, h1] = halves(0xffffffffffffffffn);
    assert.deepEqual(unpackHitWord(l1, h1), { adc: 0xfff, fpgaTs: 0x7fffffff, asicTs: 0xfff, channel: 31, asic: 3, pileup: true, overflow: true });
    assert.equal(hitTimeNs(3, 5), 3 * 16384 + 20);
  });

  it('pack/unpack round-trips any field values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xfff }), fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 0, max: 0xfff }), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.boolean(), (adc, fpgaTs, asicTs, channel, asic, pileup, overflow) => {
        const f = { adc, fpgaTs, asicTs, channel, asic, pileup, overflow };
        const [lo, hi] = packHitWord(f);
        assert.deepEqual(unpackHitWord(lo, hi), f);
        const big = (BigInt(hi) << 32n) | BigInt(lo);
        assert.equal(Number((big & 0xfff0000000000000n) >> 52n), adc);
        assert.equal(Number((big & 0x1ffe00n) >> 9n), asicTs);
      }),
    );
  });

  it('lays out the packet as documented: 1458 bytes, count in the top 13 bits of the trailer', () => {
    const [lo, hi] = packHitWord({ adc: 100, fpgaTs: 2, asicTs: 3, channel: 4, asic: 1, pileup: false, overflow: false });
    const p = encodeGemrocPacket(0x123456789, 1, [lo, lo], [hi, hi]);
    assert.equal(p.length, GEMROC_PACKET_BYTES);
    const dv = new DataView(p.buffer);
    assert.equal(dv.getBigUint64(0, true), 0x123456789n);
    assert.equal(dv.getBigUint64(8, true) & 0xfn, 1n);
    assert.equal(dv.getUint16(1456, true), 2 << 3);
    assert.deepEqual(readGemrocHeader(p), { packetNumber: 0x123456789, statusWord: { lo: 1, hi: 0 }, board: 1, hitCount: 2 });
  });

  it('maps (board, ASIC, channel) to (plane, strip) from the config, flipped connectors included', () => {
    const map: ChannelMapEntry[] = [{ board: 0, asic: 0, plane: 0, firstStrip: 10, step: 1 }, { board: 1, asic: 3, plane: 1, firstStrip: 100, step: -1 }];
    const words = [
      packHitWord({ adc: 7, fpgaTs: 1, asicTs: 1, channel: 5, asic: 0, pileup: false, overflow: false }),
      packHitWord({ adc: 8, fpgaTs: 1, asicTs: 2, channel: 2, asic: 1, pileup: false, overflow: true }), // ASIC 1 unmapped
    ];
    const d = new GemrocDecoder(map);
    const b0 = d.decode(encodeGemrocPacket(0, 0, words.map((w) => w[0]), words.map((w) => w[1])))!;
    assert.deepEqual(plain(b0), { kind: 'hits', n: 1, plane: [0], strip: [15], adc: [7], t: [16384 + 4] });
    const w1 = packHitWord({ adc: 9, fpgaTs: 0, asicTs: 10, channel: 7, asic: 3, pileup: true, overflow: false });
    const b1 = d.decode(encodeGemrocPacket(0, 1, [w1[0]], [w1[1]]))!;
    assert.deepEqual(plain(b1), { kind: 'hits', n: 1, plane: [1], strip: [93], adc: [9], t: [40] });
    assert.equal(d.counters.unmapped, 1);
    assert.equal(d.counters.overflow, 1);
    assert.equal(d.counters.pileup, 1);
    assert.deepEqual(d.counters.packetsByBoard.slice(0, 2), [1, 1]);
  });

  it('encoder -> decoder round-trips strip hits (times on the 4 ns grid)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 2 ** 30 })), { maxLength: 500 }), (rows) => {
        // in time order, as a board sends them (an in-order packet whose first hit steps back by more than ~1 s
        // is read as a board restart, gemroc-restart.test.ts)
        rows.sort((x, y) => x[3] - y[3]);
        const hits = hitBatch(rows.map(([p, s, a, t]) => [p, s, a, t * 4]));
        const enc = new GemrocEncoder(defaultMap);
        const packets = enc.encode(hits);
        const d = new GemrocDecoder(defaultMap);
        const got: Array<[number, number, number, number]> = [];
        for (const p of packets) {
          const b = d.decode(p)!;
          for (let i = 0; i < b.n; i++) got.push([b.plane[i]!, b.strip[i]!, b.adc[i]!, b.t[i]!]);
        }
        const want = rows.map(([p, s, a, t]) => [p, s, a, t * 4] as [number, number, number, number]);
        const key = (r: number[]) => r.join(',');
        assert.deepEqual(got.map(key).sort(), want.map(key).sort());
        assert.equal(d.counters.seqGaps + d.counters.duplicates, 0);
      }),
      { numRuns: 60 },
    );
  });

  it('tracks each board\'s packet counter separately: gap, duplicate, reordered', () => {
    const pk = (n: number, board: number) => encodeGemrocPacket(n, board, [], []);
    const d = new GemrocDecoder(defaultMap);
    const order = [pk(0, 0), pk(0, 1), pk(1, 0), pk(1, 1), pk(5, 0), pk(2, 1), pk(2, 1), pk(3, 0), pk(3, 1)];
    const results = order.map((p) => d.decode(p));
    assert.equal(results.filter((r) => r === null).length, 1); // the duplicate
    const c = d.counters;
    assert.equal(c.seqGaps, 1);
    assert.equal(c.framesLost, 3 - 1); // board 0: 2,3,4 missing; 3 arrived late
    assert.equal(c.reordered, 1);
    assert.equal(c.duplicates, 1);
    assert.equal(c.packetsOk, 9);
  });

  it('keeps times increasing across the 31-bit FPGA timestamp wrap (every ~9.8 h), per board; late hits keep their epoch', () => {
    const WRAP = 2 ** 31;
    const word = (fpgaTs: number, asicTs: number, channel: number) => packHitWord({ adc: 100, fpgaTs, asicTs, channel, asic: 0, pileup: false, overflow: false });
    const packet = (n: number, board: number, ws: Array<[number, number]>) => encodeGemrocPacket(n, board, ws.map((w) => w[0]), ws.map((w) => w[1]));
    const d = new GemrocDecoder(defaultMap);
    const times = (p: Uint8Array): number[] => Array.from(d.decode(p)!.t);
    // board 0 runs up to the wrap, and past it inside one packet
    assert.deepEqual(times(packet(0, 0, [word(WRAP - 3, 0, 1), word(WRAP - 1, 5, 2), word(2, 1, 3)])),
      [hitTimeNs(WRAP - 3, 0), hitTimeNs(WRAP - 1, 5), hitTimeNs(WRAP + 2, 1)]);
    // board 1 has not wrapped yet: its own clock, its own epoch
    assert.deepEqual(times(packet(0, 1, [word(WRAP - 2, 0, 4)])), [hitTimeNs(WRAP - 2, 0)]);
    // board 0 carries on after the wrap; a late hit from before the wrap keeps the old epoch
    assert.deepEqual(times(packet(1, 0, [word(1000, 0, 5), word(WRAP - 1, 7, 6)])), [hitTimeNs(WRAP + 1000, 0), hitTimeNs(WRAP - 1, 7)]);
    // board 1 wraps now
    assert.deepEqual(times(packet(1, 1, [word(5, 0, 7)])), [hitTimeNs(WRAP + 5, 0)]);
    // and board 0 runs on and wraps a second time
    assert.deepEqual(times(packet(2, 0, [word(WRAP / 2, 0, 8), word(WRAP - 10, 0, 9), word(3, 0, 10)])),
      [hitTimeNs(WRAP + WRAP / 2, 0), hitTimeNs(2 * WRAP - 10, 0), hitTimeNs(2 * WRAP + 3, 0)]);
  });

  it('never throws on bad datagrams and counts them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), (bytes) => {
        const d = new GemrocDecoder(defaultMap);
        d.decode(bytes);
        const c = d.counters;
        assert.equal(c.badLength + c.badHitCount + c.packetsOk, 1);
      }),
      { numRuns: 200 },
    );
    const d = new GemrocDecoder(defaultMap);
    const p = encodeGemrocPacket(0, 0, [], []);
    new DataView(p.buffer).setUint16(1456, 181 << 3, true);
    assert.equal(d.decode(p), null);
    assert.equal(d.counters.badHitCount, 1);
  });

  it('decodeGemroc emits one batch per datagram', async () => {
    const enc = new GemrocEncoder(defaultMap);
    const packets = enc.encode(hitBatch(Array.from({ length: 400 }, (_, i) => [i & 1, i % 128, 100, i * 8] as [number, number, number, number])));
    const counters = zeroGemrocCounters();
    const batches = await lastValueFrom(from([...packets, new Uint8Array(10)]).pipe(decodeGemroc(defaultMap, counters), toArray()));
    assert.equal(batches.length, packets.length);
    assert.equal(batches.reduce((a, b) => a + b.n, 0), 400);
    assert.equal(counters.badLength, 1);
  });
});
