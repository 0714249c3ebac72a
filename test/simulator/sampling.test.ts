import assert from 'node:assert/strict';
import { createRng } from '../../physics/random.js';
import { exponentialFromUniform } from '../../simulator/generators/exponential.js';
import { UniformBlock } from '../../simulator/generators/uniform-block.js';
import { chiSquare, chiSquareCritical } from './stats.js';

describe('simulator/sampling helpers', () => {
  it('ziggurat exponentials follow Exp(1), tail included (chi-square over 60 quantile bins)', () => {
    const rng = createRng(17);
    const block = new UniformBlock(createRng(18));
    const N = 600_000;
    const U = block.fill(N);
    const bins = 60;
    const obs = new Float64Array(bins + 1);
    let sum = 0, max = 0;
    for (let i = 0; i < N; i++) {
      const x = exponentialFromUniform(U[i]!, rng);
      assert.ok(x >= 0 && Number.isFinite(x));
      sum += x;
      max = Math.max(max, x);
      // Bin by the CDF: equal-probability bins below x = 8 (covers the ziggurat's base-layer tail at 7.7).
      const c = 1 - Math.exp(-x);
      obs[x >= 8 ? bins : Math.min(Math.floor((c / (1 - Math.exp(-8))) * bins), bins - 1)]!++;
    }
    const inside = 1 - Math.exp(-8);
    const exp = new Float64Array(bins + 1).fill((N * inside) / bins);
    exp[bins] = N * Math.exp(-8);
    const { chi2, df } = chiSquare(obs, exp);
    assert.ok(chi2 < chiSquareCritical(df), `chi2 ${chi2.toFixed(1)} (df ${df})`);
    assert.ok(Math.abs(sum / N - 1) < 0.005, `mean ${sum / N}`);
    assert.ok(max > 10, `the tail is reached (max ${max})`);
  });

  it('bulk uniforms are uniform, deterministic per seed and continue across calls', () => {
    const a = new UniformBlock(createRng(5));
    const b = new UniformBlock(createRng(5));
    const first = Float64Array.from(a.fill(1000));
    assert.deepEqual(b.fill(1000), first);
    assert.notDeepEqual(a.fill(1000), first, 'the stream continues');
    const N = 400_000;
    const U = new UniformBlock(createRng(6)).fill(N);
    const obs = new Float64Array(100);
    for (let i = 0; i < N; i++) {
      assert.ok(U[i]! >= 0 && U[i]! < 1);
      obs[Math.floor(U[i]! * 100)]!++;
    }
    const { chi2, df } = chiSquare(obs, new Float64Array(100).fill(N / 100));
    assert.ok(chi2 < chiSquareCritical(df), `chi2 ${chi2.toFixed(1)}`);
  });
});
