// Dataset writer: spectra/s and MB/s of `writeDataset` (generation + .npy streaming), next to references
// measured in the same run: generation alone (in memory, no files, another seed) and raw writeSync of the
// same number of bytes in the same block-sized chunks (what the disk path costs without generating anything).
// Small sets pay physics' per-tube excitation for most blocks (a few dozen whole-kV tube settings, then
// cached), so the 200k extrapolation is pessimistic; docs/results.md also has a timed 200k CLI run.
// Times are process CPU time (user + system): the bench machine is shared, so wall time mostly measures the
// other jobs; the wall time is printed too.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PIGMENT_ELEMENTS } from '../physics/index.js';
import { generateDataset } from '../simulator/dataset/generate.js';
import { writeDataset } from '../simulator/dataset/write.js';
import type { DatasetShift } from '../simulator/dataset/nuisance.js';

const build = join(dirname(fileURLToPath(import.meta.url)), '.build');
const C = 256, BLOCK = 256;
const CASES: Array<[DatasetShift, number]> = [['nominal', 20_000], ['drift', 10_000]];

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function timed(run: () => void): { cpu: number; wall: number } {
  const c0 = cpuSeconds(), w0 = performance.now();
  run();
  return { cpu: cpuSeconds() - c0, wall: (performance.now() - w0) / 1000 };
}

export default async function (): Promise<void> {
  mkdirSync(build, { recursive: true });
  const E = PIGMENT_ELEMENTS.length;
  const rowBytes = C * 4 + E * 4 + E;
  console.log(`${C} channels, ${E} elements (${rowBytes} bytes per spectrum), nuisance drawn per block of ${BLOCK}; CPU time (wall in brackets)`);
  for (const [shift, n] of CASES) {
    const dir = join(build, `dataset-${shift}`);
    const opts = { n, seed: 1, shift, blockSize: BLOCK, grid: { channels: C, eMinKeV: 0, eMaxKeV: 20.48 } };
    // Warm-up (JIT, physics tables) on a small set so the first case is not charged for it.
    writeDataset(dir, { ...opts, n: 512 });
    const full = timed(() => writeDataset(dir, opts));
    // Another seed: the physics response caches must not serve the first run's nuisance draws again.
    const gen = timed(() => {
      for (const blk of generateDataset({ ...opts, seed: 2 })) if (blk.count === 0) throw new Error('empty block');
    });
    const raw = timed(() => {
      const chunk = Buffer.alloc(BLOCK * rowBytes, 1);
      const fd = openSync(join(dir, 'raw.bin'), 'w');
      for (let done = 0; done < n; done += BLOCK) writeSync(fd, chunk, 0, Math.min(BLOCK, n - done) * rowBytes);
      closeSync(fd);
    });
    const mb = (n * rowBytes) / 1e6;
    const line = (name: string, t: { cpu: number; wall: number }) =>
      `  ${name.padEnd(40)} ${(n / t.cpu).toFixed(0).padStart(8)} spectra/s ${(mb / t.cpu).toFixed(1).padStart(8)} MB/s  [wall ${t.wall.toFixed(2)} s]`;
    console.log(`${shift}, ${n} spectra (${mb.toFixed(1)} MB):`);
    console.log(line('writeDataset (generate + .npy files)', full));
    console.log(line('reference: generation only, in memory', gen));
    console.log(line('reference: raw writeSync of same bytes', raw));
    console.log(`  -> 200k ${shift} spectra: ~${((200_000 / n) * full.cpu).toFixed(0)} s CPU`);
    rmSync(dir, { recursive: true, force: true });
  }
}
