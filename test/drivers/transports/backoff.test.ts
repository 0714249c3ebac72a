import assert from 'node:assert/strict';
import { Backoff, backoffFromUrl, withReconnectParams } from '../../../drivers/transports/backoff.js';

describe('transports: backoff', () => {
  it('grows exponentially from min to max, with jitter in [ceiling/2, ceiling]', () => {
    const lo = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0 });
    const hi = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0.999999 });
    const low = Array.from({ length: 6 }, () => lo.next());
    const high = Array.from({ length: 6 }, () => hi.next());
    assert.deepEqual(low, [100, 100, 200, 400, 500, 500]); // half the ceiling, never below min
    assert.deepEqual(high, [100, 200, 400, 800, 1000, 1000]);
  });

  it('stays within [min, max] for any random draw, and reset() starts over', () => {
    const b = new Backoff({ minMs: 10, maxMs: 300 });
    for (let i = 0; i < 200; i++) {
      const d = b.next();
      assert.ok(d >= 10 && d <= 300, `delay ${d}`);
    }
    assert.equal(b.attempts, 200);
    b.reset();
    assert.equal(b.attempts, 0);
    assert.equal(new Backoff({ minMs: 10, maxMs: 300, random: () => 0.5 }).next(), 10);
  });

  it('reads bounds from the URL and rejects bad values', () => {
    assert.deepEqual(backoffFromUrl(new URL('tcp://h:1?reconnectMinMs=5&reconnectMaxMs=50')), { minMs: 5, maxMs: 50 });
    assert.deepEqual(backoffFromUrl(new URL('tcp://h:1')), { minMs: 200, maxMs: 10000 });
    assert.throws(() => backoffFromUrl(new URL('tcp://h:1?reconnectMinMs=soon')), /reconnectMinMs/);
  });

  it('withReconnectParams adds the config bounds unless the URL sets them', () => {
    const src = { reconnectMinMs: 50, reconnectMaxMs: 5000 };
    assert.equal(withReconnectParams('tcp://127.0.0.1:7000', src), 'tcp://127.0.0.1:7000?reconnectMinMs=50&reconnectMaxMs=5000');
    assert.equal(withReconnectParams('tcp://h:1?reconnectMinMs=7', src), 'tcp://h:1?reconnectMinMs=7&reconnectMaxMs=5000');
    assert.equal(withReconnectParams('file:///x.gemx', src), 'file:///x.gemx');
  });
});
