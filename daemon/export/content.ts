// What every format writes, computed once: the energy axis, sum spectrum, count map, named map sets and the
// metadata document (also written as metadata.json next to the .npy files).
import type { ExportCube, ExportInput, ExportMapSet } from './types.js';

export interface NamedMaps {
  name: string;
  set: ExportMapSet;
}

export interface ExportContent {
  cube: ExportCube;
  /** Bin centres (keV). */
  energy: Float64Array;
  sumSpectrum: Float64Array;
  countMap: Uint32Array;
  maps: NamedMaps[];
  metadata: Record<string, unknown>;
}

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function energyAxis(cube: ExportCube): Float64Array {
  const w = (cube.eMaxKeV - cube.eMinKeV) / cube.channels;
  return Float64Array.from({ length: cube.channels }, (_, i) => cube.eMinKeV + (i + 0.5) * w);
}

export function sumSpectrumOf(cube: ExportCube): Float64Array {
  const C = cube.channels;
  const out = new Float64Array(C);
  const n = cube.width * cube.height * C;
  for (let i = 0, ch = 0; i < n; i++) {
    out[ch] += cube.counts[i]!;
    if (++ch === C) ch = 0;
  }
  return out;
}

export function countMapOf(cube: ExportCube): Uint32Array {
  const C = cube.channels;
  const out = new Uint32Array(cube.width * cube.height);
  for (let p = 0; p < out.length; p++) {
    let t = 0;
    for (let k = p * C, e = k + C; k < e; k++) t += cube.counts[k]!;
    out[p] = t;
  }
  return out;
}

export function prepareContent(input: ExportInput): ExportContent {
  const { cube } = input;
  const { width, height, channels } = cube;
  if (cube.counts.length !== width * height * channels) throw new Error(`export: cube counts hold ${cube.counts.length} values, expected ${width}x${height}x${channels}`);
  const names = new Set<string>();
  const maps = input.maps.map((set) => {
    const name = set.name ?? set.method;
    if (!NAME_RE.test(name)) throw new Error(`export: map set name '${name}' must use letters, digits, - and _ only`);
    if (names.has(name)) throw new Error(`export: two map sets named '${name}' (give each a distinct name)`);
    names.add(name);
    if (set.width !== width || set.height !== height || set.data.length !== set.elements.length * width * height)
      throw new Error(`export: map set '${name}' is not elements x ${height} x ${width}`);
    return { name, set };
  });
  const sumSpectrum = input.sumSpectrum ?? sumSpectrumOf(cube);
  const countMap = input.countMap ?? countMapOf(cube);
  if (sumSpectrum.length !== channels) throw new Error(`export: sum spectrum has ${sumSpectrum.length} channels, cube ${channels}`);
  if (countMap.length !== width * height) throw new Error(`export: count map has ${countMap.length} pixels, cube ${width * height}`);
  const m = input.metadata;
  const metadata: Record<string, unknown> = {
    format: 'gemxrf-export',
    version: 1,
    cube: { width, height, channels, eMinKeV: cube.eMinKeV, eMaxKeV: cube.eMaxKeV, layout: 'height x width x channels (uint32)', events: countMap.reduce((a, b) => a + b, 0) },
    energyAxis: { unit: 'keV', meaning: 'bin centres', first: cube.eMinKeV + (cube.eMaxKeV - cube.eMinKeV) / channels / 2, binWidth: (cube.eMaxKeV - cube.eMinKeV) / channels },
    energyCalibration: m.energyCalibration ?? null,
    geometry: m.geometry ?? { width, height },
    maps: maps.map(({ name, set }) => ({ name, method: set.method, unit: set.unit ?? null, elements: set.elements, layout: 'elements x height x width (float32)' })),
    modelCard: m.modelCard ?? null,
    scan: m.scan ?? null,
    extra: m.extra ?? null,
    createdAt: new Date().toISOString(),
  };
  return { cube, energy: energyAxis(cube), sumSpectrum, countMap, maps, metadata };
}
