// SNIP background under the ROI windows (pipelines/maps/snip-background.ts, roi.ts background 'snip'): on
// simulated spectra the background of a pure continuum is close to the continuum, an element's net window counts
// are near its true counts (and much nearer than the gross sums), empty and broken spectra give 0 and finite
// values, cube maps equal per-pixel counts, the map worker gives the direct call's numbers, and maps.roi parses.
import assert from 'node:assert/strict';
import { defaultConfig, validateConfig } from '../../../config/index.js';
import { DEFAULT_BACKGROUND, DEFAULT_DETECTOR, synthesize, type EnergyGrid } from '../../../physics/index.js';
import { createRng } from '../../../physics/random.js';
import { cubeGrid } from '../../../pipelines/maps/build.js';
import { MapThread } from '../../../pipelines/maps/map-thread.js';
import { planRoi, roiBackgroundFromConfig, roiCounts, roiFractions, roiMaps, type RoiPlan } from '../../../pipelines/maps/roi.js';
import { SnipBackground } from '../../../pipelines/maps/snip-background.js';
import { elementMap } from '../../../pipelines/maps/types.js';
import { phantomCube } from '../inference/support/phantom-cube.js';

const grid: EnergyGrid = { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 };
const ELEMENTS = ['Ca', 'Ti', 'Cr', 'Mn', 'Fe', 'Co', 'Cu', 'Zn', 'Hg', 'Pb'];
/** No detector lines (Cu, Al of the detector itself): the continuum alone. */
const det = { ...DEFAULT_DETECTOR, cuShare: 0, alShare: 0 };
/** The substrate continuum without the scattered tube lines (those are peaks, which SNIP rightly keeps). */
const substrate = { ...DEFAULT_BACKGROUND, scatterShare: 0 };

function poissonDraw(expected: Float64Array, total: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return expected.map((v) => rng.poisson(v * total));
}

