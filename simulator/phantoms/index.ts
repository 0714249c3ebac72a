// Phantom selection by name and the truth the rest of gemxrf is tested against.
import { DEFAULT_DETECTOR, type DetectorParams } from '../../physics/index.js';
import { oldMaster, phantomPainting } from './builtin.js';
import { pngPhantom } from './png.js';
import type { Phantom, PhantomRaster } from './types.js';
import { uniformPhantom } from './uniform.js';

export type { Phantom, PhantomRaster } from './types.js';
export { layeredPhantom, type LayeredPhantomSpec, type PaintLayer } from './layered.js';
export { oldMaster, phantomPainting, pngPhantom, uniformPhantom };

export const BUILTIN_PHANTOMS = ['phantom-painting', 'old-master'] as const;

/** 'phantom-painting' | 'old-master' | 'uniform:Fe[,Pb...]' | 'png:DIR'. Throws a one-line error otherwise. */
export function loadPhantom(name: string): Phantom {
  const n = name.trim();
  if (n === 'phantom-painting') return phantomPainting();
  if (n === 'old-master') return oldMaster();
  if (n.startsWith('uniform:')) {
    const els = n.slice('uniform:'.length).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    return uniformPhantom(els);
  }
  if (n.startsWith('png:')) {
    const dir = n.slice('png:'.length);
    if (!dir) throw new Error("png phantom needs a directory: 'png:DIR'");
    return pngPhantom(dir);
  }
  throw new Error(`unknown phantom '${name}': expected ${BUILTIN_PHANTOMS.join(', ')}, uniform:El[,El...] or png:DIR`);
}

/** Relative count rate per pixel (height x width, mean 1): everything the pixel emits, background included. */
export function brightness(r: PhantomRaster): Float32Array {
  const plane = r.width * r.height;
  const out = new Float32Array(plane);
  let sum = 0;
  for (let p = 0; p < plane; p++) {
    let s = r.backgroundAmount[p]!;
    for (let e = 0; e < r.elements.length; e++) s += r.amounts[e * plane + p]!;
    out[p] = s;
    sum += s;
  }
  if (!(sum > 0)) throw new Error('phantom emits nothing: all amounts and the background are zero');
  const k = plane / sum;
  for (let p = 0; p < plane; p++) out[p]! *= k;
  return out;
}

export interface TruthMaps {
  width: number;
  height: number;
  elements: readonly string[];
  /** elements x height x width: share of the pixel's counts coming from each element, with the same
   *  meaning as a dataset's fractions (element + background + detector-line shares sum to 1). */
  maps: Float32Array;
  /** height x width: the background's share of each pixel's counts. */
  backgroundShare: Float32Array;
  /** elements x height x width: 1 where the element gives at least `presenceThreshold` of the counts. */
  presence: Uint8Array;
  presenceThreshold: number;
  /** height x width, mean 1: relative count rate. */
  brightness: Float32Array;
}

/** The "true element maps" a phantom implies at a given resolution, for scoring elemental maps. */
export function truthMaps(
  phantom: Phantom,
  width: number,
  height: number,
  opts: { det?: DetectorParams; presenceThreshold?: number } = {},
): TruthMaps {
  const det = opts.det ?? DEFAULT_DETECTOR;
  const presenceThreshold = opts.presenceThreshold ?? 0.05;
  const r = phantom.render(width, height);
  const plane = width * height;
  const E = r.elements.length;
  const maps = new Float32Array(E * plane);
  const presence = new Uint8Array(E * plane);
  const backgroundShare = new Float32Array(plane);
  const sampleShare = 1 - det.cuShare - det.alShare;
  for (let p = 0; p < plane; p++) {
    let total = r.backgroundAmount[p]!;
    for (let e = 0; e < E; e++) total += r.amounts[e * plane + p]!;
    const k = total > 0 ? sampleShare / total : 0;
    backgroundShare[p] = r.backgroundAmount[p]! * k;
    for (let e = 0; e < E; e++) {
      const f = r.amounts[e * plane + p]! * k;
      maps[e * plane + p] = f;
      presence[e * plane + p] = f >= presenceThreshold ? 1 : 0;
    }
  }
  return { width, height, elements: r.elements, maps, backgroundShare, presence, presenceThreshold, brightness: brightness(r) };
}
