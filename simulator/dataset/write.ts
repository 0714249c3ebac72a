// Writes a dataset directory: spectra.npy (float32 N x C), fractions.npy (float32 N x E), presence.npy
// (uint8 N x E), significance.npy (float32 N x E), meta.json. Rows stream to disk block by block (memory stays at one block). Files are
// written under temporary names and renamed at the end, meta.json last: a directory with meta.json holds a
// complete dataset, an interrupted run leaves only *.partial files.
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetRecipe, generateDataset, type DatasetOptions, type DatasetRecipe } from './generate.js';
import { NpyWriter } from './npy.js';

export interface DatasetMeta extends DatasetRecipe {
  format: 'gemxrf-dataset';
  version: 1;
  files: Record<'spectra' | 'fractions' | 'presence' | 'significance', { file: string; dtype: string; shape: number[]; description: string }>;
  createdAt: string;
  seconds: number;
}

export const DATASET_FILES = { spectra: 'spectra.npy', fractions: 'fractions.npy', presence: 'presence.npy', significance: 'significance.npy', meta: 'meta.json' } as const;

export function writeDataset(
  dir: string,
  opts: DatasetOptions,
  onProgress?: (done: number, total: number) => void,
): DatasetMeta {
  const recipe = datasetRecipe(opts);
  try {
    if (!statSync(dir).isDirectory()) throw new Error(`dataset output ${dir} exists and is not a directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dir, { recursive: true });
  }
  const t0 = performance.now();
  const C = recipe.grid.channels;
  const E = recipe.elements.length;
  const files = {
    spectra: { file: DATASET_FILES.spectra, dtype: 'float32', shape: [recipe.n, C], description: 'counts per channel' },
    fractions: { file: DATASET_FILES.fractions, dtype: 'float32', shape: [recipe.n, E], description: "share of the spectrum's single-photon counts from each element (order: elements)" },
    presence: { file: DATASET_FILES.presence, dtype: 'uint8', shape: [recipe.n, E], description: '1 where the element is in the mixture (fraction > 0)' },
    significance: {
      file: DATASET_FILES.significance,
      dtype: 'float32',
      shape: [recipe.n, E],
      description: "each element's detection significance in sigma for an ideal observer that knows every other component (0 where absent); >= 3 is above the detection limit; scales with sqrt(exposure)",
    },
  };
  const partial = (f: string) => join(dir, f + '.partial');
  // Remove a previous complete dataset's meta first: until the new one is finished the folder is incomplete.
  rmSync(join(dir, DATASET_FILES.meta), { force: true });
  const writers = [
    new NpyWriter(partial(files.spectra.file), 'float32', files.spectra.shape),
    new NpyWriter(partial(files.fractions.file), 'float32', files.fractions.shape),
    new NpyWriter(partial(files.presence.file), 'uint8', files.presence.shape),
    new NpyWriter(partial(files.significance.file), 'float32', files.significance.shape),
  ] as const;
  try {
    for (const blk of generateDataset(opts)) {
      writers[0].write(blk.spectra);
      writers[1].write(blk.fractions);
      writers[2].write(blk.presence);
      writers[3].write(blk.significance);
      onProgress?.(blk.start + blk.count, recipe.n);
    }
    for (const w of writers) w.close();
  } catch (err) {
    for (const w of writers) w.abort();
    throw err;
  }
  for (const f of Object.values(files).map((x) => x.file)) renameSync(partial(f), join(dir, f));
  const meta: DatasetMeta = {
    format: 'gemxrf-dataset',
    version: 1,
    ...recipe,
    files,
    createdAt: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000,
  };
  writeFileSync(join(dir, DATASET_FILES.meta), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}
