import assert from 'node:assert/strict';
import { PlaneBuffer } from '../../../pipelines/formation/plane-buffer.js';
import { rng } from './helpers/hit-stream.js';

/** Fills a buffer with (t, strip = arrival index) so stability is visible, sorts, compares with Array.sort (stable). */
function check(times: number[], pushChunks = 1): void {
  const b = new PlaneBuffer(8);
  const per = Math.ceil(times.length / pushChunks);
  for (let c = 0; c < times.length; c += per) {
    const chunk = times.slice(c, c + per);
    b.reserve(chunk.length);
    chunk.forEach((t, k) => b.push(t, c + k, (c + k) & 0xffff));
    b.sortByTime();
  }
  const expected = times.map((t, i) => [t, i] as const).sort((p, q) => p[0] - q[0]);
  assert.deepEqual([...b.t.subarray(0, b.n)], expected.map((e) => e[0]));
  assert.deepEqual([...b.strip.subarray(0, b.n)], expected.map((e) => e[1]));
  assert.deepEqual([...b.adc.subarray(0, b.n)], expected.map((e) => e[1] & 0xffff));
}

describe('pipelines/formation plane buffer', () => {
  const r = rng(4);
  it('sorts stably: sorted, locally jittered (insertion path), shuffled (merge path), interleaved runs, ties', () => {
    check(Array.from({ length: 500 }, (_, i) => i));
    check(Array.from({ length: 2000 }, (_, i) => i * 100 + Math.floor(r() * 250)), 7);
    check(Array.from({ length: 3000 }, () => Math.floor(r() * 1e6)));
    check(Array.from({ length: 3000 }, () => Math.floor(r() * 1e6)), 13);
    check(Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? i : i - 501)));
    check(Array.from({ length: 1000 }, () => Math.floor(r() * 5)), 3);
  });

  it('drops consumed hits from the front and keeps order', () => {
    const b = new PlaneBuffer(4);
    b.reserve(10);
    for (const t of [5, 3, 9, 1, 7]) b.push(t, t, t);
    b.sortByTime();
    b.dropFront(2);
    b.reserve(2);
    b.push(4, 4, 4);
    b.push(8, 8, 8);
    b.sortByTime();
    assert.deepEqual([...b.t.subarray(0, b.n)], [4, 5, 7, 8, 9]);
  });
});
