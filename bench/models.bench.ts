// npm run bench -- models: spectra/s of each shipped model in onnxruntime-node on one intra-op thread,
// next to the classical fit on the same spectra (per-spectrum fit as `gemxrf eval` runs it, and the
// whole-cube fit with the shared normal matrix as the daemon runs it).
import { OnnxModel } from '../pipelines/inference/onnx-model.js';
import { generateDatasetArrays } from '../simulator/dataset/index.js';
import { PIGMENT_ELEMENTS } from '../physics/index.js';
import { LinearFitter } from '../pipelines/maps/fit.js';

const N = 10_000; // a 100 x 100 map
const BATCH = 512; // the inference engine's default batch (inference.batchSize); 1024 is ~10 % slower for lt-vit (cache)

function best<T>(runs: number, f: () => T): { seconds: number; result: T } {
  let bestS = Infinity;
  let result!: T;
  for (let r = 0; r < runs; r++) {
    const t0 = process.cpuUsage();
    result = f();
    const u = process.cpuUsage(t0);
    bestS = Math.min(bestS, (u.user + u.system) / 1e6);
  }
  return { seconds: bestS, result };
}

export default async function bench(): Promise<void> {
  const grid = { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 };
  const set = generateDatasetArrays({ n: N, seed: 777_001, grid });
  console.log(`${N} spectra (a 100x100 map), 256 channels; CPU time, best of 3`);
  for (const name of ['lt-vit', 'vit', 'cnn']) {
    const model = await OnnxModel.load(name, { threads: 1 });
    await model.run(set.spectra.subarray(0, BATCH * 256), BATCH); // warm-up
    let bestS = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = process.cpuUsage();
      for (let s = 0; s < N; s += BATCH) {
        const m = Math.min(BATCH, N - s);
        await model.run(set.spectra.subarray(s * 256, (s + m) * 256), m);
      }
      const u = process.cpuUsage(t0);
      // process CPU time includes onnxruntime's (single) intra-op thread; it is robust to other load.
      bestS = Math.min(bestS, (u.user + u.system) / 1e6);
    }
    console.log(`  model ${name.padEnd(7)} ${Math.round(N / bestS).toLocaleString('en').padStart(8)} spectra/s  (100x100 map in ${bestS.toFixed(2)} s)`);
    await model.release();
  }
  const fitter = new LinearFitter(grid, PIGMENT_ELEMENTS);
  const per = best(3, () => {
    for (let i = 0; i < N; i++) fitter.fitFractions(set.spectra.subarray(i * 256, (i + 1) * 256));
  });
  console.log(`  fit, per spectrum (eval)    ${Math.round(N / per.seconds).toLocaleString('en').padStart(8)} spectra/s`);
  const cube = { width: 100, height: 100, channels: 256, counts: Uint32Array.from(set.spectra) };
  const whole = best(3, () => fitter.fitCube(cube));
  console.log(`  fit, whole cube (daemon)    ${Math.round(N / whole.seconds).toLocaleString('en').padStart(8)} spectra/s  (reference: the classical baseline)`);
}
