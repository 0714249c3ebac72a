import assert from 'node:assert/strict';
import {
  DEFAULT_BACKGROUND, DEFAULT_DETECTOR, PIGMENT_ELEMENTS, SUBSTRATES, backgroundResponse, binCenters, binWidth,
  detectionEfficiency, detectorLinesResponse, elementResponse, escapeProbability, familyShares, fwhmKeV, synthesize,
  type DetectorParams, type EnergyGrid,
} from '../../physics/index.js';
import { addGaussian, recordPhotons } from '../../physics/recorded.js';

const GRID: EnergyGrid = { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 };
const FINE: EnergyGrid = { channels: 4096, eMinKeV: 0, eMaxKeV: 20.48 };
const NO_CUT: DetectorParams = { ...DEFAULT_DETECTOR, lowCutoffKeV: 0 };
const sum = (a: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]!; return s; };
const channelOf = (g: EnergyGrid, e: number): number => Math.floor((e - g.eMinKeV) / binWidth(g));
const argmaxIn = (a: Float64Array, g: EnergyGrid, lo: number, hi: number): number => {
  let best = channelOf(g, lo);
  for (let i = channelOf(g, lo); i <= channelOf(g, hi); i++) if (a[i]! > a[best]!) best = i;
  return binCenters(g)[best]!;
};

