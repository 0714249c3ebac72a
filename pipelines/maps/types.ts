// Shared map types: every map method (roi, fit, model) produces a MapSet of the same shape, so the
// publisher, the renderer, storage and `gemxrf eval` treat them alike.

export type MapMethod = 'roi' | 'fit' | 'model';

/** Elemental maps of one method: data is elements x height x width (element-major, then row-major). */
export interface MapSet {
  method: MapMethod;
  elements: string[];
  width: number;
  height: number;
  data: Float32Array;
}

/** Per-pixel counts, any numeric typed array the cube or a test may hold. */
export type CountArray = Uint32Array | Uint16Array | Float32Array | Float64Array;

/** The part of the cube the map methods read: pixel-major counts, index (y * width + x) * channels + ch.
 *  pipelines/cube's Cube satisfies this structurally; tests can hand in a plain object. */
export interface SpectralCube {
  width: number;
  height: number;
  channels: number;
  counts: CountArray;
}

export function createMapSet(method: MapMethod, elements: readonly string[], width: number, height: number): MapSet {
  return { method, elements: [...elements], width, height, data: new Float32Array(elements.length * width * height) };
}

/** The view of one element's map inside a MapSet (no copy). */
export function elementMap(set: MapSet, element: string): Float32Array {
  const i = set.elements.indexOf(element);
  if (i < 0) throw new Error(`map set (${set.method}) has no element '${element}' (has ${set.elements.join(', ')})`);
  const n = set.width * set.height;
  return set.data.subarray(i * n, (i + 1) * n);
}

export function checkCube(cube: SpectralCube, channels: number): void {
  if (cube.channels !== channels) throw new Error(`cube has ${cube.channels} channels, the map plan expects ${channels}`);
  if (cube.counts.length < cube.width * cube.height * cube.channels) throw new Error('cube counts shorter than width x height x channels');
}
