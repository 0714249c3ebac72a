// Reading a recording for an offline command: a progress bar in MB on stderr (only on a terminal and unless
// --quiet), and the reader's errors turned into one-line operator errors.
import cliProgress from 'cli-progress';
import { CliError } from './errors.js';

export type ProgressCallback = (bytes: number, total: number) => void;

export function readWithProgress<T>(quiet: boolean | undefined, read: (onProgress: ProgressCallback) => T): T {
  const bar = !quiet && process.stderr.isTTY === true
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'reading [{bar}] {percentage}% {value}/{total} MB' }, cliProgress.Presets.shades_classic)
    : null;
  try {
    return read((bytes, total) => {
      if (!bar) return;
      if (bar.getTotal() !== Math.ceil(total / 1e6)) bar.start(Math.ceil(total / 1e6), 0);
      bar.update(Math.round(bytes / 1e6));
    });
  } catch (err) {
    throw new CliError((err as Error).message);
  } finally {
    bar?.stop();
  }
}