describe('physics: detector response', () => {
  it('has FWHM 1.06 keV at 5.9 keV (18 %) and adds noise in quadrature', () => {
    assert.ok(Math.abs(fwhmKeV(5.9, DEFAULT_DETECTOR) - 1.062) < 1e-9);
    assert.ok(Math.abs(fwhmKeV(5.9 * 4, DEFAULT_DETECTOR) - 2 * 1.062) < 1e-9);
    assert.ok(Math.abs(fwhmKeV(5.9, { ...DEFAULT_DETECTOR, noiseKeV: 0.5 }) - Math.hypot(1.062, 0.5)) < 1e-9);
  });

  it('integrates a Gaussian over channels: unit mass, right width', () => {
    const out = new Float64Array(FINE.channels);
    addGaussian(out, FINE, 8, 1, DEFAULT_DETECTOR);
    assert.ok(Math.abs(sum(out) - 1) < 1e-6); // erfc approximation: 1.2e-7 relative
    const c = binCenters(FINE);
    let m = 0, v = 0;
    for (let i = 0; i < c.length; i++) m += out[i]! * c[i]!;
    for (let i = 0; i < c.length; i++) v += out[i]! * (c[i]! - m) ** 2;
    const sigma = fwhmKeV(8, DEFAULT_DETECTOR) / 2.35482;
    assert.ok(Math.abs(m - 8) < 1e-6);
    assert.ok(Math.abs(Math.sqrt(v - binWidth(FINE) ** 2 / 12) - sigma) < 1e-4);
  });

  it('puts the Cu Ka escape peak at 5.09 keV', () => {
    const r = detectorLinesResponse(FINE, { ...NO_CUT, alShare: 0 });
    const peak = argmaxIn(r, FINE, 4.5, 5.7);
    assert.ok(Math.abs(peak - (8.046 - 2.957)) < 0.03, `escape peak at ${peak}`);
    // and it is a real local maximum well above the continuum between escape and photopeak
    const mid = r[channelOf(FINE, 6.6)]!;
    assert.ok(r[channelOf(FINE, peak)]! > 1.5 * mid);
  });

  it('has no escape below the argon K edge (3.206 keV)', () => {
    assert.equal(escapeProbability(3.2, DEFAULT_DETECTOR), 0);
    assert.ok(escapeProbability(3.21, DEFAULT_DETECTOR) > 0.05);
    for (const e of [1.5, 2.5, 3.19]) {
      const rec = new Float64Array(FINE.channels), pure = new Float64Array(FINE.channels);
      recordPhotons(rec, FINE, [e], [1], DEFAULT_DETECTOR, { throughWindow: true });
      addGaussian(pure, FINE, e, detectionEfficiency(e), DEFAULT_DETECTOR);
      for (let i = 0; i < rec.length; i++) assert.ok(Math.abs(rec[i]! - pure[i]!) < 1e-15);
    }
    // escapeScale scales it; zero removes it
    assert.ok(Math.abs(escapeProbability(6, { ...DEFAULT_DETECTOR, escapeScale: 2 }) - 2 * escapeProbability(6, DEFAULT_DETECTOR)) < 1e-12);
    assert.equal(escapeProbability(6, { ...DEFAULT_DETECTOR, escapeScale: 0 }), 0);
  });

  it('has the argon edge step in the gas efficiency and falls toward high energy', () => {
    assert.ok(detectionEfficiency(3.25) > 2 * detectionEfficiency(3.15));
    assert.ok(detectionEfficiency(6) > detectionEfficiency(10));
    assert.ok(detectionEfficiency(10) > 5 * detectionEfficiency(25));
  });

  it('returns unit-sum responses for every palette element, background and detector lines', () => {
    for (const g of [GRID, FINE]) {
      for (const el of PIGMENT_ELEMENTS) assert.ok(Math.abs(sum(elementResponse(g, el, DEFAULT_DETECTOR)) - 1) < 1e-9, el);
      for (const substrate of SUBSTRATES) assert.ok(Math.abs(sum(backgroundResponse(g, { ...DEFAULT_BACKGROUND, substrate }, DEFAULT_DETECTOR)) - 1) < 1e-9, substrate);
      assert.ok(Math.abs(sum(detectorLinesResponse(g, DEFAULT_DETECTOR)) - 1) < 1e-9);
    }
  });

  it('places element peaks where the lines are, and moves them with the gain', () => {
    const fe = elementResponse(FINE, 'Fe', NO_CUT);
    // the unresolved Kb (7.06 keV, 14 %) pulls the blended maximum a little above Ka (6.40 keV)
    assert.ok(Math.abs(argmaxIn(fe, FINE, 5, 8) - 6.40) < 0.05);
    const pb = elementResponse(FINE, 'Pb', NO_CUT);
    assert.ok(Math.abs(argmaxIn(pb, FINE, 9.5, 11.5) - 10.55) < 0.08);
    const drift = elementResponse(FINE, 'Fe', { ...NO_CUT, gainScale: 1.05 });
    assert.ok(Math.abs(argmaxIn(drift, FINE, 5, 8.5) - argmaxIn(fe, FINE, 5, 8) * 1.05) < 0.02);
  });

  it('applies the threshold: nothing recorded below lowCutoffKeV', () => {
    const r = elementResponse(GRID, 'S', { ...DEFAULT_DETECTOR, lowCutoffKeV: 2.0 });
    for (let i = 0; i < channelOf(GRID, 2.0); i++) assert.equal(r[i], 0);
    assert.ok(r[channelOf(GRID, 2.3)]! > 0);
  });

  it('lets the tube decide the families: K for light, L for heavy elements (W 40 kV)', () => {
    const tube = { anode: 'W' as const, kV: 40 };
    assert.ok(familyShares('Fe', tube).K > 0.99);
    assert.equal(familyShares('Pb', tube).K, 0); // Pb K edge 88 keV
    assert.ok(familyShares('Pb', tube).L > 0.9);
    assert.ok(familyShares('Sn', { anode: 'W', kV: 20 }).K === 0); // Sn K edge 29.2 keV
    assert.ok(familyShares('Sn', tube).K > 0);
    // What the GEM records of Sn is mostly L (K lines at 25 keV hardly absorbed in the gas).
    const sn = elementResponse(FINE, 'Sn', NO_CUT);
    let below = 0;
    for (let i = 0; i < channelOf(FINE, 8); i++) below += sn[i]!;
    assert.ok(below > 0.5, `Sn counts below 8 keV: ${below}`);
  });

  it('returns copies: callers may modify results without corrupting the cache', () => {
    const a = elementResponse(GRID, 'Cu', DEFAULT_DETECTOR);
    a.fill(0);
    assert.ok(Math.abs(sum(elementResponse(GRID, 'Cu', DEFAULT_DETECTOR)) - 1) < 1e-9);
  });

  it('rejects bad parameters with clear errors', () => {
    assert.throws(() => elementResponse(GRID, 'Zz', DEFAULT_DETECTOR), /unknown element/);
    assert.throws(() => elementResponse({ channels: 0, eMinKeV: 0, eMaxKeV: 1 }, 'Fe', DEFAULT_DETECTOR), /channels/);
    assert.throws(() => elementResponse(GRID, 'Fe', { ...DEFAULT_DETECTOR, resolution: -1 }), /detector.resolution/);
    assert.throws(() => backgroundResponse(GRID, { ...DEFAULT_BACKGROUND, substrate: 'glass' as never }, DEFAULT_DETECTOR), /substrate/);
  });
});

