// The live hyperspectral cube: per-pixel energy histograms in SharedArrayBuffers, so the inference worker
// reads spectra straight from memory the main thread fills (no copies, no messages per pixel).
//
// Layout (all little-endian, host order):
//   counts          Uint32 [height][width][channels]  index (y * width + x) * channels + ch  (a pixel's spectrum is contiguous)
//   totals          Uint32 [height][width]            events per pixel (= sum of its spectrum)
//   inferredTotals  Uint32 [height][width]            each pixel's total when it was last inferred (written by the scheduler)
//   sumSpectrum     Float64 [channels]                 all pixels summed (float64: exact to 2^53, no 32-bit wrap on long scans)
//   meta            Float64 [META_SLOTS]               counters below, readable from any thread
// Only the main thread writes counts/totals/sumSpectrum. A reader in another thread may see a batch half
// applied (a pixel's total one batch ahead of its spectrum); aligned 32-bit loads never tear, so every
// value it reads is one that was written.
import type { EventBatch } from '../../drivers/batches.js';
import type { Calibration } from '../calibration/calibration.js';

export const META = {
  eventsIn: 0,
  eventsAdded: 1,
  droppedOffGrid: 2,
  droppedOutOfRange: 3,
  droppedDeadPixel: 4,
  /** Incremented by reset() and restore, so readers can tell that counts went down on purpose. */
  generation: 5,
} as const;
const META_SLOTS = 8;

export interface CubeDims {
  width: number;
  height: number;
  channels: number;
  eMinKeV: number;
  eMaxKeV: number;
}

/** Everything a worker_thread needs to attach to the same cube (structured-cloneable: SABs are shared, not copied). */
export interface SharedCube extends CubeDims {
  counts: SharedArrayBuffer;
  totals: SharedArrayBuffer;
  inferredTotals: SharedArrayBuffer;
  sumSpectrum: SharedArrayBuffer;
  meta: SharedArrayBuffer;
}

export interface CubeCounters {
  eventsIn: number;
  eventsAdded: number;
  droppedOffGrid: number;
  droppedOutOfRange: number;
  droppedDeadPixel: number;
  generation: number;
}

function sab(bytes: number, what: string): SharedArrayBuffer {
  try {
    return new SharedArrayBuffer(bytes);
  } catch (e) {
    throw new Error(`cube: cannot allocate ${what} (${(bytes / 2 ** 20).toFixed(0)} MiB): ${e instanceof Error ? e.message : String(e)}`);
  }
}

export class Cube implements CubeDims {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly eMinKeV: number;
  readonly eMaxKeV: number;
  readonly counts: Uint32Array;
  readonly totals: Uint32Array;
  readonly inferredTotals: Uint32Array;
  readonly sumSpectrum: Float64Array;
  readonly meta: Float64Array;
  private readonly buffers: SharedCube;
  /** Drop counts of the last batch: off grid, out of range, dead pixel (scratch, no allocation per batch). */
  private readonly drops = new Float64Array(3);
  /** Cube index of each event of the batch being added (scratch, grows to the largest batch). */
  private index = new Int32Array(4096);

  constructor(dims: CubeDims, shared?: SharedCube) {
    const { width, height, channels } = dims;
    for (const [k, v] of Object.entries({ width, height, channels }))
      if (!Number.isInteger(v) || v < 1) throw new Error(`cube: ${k} must be a positive integer (got ${v})`);
    this.width = width;
    this.height = height;
    this.channels = channels;
    this.eMinKeV = dims.eMinKeV;
    this.eMaxKeV = dims.eMaxKeV;
    const pixels = width * height;
    // Cube indices are Int32 in the hot loop (and a larger cube would not fit in memory anyway).
    if (pixels * channels > 2 ** 31 - 1) throw new Error(`cube: ${width}x${height}x${channels} has more than 2^31 bins`);
    this.buffers = shared ?? {
      width, height, channels, eMinKeV: dims.eMinKeV, eMaxKeV: dims.eMaxKeV,
      counts: sab(pixels * channels * 4, `a ${width}x${height}x${channels} count cube`),
      totals: sab(pixels * 4, 'pixel totals'),
      inferredTotals: sab(pixels * 4, 'inferred totals'),
      sumSpectrum: sab(channels * 8, 'sum spectrum'),
      meta: sab(META_SLOTS * 8, 'counters'),
    };
    const b = this.buffers;
    if (b.counts.byteLength !== pixels * channels * 4 || b.totals.byteLength !== pixels * 4 || b.inferredTotals.byteLength !== pixels * 4 ||
        b.sumSpectrum.byteLength !== channels * 8 || b.meta.byteLength !== META_SLOTS * 8)
      throw new Error('cube: shared buffers do not match the dimensions');
    this.counts = new Uint32Array(b.counts);
    this.totals = new Uint32Array(b.totals);
    this.inferredTotals = new Uint32Array(b.inferredTotals);
    this.sumSpectrum = new Float64Array(b.sumSpectrum);
    this.meta = new Float64Array(b.meta);
  }

