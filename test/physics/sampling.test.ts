import assert from 'node:assert/strict';
import { DEFAULT_BACKGROUND, DEFAULT_DETECTOR, createRng, synthesize } from '../../physics/index.js';
import { lnFactorial } from '../../physics/special.js';
import { chiSquareSurvival, pearson } from './stats.js';

const GRID = { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 };

/** Draws n Poisson(mean) values and tests their histogram against the Poisson pmf. */
function poissonFit(mean: number, n: number, seed: number): number {
  const rng = createRng(seed);
  const kMax = Math.ceil(mean + 10 * Math.sqrt(mean) + 10);
  const obs = new Float64Array(kMax + 1);
  for (let i = 0; i < n; i++) obs[Math.min(kMax, rng.poisson(mean))]! += 1;
  const exp = new Float64Array(kMax + 1);
  for (let k = 0; k <= kMax; k++) exp[k] = n * Math.exp(-mean + k * Math.log(mean) - lnFactorial(k));
  return pearson(obs, exp).p;
}

describe('physics: random numbers', () => {
  it('is deterministic by seed and differs between seeds', () => {
    const a = createRng(42), b = createRng(42), c = createRng(43);
    const xa = Array.from({ length: 20 }, () => a.next());
    const xb = Array.from({ length: 20 }, () => b.next());
    const xc = Array.from({ length: 20 }, () => c.next());
    assert.deepEqual(xa, xb);
    assert.notDeepEqual(xa, xc);
    for (const x of xa) assert.ok(x >= 0 && x < 1);
  });

  it('chi-square helper matches known quantiles', () => {
    assert.ok(Math.abs(chiSquareSurvival(3.841, 1) - 0.05) < 1e-3);
    assert.ok(Math.abs(chiSquareSurvival(124.342, 100) - 0.05) < 1e-3);
  });

  it('draws Poisson counts with the right distribution (inversion and PTRS regimes)', () => {
    // p-value bound 1e-4: a correct sampler fails this with probability 1e-4 per seed (fixed seeds: deterministic).
    for (const [mean, seed] of [[0.7, 1], [4, 2], [9.5, 3], [10, 4], [37, 5], [500, 6]] as const) {
      const p = poissonFit(mean, 40_000, seed);
      assert.ok(p > 1e-4, `Poisson(${mean}): chi-square p = ${p}`);
    }
    // Power: the same test rejects a sampler whose mean is off by 3 %.
    const rng = createRng(9);
    const obs = new Float64Array(200), exp = new Float64Array(200);
    for (let i = 0; i < 40_000; i++) obs[Math.min(199, rng.poisson(51.5))]! += 1;
    for (let k = 0; k < 200; k++) exp[k] = 40_000 * Math.exp(-50 + k * Math.log(50) - lnFactorial(k));
    assert.ok(pearson(obs, exp).p < 1e-6);
  });

  it('draws standard normals (mean 0, variance 1 within 5 standard errors)', () => {
    const rng = createRng(11);
    const n = 100_000;
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) { const x = rng.normal(); s += x; s2 += x * x; }
    assert.ok(Math.abs(s / n) < 5 / Math.sqrt(n));
    assert.ok(Math.abs(s2 / n - 1) < 5 * Math.sqrt(2 / n));
  });

  it('rejects invalid means and seeds', () => {
    assert.throws(() => createRng(1).poisson(-1), /poisson mean/);
    assert.throws(() => createRng(NaN), /seed/);
  });
});

describe('physics: sampled spectra match the expected spectrum', () => {
  const mix = { elements: { Fe: 0.6, Pb: 0.4 }, background: 0.25 };
  const { expected } = synthesize(GRID, mix, DEFAULT_DETECTOR, DEFAULT_BACKGROUND);
  const counts = 200_000;
  const means = expected.map((p) => p * counts);

  it('passes a chi-square test against its own expectation', () => {
    for (const seed of [1, 2, 3]) {
      const rng = createRng(seed);
      const drawn = Array.from(means, (m) => rng.poisson(m));
      const r = pearson(drawn, means);
      assert.ok(r.p > 1e-4, `seed ${seed}: chi2 ${r.chi2.toFixed(1)} on ${r.dof} dof, p ${r.p}`);
    }
  });

  it('fails it against a slightly different model (the test has power)', () => {
    const rng = createRng(1);
    const drawn = Array.from(means, (m) => rng.poisson(m));
    const drifted = synthesize(GRID, mix, { ...DEFAULT_DETECTOR, gainScale: 1.01 }, DEFAULT_BACKGROUND).expected.map((p) => p * counts);
    assert.ok(pearson(drawn, drifted).p < 1e-6);
  });
});