/** Gross window counts (no background), summed over every element's window. */
function grossWindows(plan: RoiPlan, s: ArrayLike<number>): number {
  let g = 0;
  for (const w of plan.windows) for (let i = 0; i < w.channels.length; i++) g += w.weights[i]! * s[w.channels[i]!]!;
  return g;
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

describe('pipelines/maps SNIP background under the roi windows', () => {
  const plan = planRoi(grid, ELEMENTS, { detector: det });
  const gross = planRoi(grid, ELEMENTS, { detector: det, background: 'none' });
  const continuum = synthesize(grid, { elements: {}, background: 1 }, det, substrate).expected;

  it('estimates a pure continuum as (nearly) itself: little is left in the windows', () => {
    const snip = new SnipBackground(grid, { detector: det });
    const y = continuum.map((v) => v * 1e5);
    const bg = snip.estimate(y);
    // Channel by channel between 1.5 and 15 keV (the smoothing lifts it a few % near the low cutoff), and in total.
    for (let c = 19; c < 188; c++) assert.ok(bg[c]! <= y[c]! * 1.06 && bg[c]! >= 0.85 * y[c]!, `channel ${c}: background ${bg[c]} of ${y[c]}`);
    assert.ok(sum(bg) > 0.9 * sum(y), `background ${sum(bg)} of ${sum(y)}`);
    assert.ok(sum(roiCounts(plan, y)) < 0.1 * grossWindows(plan, y), 'more than 10 % of a noise-free continuum left as net counts');
    // Noisy (3000 counts per spectrum, ~12 per channel): still most of it removed, on average over draws.
    let net = 0;
    let all = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const s = poissonDraw(continuum, 3000, seed);
      net += sum(roiCounts(plan, s));
      all += grossWindows(plan, s);
    }
    assert.ok(net < 0.2 * all, `noisy continuum: ${((100 * net) / all).toFixed(1)} % left as net counts`);
  });

  it('flattening by the detector record of a flat continuum matters (the argon edge is no peak)', () => {
    const plain = planRoi(grid, ELEMENTS, { detector: det, snip: { flatten: false } });
    const y = continuum.map((v) => v * 1e5);
    const withFlat = sum(roiCounts(plan, y));
    const without = sum(roiCounts(plain, y));
    assert.ok(without > 2 * withFlat, `flattened ${withFlat}, plain ${without}`);
  });

  it('gives an element on a continuum net counts near its true counts, much nearer than the gross sums', () => {
    // Ti Ka (4.5 keV) sits on the flank after the argon edge, where the flattened continuum still curves: looser.
    for (const [el, share, tol] of [['Fe', 0.05, 0.15], ['Cu', 0.1, 0.15], ['Ti', 0.05, 0.35]] as const) {
      const { expected, fractions } = synthesize(grid, { elements: { [el]: share }, background: 1 - share }, det, substrate);
      const e = ELEMENTS.indexOf(el);
      for (const total of [1e5, 1e4]) {
        const truth = fractions[el]! * total;
        let net = 0;
        let raw = 0;
        const draws = 10;
        for (let seed = 1; seed <= draws; seed++) {
          const s = poissonDraw(expected, total, seed);
          net += roiCounts(plan, s)[e]! / plan.windows[e]!.capture / draws;
          raw += roiCounts(gross, s)[e]! / gross.windows[e]!.capture / draws;
        }
        const errNet = Math.abs(net / truth - 1);
        const errRaw = Math.abs(raw / truth - 1);
        assert.ok(errNet < tol, `${el} at ${total} counts: net ${net.toFixed(0)} vs true ${truth.toFixed(0)}`);
        assert.ok(errNet < errRaw / 4, `${el} at ${total} counts: net error ${errNet.toFixed(3)}, gross error ${errRaw.toFixed(3)}`);
      }
    }
  });

  it('keeps fraction 1 for a pure element (capture is taken net of the background)', () => {
    const far = planRoi(grid, ['Ca', 'Cu', 'Pb'], { detector: det });
    for (const el of far.elements) {
      const pure = synthesize(grid, { elements: { [el]: 1 }, background: 0 }, det, substrate).expected.map((v) => v * 1e4);
      const f = roiFractions(far, pure);
      assert.ok(Math.abs(f[far.elements.indexOf(el)]! - 1) < 1e-9, `${el}: ${f[far.elements.indexOf(el)]}`);
    }
  });

  it('gives 0 for empty spectra and finite values for broken ones', () => {
    const snip = new SnipBackground(grid);
    assert.ok(snip.estimate(new Float64Array(grid.channels)).every((v) => v === 0));
    assert.ok(roiCounts(plan, new Float64Array(grid.channels)).every((v) => v === 0));
    assert.ok(roiFractions(plan, new Float64Array(grid.channels)).every((v) => v === 0));
    const broken = new Float64Array(grid.channels).fill(5);
    broken[40] = NaN;
    broken[41] = -7;
    broken[42] = Infinity;
    assert.ok(snip.estimate(broken).every((v) => Number.isFinite(v) && v >= 0));
    // A single count, and a lone spike: net >= 0 and finite everywhere.
    for (const c of [0, 13, 100, grid.channels - 1]) {
      const s = new Float64Array(grid.channels);
      s[c] = 1;
      const n = roiCounts(plan, s);
      assert.ok(n.every((v) => Number.isFinite(v) && v >= 0), `spike at ${c}: ${Array.from(n)}`);
    }
    // Tiny grids (fewer channels than a window) still work.
    const tiny: EnergyGrid = { channels: 16, eMinKeV: 7, eMaxKeV: 9 };
    const t = planRoi(tiny, ['Cu']);
    const v = roiCounts(t, new Float64Array(16).fill(3));
    assert.ok(Number.isFinite(v[0]!) && v[0]! >= 0);
    assert.throws(() => new SnipBackground(grid, { widthFwhm: 0 }), /widthFwhm/);
    assert.throws(() => planRoi(grid, ['Cu'], { background: 'linear' as never }), /background must be one of/);
  });

  it('builds cube maps equal to per-pixel net counts (offset reads, no state kept between pixels)', () => {
    const rng = createRng(9);
    const width = 5;
    const height = 3;
    const C = grid.channels;
    const counts = new Uint32Array(width * height * C);
    for (let p = 0; p < width * height; p++) {
      const s = poissonDraw(synthesize(grid, { elements: { Cu: 0.02 * p, Fe: 0.05 }, background: 1 }, det, DEFAULT_BACKGROUND).expected, 200 * (p + 1), 100 + p);
      for (let c = 0; c < C; c++) counts[p * C + c] = s[c]! + (rng.next() < 0.01 ? 1 : 0);
    }
    const maps = roiMaps(plan, { width, height, channels: C, counts });
    for (let p = 0; p < width * height; p++) {
      const expected = roiCounts(plan, Float64Array.from(counts.subarray(p * C, (p + 1) * C)));
      ELEMENTS.forEach((el, e) => assert.equal(elementMap(maps, el)[p], Math.fround(expected[e]!), `${el} at pixel ${p}`));
    }
    // The Cu map grows with the Cu share (pixel 0 has none).
    const cu = elementMap(maps, 'Cu');
    assert.ok(cu[width * height - 1]! > 10 * (cu[0]! + 1), `Cu ${cu[0]} .. ${cu[width * height - 1]}`);
  });

  it('computes the same snip and none maps in the map worker as the direct call', async function () {
    this.timeout(120_000);
    const fill = phantomCube(16, 12, 3);
    fill.add(16 * 12 * 300);
    const cube = fill.cube;
    const elements = ['Cr', 'Cu', 'Pb'];
    const g = cubeGrid(cube);
    for (const roi of [{ background: 'snip' as const }, { background: 'none' as const }, { background: 'snip' as const, snip: { widthFwhm: 1.2, smoothFwhm: 0 } }]) {
      const thread = await MapThread.start({ cube, method: 'roi', elements, roi });
      try {
        const got = await thread.compute();
        const direct = roiMaps(planRoi(g, elements, { ...roi, detector: DEFAULT_DETECTOR }), cube);
        assert.ok(direct.data.some((v) => v > 0));
        assert.deepEqual(Array.from(got.maps.data), Array.from(direct.data), JSON.stringify(roi));
      } finally {
        await thread.stop();
      }
    }
    // And snip differs from none (the option reaches the worker).
    const none = roiMaps(planRoi(g, elements, { background: 'none' }), cube);
    const snip = roiMaps(planRoi(g, elements), cube);
    assert.ok(sum(snip.data) < 0.8 * sum(none.data), `snip ${sum(snip.data)}, none ${sum(none.data)}`);
  });

  it('config maps.roi: snip by default, none accepted, anything else rejected', () => {
    const c = defaultConfig().maps.roi;
    assert.equal(c.background, 'snip');
    assert.deepEqual(roiBackgroundFromConfig(c), { background: 'snip', snip: { widthFwhm: 0.7, smoothFwhm: 0.5 } });
    assert.ok(validateConfig({ maps: { roi: { background: 'none' } } }).ok);
    const bad = validateConfig({ maps: { roi: { background: 'linear' } } });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.ok(bad.problems.some((p) => p.path === 'maps.roi.background'), JSON.stringify(bad.problems));
    assert.equal(validateConfig({ maps: { roi: { snipWidthFwhm: 0 } } }).ok, false);
  });
});
