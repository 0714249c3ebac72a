// gemxrf dataset --n 200000 --seed 1 --out DIR [--channels 256 --emin 0 --emax 20.48] [--shift nominal|drift]
// Writes a synthetic training/test set (spectra.npy, fractions.npy, presence.npy, meta.json) for training/.
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { DATASET_SHIFTS, writeDataset, type DatasetShift } from '../../../simulator/dataset/index.js';
import { numberOption } from '../context.js';
import { CliError } from '../errors.js';

interface DatasetCliOptions {
  n: string;
  seed: string;
  out: string;
  channels: string;
  emin: string;
  emax: string;
  shift: string;
  block: string;
  progress?: boolean;
}

export function register(program: Command): void {
  program
    .command('dataset')
    .description('write a synthetic spectrum dataset (spectra.npy, fractions.npy, presence.npy, meta.json) for model training')
    .requiredOption('--out <dir>', 'output directory (created if missing; meta.json is written last, when complete)')
    .option('--n <count>', 'number of spectra', '200000')
    .option('--seed <int>', 'random seed (same seed and options -> same files)', '1')
    .option('--channels <count>', 'energy channels per spectrum', '256')
    .option('--emin <keV>', 'lower edge of the energy grid (keV)', '0')
    .option('--emax <keV>', 'upper edge of the energy grid (keV)', '20.48')
    .option('--shift <kind>', `detector/background conditions: ${DATASET_SHIFTS.join(' | ')} (drift: conditions the nominal fit does not model)`, 'nominal')
    .option('--block <count>', 'spectra per draw of detector/background conditions', '256')
    .option('--progress', 'show a progress bar even when stderr is not a terminal')
    .action((opts: DatasetCliOptions) => {
      const n = numberOption('n', opts.n, { integer: true, min: 1, max: 100_000_000 });
      const seed = numberOption('seed', opts.seed, { integer: true, min: 0, max: 0xffffffff });
      const channels = numberOption('channels', opts.channels, { integer: true, min: 8, max: 16384 });
      const eMinKeV = numberOption('emin', opts.emin, { min: 0, max: 200 });
      const eMaxKeV = numberOption('emax', opts.emax, { min: 0, max: 200 });
      if (!(eMaxKeV > eMinKeV)) throw new CliError(`--emax (${eMaxKeV}) must be above --emin (${eMinKeV})`);
      const blockSize = numberOption('block', opts.block, { integer: true, min: 1, max: 1_000_000 });
      if (!(DATASET_SHIFTS as readonly string[]).includes(opts.shift))
        throw new CliError(`--shift: expected ${DATASET_SHIFTS.join(' or ')}, got '${opts.shift}'`);
      const shift = opts.shift as DatasetShift;

      const showBar = opts.progress === true || process.stderr.isTTY === true;
      const bar = showBar
        ? new cliProgress.SingleBar(
            { stream: process.stderr, format: 'dataset [{bar}] {percentage}% {value}/{total} spectra, eta {eta}s', etaBuffer: 50, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 2000 },
            cliProgress.Presets.shades_classic,
          )
        : null;
      bar?.start(n, 0);
      let meta;
      try {
        meta = writeDataset(opts.out, { n, seed, shift, blockSize, grid: { channels, eMinKeV, eMaxKeV } }, (done) => bar?.update(done));
      } catch (err) {
        bar?.stop();
        throw new CliError(`dataset: ${(err as Error).message}`);
      }
      bar?.stop();
      const mb = (n * (channels * 4 + meta.elements.length * 5)) / 1e6;
      console.log(
        `wrote ${n} spectra (${channels} channels ${eMinKeV}-${eMaxKeV} keV, ${meta.elements.length} elements, shift ${shift}, seed ${seed}) ` +
          `to ${opts.out} in ${meta.seconds.toFixed(1)} s (${(n / meta.seconds).toFixed(0)} spectra/s, ${mb.toFixed(1)} MB)`,
      );
    });
}