  /** A cube on the image grid and energy grid of the configuration. */
  static fromConfig(config: { detector: { width: number; height: number }; histogram: { channels: number; eMinKeV: number; eMaxKeV: number } }): Cube {
    const { width, height } = config.detector;
    const { channels, eMinKeV, eMaxKeV } = config.histogram;
    return new Cube({ width, height, channels, eMinKeV, eMaxKeV });
  }

  /** Attach to the buffers of a cube made in another thread (postMessage(cube.shared()) there). */
  static fromShared(shared: SharedCube): Cube {
    return new Cube(shared, shared);
  }

  shared(): SharedCube {
    return this.buffers;
  }

  /**
   * The hot loop: histogram one batch of events. Events off the image grid, outside the energy range or on a
   * dead pixel are dropped and counted. Returns the number of events added.
   */
  addEvents(batch: EventBatch, cal: Calibration): number {
    if (cal.width !== this.width || cal.height !== this.height || cal.channels !== this.channels)
      throw new Error(`cube: calibration is for ${cal.width}x${cal.height}x${cal.channels}, cube is ${this.width}x${this.height}x${this.channels}`);
    const n = batch.n;
    const drops = this.drops;
    drops[0] = drops[1] = drops[2] = 0;
    if (this.index.length < n) this.index = new Int32Array(Math.max(n, 2 * this.index.length));
    const idx = this.index;
    if (cal.gain === null) histogramLut(n, batch.x, batch.y, batch.adc, this.width, this.height, this.channels, cal.lut, this.counts, this.totals, this.sumSpectrum, drops, idx);
    else histogramGainMap(n, batch.x, batch.y, batch.adc, this.width, this.height, this.channels, cal.c0, cal.c1, cal.c2, cal.gain, this.counts, this.totals, this.sumSpectrum, drops, idx);
    const offGrid = drops[0]!;
    const outOfRange = drops[1]!;
    const dead = drops[2]!;
    const added = n - offGrid - outOfRange - dead;
    const m = this.meta;
    m[META.eventsIn] += n;
    m[META.eventsAdded] += added;
    m[META.droppedOffGrid] += offGrid;
    m[META.droppedOutOfRange] += outOfRange;
    m[META.droppedDeadPixel] += dead;
    return added;
  }

  counters(): CubeCounters {
    const m = this.meta;
    return {
      eventsIn: m[META.eventsIn]!,
      eventsAdded: m[META.eventsAdded]!,
      droppedOffGrid: m[META.droppedOffGrid]!,
      droppedOutOfRange: m[META.droppedOutOfRange]!,
      droppedDeadPixel: m[META.droppedDeadPixel]!,
      generation: m[META.generation]!,
    };
  }

  /** Total events in the cube (all pixels). */
  get totalEvents(): number {
    return this.meta[META.eventsAdded]!;
  }

  private checkPixel(x: number, y: number): void {
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= this.width || y >= this.height)
      throw new RangeError(`cube: pixel (${x}, ${y}) is outside ${this.width}x${this.height}`);
  }

  /** A live view of one pixel's spectrum (no copy: it changes as events arrive). */
  pixelSpectrumView(x: number, y: number): Uint32Array {
    this.checkPixel(x, y);
    const start = (y * this.width + x) * this.channels;
    return this.counts.subarray(start, start + this.channels);
  }

  /** A copy of one pixel's spectrum (into out when given). */
  pixelSpectrum(x: number, y: number, out?: Uint32Array): Uint32Array {
    const view = this.pixelSpectrumView(x, y);
    const dst = out ?? new Uint32Array(this.channels);
    if (dst.length < this.channels) throw new RangeError(`cube: out has ${dst.length} channels, need ${this.channels}`);
    dst.set(view);
    return dst;
  }

  /** Sum of the spectra in the rectangle [x0, x0 + w) x [y0, y0 + h), clipped to the grid (into out when given). */
  regionSpectrum(x0: number, y0: number, w: number, h: number, out?: Float64Array): Float64Array {
    const C = this.channels;
    const dst = out ?? new Float64Array(C);
    if (dst.length < C) throw new RangeError(`cube: out has ${dst.length} channels, need ${C}`);
    dst.fill(0, 0, C);
    const xa = Math.max(0, Math.floor(x0));
    const ya = Math.max(0, Math.floor(y0));
    const xb = Math.min(this.width, Math.floor(x0 + w));
    const yb = Math.min(this.height, Math.floor(y0 + h));
    const counts = this.counts;
    for (let y = ya; y < yb; y++) {
      // A row of the region is one contiguous run of (xb - xa) spectra.
      const start = (y * this.width + xa) * C;
      const end = (y * this.width + xb) * C;
      for (let i = start, ch = 0; i < end; i++) {
        dst[ch] += counts[i]!;
        if (++ch === C) ch = 0;
      }
    }
    return dst;
  }

  /** Events per pixel, row-major height x width (a copy; into out when given). */
  countMap(out?: Uint32Array): Uint32Array {
    const dst = out ?? new Uint32Array(this.width * this.height);
    dst.set(this.totals);
    return dst;
  }

  /** The count map as Float32 (what the map publishers send). */
  countMapFloat32(out?: Float32Array): Float32Array {
    const dst = out ?? new Float32Array(this.width * this.height);
    const t = this.totals;
    for (let i = 0; i < t.length; i++) dst[i] = t[i]!;
    return dst;
  }

  /** Empty the cube (counts, totals, inferred totals, sum spectrum, counters); bumps the generation. */
  reset(): void {
    this.counts.fill(0);
    this.totals.fill(0);
    this.inferredTotals.fill(0);
    this.sumSpectrum.fill(0);
    const gen = this.meta[META.generation]!;
    this.meta.fill(0);
    this.meta[META.generation] = gen + 1;
  }
}

