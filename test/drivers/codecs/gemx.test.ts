import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GemxDecoder, type DecodedFrame } from '../../../drivers/codecs/gemx-decode.js';
import { encodeEventsFrame, encodeEventsFrames, encodeDatagramFrame, encodeEndFrame, encodeHitsFrame } from '../../../drivers/codecs/gemx-encode.js';
import { GEMX_HEADER_BYTES, GEMX_HEADER_FIELDS as H, MAX_EVENTS_PER_FRAME } from '../../../drivers/codecs/gemx-format.js';
import { crc32 } from '../../../drivers/codecs/crc32.js';
import { concat, encodeSpec, eventBatch, expectedItem, frameSpec, hitBatch, plain } from './helpers.js';

function decodeAll(stream: Uint8Array, cuts: number[] = [], opts: ConstructorParameters<typeof GemxDecoder>[0] = {}): { frames: DecodedFrame[]; d: GemxDecoder } {
  const d = new GemxDecoder(opts);
  const frames: DecodedFrame[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    frames.push(...d.push(stream.subarray(prev, c)));
    prev = c;
  }
  frames.push(...d.push(stream.subarray(prev)));
  frames.push(...d.end());
  return { frames, d };
}

const ev = (seq: number, t = 1000) => encodeEventsFrame(seq, t, eventBatch([[1, 2, 3, t + 5], [4, 5, 6, t + 9]]));

