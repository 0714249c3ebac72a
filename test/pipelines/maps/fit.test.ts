import assert from 'node:assert/strict';
import { DEFAULT_BACKGROUND, DEFAULT_DETECTOR, synthesize, type BackgroundParams, type EnergyGrid } from '../../../physics/index.js';
import { createRng } from '../../../physics/random.js';
import { LinearFitter } from '../../../pipelines/maps/fit.js';
import { elementMap } from '../../../pipelines/maps/types.js';

const grid: EnergyGrid = { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 };
const ELEMENTS = ['Ca', 'Ti', 'Cr', 'Mn', 'Fe', 'Co', 'Cu', 'Zn', 'Hg', 'Pb'];
const SUBSTRATES: BackgroundParams['substrate'][] = ['wood', 'canvas', 'chalk'];

/** A random mixture of 1-4 of ELEMENTS on a random substrate: its expected spectrum (unit sum) and shares. */
function randomMixture(rng: ReturnType<typeof createRng>) {
  const n = 1 + rng.int(4);
  const elements: Record<string, number> = {};
  while (Object.keys(elements).length < n) elements[ELEMENTS[rng.int(ELEMENTS.length)]!] = 0.05 + rng.next();
  const bg = { ...DEFAULT_BACKGROUND, substrate: SUBSTRATES[rng.int(SUBSTRATES.length)]! };
  return synthesize(grid, { elements, background: 0.2 + rng.next() }, DEFAULT_DETECTOR, bg);
}

