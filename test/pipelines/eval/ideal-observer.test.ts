import assert from 'node:assert/strict';
import { createRng } from '../../../physics/random.js';
import { belowDetectionLimit, idealObserverF1 } from '../../../pipelines/eval/ideal-observer.js';
import { f1Score } from '../../../pipelines/eval/metrics.js';

describe('ideal-observer presence bound', () => {
  it('equals the best-threshold F1 of a simulated observer whose statistic is N(z, 1) present, N(0, 1) absent', () => {
    const rng = createRng(7);
    const n = 20000;
    const truth = new Uint8Array(n);
    const z = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (rng.next() < 0.25) {
        truth[i] = 1;
        z[i] = 6 * rng.next(); // from hopeless to plain
      }
    }
    const bound = idealObserverF1(truth, z, n, 1).macro;
    // Monte Carlo: draw the observer's statistic, call present above t, keep the best F1 over thresholds.
    const stat = new Float32Array(n);
    for (let i = 0; i < n; i++) stat[i] = z[i]! + rng.normal();
    let best = 0;
    for (let t = 0; t <= 8; t += 0.05) best = Math.max(best, f1Score(truth, stat, n, 1, t).macro);
    assert.ok(Math.abs(bound - best) < 0.01, `expected ${bound.toFixed(4)} vs simulated ${best.toFixed(4)}`);
    assert.ok(bound > 0.6 && bound < 0.9, `bound ${bound}`);
  });

  it('is 1 for plainly visible elements and no better than calling everything present for invisible ones', () => {
    const truth = Uint8Array.from([1, 1, 0, 0]);
    assert.ok(idealObserverF1(truth, Float32Array.from([40, 50, 0, 0]), 4, 1).macro > 0.999);
    // z = 0 everywhere: the statistic says nothing; the best is at the lowest threshold (t = 0): half of
    // each class called present -> F1 = 2·1 / (2·1 + 1 + 1) = 0.5.
    assert.ok(Math.abs(idealObserverF1(truth, new Float32Array(4), 4, 1).macro - 0.5) < 1e-6); // erfc is good to ~1e-7
  });

  it('leaves out ignored entries, and marks present labels below the limit', () => {
    const truth = Uint8Array.from([1, 1, 0, 1]);
    const z = Float32Array.from([10, 1, 0, 2.99]);
    const below = belowDetectionLimit(truth, z, 3);
    assert.deepEqual([...below], [0, 1, 0, 1]);
    assert.ok(idealObserverF1(truth, z, 4, 1, below).macro > 0.99);
    // f1Score leaves them out too: predicting the weak ones absent costs nothing.
    const scores = Float32Array.from([0.9, 0.1, 0.1, 0.1]);
    assert.equal(f1Score(truth, scores, 4, 1, 0.5).macro, 0.5);
    assert.equal(f1Score(truth, scores, 4, 1, 0.5, below).macro, 1);
  });
});