describe('physics: background and synthesis', () => {
  it('jitters the continuum deterministically by seed', () => {
    const nominal = backgroundResponse(GRID, DEFAULT_BACKGROUND, DEFAULT_DETECTOR);
    const a = backgroundResponse(GRID, { ...DEFAULT_BACKGROUND, shapeJitter: 0.5, jitterSeed: 7 }, DEFAULT_DETECTOR);
    const b = backgroundResponse(GRID, { ...DEFAULT_BACKGROUND, shapeJitter: 0.5, jitterSeed: 7 }, DEFAULT_DETECTOR);
    const c = backgroundResponse(GRID, { ...DEFAULT_BACKGROUND, shapeJitter: 0.5, jitterSeed: 8 }, DEFAULT_DETECTOR);
    assert.deepEqual(a, b);
    const diff = (x: Float64Array, y: Float64Array) => x.reduce((s, v, i) => s + Math.abs(v - y[i]!), 0);
    assert.ok(diff(a, nominal) > 0.01);
    assert.ok(diff(a, c) > 0.01);
  });

  it('substrates differ in shape', () => {
    const wood = backgroundResponse(GRID, { ...DEFAULT_BACKGROUND, substrate: 'wood', scatterShare: 0 }, DEFAULT_DETECTOR);
    const chalk = backgroundResponse(GRID, { ...DEFAULT_BACKGROUND, substrate: 'chalk', scatterShare: 0 }, DEFAULT_DETECTOR);
    assert.ok(wood.reduce((s, v, i) => s + Math.abs(v - chalk[i]!), 0) > 0.05);
  });

  it('obeys the sum rule and is the stated linear combination', () => {
    const det = DEFAULT_DETECTOR;
    const { expected, fractions } = synthesize(GRID, { elements: { Fe: 3, Pb: 2 }, background: 1 }, det, DEFAULT_BACKGROUND);
    const detShare = det.cuShare + det.alShare;
    const bgShare = (1 - detShare) / 6;
    assert.ok(Math.abs(fractions.Fe! + fractions.Pb! + bgShare + detShare - 1) < 1e-12);
    assert.ok(Math.abs(fractions.Fe! / fractions.Pb! - 1.5) < 1e-12);
    assert.ok(Math.abs(sum(expected) - 1) < 1e-12);
    const fe = elementResponse(GRID, 'Fe', det), pb = elementResponse(GRID, 'Pb', det);
    const bg = backgroundResponse(GRID, DEFAULT_BACKGROUND, det), dl = detectorLinesResponse(GRID, det);
    for (let i = 0; i < GRID.channels; i++) {
      const want = fractions.Fe! * fe[i]! + fractions.Pb! * pb[i]! + bgShare * bg[i]! + detShare * dl[i]!;
      assert.ok(Math.abs(expected[i]! - want) < 1e-12);
    }
  });

  it('adds a pile-up sum peak at twice the energy when pileupFraction > 0', () => {
    const det = { ...NO_CUT, cuShare: 0, alShare: 0, escapeScale: 0 };
    const clean = synthesize(FINE, { elements: { Fe: 1 }, background: 0 }, det, DEFAULT_BACKGROUND).expected;
    const piled = synthesize(FINE, { elements: { Fe: 1 }, background: 0 }, { ...det, pileupFraction: 0.1 }, DEFAULT_BACKGROUND).expected;
    assert.ok(Math.abs(sum(piled) - 1) < 1e-9);
    const at = channelOf(FINE, 12.8);
    assert.ok(piled[at]! > 100 * clean[at]! && piled[at]! > 0);
    // Ka+Ka at 12.80 keV, pulled up a little by Ka+Kb (13.46 keV)
    assert.ok(Math.abs(argmaxIn(piled, FINE, 11.5, 14.5) - 12.85) < 0.1);
  });

  it('rejects bad mixtures', () => {
    assert.throws(() => synthesize(GRID, { elements: { Fe: -1 }, background: 0 }, DEFAULT_DETECTOR, DEFAULT_BACKGROUND), /Fe must be a number >= 0/);
    assert.throws(() => synthesize(GRID, { elements: {}, background: 0 }, DEFAULT_DETECTOR, DEFAULT_BACKGROUND), /empty/);
    assert.throws(() => synthesize(GRID, { elements: { Qq: 1 }, background: 0 }, DEFAULT_DETECTOR, DEFAULT_BACKGROUND), /unknown element/);
  });
});
