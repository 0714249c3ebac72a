// Dataset generator for the GPU machine: the same writer as `gemxrf dataset`, without the CLI (commander,
// config, progress bar), so esbuild can bundle it into one file that runs on a bare Node binary with no
// node_modules. Same options and defaults as `gemxrf dataset`, same files (meta.json differs only in
// createdAt and seconds). Built by training/device/prepare.sh; run by training/device/run.sh.
//
//   node generate.mjs --out DIR --n 250000 --seed 100 [--shift nominal|drift] [--channels 256]
//                     [--emin 0] [--emax 20.48] [--block 256]
import { parseArgs } from 'node:util';
import { DATASET_SHIFTS, writeDataset, type DatasetShift } from '../../simulator/dataset/index.js';

/** Parses a numeric flag like gemxrf dataset does (same ranges), naming the flag in the error. */
function num(name: string, value: string, min: number, max: number, integer: boolean): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v)) throw new Error(`--${name}: expected a number, got '${value}'`);
  if (integer && !Number.isInteger(v)) throw new Error(`--${name}: expected an integer, got '${value}'`);
  if (v < min || v > max) throw new Error(`--${name}: must be in ${min}..${max}, got ${v}`);
  return v;
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      out: { type: 'string' },
      n: { type: 'string', default: '200000' },
      seed: { type: 'string', default: '1' },
      shift: { type: 'string', default: 'nominal' },
      channels: { type: 'string', default: '256' },
      emin: { type: 'string', default: '0' },
      emax: { type: 'string', default: '20.48' },
      block: { type: 'string', default: '256' },
    },
  });
  if (!values.out) throw new Error('--out DIR is required');
  const n = num('n', values.n, 1, 100_000_000, true);
  const seed = num('seed', values.seed, 0, 0xffffffff, true);
  const channels = num('channels', values.channels, 8, 16384, true);
  const eMinKeV = num('emin', values.emin, 0, 200, false);
  const eMaxKeV = num('emax', values.emax, 0, 200, false);
  if (!(eMaxKeV > eMinKeV)) throw new Error(`--emax (${eMaxKeV}) must be above --emin (${eMinKeV})`);
  const blockSize = num('block', values.block, 1, 1_000_000, true);
  if (!(DATASET_SHIFTS as readonly string[]).includes(values.shift)) throw new Error(`--shift: expected ${DATASET_SHIFTS.join(' or ')}, got '${values.shift}'`);
  const shift = values.shift as DatasetShift;

  const meta = writeDataset(values.out, { n, seed, shift, blockSize, grid: { channels, eMinKeV, eMaxKeV } });
  // One line per shard: run.sh's log is read after the fact, from the device's output.
  console.log(`wrote ${n} spectra (shift ${shift}, seed ${seed}) to ${values.out} in ${meta.seconds.toFixed(1)} s (${(n / meta.seconds).toFixed(0)} spectra/s)`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  console.error(`generate: ${(err as Error).message}`);
  process.exitCode = 1;
}
