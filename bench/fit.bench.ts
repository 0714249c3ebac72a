// Classical maps on a 100 x 100 x 256 cube: the linear fit (shared normal matrix, warm-started NNLS) in
// spectra/s, next to a reference that fits each pixel the textbook way (its own Poisson weights, its own
// normal matrix A'W_pA formed from the 256 x k design matrix, NNLS from x = 0); and ROI maps next to a
// plain pass summing every pixel's spectrum (the memory-bound floor for anything that reads the cube).
// Two cubes: a short simulated scan of phantom-painting (~200 counts per pixel, the event generator) and
// a long one (Poisson draws around the same pixels' expected spectra at 5000 counts per pixel).
// Times are process CPU time, best of REPS (the bench machine is shared; wall time measures the others).
import { DEFAULT_DETECTOR } from '../physics/index.js';
import { createRng } from '../physics/random.js';
import { Calibration } from '../pipelines/calibration/calibration.js';
import { Cube } from '../pipelines/cube/cube.js';
import { configSchema } from '../config/schema.js';
import { LinearFitter } from '../pipelines/maps/fit.js';
import { NnlsSolver } from '../pipelines/maps/nnls.js';
import { planRoi, roiMaps } from '../pipelines/maps/roi.js';
import type { SpectralCube } from '../pipelines/maps/types.js';
import { EventGenerator } from '../simulator/generators/events.js';

const W = 100, H = 100, C = 256, REPS = 3;
const grid = { channels: C, eMinKeV: 0, eMaxKeV: 20.48 };

function cpuSeconds(fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    const t0 = process.cpuUsage();
    fn();
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / 1e6);
  }
  return best;
}

/** The textbook per-pixel fit: weights 1/max(y, 1), normal matrix from the design matrix, cold NNLS. */
function referenceFit(fitter: LinearFitter, cube: SpectralCube): Float32Array {
  const { columns, firstChannel: first, endChannel: end } = fitter.components;
  const k = columns.length;
  const F = end - first;
  const A = new Float64Array(F * k);
  for (let c = 0; c < F; c++) for (let j = 0; j < k; j++) A[c * k + j] = columns[j]![first + c]!;
  const G = new Float64Array(k * k);
  const b = new Float64Array(k);
  const x = new Float64Array(k);
  const solver = new NnlsSolver(k);
  const out = new Float32Array(W * H * fitter.elements.length);
  for (let p = 0; p < W * H; p++) {
    G.fill(0);
    b.fill(0);
    const off = p * C + first;
    for (let c = 0; c < F; c++) {
      const y = cube.counts[off + c]!;
      const w = 1 / Math.max(y, 1);
      const row = c * k;
      for (let i = 0; i < k; i++) {
        const wa = w * A[row + i]!;
        b[i]! += wa * y;
        for (let j = i; j < k; j++) G[i * k + j]! += wa * A[row + j]!;
      }
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) G[i * k + j] = G[j * k + i]!;
    solver.solve(G, b, x);
    for (let e = 0; e < fitter.elements.length; e++) out[e * W * H + p] = x[e]!;
  }
  return out;
}

function sumPass(cube: SpectralCube): Float32Array {
  const out = new Float32Array(W * H);
  const counts = cube.counts;
  for (let p = 0, off = 0; p < W * H; p++, off += C) {
    let s = 0;
    for (let c = 0; c < C; c++) s += counts[off + c]!;
    out[p] = s;
  }
  return out;
}

function shortScan(): Cube {
  const config = configSchema.parse({ detector: { width: W, height: H } });
  const gen = new EventGenerator({ phantom: 'phantom-painting', width: W, height: H, ratePerSecond: 1e6, seed: 1 });
  const cube = Cube.fromConfig(config);
  const cal = new Calibration(config);
  for (let i = 0; i < 40; i++) cube.addEvents(gen.next(50_000), cal);
  return cube;
}

function longScan(): SpectralCube {
  const gen = new EventGenerator({ phantom: 'phantom-painting', width: W, height: H, ratePerSecond: 1e6, seed: 2, adcBits: 12 });
  const rng = createRng(3);
  const counts = new Uint32Array(W * H * C);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      // The generator's expected spectrum is on its 4096-channel ADC grid (0.005 keV): 16 ADC per channel.
      const s = gen.expectedSpectrum(x, y);
      const p = y * W + x;
      for (let c = 0; c < C; c++) {
        let m = 0;
        for (let a = c * 16; a < c * 16 + 16; a++) m += s[a]!;
        counts[p * C + c] = rng.poisson(m * 5000);
      }
    }
  }
  return { width: W, height: H, channels: C, counts };
}

export default async function (): Promise<void> {
  const elements = configSchema.parse({}).maps.elements;
  const fitter = new LinearFitter(grid, elements, { detector: DEFAULT_DETECTOR });
  // Gross window sums (maps.roi.background none): the pass this bench compares with a plain sum pass; the SNIP
  // background's cost is measured in roi-background.bench.ts.
  const plan = planRoi(grid, elements, { detector: DEFAULT_DETECTOR, background: 'none' });
  const n = W * H;
  console.log(`${W}x${H} pixels x ${C} channels, ${elements.length} elements + ${fitter.names.length - elements.length} background components, CPU s best of ${REPS}`);
  for (const [name, cube] of [['short scan (~200 counts/pixel)', shortScan()], ['long scan (~5000 counts/pixel)', longScan()]] as const) {
    const shared = cpuSeconds(() => fitter.fitCube(cube));
    const free = cpuSeconds(() => fitter.fitCube(cube, { background: 'free' }));
    const ref = cpuSeconds(() => referenceFit(fitter, cube));
    const roi = cpuSeconds(() => roiMaps(plan, cube));
    const pass = cpuSeconds(() => sumPass(cube));
    const rate = (s: number) => `${(n / s).toFixed(0).padStart(8)} spectra/s (${(s * 1000).toFixed(0).padStart(5)} ms per map)`;
    console.log(`\n${name}`);
    console.log(`  fit, shared background       ${rate(shared)}   ${(ref / shared).toFixed(1)}x the reference`);
    console.log(`  fit, free background         ${rate(free)}   ${(ref / free).toFixed(1)}x the reference`);
    console.log(`  reference: per-pixel A'W_pA  ${rate(ref)}`);
    console.log(`  roi                          ${rate(roi)}   ${(pass / roi).toFixed(2)}x the speed of a plain sum pass`);
    console.log(`  reference: sum pass          ${rate(pass)}`);
  }
}
