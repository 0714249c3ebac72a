import assert from 'node:assert/strict';
import { DEFAULT_DETECTOR, synthesize } from '../../physics/index.js';
import { adcToKeV, responseOnAdc } from '../../simulator/generators/adc-spectra.js';
import { EventGenerator } from '../../simulator/generators/events.js';
import { brightness } from '../../simulator/phantoms/index.js';
import { elementResponse } from '../../physics/index.js';
import { chiSquare, chiSquareCritical } from './stats.js';

describe('simulator/EventGenerator', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const make = (seed: number) => new EventGenerator({ phantom: 'phantom-painting', ratePerSecond: 1e6, seed });
    const a = make(7), b = make(7), c = make(8);
    for (let k = 0; k < 3; k++) {
      const x = a.next(5000), y = b.next(5000), z = c.next(5000);
      assert.deepEqual(x.x, y.x);
      assert.deepEqual(x.y, y.y);
      assert.deepEqual(x.adc, y.adc);
      assert.deepEqual(x.t, y.t);
      assert.notDeepEqual(x.adc, z.adc);
    }
  });

  it('arrivals are a Poisson process at the given rate, continuing across batches', () => {
    const g = new EventGenerator({ phantom: 'uniform:Fe', ratePerSecond: 2e6, seed: 3 });
    const first = g.next(1000);
    const lastOfFirst = first.t[first.n - 1]!;
    const b = g.next(200_000);
    assert.ok(b.t[0]! > lastOfFirst, 'time continues across batches');
    let sum = 0, sum2 = 0;
    for (let i = 1; i < b.n; i++) {
      const d = b.t[i]! - b.t[i - 1]!;
      assert.ok(d >= 0, 'times never decrease');
      sum += d;
      sum2 += d * d;
    }
    const m = sum / (b.n - 1);
    const cv = Math.sqrt(sum2 / (b.n - 1) - m * m) / m;
    assert.ok(Math.abs(m - 500) < 5, `mean interval ${m} ns (expected 500)`);
    assert.ok(Math.abs(cv - 1) < 0.02, `exponential intervals have CV 1, got ${cv}`);
  });

  it('generate(duration) covers consecutive spans with rate x duration events', () => {
    const g = new EventGenerator({ phantom: 'uniform:Cu', ratePerSecond: 1e6, seed: 11, startNs: 1e6 });
    let total = 0;
    let prevEnd = 1e6;
    for (let k = 0; k < 10; k++) {
      const b = g.generate(1e6); // 1 ms -> ~1000 events
      for (let i = 0; i < b.n; i++) assert.ok(b.t[i]! >= prevEnd && b.t[i]! < prevEnd + 1e6, 'event inside its span');
      prevEnd += 1e6;
      total += b.n;
    }
    assert.ok(Math.abs(total - 10_000) < 5 * 100, `events in 10 ms at 1 MHz: ${total}`);
    assert.equal(g.count, total);
  });

  it('positions follow the phantom brightness (chi-square over 10x10 regions)', () => {
    const g = new EventGenerator({ phantom: 'phantom-painting', ratePerSecond: 1e6, seed: 5 });
    const N = 300_000;
    const b = g.next(N);
    const obs = new Float64Array(100);
    for (let i = 0; i < b.n; i++) obs[((b.y[i]! / 10) | 0) * 10 + ((b.x[i]! / 10) | 0)]!++;
    // Expected from the phantom's brightness; the generator's recorded rate also loses what falls below
    // threshold, so compare with the rates it was built from via pixelShares' definition: brightness.
    const br = brightness(g.raster);
    const exp = new Float64Array(100);
    for (let p = 0; p < 10000; p++) exp[((((p / 100) | 0) / 10) | 0) * 10 + (((p % 100) / 10) | 0)]! += (br[p]! / 10000) * N;
    const { chi2, df } = chiSquare(obs, exp);
    assert.ok(chi2 < chiSquareCritical(df), `chi2 ${chi2.toFixed(1)} > ${chiSquareCritical(df).toFixed(1)} (df ${df})`);
    // And the test has power: a flat distribution is rejected.
    const flat = new Float64Array(100).fill(N / 100);
    assert.ok(chiSquare(obs, flat).chi2 > 10 * chiSquareCritical(df), 'brightness varies enough to tell');
  });

  it('energies follow the pixel spectrum (chi-square of the ADC histogram)', () => {
    const g = new EventGenerator({ phantom: 'uniform:Fe', ratePerSecond: 1e6, seed: 9 });
    const N = 300_000;
    const b = g.next(N);
    const group = 16; // 4096 ADC channels -> 256 bins
    const obs = new Float64Array(g.channels / group);
    for (let i = 0; i < b.n; i++) obs[(b.adc[i]! / group) | 0]!++;
    const spec = g.expectedSpectrum(50, 50);
    const exp = new Float64Array(obs.length);
    for (let c = 0; c < spec.length; c++) exp[(c / group) | 0]! += spec[c]! * N;
    const { chi2, df } = chiSquare(obs, exp);
    assert.ok(df > 50, `enough populated bins (${df})`);
    assert.ok(chi2 < chiSquareCritical(df), `chi2 ${chi2.toFixed(1)} > ${chiSquareCritical(df).toFixed(1)} (df ${df})`);
    // The test has power: the same spectrum shifted by 2% of gain is rejected.
    const shifted = new Float64Array(obs.length);
    for (let c = 0; c < spec.length; c++) shifted[Math.min(((c * 1.02) / group) | 0, obs.length - 1)]! += spec[c]! * N;
    assert.ok(chiSquare(obs, shifted).chi2 > chiSquareCritical(df), 'a 2% gain error is detected');
  });

  it("a pixel's expected spectrum is physics synthesize() of its mixture on the ADC grid", () => {
    const g = new EventGenerator({ phantom: 'phantom-painting', ratePerSecond: 1e6, seed: 1 });
    const r = g.raster;
    const plane = r.width * r.height;
    for (const [x, y] of [[25, 35], [48, 30], [95, 95], [50, 85]] as const) {
      const p = y * r.width + x;
      const elements: Record<string, number> = {};
      r.elements.forEach((el, e) => (elements[el] = r.amounts[e * plane + p]!));
      const grid = { channels: g.channels, eMinKeV: 0, eMaxKeV: g.channels * 0.005 };
      const want = synthesize(grid, { elements, background: r.backgroundAmount[p]! }, g.detector, g.background).expected;
      const got = g.expectedSpectrum(x, y);
      let maxDiff = 0;
      for (let c = 0; c < want.length; c++) maxDiff = Math.max(maxDiff, Math.abs(want[c]! - got[c]!));
      assert.ok(maxDiff < 1e-9, `pixel (${x},${y}): max difference ${maxDiff}`);
    }
  });

  it('the gain map scales the recorded ADC pixel by pixel', () => {
    const g = new EventGenerator({ phantom: 'uniform:Fe', ratePerSecond: 1e6, seed: 4, gainNonUniformity: 0.1 });
    let lo = Infinity, hi = -Infinity;
    for (const v of g.gainMap) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(Math.abs(lo - 0.9) < 1e-6 && Math.abs(hi - 1.1) < 1e-6, `gain range ${lo}..${hi}`);
    const flat = new EventGenerator({ phantom: 'uniform:Fe', ratePerSecond: 1e6, seed: 4 });
    const meanFlat = mean(flat.next(200_000).adc);
    const b = g.next(400_000);
    // Mean recorded ADC over pixels binned by gain: proportional to the gain.
    for (const [g0, g1] of [[0.9, 0.95], [0.98, 1.02], [1.05, 1.1]]) {
      let s = 0, n = 0, gs = 0;
      for (let i = 0; i < b.n; i++) {
        const gp = g.gainMap[b.y[i]! * 100 + b.x[i]!]!;
        if (gp < g0! || gp >= g1!) continue;
        s += b.adc[i]!;
        gs += gp;
        n++;
      }
      assert.ok(n > 5000, `events in gain bin ${g0}-${g1}: ${n}`);
      const ratio = s / n / meanFlat;
      assert.ok(Math.abs(ratio - gs / n) < 0.01, `gain ${(gs / n).toFixed(3)}: mean ADC ratio ${ratio.toFixed(3)}`);
    }
    assert.ok(b.adc.subarray(0, b.n).every((a) => a <= 4095));
  });

  it('handles a quadratic calibration term (peak lands where E(adc) = line energy)', () => {
    const cal = { gainKeVPerAdc: 0.004, offsetKeV: 0.1, quadraticKeVPerAdc2: 2e-7 };
    const r = responseOnAdc((grid) => elementResponse(grid, 'Fe', DEFAULT_DETECTOR), cal, 4096);
    const sum = r.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-6, `unit sum ${sum}`);
    let arg = 0;
    for (let c = 1; c < r.length; c++) if (r[c]! > r[arg]!) arg = c;
    assert.ok(Math.abs(adcToKeV(cal, arg + 0.5) - 6.40) < 0.05, `Fe Ka peak at ${adcToKeV(cal, arg + 0.5)} keV`);
  });

  it('rejects bad options with clear errors', () => {
    assert.throws(() => new EventGenerator({ phantom: 'uniform:Fe', ratePerSecond: 0, seed: 1 }), /rate must be > 0/);
    assert.throws(() => new EventGenerator({ phantom: 'uniform:Fe', ratePerSecond: 1, seed: 1, adcBits: 7 }), /adcBits/);
    assert.throws(() => new EventGenerator({ phantom: 'nope', ratePerSecond: 1, seed: 1 }), /unknown phantom/);
    assert.throws(() => new EventGenerator({ phantom: 'uniform:Fe', ratePerSecond: 1, seed: 1, gainNonUniformity: 1.5 }), /non-uniformity/);
    assert.throws(() => new EventGenerator({ phantom: 'uniform:Fe', ratePerSecond: 1, seed: 1, detector: { pileupFraction: 0.01 } }), /pile-up is not modelled/);
    const g = new EventGenerator({ phantom: 'uniform:Fe', ratePerSecond: 1, seed: 1 });
    assert.throws(() => g.next(-1), /non-negative integer/);
  });
});

function mean(a: Uint16Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}
