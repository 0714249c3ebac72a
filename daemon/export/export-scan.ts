// exportScan: writes a scan's cube, maps and metadata in the requested formats into outDir.
//   npy  -> cube.npy, energy.npy, sum_spectrum.npy, count_map.npy, maps_<name>.npy (+ metadata.json)
//   hdf5 -> <baseName>.h5 (NeXus; see hdf5.ts)
//   png  -> png/count_map.png, png/<name>/<El>.png, png/<name>-all.png
// metadata.json is always written: it lists the files and says what every array means.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { prepareContent } from './content.js';
import { writeHdf5Export } from './hdf5.js';
import { writeNpyExport } from './npy.js';
import { writePngExport } from './png.js';
import { EXPORT_FORMATS, type ExportInput, type ExportResult } from './types.js';

export async function exportScan(input: ExportInput): Promise<ExportResult> {
  const formats = [...new Set(input.formats)];
  if (formats.length === 0) throw new Error(`export: no format given (choose from ${EXPORT_FORMATS.join(', ')})`);
  for (const f of formats) if (!EXPORT_FORMATS.includes(f)) throw new Error(`export: unknown format '${f}' (choose from ${EXPORT_FORMATS.join(', ')})`);
  const content = prepareContent(input);
  const outDir = resolve(input.outDir);
  mkdirSync(outDir, { recursive: true });
  const written: Array<{ file: string; bytes: number }> = [];
  if (formats.includes('npy')) written.push(...writeNpyExport(outDir, content));
  if (formats.includes('hdf5')) {
    const file = `${input.baseName ?? 'scan'}.h5`;
    await writeHdf5Export(join(outDir, file), content);
    written.push({ file, bytes: statSync(join(outDir, file)).size });
  }
  if (formats.includes('png')) written.push(...writePngExport(outDir, content));
  const meta = JSON.stringify({ ...content.metadata, formats, files: written.map((w) => w.file) }, null, 2) + '\n';
  writeFileSync(join(outDir, 'metadata.json'), meta);
  written.push({ file: 'metadata.json', bytes: Buffer.byteLength(meta) });
  return { outDir, files: written.map((w) => w.file), bytes: written.reduce((a, w) => a + w.bytes, 0) };
}