describe('pipelines/maps fit (linear NNLS against physics reference spectra)', function () {
  const fitter = new LinearFitter(grid, ELEMENTS);

  it('includes every element, the substrate continua, detector lines and a smooth continuum', () => {
    assert.deepEqual(fitter.names.slice(0, ELEMENTS.length), ELEMENTS);
    assert.ok(fitter.names.includes('bg:detector'));
    assert.ok(fitter.names.some((n) => n.startsWith('bg:smooth')));
    assert.ok(fitter.names.some((n) => n === 'bg:wood' || n === 'bg:canvas' || n === 'bg:chalk'));
  });

  it('recovers mixture fractions almost exactly on noise-free spectra (any scale)', () => {
    const rng = createRng(11);
    for (let t = 0; t < 40; t++) {
      const { expected, fractions } = randomMixture(rng);
      const scale = [1, 1000, 1e6][t % 3]!;
      const r = fitter.fitSpectrum(expected.map((v) => v * scale));
      ELEMENTS.forEach((el, e) => {
        const truth = fractions[el] ?? 0;
        assert.ok(Math.abs(r.fractions[e]! - truth) < 1e-6, `trial ${t} ${el}: fit ${r.fractions[e]} vs truth ${truth}`);
        assert.ok(Math.abs(r.netCounts[e]! - truth * scale) < 1e-6 * scale);
      });
      assert.ok(r.chi2 < 1e-6 * scale, `noise-free chi2 ${r.chi2}`);
    }
  });

  it('recovers fractions within tolerance on Poisson-noisy spectra, with chi2 near 1', () => {
    const rng = createRng(12);
    let chi2 = 0;
    const trials = 30;
    for (let t = 0; t < trials; t++) {
      const { expected, fractions } = randomMixture(rng);
      const counts = new Float64Array(grid.channels);
      for (let c = 0; c < counts.length; c++) counts[c] = rng.poisson(expected[c]! * 1e5);
      const r = fitter.fitSpectrum(counts);
      chi2 += r.chi2;
      ELEMENTS.forEach((el, e) => {
        const truth = fractions[el] ?? 0;
        assert.ok(Math.abs(r.fractions[e]! - truth) < 0.02, `trial ${t} ${el}: fit ${r.fractions[e]!.toFixed(4)} vs truth ${truth.toFixed(4)}`);
      });
    }
    chi2 /= trials;
    assert.ok(chi2 > 0.8 && chi2 < 1.2, `mean reduced chi2 ${chi2} should be near 1 for a correct model`);
  });

  it('never gives negative counts, also on spectra the model cannot describe', () => {
    const rng = createRng(13);
    for (let t = 0; t < 50; t++) {
      const counts = new Float64Array(grid.channels);
      const kind = t % 3;
      for (let c = 0; c < counts.length; c++) counts[c] = kind === 0 ? rng.poisson(2) : kind === 1 ? (c % 7 === 0 ? rng.poisson(50) : 0) : rng.poisson(0.05);
      const r = fitter.fitSpectrum(counts);
      for (const v of r.coefficients) assert.ok(v >= 0, `coefficient ${v} < 0`);
      for (const f of r.fractions) assert.ok(f >= 0 && f <= 1, `fraction ${f} outside [0, 1]`);
      assert.ok(Number.isFinite(r.chi2) && r.chi2 >= 0);
    }
  });

  it('returns zeros for an empty spectrum', () => {
    const r = fitter.fitSpectrum(new Float64Array(grid.channels));
    assert.deepEqual(Array.from(r.netCounts), new Array(ELEMENTS.length).fill(0));
    assert.equal(r.chi2, 0);
  });

  it('fits a whole cube with the shared normal matrix: noise-free pixels exactly, empty pixels zero', () => {
    const rng = createRng(14);
    const width = 5;
    const height = 4;
    const C = grid.channels;
    const counts = new Float64Array(width * height * C);
    const truth: Array<Record<string, number>> = [];
    for (let p = 0; p < width * height; p++) {
      if (p === 3) {
        truth.push({});
        continue;
      }
      const { expected, fractions } = randomMixture(rng);
      const n = 100 + rng.next() * 1e4;
      for (let c = 0; c < C; c++) counts[p * C + c] = expected[c]! * n;
      truth.push(Object.fromEntries(Object.entries(fractions).map(([k, v]) => [k, v * n])));
    }
    // Pixels on different substrates: every background component must stay free per pixel.
    const r = fitter.fitCube({ width, height, channels: C, counts }, { background: 'free' });
    assert.equal(r.maps.method, 'fit');
    assert.equal(r.maps.data.length, ELEMENTS.length * width * height);
    for (const el of ELEMENTS) {
      const m = elementMap(r.maps, el);
      for (let p = 0; p < width * height; p++) {
        const t = truth[p]![el] ?? 0;
        // Float32 output: relative 1e-5 of the pixel's size.
        assert.ok(Math.abs(m[p]! - t) < 1e-3 + 1e-5 * t, `pixel ${p} ${el}: ${m[p]} vs ${t}`);
      }
    }
    assert.equal(r.chi2[3], 0);
    assert.ok(r.chi2.every((v) => v >= 0 && v < 1e-3));
  });

  it('with the shared background (default) fits noise-free pixels on one substrate exactly', () => {
    const rng = createRng(16);
    const width = 6;
    const height = 3;
    const C = grid.channels;
    const counts = new Float64Array(width * height * C);
    const truth: Array<Record<string, number>> = [];
    const bg = { ...DEFAULT_BACKGROUND, substrate: 'canvas' as const };
    for (let p = 0; p < width * height; p++) {
      const elements: Record<string, number> = {};
      for (const el of ['Cr', 'Cu', 'Pb', 'Ca']) if (rng.next() < 0.6) elements[el] = rng.next();
      const { expected, fractions } = synthesize(grid, { elements, background: 0.1 + rng.next() }, DEFAULT_DETECTOR, bg);
      const n = 100 + rng.next() * 1e4;
      for (let c = 0; c < C; c++) counts[p * C + c] = expected[c]! * n;
      truth.push(Object.fromEntries(Object.entries(fractions).map(([k, v]) => [k, v * n])));
    }
    const r = fitter.fitCube({ width, height, channels: C, counts });
    assert.equal(r.backgroundColumns, 2);
    for (const el of ELEMENTS) {
      const m = elementMap(r.maps, el);
      for (let p = 0; p < width * height; p++) {
        const t = truth[p]![el] ?? 0;
        assert.ok(Math.abs(m[p]! - t) < 1e-2 + 1e-4 * t, `pixel ${p} ${el}: ${m[p]} vs ${t}`);
      }
    }
  });

  it('gives a cube chi2 near 1 per pixel for Poisson pixels of one mixture', () => {
    const rng = createRng(15);
    const { expected } = randomMixture(rng);
    const width = 10;
    const height = 10;
    const C = grid.channels;
    const counts = new Uint32Array(width * height * C);
    for (let p = 0; p < width * height; p++) for (let c = 0; c < C; c++) counts[p * C + c] = rng.poisson(expected[c]! * 5000);
    const r = fitter.fitCube({ width, height, channels: C, counts });
    let mean = 0;
    for (const v of r.chi2) mean += v / r.chi2.length;
    assert.ok(mean > 0.85 && mean < 1.15, `mean chi2 ${mean}`);
  });

  it('flags pixels the model cannot describe with a high chi2', () => {
    // Half the pixels hold Zn, which this fitter does not know.
    const rng = createRng(17);
    const small = new LinearFitter(grid, ['Ca', 'Cr', 'Cu', 'Pb']);
    const C = grid.channels;
    const bg = { ...DEFAULT_BACKGROUND, substrate: 'canvas' as const };
    const plain = synthesize(grid, { elements: { Cu: 0.5, Pb: 0.2 }, background: 0.3 }, DEFAULT_DETECTOR, bg).expected;
    const withZn = synthesize(grid, { elements: { Cu: 0.5, Pb: 0.2, Zn: 0.3 }, background: 0.3 }, DEFAULT_DETECTOR, bg).expected;
    const counts = new Uint32Array(8 * C);
    for (let p = 0; p < 8; p++) for (let c = 0; c < C; c++) counts[p * C + c] = rng.poisson((p < 4 ? plain : withZn)[c]! * 20000);
    const r = small.fitCube({ width: 8, height: 1, channels: C, counts });
    const complete = Math.max(...r.chi2.subarray(0, 4));
    const missing = Math.min(...r.chi2.subarray(4));
    assert.ok(complete < 1.5 && missing > 3 * complete, `chi2 up to ${complete} (model complete) vs from ${missing} (Zn missing)`);
  });
});
