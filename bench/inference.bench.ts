// Incremental model inference on a 100 x 100 x 256 cube of phantom-painting, with 1 and 2 onnxruntime threads:
//   live   : events arrive on the main thread at 200 k/s (the simulator's default rate) in 50 ms ticks while the
//            engine cycles on its own in its worker: time to the first model map (coarse blocks), time until
//            every pixel is inferred at full resolution, and the main thread's event-loop delay meanwhile;
//   final  : a final pass over the finished cube (every pixel at full resolution, no time budget): wall time
//            and pixels/s;
// next to the fit baseline (pipelines/maps/fit.ts, LinearFitter.fitCube) on the same cube in the same run.
// Model: models/lt-vit.onnx when shipped, else the training smoke LT-ViT (same architecture, few steps:
// same cost per spectrum only if the shipped model has the same size — the card's parameter count is printed).
import os from 'node:os';
import { configSchema } from '../config/schema.js';
import { Calibration } from '../pipelines/calibration/calibration.js';
import { Cube } from '../pipelines/cube/cube.js';
import { InferenceEngine } from '../pipelines/inference/engine.js';
import { readModelCard } from '../pipelines/inference/model-card.js';
import { LinearFitter } from '../pipelines/maps/fit.js';
import { cubeGrid } from '../pipelines/maps/build.js';
import { EventGenerator } from '../simulator/generators/events.js';
import { testModel } from '../test/pipelines/inference/support/test-model.js';

const W = 100, H = 100, P = W * H;
const RATE = 200_000, TICK_MS = 50, LIVE_LIMIT_S = 40, FINAL_EVENTS = 3_000_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const f1 = (x: number) => x.toFixed(1);

function freshCube() {
  const config = configSchema.parse({ detector: { width: W, height: H } });
  const cube = Cube.fromConfig(config);
  const cal = new Calibration(config);
  const gen = new EventGenerator({ phantom: 'phantom-painting', width: W, height: H, ratePerSecond: RATE, seed: 3 });
  return { cube, add: (n: number) => cube.addEvents(gen.next(n), cal), config };
}

async function live(onnx: string, threads: number) {
  const { cube, add } = freshCube();
  const t0 = performance.now();
  const engine = await InferenceEngine.start({ cube, model: onnx, threads });
  const loadMs = performance.now() - t0;
  engine.stats(); // resets the event-loop delay histogram: measure the scan only
  const start = performance.now();
  let firstMap: number | null = null;
  let fullRes: number | null = null;
  let firstLevel = 0;
  // stats() reports the event-loop delay since the previous call: keep the worst tick.
  let delayP99 = 0;
  let delayMax = 0;
  while ((performance.now() - start) / 1000 < LIVE_LIMIT_S) {
    const due = Math.round(((performance.now() - start) / 1000) * RATE) - cube.totalEvents;
    if (due > 0) add(due);
    await sleep(TICK_MS);
    const s = engine.stats();
    delayP99 = Math.max(delayP99, s.eventLoopDelayMs.p99);
    delayMax = Math.max(delayMax, s.eventLoopDelayMs.max);
    const levels = engine.maps().levels;
    if (firstMap === null && s.levelPixels['0']! < P) {
      firstMap = performance.now() - start;
      let max = 0;
      for (let p = 0; p < P; p++) if (levels[p]! > max) max = levels[p]!;
      firstLevel = max;
    }
    if (s.levelPixels['1'] === P) {
      fullRes = performance.now() - start;
      break;
    }
  }
  const s = engine.stats();
  await engine.stop();
  return { loadMs, firstMap, firstLevel, fullRes, events: cube.totalEvents, stats: s, delayP99, delayMax };
}

async function finalPass(onnx: string, threads: number, cube: Cube) {
  cube.inferredTotals.fill(0);
  const engine = await InferenceEngine.start({ cube, model: onnx, threads, auto: false });
  const t = performance.now();
  const r = await engine.finalPass();
  const ms = performance.now() - t;
  await engine.stop();
  return { ms, pixels: r.pixels, spectra: r.spectra, modelMs: r.modelMs };
}

export default async function bench(): Promise<void> {
  const model = testModel();
  const card = readModelCard(model.onnx.replace(/\.onnx$/, '.json'));
  console.log(`model: ${model.shipped ? 'shipped' : 'smoke (models/lt-vit.onnx not present)'} ${card.name} (${card.architecture}, ${card.parameters ?? '?'} parameters, ${card.energyGrid.channels} channels, ${card.elements.length} elements)`);
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores (thread scaling needs an idle machine)`);
  console.log(`cube ${W}x${H}x256, events at ${RATE / 1000} k/s in ${TICK_MS} ms ticks, minCounts 100, blocks 4/2/1, budget 250 ms`);

  const { cube: full, add, config } = freshCube();
  add(FINAL_EVENTS);

  for (const threads of [1, 2]) {
    const l = await live(model.onnx, threads);
    const f = await finalPass(model.onnx, threads, full);
    console.log(`threads ${threads}: model load ${f1(l.loadMs)} ms`);
    console.log(`  live : first model map ${l.firstMap === null ? 'none' : `${f1(l.firstMap)} ms (${l.firstLevel}x${l.firstLevel} blocks)`}; ` +
      `all pixels at full resolution ${l.fullRes === null ? `not within ${LIVE_LIMIT_S} s` : `${f1(l.fullRes / 1000)} s`} (${(l.events / P).toFixed(0)} counts/pixel by then); ` +
      `main-thread event-loop delay (worst ${TICK_MS} ms tick) p99 ${f1(l.delayP99)} ms, max ${f1(l.delayMax)} ms`);
    console.log(`  final: ${P} pixels at full resolution in ${f1(f.ms)} ms = ${(f.pixels / (f.ms / 1000)).toFixed(0)} pixels/s (session.run ${f1(f.modelMs)} ms)`);
  }

  const fitter = new LinearFitter(cubeGrid(full), config.maps.elements);
  const t = performance.now();
  fitter.fitCube(full);
  const fitMs = performance.now() - t;
  console.log(`reference: fit baseline (LinearFitter.fitCube, ${config.maps.elements.length} elements) ${P} spectra in ${f1(fitMs)} ms = ${(P / (fitMs / 1000)).toFixed(0)} spectra/s (main thread)`);
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
