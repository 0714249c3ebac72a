import assert from 'node:assert/strict';
import { binWidth, DEFAULT_BACKGROUND, DEFAULT_DETECTOR, elementResponse, fwhmKeV, synthesize, type EnergyGrid } from '../../../physics/index.js';
import { createRng } from '../../../physics/random.js';
import { planRoi, roiCounts, roiFractions, roiMaps } from '../../../pipelines/maps/roi.js';
import { elementMap } from '../../../pipelines/maps/types.js';

const grid: EnergyGrid = { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 };
const ELEMENTS = ['Ca', 'Ti', 'Cr', 'Mn', 'Fe', 'Co', 'Cu', 'Zn', 'Hg', 'Pb'];
const channelOf = (e: number) => Math.floor((e - grid.eMinKeV) / binWidth(grid));

describe('pipelines/maps roi (window sums)', () => {
  const plan = planRoi(grid, ELEMENTS);

  it('uses K lines for light elements and L lines for heavy ones', () => {
    const fam = (el: string) => plan.windows[ELEMENTS.indexOf(el)]!.groups[0]!.family;
    for (const el of ['Ca', 'Cr', 'Cu', 'Zn']) assert.equal(fam(el), 'K', el);
    for (const el of ['Hg', 'Pb']) assert.equal(fam(el), 'L', el);
    const pb = plan.windows[ELEMENTS.indexOf('Pb')]!;
    assert.ok(pb.groups[0]!.centroidKeV > 10 && pb.groups[0]!.centroidKeV < 11, `Pb's strongest group at ${pb.groups[0]!.centroidKeV} keV`);
  });

  it('gives every channel to at most one element, with weights in (0, 1]', () => {
    const owner = new Int32Array(grid.channels).fill(-1);
    plan.windows.forEach((w, e) => {
      assert.ok(w.channels.length > 0, `${w.element} has an empty window`);
      w.channels.forEach((c, i) => {
        assert.equal(owner[c], -1, `channel ${c} claimed by ${ELEMENTS[owner[c]!]} and ${w.element}`);
        owner[c] = e;
        assert.ok(w.weights[i]! > 0 && w.weights[i]! <= 1);
      });
    });
  });

  it('splits overlapping windows between the two lines (Cr | Mn)', () => {
    const cr = plan.windows[ELEMENTS.indexOf('Cr')]!;
    const mn = plan.windows[ELEMENTS.indexOf('Mn')]!;
    const crTop = cr.channels[cr.channels.length - 1]!;
    const mnBottom = mn.channels[0]!;
    assert.equal(mnBottom, crTop + 1, 'the two windows should meet');
    assert.ok(crTop >= channelOf(5.41) && mnBottom <= channelOf(5.9) + 1, `boundary ${crTop}|${mnBottom} is not between Cr Ka and Mn Ka`);
  });

  it('makes an isolated line window about +-1 FWHM wide', () => {
    const solo = planRoi(grid, ['Cu']);
    const w = solo.windows[0]!;
    let width = 0;
    for (const v of w.weights) width += v * binWidth(grid);
    const g = w.groups[0]!;
    const expected = g.eHighKeV - g.eLowKeV + 2 * fwhmKeV(g.centroidKeV, DEFAULT_DETECTOR);
    assert.ok(Math.abs(width - expected) < 0.05, `window ${width} keV, expected ${expected}`);
    // ... and collects most of a pure Cu Ka peak.
    assert.ok(w.capture > 0.5 && w.capture < 1, `capture ${w.capture}`);
  });

  it('counts crafted spectra: a spike at Cu Ka goes to Cu only; counts outside all windows go nowhere', () => {
    const s = new Float64Array(grid.channels);
    s[channelOf(8.04)] = 500;
    s[grid.channels - 1] = 1000; // 20.4 keV: no window
    const counts = roiCounts(planRoi(grid, ELEMENTS, { background: 'none' }), s);
    ELEMENTS.forEach((el, e) => assert.equal(counts[e], el === 'Cu' ? 500 : 0, el));
  });

  it('gives fraction 1 for a pure element spectrum and ~0 elsewhere when lines are far apart', () => {
    const far = planRoi(grid, ['Ca', 'Cu', 'Pb']);
    for (const el of far.elements) {
      const pure = elementResponse(grid, el, DEFAULT_DETECTOR).map((v) => v * 1e4);
      const f = roiFractions(far, pure);
      far.elements.forEach((other, e) => {
        if (other === el) assert.ok(Math.abs(f[e]! - 1) < 1e-9, `${el}: ${f[e]}`);
        else assert.ok(f[e]! < 0.1, `${el} leaks ${f[e]} into ${other}`);
      });
    }
  });

  it('orders fractions like the truth on a mixture', () => {
    const far = planRoi(grid, ['Ca', 'Cu', 'Pb']);
    const { expected } = synthesize(grid, { elements: { Cu: 0.6, Pb: 0.1 }, background: 0.1 }, DEFAULT_DETECTOR, DEFAULT_BACKGROUND);
    const f = roiFractions(far, expected.map((v) => v * 1e4)); // counts (the SNIP background's LLS is not scale-free)
    assert.ok(f[1]! > f[2]! && f[2]! > 0.02, `Cu ${f[1]} Pb ${f[2]}`);
  });

  it('builds cube maps equal to per-pixel window counts', () => {
    const rng = createRng(3);
    const width = 4;
    const height = 3;
    const counts = new Uint32Array(width * height * grid.channels);
    for (let i = 0; i < counts.length; i++) counts[i] = rng.poisson(3);
    const maps = roiMaps(plan, { width, height, channels: grid.channels, counts });
    assert.equal(maps.method, 'roi');
    for (let p = 0; p < width * height; p++) {
      const expected = roiCounts(plan, counts.subarray(p * grid.channels, (p + 1) * grid.channels));
      ELEMENTS.forEach((el, e) => assert.ok(Math.abs(elementMap(maps, el)[p]! - expected[e]!) < 1e-3));
    }
  });

  it('rejects an element with no line on the grid', () => {
    assert.throws(() => planRoi({ channels: 64, eMinKeV: 0, eMaxKeV: 2 }, ['Pb']), /no line/);
  });
});
