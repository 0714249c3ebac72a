import assert from 'node:assert/strict';
import { f1Score, meanAbsoluteError, r2Score, rocAuc } from '../../../pipelines/eval/metrics.js';
import { createRebinner } from '../../../pipelines/inference/rebin.js';

describe('evaluation metrics (sklearn semantics)', () => {
  it('r2Score matches hand-computed values, uniform average', () => {
    // column 0: y = [1,2,3], pred = [1,2,4] -> ssRes 1, ssTot 2 -> 0.5 ; column 1 perfect -> 1
    const yt = Float32Array.from([1, 10, 2, 20, 3, 30]);
    const yp = Float32Array.from([1, 10, 2, 20, 4, 30]);
    const r = r2Score(yt, yp, 3, 2);
    assert.ok(Math.abs(r.perColumn[0]! - 0.5) < 1e-9);
    assert.equal(r.perColumn[1], 1);
    assert.ok(Math.abs(r.average - 0.75) < 1e-9);
    // constant truth column: 1 if exact, 0 otherwise
    assert.equal(r2Score(Float32Array.from([2, 2]), Float32Array.from([2, 2.5]), 2, 1).average, 0);
  });

  it('MAE, F1 and ROC-AUC on crafted cases', () => {
    const mae = meanAbsoluteError(Float32Array.from([0, 1]), Float32Array.from([0.5, 0.5]), 2, 1);
    assert.equal(mae.average, 0.5);
    const truth = Uint8Array.from([1, 1, 0, 0]);
    const scores = Float32Array.from([0.9, 0.4, 0.6, 0.1]);
    // threshold 0.5: tp=1 fp=1 fn=1 -> F1 = 2/4
    assert.equal(f1Score(truth, scores, 4, 1, 0.5).macro, 0.5);
    // pairs (pos,neg): (0.9>0.6)(0.9>0.1)(0.4<0.6)(0.4>0.1) -> 3/4
    assert.equal(rocAuc(truth, scores, 4, 1).macro, 0.75);
    // ties count one half
    assert.equal(rocAuc(Uint8Array.from([1, 0]), Float32Array.from([0.5, 0.5]), 2, 1).macro, 0.5);
    assert.ok(Number.isNaN(rocAuc(Uint8Array.from([1, 1]), Float32Array.from([0.5, 0.2]), 2, 1).perColumn[0]!));
  });

  it('rocAuc ranks NaN scores lowest, tied with each other (and infinities compare, not NaN)', () => {
    // pairs (pos,neg): (0.9>NaN)(0.9>0.1)(NaN~NaN: one half)(NaN<0.1) -> 2.5/4
    assert.equal(rocAuc(Uint8Array.from([1, 0, 0, 1]), Float32Array.from([0.9, NaN, 0.1, NaN]), 4, 1).macro, 0.625);
    // a NaN positive below every negative, wherever it sits
    assert.equal(rocAuc(Uint8Array.from([0, 0, 1, 0, 1, 0]), Float32Array.from([0.3, 0.2, NaN, 0.1, 0.8, 0.4]), 6, 1).macro, 0.5);
    // (NaN<-Inf)(NaN~NaN)(Inf>-Inf)(Inf>NaN) -> 2.5/4
    assert.equal(rocAuc(Uint8Array.from([1, 0, 0, 1]), Float32Array.from([NaN, -Infinity, NaN, Infinity]), 4, 1).macro, 0.625);
    // -Infinity still ranks above NaN; equal infinities tie: (-Inf>NaN)(-Inf<Inf)(Inf>NaN)(Inf~Inf) -> 2.5/4
    assert.equal(rocAuc(Uint8Array.from([1, 0, 1, 0]), Float32Array.from([-Infinity, NaN, Infinity, Infinity]), 4, 1).macro, 0.625);
  });
});

describe('rebinning', () => {
  it('conserves counts and halves bins onto a grid twice as coarse', () => {
    const r = createRebinner({ channels: 4, eMinKeV: 0, eMaxKeV: 4 }, { channels: 2, eMinKeV: 0, eMaxKeV: 4 });
    const out = new Float32Array(2);
    r.apply([1, 2, 3, 4], out);
    assert.deepEqual(Array.from(out), [3, 7]);
  });
  it('splits a source bin across two target bins by overlap', () => {
    const r = createRebinner({ channels: 2, eMinKeV: 0, eMaxKeV: 3 }, { channels: 3, eMinKeV: 0, eMaxKeV: 3 });
    const out = new Float32Array(3);
    r.apply([3, 6], out); // bins [0,1.5) [1.5,3) -> [0,1) [1,2) [2,3)
    assert.deepEqual(Array.from(out), [2, 1 + 2, 4]);
  });
});
