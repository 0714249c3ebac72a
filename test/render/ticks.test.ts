import assert from 'node:assert/strict';
import { formatNumber, linearTicks, logMinorTicks, logTicks, niceStep } from '../../daemon/render/ticks.js';
import { displayRange, percentile } from '../../daemon/render/value-range.js';

describe('render/ticks', () => {
  it('chooses 1-2-5 steps', () => {
    assert.equal(niceStep(0, 10, 5), 2);
    assert.equal(niceStep(0, 20, 4), 5);
    assert.equal(niceStep(0, 1, 10), 0.1);
    assert.equal(niceStep(0, 6000, 5), 1000);
  });

  it('labels linear ticks with the decimals the step needs', () => {
    assert.deepEqual(linearTicks(0, 20, 10).map((t) => t.label), ['0', '2', '4', '6', '8', '10', '12', '14', '16', '18', '20']);
    assert.deepEqual(linearTicks(0.1, 0.5, 4).map((t) => t.label), ['0.1', '0.2', '0.3', '0.4', '0.5']);
    assert.deepEqual(linearTicks(0, 0.8, 3).map((t) => t.label), ['0', '0.25', '0.50', '0.75']);
    assert.deepEqual(linearTicks(-1, 1, 2).map((t) => t.value), [-1, 0, 1]);
    assert.deepEqual(linearTicks(3, 3).map((t) => t.label), ['3']);
  });

  it('writes large counts with k / M suffixes', () => {
    assert.equal(formatNumber(20000, 10000), '20k');
    assert.equal(formatNumber(25000, 2500), '25k');
    assert.equal(formatNumber(1.5e6, 5e5), '1.5M');
    assert.equal(formatNumber(5000, 1000), '5000');
  });

  it('makes decade ticks and 2..9 minor ticks on log axes', () => {
    assert.deepEqual(logTicks(0.1, 20000).map((t) => t.label), ['0.1', '1', '10', '100', '1000', '10k']);
    assert.deepEqual(logMinorTicks(1, 10), [2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(logTicks(0, 10), []);
  });
});

describe('render/value-range', () => {
  it('computes percentiles of finite values only', () => {
    const v = new Float32Array([NaN, 4, 1, 3, 2, Infinity]);
    assert.equal(percentile(v, 0), 1);
    assert.equal(percentile(v, 100), 4);
    assert.equal(percentile(v, 50), 2.5);
    assert.ok(Number.isNaN(percentile(new Float32Array([NaN]), 50)));
  });

  it('defaults to 0 .. 99.5th percentile so one hot pixel does not flatten the map', () => {
    const v = new Float32Array(1000).map((_, i) => i % 10);
    v[0] = 1e6;
    const r = displayRange(v);
    assert.equal(r.min, 0);
    assert.ok(r.max >= 9 && r.max < 100, `max ${r.max}`);
    assert.equal(r.clippedHigh, true);
  });

  it('falls back to the true maximum for sparse maps and reports NaN pixels', () => {
    const v = new Float32Array(1000);
    v[3] = 5;
    v[4] = NaN;
    const r = displayRange(v);
    assert.equal(r.max, 5);
    assert.equal(r.noData, 1);
    assert.deepEqual(displayRange(new Float32Array([NaN, NaN])), { min: 0, max: 0, noData: 2, clippedHigh: false, clippedLow: false });
  });
});
