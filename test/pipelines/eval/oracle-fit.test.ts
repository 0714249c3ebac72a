import assert from 'node:assert/strict';
import { createRng } from '../../../physics/random.js';
import { blockResponses, datasetRecipe, generateBlock, generateDatasetArrays, mixExpected } from '../../../simulator/dataset/index.js';
import { logLik, nnlsGram, OracleFitter, oracleFractions } from '../../../pipelines/eval/oracle-fit.js';
import { r2Score } from '../../../pipelines/eval/metrics.js';

function blockOf(shift: 'nominal' | 'drift', seed: number, count = 64) {
  const recipe = datasetRecipe({ n: count, seed, shift });
  const blk = generateBlock(recipe, 0, 0, count);
  const responses = blockResponses(recipe.grid, recipe.elements, blk.nuisance);
  return { recipe, blk, responses, fitter: new OracleFitter(responses, blk.nuisance.det, recipe.grid) };
}

describe('oracle fit (Poisson MLE with the exact components)', function () {
  this.timeout(60_000);

  it('has the generator\'s model: its expected spectrum at the true amounts is mixExpected\'s (nominal and with pile-up)', () => {
    for (const shift of ['nominal', 'drift'] as const) {
      const { recipe, blk, responses, fitter } = blockOf(shift, shift === 'drift' ? 12 : 11, 8);
      if (shift === 'drift') assert.ok(blk.nuisance.det.pileupFraction > 0, 'the drift block should have pile-up');
      const E = recipe.elements.length;
      const C = recipe.grid.channels;
      const d = blk.nuisance.det.cuShare + blk.nuisance.det.alShare;
      for (let r = 0; r < 8; r++) {
        const f = blk.fractions.subarray(r * E, (r + 1) * E);
        const want = mixExpected(new Float64Array(C), responses, f, blk.backgroundShare[r]!, blk.nuisance.det, recipe.grid);
        // amounts a with (1 - d) a_k / sum a = share k
        const a = [...f, blk.backgroundShare[r]!].map((v) => v / (1 - d));
        const got = fitter.expected(a);
        let total = 0;
        for (const v of a) total += v;
        for (let c = 0; c < C; c++) assert.ok(Math.abs(got[c]! / total - want[c]!) < 1e-6 * Math.max(...want) + 1e-12, `${shift} row ${r} channel ${c}`);
      }
    }
  });

  it('recovers the true fractions closely at very high counts (R² > 0.99), nominal and drift', () => {
    for (const shift of ['nominal', 'drift'] as const) {
      const { recipe, blk, responses, fitter } = blockOf(shift, 5, 128);
      const E = recipe.elements.length;
      const C = recipe.grid.channels;
      const rng = createRng(3);
      const mu = new Float64Array(C);
      const pred = new Float32Array(128 * E);
      for (let r = 0; r < 128; r++) {
        mixExpected(mu, responses, blk.fractions.subarray(r * E, (r + 1) * E), blk.backgroundShare[r]!, blk.nuisance.det, recipe.grid);
        const y = Float64Array.from(mu, (m) => rng.poisson(m * 1e7));
        const res = fitter.fit(y);
        assert.ok(res.converged, `${shift} row ${r} did not converge`);
        pred.set(res.fractions, r * E);
      }
      const r2 = r2Score(blk.fractions, pred, 128, E);
      assert.ok(r2.average > 0.99, `${shift}: R² ${r2.average}`);
      for (let e = 0; e < E; e++) assert.ok(r2.perColumn[e]! > 0.95, `${shift} ${recipe.elements[e]}: R² ${r2.perColumn[e]}`);
    }
  });

  it('gives a single-element spectrum\'s element counts to that element', () => {
    const { recipe, responses, blk, fitter } = blockOf('nominal', 21, 4);
    const E = recipe.elements.length;
    const C = recipe.grid.channels;
    const rng = createRng(9);
    const mu = new Float64Array(C);
    for (const el of ['K', 'Ca', 'Sb', 'Pb', 'Fe']) {
      const e = recipe.elements.indexOf(el);
      const f = new Float64Array(E);
      const d = blk.nuisance.det.cuShare + blk.nuisance.det.alShare;
      f[e] = 0.7 * (1 - d);
      mixExpected(mu, responses, f, 0.3 * (1 - d), blk.nuisance.det, recipe.grid);
      // The expected spectrum itself: exactly that element and the background.
      const exact = fitter.fit(Float64Array.from(mu, (m) => m * 1e6));
      for (let j = 0; j < E; j++) assert.ok(Math.abs(exact.fractions[j]! - f[j]!) < 1e-6, `${el}, noise-free: ${recipe.elements[j]} ${exact.fractions[j]} vs ${f[j]}`);
      // Counted: K and Sb lie on Ca's and Sn's lines (at 1e6 counts a few % of Sb still goes to Ca), so many counts.
      const y = Float64Array.from(mu, (m) => rng.poisson(m * 1e8));
      const res = fitter.fit(y);
      let others = 0;
      for (let j = 0; j < E; j++) if (j !== e) others += res.fractions[j]!;
      assert.ok(Math.abs(res.fractions[e]! - f[e]!) < 0.02 * f[e]!, `${el}: ${res.fractions[e]} vs ${f[e]}`);
      assert.ok(others < 0.02 * f[e]!, `${el}: ${others} of the counts went to other elements`);
      assert.ok(Math.abs(res.backgroundShare - 0.3 * (1 - d)) < 0.01, `${el}: background ${res.backgroundShare}`);
    }
  });

  it('never lowers the likelihood from one iteration to the next, and ends at the non-negative optimum (KKT)', () => {
    const { recipe, responses, blk, fitter } = blockOf('nominal', 31, 32);
    assert.equal(blk.nuisance.det.pileupFraction, 0);
    const E = recipe.elements.length;
    const C = recipe.grid.channels;
    const rng = createRng(4);
    const mu = new Float64Array(C);
    for (let r = 0; r < 32; r++) {
      const counts = [100, 1e3, 1e4, 1e5][r % 4]!;
      mixExpected(mu, responses, blk.fractions.subarray(r * E, (r + 1) * E), blk.backgroundShare[r]!, blk.nuisance.det, recipe.grid);
      const y = Float64Array.from(mu, (m) => rng.poisson(m * counts));
      const res = fitter.fit(y, { trace: true });
      const tr = res.trace!;
      assert.ok(tr.length >= 2, 'at least one iteration');
      for (let i = 1; i < tr.length; i++) assert.ok(tr[i]! >= tr[i - 1]! - 1e-9 * Math.abs(tr[i - 1]!), `row ${r} iteration ${i}: ${tr[i - 1]} -> ${tr[i]}`);
      assert.ok(res.converged, `row ${r}`);
      // KKT: no single amount can be nudged to raise the likelihood (finite differences on the estimate).
      const d = blk.nuisance.det.cuShare + blk.nuisance.det.alShare;
      const a = [...res.fractions, res.backgroundShare].map((v) => (v * res.total) / (1 - d));
      const L0 = logLik(y, fitter.expected(a));
      assert.ok(Math.abs(L0 - res.logLikelihood) < 1e-6 * Math.abs(L0) + 1e-6, `row ${r}: reported L ${res.logLikelihood} vs ${L0}`);
      const step = 1e-4 * res.total;
      for (let k = 0; k < a.length; k++) {
        const up = a.slice();
        up[k]! += step;
        assert.ok(logLik(y, fitter.expected(up)) <= L0 + 1e-6 * Math.abs(L0), `row ${r}: raising amount ${k} gains likelihood`);
        if (a[k]! > step) {
          const down = a.slice();
          down[k]! -= step;
          assert.ok(logLik(y, fitter.expected(down)) <= L0 + 1e-6 * Math.abs(L0), `row ${r}: lowering amount ${k} gains likelihood`);
        }
      }
      // a fitted total equals the observed one (the Poisson MLE's property)
      let N = 0;
      for (const v of y) N += v;
      assert.ok(Math.abs(res.total - N) < 1e-6 * N + 1e-6, `row ${r}: total ${res.total} vs ${N}`);
    }
  });

  it('beats least squares on the same components at low counts (it is the Poisson likelihood, not squares)', () => {
    // Same components, weights ignored: plain NNLS on counts. At ~300 counts the Poisson MLE should have
    // a clearly higher likelihood than the least-squares solution (which the MLE could have picked).
    const { recipe, responses, blk, fitter } = blockOf('nominal', 41, 16);
    const E = recipe.elements.length;
    const C = recipe.grid.channels;
    const K = E + 1;
    const rng = createRng(5);
    const mu = new Float64Array(C);
    const d = blk.nuisance.det.cuShare + blk.nuisance.det.alShare;
    const cols = [...responses.elements, responses.background].map((r) => Float64Array.from(r, (v, c) => (1 - d) * v + d * responses.detectorLines[c]!));
    let better = 0;
    for (let r = 0; r < 16; r++) {
      mixExpected(mu, responses, blk.fractions.subarray(r * E, (r + 1) * E), blk.backgroundShare[r]!, blk.nuisance.det, recipe.grid);
      const y = Float64Array.from(mu, (m) => rng.poisson(m * 300));
      const A = new Float64Array(K * K);
      const h = new Float64Array(K);
      for (let j = 0; j < K; j++) {
        for (let c = 0; c < C; c++) h[j]! += cols[j]![c]! * y[c]!;
        for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) A[j * K + k]! += cols[j]![c]! * cols[k]![c]!;
      }
      const use = new Uint8Array(K).fill(1);
      for (let k = 0; k < K; k++) if (!(A[k * K + k]! > 0)) use[k] = 0;
      const ls = new Float64Array(K);
      nnlsGram(A, h, K, use, ls);
      const res = fitter.fit(y);
      const Lls = logLik(y, fitter.expected(ls));
      assert.ok(res.logLikelihood >= Lls - 1e-9 * Math.abs(Lls), `row ${r}: MLE ${res.logLikelihood} below least squares ${Lls}`);
      if (res.logLikelihood > Lls + 0.5) better++;
    }
    assert.ok(better >= 8, `the MLE was clearly better than least squares in only ${better} of 16 spectra`);
  });

  it('gives finite output (all zeros) for a zero-count spectrum, and rejects bad input', () => {
    const { recipe, fitter } = blockOf('nominal', 51, 2);
    const C = recipe.grid.channels;
    const res = fitter.fit(new Float64Array(C), { trace: true });
    assert.ok(res.fractions.every((v) => v === 0));
    assert.equal(res.backgroundShare, 0);
    assert.ok(Number.isFinite(res.logLikelihood));
    // one lone count somewhere: still finite, fractions within [0, 1]
    const y = new Float64Array(C);
    y[80] = 1;
    const one = fitter.fit(y);
    assert.ok(one.fractions.every((v) => Number.isFinite(v) && v >= 0 && v <= 1));
    assert.throws(() => fitter.fit(new Float64Array(C - 1)), /channels/);
    const bad = new Float64Array(C);
    bad[3] = -1;
    assert.throws(() => fitter.fit(bad), /count/);
  });

  it('oracleFractions fits a generated set block by block (zero rows included), and with the support told', () => {
    const d = generateDatasetArrays({ n: 40, seed: 7, blockSize: 16 });
    const E = d.recipe.elements.length;
    const C = d.recipe.grid.channels;
    const spectra = d.spectra.slice();
    spectra.fill(0, 5 * C, 6 * C);
    const { fractions, notConverged } = oracleFractions(spectra, d.recipe, d.nuisances);
    assert.equal(fractions.length, 40 * E);
    assert.equal(notConverged, 0);
    assert.ok(fractions.every((v) => Number.isFinite(v) && v >= 0 && v <= 1));
    for (let e = 0; e < E; e++) assert.equal(fractions[5 * E + e], 0);
    // row by row with each block's own fitter gives the same
    const fitter = new OracleFitter(blockResponses(d.recipe.grid, d.recipe.elements, d.nuisances[2]!), d.nuisances[2]!.det, d.recipe.grid);
    const row = fitter.fit(spectra.subarray(35 * C, 36 * C)).fractions;
    for (let e = 0; e < E; e++) assert.ok(Math.abs(row[e]! - fractions[35 * E + e]!) < 1e-6);
    const sup = oracleFractions(spectra, d.recipe, d.nuisances, { presence: d.presence }).fractions;
    for (let i = 0; i < sup.length; i++) if (!d.presence[i]) assert.equal(sup[i], 0);
    assert.throws(() => oracleFractions(spectra, d.recipe, d.nuisances.slice(1)), /block conditions/);
  });
});
