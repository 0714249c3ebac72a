// The HDF5 export through h5wasm (HDF5 compiled to WebAssembly; no native library). NeXus layout, so h5py,
// silx and PyMca open the cube as an image stack:
//   /                       default = 'entry'
//   /entry                  NXentry (title, start_time, default = 'data', metadata_json)
//   /entry/data             NXdata  signal = 'data', axes = ['y', 'x', 'energy']
//       data                uint32 height x width x channels (gzip, chunked by rows)
//       energy              float64 bin centres (keV);  x, y  pixel indices
//   /entry/sum_spectrum     NXdata  data float64 [channels], axes = 'energy'
//   /entry/count_map        NXdata  data uint32 [height, width], axes = ['y', 'x']
//   /entry/maps/<name>      NXdata  data float32 [elements, height, width], elements (strings), axes = ['.', 'y', 'x']
//   /entry/instrument       NXinstrument: geometry and energy calibration as JSON plus key numbers
//   /entry/model            model card JSON (when model maps are exported)
import * as h5wasm from 'h5wasm/node';
import type { ExportContent } from './content.js';

type Group = h5wasm.Group;

function attrs(g: Group, values: Record<string, string | string[] | number>): void {
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === 'number') g.create_attribute(k, v, null, Number.isInteger(v) ? '<i' : '<d');
    else g.create_attribute(k, v);
  }
}

function nxGroup(parent: Group, name: string, nxClass: string, extra: Record<string, string | string[] | number> = {}): Group {
  const g = parent.create_group(name);
  attrs(g, { NX_class: nxClass, ...extra });
  return g;
}

function axis(g: Group, name: string, n: number, units: string): void {
  const d = g.create_dataset({ name, data: Float64Array.from({ length: n }, (_, i) => i) });
  d.create_attribute('units', units);
}

/** Writes the cube in row slabs (resize + write_slice), so the WebAssembly heap never holds all of it. */
function writeCube(g: Group, c: ExportContent, slabBytes: number): void {
  const { width: W, height: H, channels: C, counts } = c.cube;
  const row = W * C;
  // ~1 MiB chunks of whole rows (gzip per chunk); slabs of whole chunks.
  const chunkRows = Math.max(1, Math.min(H, Math.floor((1 << 20) / (row * 4)), Math.floor(slabBytes / (row * 4))));
  const slabRows = Math.max(chunkRows, Math.floor(slabBytes / (row * 4 * chunkRows)) * chunkRows);
  const first = Math.min(H, slabRows);
  const d = g.create_dataset({
    name: 'data', data: counts.subarray(0, first * row), shape: [first, W, C], maxshape: [H, W, C],
    dtype: '<I', chunks: [chunkRows, W, C], compression: 4,
  });
  for (let y0 = first; y0 < H; y0 += slabRows) {
    const y1 = Math.min(H, y0 + slabRows);
    d.resize([y1, W, C]);
    d.write_slice([[y0, y1], [], []], counts.subarray(y0 * row, y1 * row));
  }
  d.create_attribute('units', 'counts');
  d.create_attribute('interpretation', 'spectrum');
}

/** slabBytes: how much of the cube goes through the WebAssembly heap at a time (default 16 MiB). */
export async function writeHdf5Export(path: string, c: ExportContent, slabBytes = 16 << 20): Promise<void> {
  await h5wasm.ready;
  const { width: W, height: H, channels: C } = c.cube;
  const f = new h5wasm.File(path, 'w');
  try {
    attrs(f, { default: 'entry', creator: 'gemxrf', NeXus_version: '4.3' });
    const scan = (c.metadata.scan ?? {}) as Record<string, unknown>;
    const entry = nxGroup(f, 'entry', 'NXentry', { default: 'data' });
    entry.create_dataset({ name: 'title', data: String(scan.name ?? scan.id ?? 'gemxrf scan') });
    if (typeof scan.startedAt === 'string') entry.create_dataset({ name: 'start_time', data: scan.startedAt });
    entry.create_dataset({ name: 'metadata_json', data: JSON.stringify(c.metadata) });

    const data = nxGroup(entry, 'data', 'NXdata', { signal: 'data', axes: ['y', 'x', 'energy'], y_indices: 0, x_indices: 1, energy_indices: 2 });
    writeCube(data, c, slabBytes);
    data.create_dataset({ name: 'energy', data: c.energy }).create_attribute('units', 'keV');
    axis(data, 'x', W, 'pixel');
    axis(data, 'y', H, 'pixel');

    const sum = nxGroup(entry, 'sum_spectrum', 'NXdata', { signal: 'data', axes: 'energy' });
    sum.create_dataset({ name: 'data', data: c.sumSpectrum }).create_attribute('units', 'counts');
    sum.create_dataset({ name: 'energy', data: c.energy }).create_attribute('units', 'keV');

    const counts = nxGroup(entry, 'count_map', 'NXdata', { signal: 'data', axes: ['y', 'x'] });
    counts.create_dataset({ name: 'data', data: c.countMap, shape: [H, W], dtype: '<I' }).create_attribute('units', 'counts');
    axis(counts, 'x', W, 'pixel');
    axis(counts, 'y', H, 'pixel');

    if (c.maps.length > 0) {
      const maps = nxGroup(entry, 'maps', 'NXcollection');
      for (const { name, set } of c.maps) {
        const g = nxGroup(maps, name, 'NXdata', { signal: 'data', axes: ['.', 'y', 'x'], method: set.method });
        const d = g.create_dataset({ name: 'data', data: set.data, shape: [set.elements.length, H, W], dtype: '<f' });
        if (set.unit) d.create_attribute('units', set.unit);
        g.create_dataset({ name: 'elements', data: set.elements });
        axis(g, 'x', W, 'pixel');
        axis(g, 'y', H, 'pixel');
      }
    }

    const instrument = nxGroup(entry, 'instrument', 'NXinstrument');
    instrument.create_dataset({ name: 'geometry_json', data: JSON.stringify(c.metadata.geometry ?? null) });
    instrument.create_dataset({ name: 'energy_calibration_json', data: JSON.stringify(c.metadata.energyCalibration ?? null) });
    if (c.metadata.modelCard) {
      const model = nxGroup(entry, 'model', 'NXcollection');
      model.create_dataset({ name: 'card_json', data: JSON.stringify(c.metadata.modelCard) });
    }
  } finally {
    f.close();
  }
}
