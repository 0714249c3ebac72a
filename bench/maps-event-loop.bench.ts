// npm run bench -- maps-event-loop: the daemon's main-thread event-loop delay while live classical maps of a
// 200 x 200 x 256 cube (phantom-painting, ~100 counts/pixel, the default 10 map elements) are made on the maps
// cadence (1 s, for 6 s), measured as the gaps between the ticks of a 1 ms setInterval: p99 and max gap, the share
// of the window held (gaps > 20 ms), and the time-weighted p99 wait of an arrival (a per-tick p99 hides a held
// loop, which ticks rarely):
//   - reference, the previous version: the maps computed on the main thread at each tick (LinearFitter.fitCube,
//     roiMaps), as daemon/publish/map-maker.ts did before;
//   - now: the same maps computed in a worker_thread per method (ScanMapRunner, the daemon's code path: a tick
//     whose previous computation still runs is skipped, never queued).
// Also the maps made in the window and their compute time. Wall time on a shared machine: read the ratio.
import os from 'node:os';
import { configSchema } from '../config/schema.js';
import { silentLogger } from '../daemon/log.js';
import { ScanMapRunner } from '../daemon/publish/scan-map-runner.js';
import { DEFAULT_DETECTOR } from '../physics/index.js';
import { Calibration } from '../pipelines/calibration/calibration.js';
import { Cube } from '../pipelines/cube/cube.js';
import { cubeGrid, type ClassicalMethod } from '../pipelines/maps/build.js';
import { LinearFitter } from '../pipelines/maps/fit.js';
import { planRoi, roiMaps } from '../pipelines/maps/roi.js';
import type { MapSet } from '../pipelines/maps/types.js';
import { EventGenerator } from '../simulator/generators/events.js';

const W = 200, H = 200, COUNTS_PER_PIXEL = 100;
const CADENCE_MS = 1000, WINDOW_MS = 6000;

const f1 = (x: number) => x.toFixed(1);

function filledCube(): Cube {
  const config = configSchema.parse({ detector: { width: W, height: H } });
  const cube = Cube.fromConfig(config);
  const cal = new Calibration(config);
  const gen = new EventGenerator({ phantom: 'phantom-painting', width: W, height: H, ratePerSecond: 1e6, seed: 21 });
  for (let n = W * H * COUNTS_PER_PIXEL; n > 0; n -= 50_000) cube.addEvents(gen.next(Math.min(n, 50_000)), cal);
  return cube;
}

interface Window {
  p99: number;
  max: number;
  ticks: number;
  /** Share of the window spent in gaps over 20 ms (the loop held: p99 counts ticks, and a held loop ticks rarely). */
  heldShare: number;
  /** p99 of the wait until the loop's next turn for something arriving at a random instant (a detector chunk,
   *  a request): time-weighted, so a long hold counts for its length. */
  waitP99: number;
}

/** Runs onCadence every CADENCE_MS for WINDOW_MS while a 1 ms timer records the gaps between its ticks. */
async function timerGaps(onCadence: () => void): Promise<Window> {
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  const cadence = setInterval(onCadence, CADENCE_MS);
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  clearInterval(cadence);
  clearInterval(timer);
  gaps.sort((a, b) => a - b);
  const held = gaps.filter((g) => g > 20).reduce((a, b) => a + b, 0);
  return { p99: gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * 0.99))] ?? 0, max: gaps.at(-1) ?? 0, ticks: gaps.length, heldShare: held / WINDOW_MS, waitP99: timeWeightedP99(gaps) };
}

/** The w for which an arrival at a uniformly random instant waits longer than w 1 % of the time: within a gap
 *  g the wait is uniform on [0, g], so the time with a wait over w is the sum of max(0, g - w). */
function timeWeightedP99(gaps: number[]): number {
  const total = gaps.reduce((a, b) => a + b, 0);
  const over = (w: number) => gaps.reduce((a, g) => a + Math.max(0, g - w), 0) / total;
  let lo = 0;
  let hi = gaps.reduce((a, b) => Math.max(a, b), 0);
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (over(mid) > 0.01) lo = mid;
    else hi = mid;
  }
  return hi;
}

async function onMainThread(cube: Cube, method: ClassicalMethod, elements: string[]) {
  // Built once, as the previous MapMaker did (building the fitter is not part of a tick).
  const grid = cubeGrid(cube);
  let make: () => MapSet;
  if (method === 'fit') {
    const fitter = new LinearFitter(grid, elements, { detector: DEFAULT_DETECTOR });
    make = () => fitter.fitCube(cube).maps;
  } else {
    const plan = planRoi(grid, elements, { detector: DEFAULT_DETECTOR });
    make = () => roiMaps(plan, cube);
  }
  const times: number[] = [];
  const gaps = await timerGaps(() => {
    const t = performance.now();
    make();
    times.push(performance.now() - t);
  });
  return { gaps, made: times.length, skipped: 0, ms: median(times) };
}

async function inWorker(cube: Cube, method: ClassicalMethod, elements: string[]) {
  const runner = new ScanMapRunner(method, elements, silentLogger);
  // The worker starts (and builds its plan or fitter) outside the window, as at a scan's first tick.
  await runner.complete(cube, 'bench');
  const times: number[] = [];
  const before = runner.stats();
  const gaps = await timerGaps(() => {
    void runner.request(cube, 'bench')?.then((r) => r && times.push(r.ms));
  });
  await runner.complete(cube, 'bench');
  const s = runner.stats();
  await runner.release();
  return { gaps, made: times.length, skipped: s.skipped - before.skipped, ms: median(times) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}

export default async function bench(): Promise<void> {
  const elements = configSchema.parse({}).maps.elements;
  const cube = filledCube();
  console.log(`${W}x${H} pixels x ${cube.channels} channels, ${(cube.totalEvents / (W * H)).toFixed(0)} counts/pixel, ${elements.length} elements; ` +
    `maps every ${CADENCE_MS / 1000} s for ${WINDOW_MS / 1000} s; event-loop delay = gaps of a 1 ms setInterval; load average ${os.loadavg().map(f1).join(' ')}`);
  for (const method of ['fit', 'roi'] as const) {
    const ref = await onMainThread(cube, method, elements);
    const now = await inWorker(cube, method, elements);
    const line = (r: typeof ref) => `gap p99 ${f1(r.gaps.p99).padStart(7)} ms, max ${f1(r.gaps.max).padStart(7)} ms (${String(r.gaps.ticks).padStart(4)} ticks), ` +
      `held ${(r.gaps.heldShare * 100).toFixed(0).padStart(3)} % of the window, p99 wait of an arrival ${f1(r.gaps.waitP99).padStart(6)} ms; ` +
      `${r.made} maps, ${f1(r.ms)} ms each${r.skipped ? `, ${r.skipped} ticks skipped (previous still running)` : ''}`;
    console.log(`${method}`);
    console.log(`  reference: main thread (previous version)  ${line(ref)}`);
    console.log(`  worker thread (now)                        ${line(now)}   max gap ${f1(ref.gaps.max / Math.max(now.gaps.max, 0.001))}x shorter`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
