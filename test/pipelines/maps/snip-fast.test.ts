// The fast SnipBackground.estimate (LLS tables, clip runs, see snip-background.ts's header) against the
// straightforward implementation it replaced (pipelines/maps/snip-reference.ts, the previous estimate verbatim:
// Math.log/sqrt/exp per channel, every channel on every clip pass), with the WebAssembly SIMD clip and with the
// JavaScript one: on many random spectra (empty, near-empty, low and high counts, lone spikes, counts beyond the tables' range, broken values; several grids and settings) the background
// agrees within TOLERANCE x (1 + background) per channel, and the roi net counts with it; the `channels` option
// writes exactly the channels asked for, with the same values.
import assert from 'node:assert/strict';
import { DEFAULT_BACKGROUND, DEFAULT_DETECTOR, synthesize, type EnergyGrid } from '../../../physics/index.js';
import { createRng, type Rng } from '../../../physics/random.js';
import { planRoi, roiCounts } from '../../../pipelines/maps/roi.js';
import { llsExact, llsInverseExact, SnipBackground, type SnipOptions } from '../../../pipelines/maps/snip-background.js';
import { SnipReference } from '../../../pipelines/maps/snip-reference.js';

/** Largest |fast - reference| / (1 + reference) allowed per channel. Measured on these spectra: <= 7e-11 (the
 *  LLS table's ~8e-12, times d ln(1 + y) / dv ~ 7 .. 16, plus the inverse table's ~1e-11; docs/results.md). */
const TOLERANCE = 2e-10;

/** The straightforward estimate (a fresh SnipReference each call: no state shared with the fast one). */
function reference(snip: SnipBackground, spectrum: ArrayLike<number>, offset = 0): Float64Array {
  return new SnipReference(snip).estimate(spectrum, new Float64Array(snip.channels), offset);
}

/** Random spectra of the kinds a map meets, and a few it should not. */
function* spectra(grid: EnergyGrid, rng: Rng, count: number): Generator<[string, Float64Array]> {
  const C = grid.channels;
  const smooth = synthesize(grid, { elements: { Fe: 0.1, Cu: 0.2, Pb: 0.05 }, background: 0.65 }, DEFAULT_DETECTOR, DEFAULT_BACKGROUND).expected;
  yield ['empty', new Float64Array(C)];
  for (let i = 0; i < count; i++) {
    const kind = i % 8;
    const s = new Float64Array(C);
    if (kind === 0) {
      // Near-empty: a few counts anywhere.
      const n = 1 + Math.floor(rng.next() * 5);
      for (let k = 0; k < n; k++) s[Math.floor(rng.next() * C)]! += 1;
      yield ['few counts', s];
    } else if (kind === 1) {
      // Low counts: Poisson draws of a real spectrum at 20 .. 2000 counts.
      const total = 20 * 100 ** rng.next();
      for (let c = 0; c < C; c++) s[c] = rng.poisson(smooth[c]! * total);
      yield [`poisson ${total.toFixed(0)}`, s];
    } else if (kind === 2) {
      // High counts: 1e4 .. 1e8 per spectrum.
      const total = 1e4 * 1e4 ** rng.next();
      for (let c = 0; c < C; c++) s[c] = rng.poisson(smooth[c]! * total);
      yield [`poisson ${total.toExponential(1)}`, s];
    } else if (kind === 3) {
      // A lone spike of 1 .. 1e6 counts on nothing or on a flat floor.
      s.fill(rng.next() < 0.5 ? 0 : Math.floor(rng.next() * 4));
      s[Math.floor(rng.next() * C)] = Math.round(1e6 ** rng.next());
      yield ['spike', s];
    } else if (kind === 4) {
      // White noise over many decades, fractional values (a flattened or scaled spectrum).
      for (let c = 0; c < C; c++) s[c] = rng.next() < 0.3 ? 0 : 1e5 ** rng.next() * rng.next();
      yield ['decades', s];
    } else if (kind === 5) {
      // Beyond the tables (y >= 2^24 after smoothing and flattening): the exact functions.
      for (let c = 0; c < C; c++) s[c] = smooth[c]! * 1e12 * (0.5 + rng.next());
      yield ['huge', s];
    } else if (kind === 6) {
      // Tiny positive values (below the LLS table's 2^-10).
      for (let c = 0; c < C; c++) s[c] = rng.next() < 0.5 ? 0 : 1e-6 * rng.next();
      yield ['tiny', s];
    } else {
      // Broken values among counts.
      for (let c = 0; c < C; c++) s[c] = rng.poisson(2);
      for (let k = 0; k < 5; k++) s[Math.floor(rng.next() * C)] = [NaN, -3, Infinity, -Infinity, -0][k]!;
      yield ['broken', s];
    }
  }
}

