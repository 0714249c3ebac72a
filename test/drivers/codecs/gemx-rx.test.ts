import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import { zeroGemxCounters } from '../../../drivers/codecs/gemx-decode.js';
import { encodeEndFrame, encodeEventsFrame, encodeStatusFrame } from '../../../drivers/codecs/gemx-encode.js';
import { decodeGemx, decodeGemxFrames } from '../../../drivers/codecs/gemx-rx.js';
import { concat, eventBatch } from './helpers.js';

describe('gemx RxJS operators', () => {
  const status = { flags: 0, eventRateHz: 0, hitRateHz: 0, hvVolts: 0, hvCurrentUa: 0, temperatureC: 20, deviceDropped: 0, thresholds: [] };
  const stream = concat([
    encodeEventsFrame(0, 0, eventBatch([[1, 2, 3, 4], [5, 6, 7, 8]])),
    encodeEventsFrame(0, 0, eventBatch([[1, 2, 3, 4]])), // duplicate: dropped
    encodeStatusFrame(1, 10, status),
    encodeEventsFrame(2, 20, eventBatch([[9, 9, 9, 25]])),
    encodeEndFrame(3, 30, 3, 3),
  ]);
  // three chunks that cut frames in the middle
  const chunks = [stream.subarray(0, 50), stream.subarray(50, 170), stream.subarray(170)];

  it('decodeGemx emits one item per frame (batches, status, end) and fills the given counters', async () => {
    const counters = zeroGemxCounters();
    const items = await lastValueFrom(from(chunks).pipe(decodeGemx(counters), toArray()));
    assert.deepEqual(items.map((i) => [i.kind, 'n' in i ? i.n : undefined]), [['events', 2], ['status', undefined], ['events', 1], ['end', undefined]]);
    assert.equal(counters.duplicates, 1);
    assert.equal(counters.events, 3); // delivered events: the duplicate is not counted twice
    assert.equal(counters.bytesIn, stream.length);
  });

  it('decodeGemxFrames keeps each frame\'s raw bytes and offset, and flushes on completion', async () => {
    const truncatedTail = concat([stream, stream.subarray(0, 20)]);
    const counters = zeroGemxCounters();
    const frames = await lastValueFrom(from([truncatedTail.subarray(0, 77), truncatedTail.subarray(77)]).pipe(decodeGemxFrames(counters, { keepRaw: true }), toArray()));
    assert.equal(frames.length, 4);
    for (const f of frames) assert.deepEqual(f.raw, stream.subarray(f.offset, f.offset + f.length));
    assert.equal(counters.bytesSkipped, 20);
  });
});
