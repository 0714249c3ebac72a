// The .npy export: one file per array (numpy.load reads each), described by metadata.json.
import { join } from 'node:path';
import type { ExportContent } from './content.js';
import { writeNpyFile } from './npy-writer.js';

export function writeNpyExport(dir: string, c: ExportContent): Array<{ file: string; bytes: number }> {
  const { width: W, height: H, channels: C } = c.cube;
  const out: Array<{ file: string; bytes: number }> = [];
  const put = (file: string, a: Parameters<typeof writeNpyFile>[1], shape: number[]) => out.push({ file, bytes: writeNpyFile(join(dir, file), a, shape) });
  put('cube.npy', c.cube.counts, [H, W, C]);
  put('energy.npy', c.energy, [C]);
  put('sum_spectrum.npy', c.sumSpectrum, [C]);
  put('count_map.npy', c.countMap, [H, W]);
  for (const { name, set } of c.maps) put(`maps_${name}.npy`, set.data, [set.elements.length, H, W]);
  return out;
}
