// ROI maps with the SNIP background (maps.roi.background: snip) next to the gross window sums (none) and the
// linear fit (NNLS, shared background) on the same 100 x 100 x 256 cubes: spectra/s of a whole-cube map, and how
// much of the continuum each leaves in the maps; and the straightforward SNIP estimate the fast one replaced
// (pipelines/maps/snip-reference.ts, same windows and net sums) as the reference for its speed and values. Cubes: Poisson draws around phantom-painting's expected pixel
// spectra at ~200 and ~5000 counts per pixel (the fit bench's long scan, at two exposures).
// Times are process CPU time, best of REPS (the bench machine is shared; wall time measures the others).
import { DEFAULT_DETECTOR } from '../physics/index.js';
import { createRng } from '../physics/random.js';
import { configSchema } from '../config/schema.js';
import { LinearFitter } from '../pipelines/maps/fit.js';
import { planRoi, roiMaps, type RoiPlan } from '../pipelines/maps/roi.js';
import { SnipReference } from '../pipelines/maps/snip-reference.js';
import { createMapSet, type MapSet, type SpectralCube } from '../pipelines/maps/types.js';
import { EventGenerator } from '../simulator/generators/events.js';

const W = 100, H = 100, C = 256, REPS = 3;
const grid = { channels: C, eMinKeV: 0, eMaxKeV: 20.48 };

function cpuSeconds<T>(fn: () => T): { s: number; result: T } {
  let best = Infinity;
  let result: T | undefined;
  for (let r = 0; r < REPS; r++) {
    const t0 = process.cpuUsage();
    result = fn();
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / 1e6);
  }
  return { s: best, result: result! };
}

function scan(countsPerPixel: number, seed: number): SpectralCube {
  const gen = new EventGenerator({ phantom: 'phantom-painting', width: W, height: H, ratePerSecond: 1e6, seed: 2, adcBits: 12 });
  const rng = createRng(seed);
  const counts = new Uint32Array(W * H * C);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      // The generator's expected spectrum is on its 4096-channel ADC grid (0.005 keV): 16 ADC per channel.
      const s = gen.expectedSpectrum(x, y);
      const p = y * W + x;
      for (let c = 0; c < C; c++) {
        let m = 0;
        for (let a = c * 16; a < c * 16 + 16; a++) m += s[a]!;
        counts[p * C + c] = rng.poisson(m * countsPerPixel);
      }
    }
  }
  return { width: W, height: H, channels: C, counts };
}

function total(m: MapSet): number {
  let s = 0;
  for (const v of m.data) s += v;
  return s;
}

/** roiMaps with the straightforward SNIP estimate (as roiCounts: net window sums clamped at 0). */
function referenceMaps(plan: RoiPlan, ref: SnipReference, cube: SpectralCube): MapSet {
  const n = cube.width * cube.height;
  const set = createMapSet('roi', plan.elements, cube.width, cube.height);
  const bg = new Float64Array(C);
  for (let p = 0, off = 0; p < n; p++, off += C) {
    ref.estimate(cube.counts, bg, off);
    plan.windows.forEach(({ channels, weights }, e) => {
      let s = 0;
      for (let i = 0; i < channels.length; i++) s += weights[i]! * (cube.counts[off + channels[i]!]! - bg[channels[i]!]!);
      set.data[e * n + p] = s > 0 ? s : 0;
    });
  }
  return set;
}

/** Largest |a - b| over the maps' pixels, relative to the largest value. */
function maxDiff(a: MapSet, b: MapSet): number {
  let d = 0;
  let top = 0;
  for (let i = 0; i < a.data.length; i++) {
    d = Math.max(d, Math.abs(a.data[i]! - b.data[i]!));
    top = Math.max(top, Math.abs(b.data[i]!));
  }
  return d / top;
}

export default async function (): Promise<void> {
  const elements = configSchema.parse({}).maps.elements;
  const none = planRoi(grid, elements, { detector: DEFAULT_DETECTOR, background: 'none' });
  const snip = planRoi(grid, elements, { detector: DEFAULT_DETECTOR, background: 'snip' });
  const reference = new SnipReference(snip.snip!);
  const fitter = new LinearFitter(grid, elements, { detector: DEFAULT_DETECTOR });
  const n = W * H;
  console.log(`${W}x${H} pixels x ${C} channels, ${elements.length} elements, CPU s best of ${REPS}`);
  for (const [name, cube] of [['~200 counts/pixel', scan(200, 3)], ['~5000 counts/pixel', scan(5000, 4)]] as const) {
    const a = cpuSeconds(() => roiMaps(none, cube));
    const b = cpuSeconds(() => roiMaps(snip, cube));
    const r = cpuSeconds(() => referenceMaps(snip, reference, cube));
    const f = cpuSeconds(() => fitter.fitCube(cube).maps);
    const rate = (s: number) => `${(n / s).toFixed(0).padStart(8)} spectra/s (${(s * 1000).toFixed(0).padStart(5)} ms per map)`;
    console.log(`\n${name}`);
    console.log(`  roi, background none         ${rate(a.s)}   map total ${total(a.result).toExponential(3)} counts`);
    console.log(`  roi, background snip         ${rate(b.s)}   map total ${total(b.result).toExponential(3)} counts (${((100 * total(b.result)) / total(a.result)).toFixed(0)} % of none); ${(a.s / b.s).toFixed(3)}x the speed of none`);
    console.log(`  roi, snip straightforward    ${rate(r.s)}   (the reference: the fast snip is ${(r.s / b.s).toFixed(1)}x its speed; maps differ by ${maxDiff(b.result, r.result).toExponential(1)} of the largest pixel)`);
    console.log(`  fit (NNLS, shared bg)        ${rate(f.s)}   map total ${total(f.result).toExponential(3)} counts; snip roi is ${(f.s / b.s).toFixed(1)}x the speed of the fit`);
  }
}