describe('gemx codec', () => {
  it('round-trips random frames, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(frameSpec, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (specs, rawCuts) => {
        const frames = specs.map((s, i) => encodeSpec(i, s));
        const stream = concat(frames);
        const { frames: out, d } = decodeAll(stream, rawCuts.map((c) => c % (stream.length + 1)), { keepRaw: true });
        assert.equal(out.length, specs.length);
        let offset = 0;
        out.forEach((f, i) => {
          assert.deepEqual(plain(f.item), expectedItem(i, specs[i]!));
          assert.equal(f.seq, i);
          assert.equal(f.offset, offset);
          assert.deepEqual(f.raw, frames[i]);
          offset += frames[i]!.length;
        });
        assert.equal(d.counters.bytesSkipped, 0);
        assert.equal(d.counters.framesOk, specs.length);
        assert.equal(d.counters.seqGaps + d.counters.crcErrors + d.counters.duplicates, 0);
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same frames and counters when split at every byte boundary', () => {
    const stream = concat([ev(0), new Uint8Array([0x47, 0x45, 0x4d, 9, 9]), encodeHitsFrame(1, 50, hitBatch([[0, 7, 8, 60]])), ev(3), encodeEndFrame(4, 2000, 4, 5)]);
    const whole = decodeAll(stream);
    assert.equal(whole.frames.length, 4);
    for (let cut = 0; cut <= stream.length; cut++) {
      const split = decodeAll(stream, [cut]);
      assert.deepEqual(plain(split.frames), plain(whole.frames), `cut at ${cut}`);
      assert.deepEqual(split.d.counters, whole.d.counters, `cut at ${cut}`);
    }
    // and one byte at a time
    const bytewise = decodeAll(stream, Array.from({ length: stream.length }, (_, i) => i));
    assert.deepEqual(plain(bytewise.frames), plain(whole.frames));
    assert.deepEqual(bytewise.d.counters, whole.d.counters);
  });

  it('never throws on garbage and recovers every valid frame after it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(frameSpec, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }), (garbage, specs, rawCuts) => {
        const frames = specs.map((s, i) => encodeSpec(i, s));
        const stream = concat([garbage, ...frames]);
        const { frames: out, d } = decodeAll(stream, rawCuts.map((c) => c % (stream.length + 1)));
        // garbage could in theory contain a whole valid frame (it cannot pass two CRCs by chance here)
        assert.equal(out.length, specs.length);
        out.forEach((f, i) => assert.deepEqual(plain(f.item), expectedItem(i, specs[i]!)));
        assert.equal(d.counters.bytesSkipped, garbage.length);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws on truncated or corrupted streams and keeps the intact frames', () => {
    fc.assert(
      fc.property(fc.array(frameSpec, { minLength: 2, maxLength: 5 }), fc.nat(), fc.nat(), fc.nat(), (specs, victimRaw, cutRaw, flipRaw) => {
        const frames = specs.map((s, i) => encodeSpec(i, s));
        const victim = victimRaw % frames.length;
        const v = frames[victim]!;
        // cut the victim short somewhere, then corrupt a byte in another copy of the stream
        const cutAt = cutRaw % v.length;
        const damaged = concat(frames.map((f, i) => (i === victim ? f.subarray(0, cutAt) : f)));
        const { frames: out, d } = decodeAll(damaged);
        const seqs = out.map((f) => f.seq);
        assert.deepEqual(seqs, specs.map((_, i) => i).filter((i) => i !== victim));
        // a missing first or last frame leaves no gap in the numbers; one in the middle does
        assert.equal(d.counters.framesLost, victim > 0 && victim < frames.length - 1 ? 1 : 0);
        const flipped = concat(frames);
        flipped[flipRaw % flipped.length]! ^= 0x5a;
        const r = decodeAll(flipped);
        assert.ok(r.frames.length >= frames.length - 1);
      }),
      { numRuns: 200 },
    );
  });

  it('counts a gap of 3, a duplicate, a reordered frame, a CRC error and an oversize frame exactly', () => {
    const bad = ev(8);
    bad[GEMX_HEADER_BYTES + 1]! ^= 0xff; // payload byte: frame CRC fails, header CRC still good
    const stream = concat([ev(0), ev(1), ev(5) /* 2,3,4 missing */, ev(5) /* duplicate */, ev(3) /* late */, ev(6), ev(7), bad, ev(9)]);
    const big = encodeEventsFrame(10, 0, eventBatch(Array.from({ length: 200 }, (_, i) => [i, i, i, i] as [number, number, number, number])));
    const { frames, d } = decodeAll(concat([stream, big]), [], { maxPayload: 1000 });
    assert.deepEqual(frames.map((f) => [f.seq, f.order]), [
      [0, 'first'], [1, 'next'], [5, 'gap'], [3, 'reordered'], [6, 'next'], [7, 'next'], [9, 'gap'],
    ]);
    const c = d.counters;
    assert.equal(c.seqGaps, 2);
    assert.equal(c.framesLost, 3 - 1 + 1); // 2,3,4 missing, 3 came late, 8 failed its CRC
    assert.equal(c.duplicates, 1);
    assert.equal(c.reordered, 1);
    assert.equal(c.crcErrors, 1);
    assert.equal(c.oversize, 1);
    assert.equal(c.framesOk, 8); // 0 1 5 5' 3 6 7 9
    assert.equal(c.events, 2 * 7);
    assert.equal(c.bytesSkipped, bad.length + big.length);
  });

  it('counts a damaged header, a bad version and a count/length mismatch', () => {
    const hdr = ev(1);
    hdr[H.seq]! ^= 1; // header CRC fails
    const ver = ev(2);
    ver[H.version] = 2;
    new DataView(ver.buffer).setUint32(H.headerCrc, crc32(ver.subarray(0, H.headerCrc)), true);
    const cnt = ev(3);
    new DataView(cnt.buffer).setUint32(H.count, 3, true);
    new DataView(cnt.buffer).setUint32(H.headerCrc, crc32(cnt.subarray(0, H.headerCrc)), true);
    const { frames, d } = decodeAll(concat([ev(0), hdr, ver, cnt, ev(4)]));
    assert.deepEqual(frames.map((f) => f.seq), [0, 4]);
    assert.equal(d.counters.headerErrors, 1);
    assert.equal(d.counters.malformed, 2);
    assert.equal(d.counters.framesLost, 3);
  });

  it('counts a frame cut off by the end of the stream as truncated', () => {
    const f = ev(1);
    const { frames, d } = decodeAll(concat([ev(0), f.subarray(0, 40)]));
    assert.equal(frames.length, 1);
    assert.equal(d.counters.truncated, 1);
    assert.equal(d.counters.bytesSkipped, 40);
  });

  it('treats seq 0 after END or out of turn as a new stream, not a duplicate', () => {
    const { frames, d } = decodeAll(concat([ev(0), ev(1), encodeEndFrame(2, 0, 2, 4), ev(0), ev(1), ev(0)]));
    assert.deepEqual(frames.map((f) => f.order), ['first', 'next', 'next', 'first', 'next', 'reset']);
    assert.equal(d.counters.duplicates, 0);
    assert.equal(d.counters.seqResets, 1);
  });

  it('wraps and unwraps datagrams with their tag', () => {
    const payload = new Uint8Array([1, 2, 3, 4, 5]);
    const { frames } = decodeAll(encodeDatagramFrame(7, 123, 48350, payload));
    assert.deepEqual(plain(frames[0]!.item), { kind: 'datagram', timeNs: 123, seq: 7, tag: 48350, payload: [1, 2, 3, 4, 5] });
  });

  it('splits large or long-spanning batches into frames that fit', () => {
    const n = MAX_EVENTS_PER_FRAME + 10;
    const rows = Array.from({ length: n }, (_, i) => [i & 0xffff, 1, 2, i === 5 ? 9e9 : i * 3] as [number, number, number, number]);
    const batch = eventBatch(rows);
    const frames = encodeEventsFrames(100, batch, MAX_EVENTS_PER_FRAME);
    assert.ok(frames.length >= 3); // the 9 s outlier forces cuts around it
    const { frames: out } = decodeAll(concat(frames));
    const t = out.flatMap((f) => Array.from((f.item as { t: Float64Array }).t));
    assert.deepEqual(t, rows.map((r) => r[3]));
    assert.deepEqual(out.map((f) => f.seq), frames.map((_, i) => 100 + i));
  });

  it('rejects encoder misuse with RangeError', () => {
    const b = eventBatch([[1, 1, 1, 10]]);
    assert.throws(() => encodeEventsFrame(0, 20, b), RangeError); // time before base
    assert.throws(() => encodeEventsFrame(-1, 0, b), RangeError);
    assert.throws(() => encodeEventsFrame(0, 0, b, 0, 2), RangeError);
  });
});