// The hot loops are free functions over plain typed arrays, one per calibration kind, so each stays
// small and monomorphic for the JIT. Each runs in two passes: the first computes every event's cube index
// (and bumps the small, cache-resident totals and sum spectrum), the second only increments the cube. The
// cube (10 MB at 100x100x256) is a cache miss per event; a loop body that small lets the CPU keep many misses
// in flight, which measured ~1.5x faster than one pass (docs/results.md).

/**
 * counts[index[k]]++ for k < m, unrolled by 8: V8 re-checks the typed array on every access, so a plain loop
 * has ~20 instructions per increment and the CPU's reorder window holds few cache misses at once; loading
 * eight indices first and then doing eight increments measured another ~1.5x.
 */
function incrementAll(counts: Uint32Array, index: Int32Array, m: number): void {
  let k = 0;
  for (; k + 8 <= m; k += 8) {
    const a = index[k]!, b = index[k + 1]!, c = index[k + 2]!, d = index[k + 3]!;
    const e = index[k + 4]!, f = index[k + 5]!, g = index[k + 6]!, h = index[k + 7]!;
    counts[a]++;
    counts[b]++;
    counts[c]++;
    counts[d]++;
    counts[e]++;
    counts[f]++;
    counts[g]++;
    counts[h]++;
  }
  for (; k < m; k++) counts[index[k]!]++;
}

function histogramLut(
  n: number, xs: Uint16Array, ys: Uint16Array, adcs: Uint16Array, W: number, H: number, C: number,
  lut: Int16Array, counts: Uint32Array, totals: Uint32Array, sum: Float64Array, drops: Float64Array, index: Int32Array,
): void {
  let offGrid = 0;
  let outOfRange = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (x >= W || y >= H) {
      offGrid++;
      continue;
    }
    const ch = lut[adcs[i]!]!;
    if (ch < 0) {
      outOfRange++;
      continue;
    }
    const p = y * W + x;
    index[m++] = p * C + ch;
    totals[p]++;
    sum[ch]++;
  }
  incrementAll(counts, index, m);
  drops[0] = offGrid;
  drops[1] = outOfRange;
}

function histogramGainMap(
  n: number, xs: Uint16Array, ys: Uint16Array, adcs: Uint16Array, W: number, H: number, C: number,
  c0: number, c1: number, c2: number, gain: Float64Array, counts: Uint32Array, totals: Uint32Array, sum: Float64Array, drops: Float64Array,
  index: Int32Array,
): void {
  let offGrid = 0;
  let outOfRange = 0;
  let dead = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (x >= W || y >= H) {
      offGrid++;
      continue;
    }
    const p = y * W + x;
    const a = adcs[i]! / gain[p]!;
    const f = c0 + a * (c1 + c2 * a);
    // NaN (dead pixel) fails this test too; it is told apart only on this rare path.
    if (!(f >= 0 && f < C)) {
      if (a !== a) dead++;
      else outOfRange++;
      continue;
    }
    const ch = f | 0;
    index[m++] = p * C + ch;
    totals[p]++;
    sum[ch]++;
  }
  incrementAll(counts, index, m);
  drops[0] = offGrid;
  drops[1] = outOfRange;
  drops[2] = dead;
}