function worstError(fast: Float64Array, ref: Float64Array): { err: number; c: number } {
  let err = 0;
  let at = -1;
  for (let c = 0; c < ref.length; c++) {
    const e = Math.abs(fast[c]! - ref[c]!) / (1 + ref[c]!);
    if (!(e <= err)) {
      err = e;
      at = c;
    }
  }
  return { err, c: at };
}

describe('pipelines/maps SNIP background: the fast estimate equals the straightforward one', () => {
  const setups: Array<[string, EnergyGrid, SnipOptions]> = [
    ['256 channels, defaults', { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 }, {}],
    ['256 channels, the JavaScript clip (no SIMD kernel)', { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 }, { simd: false }],
    ['256 channels, unflattened, wide, unsmoothed', { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 }, { flatten: false, widthFwhm: 1.5, smoothFwhm: 0 }],
    ['1024 channels', { channels: 1024, eMinKeV: 0, eMaxKeV: 20.48 }, { smoothFwhm: 1 }],
    ['16 channels (windows cut by the ends)', { channels: 16, eMinKeV: 7, eMaxKeV: 9 }, {}],
  ];
  for (const [name, grid, opts] of setups) {
    it(`${name}: within ${TOLERANCE} x (1 + background) on random spectra`, () => {
      const snip = new SnipBackground(grid, { ...opts, detector: DEFAULT_DETECTOR });
      const out = new Float64Array(grid.channels);
      let worst = { err: 0, c: -1, kind: '' };
      for (const [kind, s] of spectra(grid, createRng(grid.channels + 7), 400)) {
        const ref = reference(snip, s);
        out.fill(NaN);
        snip.estimate(s, out);
        const w = worstError(out, ref);
        if (!(w.err <= worst.err)) worst = { ...w, kind };
      }
      assert.ok(worst.err <= TOLERANCE, `${worst.kind}: ${worst.err} at channel ${worst.c}`);
    });
  }

  it('reads a spectrum at an offset in a Uint32Array cube, and writes only the channels asked for', () => {
    const grid: EnergyGrid = { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 };
    const snip = new SnipBackground(grid);
    const rng = createRng(3);
    const cube = new Uint32Array(4 * 256);
    for (let i = 0; i < cube.length; i++) cube[i] = rng.poisson(i % 256 < 60 ? 8 : 2);
    const channels = Int32Array.from([0, 5, 13, 40, 41, 100, 255]);
    for (let p = 0; p < 4; p++) {
      const ref = reference(snip, cube, p * 256);
      const all = snip.estimate(cube, new Float64Array(256), p * 256);
      assert.ok(worstError(all, ref).err <= TOLERANCE);
      const some = snip.estimate(cube, new Float64Array(256).fill(-1), p * 256, channels);
      for (let c = 0; c < 256; c++) {
        if (channels.includes(c)) assert.equal(some[c], all[c], `channel ${c}`);
        else assert.equal(some[c], -1, `channel ${c} written`);
      }
    }
    // The empty spectrum through the shortcut, with and without a channel list.
    const none = snip.estimate(new Uint32Array(256), new Float64Array(256).fill(-1), 0, channels);
    for (const c of channels) assert.equal(none[c], 0);
  });

  it('gives the reference roi net counts (the roi path takes the inverse on its window channels only)', () => {
    const grid: EnergyGrid = { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 };
    const elements = ['Ca', 'Ti', 'Cr', 'Mn', 'Fe', 'Co', 'Cu', 'Zn', 'Hg', 'Pb'];
    const plan = planRoi(grid, elements, { detector: DEFAULT_DETECTOR });
    const snip = plan.snip!;
    for (const [kind, s] of spectra(grid, createRng(11), 200)) {
      const bg = reference(snip, s);
      const got = roiCounts(plan, s);
      plan.windows.forEach((w, e) => {
        let net = 0;
        let scale = 0;
        for (let i = 0; i < w.channels.length; i++) {
          const c = w.channels[i]!;
          const y = s[c]!;
          net += w.weights[i]! * (y - bg[c]!);
          scale += w.weights[i]! * (1 + bg[c]!);
        }
        const want = net > 0 ? net : 0;
        // An infinite count in a window gives an infinite net, as before.
        if (!Number.isFinite(want)) assert.equal(got[e], want, `${kind} ${w.element}`);
        else assert.ok(Math.abs(got[e]! - want) <= TOLERANCE * scale, `${kind} ${w.element}: ${got[e]} vs ${want}`);
      });
    }
  });

  it('the exact LLS functions invert each other', () => {
    for (const y of [0, 1e-6, 0.5, 1, 10, 1e3, 1e6, 1e9]) {
      const back = llsInverseExact(llsExact(y));
      assert.ok(Math.abs(back - y) <= 1e-9 * (1 + y), `${y}: ${back}`);
    }
  });
});
