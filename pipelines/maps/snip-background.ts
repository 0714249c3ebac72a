// SNIP background (statistics-sensitive non-linear iterative peak clipping; C.G. Ryan et al., NIM B 34 (1988) 396,
// in M. Morhac's increasing-window form, NIM A 401 (1997) 113) of a spectrum, as XRF software (PyMca, AXIL, GeoPIXE)
// estimates the continuum under the peaks:
//
//   v = LLS(y) = log(log(sqrt(y + 1) + 1) + 1)      compresses the dynamic range, so a peak and a weak
//                                                     continuum are clipped alike
//   for p = 1 .. halfWidth[i]:  v[i] = min(v[i], (v[i - p] + v[i + p]) / 2)   (all channels per pass)
//   background = LLS^-1(v)
//
// Each pass replaces a channel by the mean of its two neighbours w channels away when that is lower: a peak
// narrower than the window is clipped down to the line under it, a continuum that curves slowly stays. The
// window half-width follows the detector: halfWidth[i] = widthFwhm x FWHM(E_i) in channels (a GEM's FWHM grows
// from ~5 channels at 1 keV to ~24 at 20 keV on the 80 eV grid), so one setting suits every line. Each channel
// gets passes 1 .. halfWidth[i] once (repeating the widest pass, as a fixed-count loop would, erodes a curved
// continuum further at every repetition). widthFwhm 0.7 (a window 1.4 FWHM wide) left ~6 % of a noise-free wood
// continuum in the ROI windows against ~14 % at 1 FWHM and ~28 % at 1.5, and scored best on held-out synthetic
// spectra (docs/results.md, "roi background"): wider windows erode the continuum's curvature, narrower ones eat the peaks.
// Low counts: the clip keeps the lower envelope of Poisson noise, so the background of a noisy spectrum is biased
// low; the spectrum is smoothed first (moving average over +-smoothFwhm x FWHM) and the background is estimated on
// the smoothed spectrum, the net counts on the raw one. smoothFwhm 0.5 cuts what a 300-count continuum leaves
// in the windows from 79 % (unsmoothed) to 19 % (widthFwhm 0.7); more smoothing widens a strong peak into its
// neighbour's window, which then sits on a background lifted by the widened flank (Pb La next to a Cu peak six
// times stronger: 0.05 recovered of 0.1 at smoothFwhm 0.5, 0.024 at 1).
// Flattening: a GEM's record of a smooth continuum is not smooth: the argon K edge (3.2 keV) makes the gas's
// efficiency jump, and the recorded continuum has an edge-and-hump one FWHM wide, which SNIP takes for a peak and
// clips away (unflattened, 17 % of a noise-free wood continuum stayed in the windows at widthFwhm 0.7, 6 %
// flattened). The spectrum is
// therefore divided by the detector's record of a flat incident continuum (physics: window and gas efficiency,
// escape, resolution) before clipping and the background multiplied back after: SNIP clips relative to what the
// detector would record of a smooth continuum.
// Channels below the detector's low cutoff (no counts: the discriminator) are outside the range the clip sees,
// so the step at the cutoff is not taken for a peak's flank; their background is 0. Near the range's ends the
// window shrinks to what fits (the end channels are kept).
//
// A SnipBackground holds its scratch buffers: estimate() allocates nothing (one per thread, not re-entrant).
//
// Speed (a ROI map runs this per pixel spectrum; docs/results.md "roi background"). The straightforward version
// (kept as the reference: snip-reference.ts, tested against in snip-fast.test.ts) spent about 2/3 of its time in Math.sqrt/log/exp
// (3 calls for LLS and 2 for its inverse per channel, ~50 ns per channel each way) and most of the rest in a clip
// loop that visited every channel on every pass and branched on its half-width. What this one does instead:
// - LLS and its inverse are cubic Hermite interpolants (exact values and derivatives at the nodes) on tables
//   built once per process, with the exact functions outside the tables' ranges. LLS: 128 segments per octave
//   of y, the segment read off the float's exponent and top mantissa bits (no log), y in [2^-10, 2^24); y = 0
//   (an empty channel) is exact. Inverse: 2048 segments per unit of v from LLS(0) to LLS(2^24). LLS is within
//   ~8e-12 (absolute) of the exact function, the inverse within ~1e-11 x (1 + y); the clip cannot grow an error
//   (the min of a value and the mean of two moves no more than its inputs did), and d ln(1 + y) / dv is ~7 .. 16,
//   so the background is within ~1e-10 x (1 + background) of the exact computation (<= 7e-11 measured on
//   random spectra in test/pipelines/maps/snip-fast.test.ts, which asserts 2e-10 against the reference).
//   Coarser tables (64 segments per octave, 1024 per unit: 1e-9) were no faster.
// - Pass p of the clip visits only the channels whose half-width reaches p (runs precomputed per pass: one
//   interval per pass when the FWHM grows with energy), about 2/3 of the visits of all passes x all channels,
//   with no half-width test per channel; the channels that left the clip are copied once into the other
//   ping-pong buffer, so both hold them. The min is taken without a branch (see the loop): a data-dependent
//   branch there mispredicts on noisy spectra and cost ~2/3 of the clip's time.
// - The moving average multiplies by a precomputed 1 / (2s + 1) instead of dividing (1 ulp at most).
// - A spectrum without counts gets the precomputed background of the empty spectrum (the general path's result).
// - estimate(..., channels) takes the inverse only on the channels asked for (roi.ts: those of the windows).
import { binWidth, fwhmKeV, DEFAULT_DETECTOR, type DetectorParams, type EnergyGrid } from '../../physics/index.js';
import { applyThreshold, coarsenSpectrum, recordPhotons } from '../../physics/recorded.js';

export interface SnipOptions {
  detector?: DetectorParams;
  /** Clipping window half-width in FWHMs of the detector at each channel's energy (default 0.7: a window 1.4
   *  FWHM wide; see docs/results.md for the measurement that chose it). */
  widthFwhm?: number;
  /** Moving-average half-width in FWHMs applied before clipping (default 0.5; 0: no smoothing). */
  smoothFwhm?: number;
  /** Clip the spectrum relative to the detector's record of a flat continuum (default true): see the header. */
  flatten?: boolean;
  /** Clip with the WebAssembly SIMD kernel where the runtime has one (default true; false: the JavaScript loop,
   *  which the tests also check). Either gives the same background within the stated tolerance. */
  simd?: boolean;
}

export const DEFAULT_SNIP_WIDTH_FWHM = 0.7;
export const DEFAULT_SNIP_SMOOTH_FWHM = 0.5;

/** The LLS transform, exactly: log(log(sqrt(y + 1) + 1) + 1). */
export function llsExact(y: number): number {
  return Math.log(Math.log(Math.sqrt(y + 1) + 1) + 1);
}

/** Its inverse, exactly: (exp(exp(v) - 1) - 1)^2 - 1. */
export function llsInverseExact(v: number): number {
  const e = Math.exp(Math.exp(v) - 1) - 1;
  return e * e - 1;
}

export class SnipBackground {
  readonly channels: number;
  /** First channel the clip sees (at or above the detector's low cutoff). */
  readonly first: number;
  /** Clipping half-width per channel (already limited by the distance to the range's ends). */
  readonly halfWidth: Int32Array;
  /** Smoothing half-width per channel (limited likewise). */
  readonly smoothHalf: Int32Array;
  readonly maxWindow: number;
  /** flatten: the recorded flat continuum (mean 1 over the clipped range); null otherwise. */
  readonly shape: Float64Array | null;
  /** Per channel: what the counts are multiplied by before smoothing (1 / shape, or 1), what the background is
   *  multiplied by after the inverse (shape, or 1: no branch per channel), 1 / (2 smoothHalf + 1). */
  private readonly flatIn: Float64Array;
  private readonly flatOut: Float64Array;
  private readonly smoothScale: Float64Array;
  /** Clip pass p: channel runs [runs[2r], runs[2r + 1]] for r in [runStart[p], runStart[p + 1]) are clipped;
   *  channels copy[i] for i in [copyStart[p], copyStart[p + 1]) (half-width p - 1: clipped for the last time by
   *  the previous pass) are copied into the pass's output buffer. */
  private readonly runs: Int32Array;
  private readonly runStart: Int32Array;
  private readonly copy: Int32Array;
  private readonly copyStart: Int32Array;
  /** The background of a spectrum without counts. */
  private readonly emptyBackground: Float64Array;
  /** The clip's ping-pong buffers; with the SIMD kernel, views of its memory (v at byte 0, z at byte 8 x channels). */
  private readonly v: Float64Array;
  private readonly z: Float64Array;
  private readonly prefix: Float64Array;
  /** The SIMD kernel (see clipKernel below), or null: the JavaScript loop. */
  private readonly clipRun: ClipRun | null;

  constructor(grid: EnergyGrid, opts: SnipOptions = {}) {
    const det = opts.detector ?? DEFAULT_DETECTOR;
    const width = opts.widthFwhm ?? DEFAULT_SNIP_WIDTH_FWHM;
    const smooth = opts.smoothFwhm ?? DEFAULT_SNIP_SMOOTH_FWHM;
    if (!(width > 0 && Number.isFinite(width))) throw new RangeError(`snip widthFwhm must be > 0, got ${width}`);
    if (!(smooth >= 0 && Number.isFinite(smooth))) throw new RangeError(`snip smoothFwhm must be >= 0, got ${smooth}`);
    const C = grid.channels;
    const w = binWidth(grid);
    this.channels = C;
    let first = Math.ceil((det.lowCutoffKeV - grid.eMinKeV) / w - 1e-9);
    first = Math.min(Math.max(first, 0), C - 1);
    this.first = first;
    this.halfWidth = new Int32Array(C);
    this.smoothHalf = new Int32Array(C);
    this.smoothScale = new Float64Array(C);
    let maxWindow = 0;
    for (let c = first; c < C; c++) {
      const e = Math.max(grid.eMinKeV + (c + 0.5) * w, 1e-3);
      const f = fwhmKeV(e, det) / w;
      const edge = Math.min(c - first, C - 1 - c);
      const h = Math.min(Math.max(1, Math.round(width * f)), edge);
      this.halfWidth[c] = h;
      this.smoothHalf[c] = Math.min(Math.round(smooth * f), edge);
      this.smoothScale[c] = 1 / (2 * this.smoothHalf[c]! + 1);
      if (h > maxWindow) maxWindow = h;
    }
    this.maxWindow = maxWindow;
    this.flatIn = new Float64Array(C).fill(1);
    this.flatOut = new Float64Array(C).fill(1);
    if (opts.flatten ?? true) {
      const shape = flatContinuum(grid, det);
      let mean = 0;
      for (let c = first; c < C; c++) mean += shape[c]!;
      mean /= C - first;
      let peak = 0;
      for (let c = first; c < C; c++) peak = Math.max(peak, (shape[c]! /= mean));
      // Floor (channels at the cutoff, where the threshold takes most of a channel): no division by ~0.
      const floor = MIN_SHAPE * peak;
      this.shape = shape;
      for (let c = first; c < C; c++) {
        shape[c] = Math.max(shape[c]!, floor);
        this.flatIn[c] = 1 / shape[c]!;
        this.flatOut[c] = shape[c]!;
      }
    } else this.shape = null;

    const runs: number[] = [];
    const copy: number[] = [];
    this.runStart = new Int32Array(maxWindow + 2);
    this.copyStart = new Int32Array(maxWindow + 2);
    for (let p = 1; p <= maxWindow; p++) {
      this.runStart[p] = runs.length / 2;
      this.copyStart[p] = copy.length;
      for (let c = first; c < C; c++) {
        if (this.halfWidth[c]! >= p) {
          if (c > first && this.halfWidth[c - 1]! >= p) runs[runs.length - 1] = c;
          else runs.push(c, c);
        }
        // Half-width 0 (the range's ends) is in both buffers from the start.
        if (p >= 2 && this.halfWidth[c] === p - 1) copy.push(c);
      }
    }
    this.runStart[maxWindow + 1] = runs.length / 2;
    this.copyStart[maxWindow + 1] = copy.length;
    this.runs = Int32Array.from(runs);
    this.copy = Int32Array.from(copy);

    const kernel = (opts.simd ?? true) ? clipKernel(C) : null;
    this.clipRun = kernel?.clip ?? null;
    this.v = kernel ? new Float64Array(kernel.memory.buffer, 0, C) : new Float64Array(C);
    this.z = kernel ? new Float64Array(kernel.memory.buffer, 8 * C, C) : new Float64Array(C);
    this.prefix = new Float64Array(C + 1);
    // The empty spectrum: LLS(0) everywhere, which the clip keeps, and its inverse (~0) times the shape.
    this.emptyBackground = new Float64Array(C);
    const empty = llsInverseExact(llsExact(0));
    for (let c = first; c < C; c++) {
      const y = empty * this.flatOut[c]!;
      this.emptyBackground[c] = y > 0 ? y : 0;
    }
    buildTables();
  }

  /** The background of `spectrum` (channels values, counts >= 0) into `out` (allocated when not given).
   *  `offset`: where the spectrum starts in `spectrum` (a pixel inside a cube's counts). Non-finite or negative
   *  counts are read as 0. `channels` (ascending or not, each in [0, channels)): only these entries of out are
   *  written (the others are left as they were); all when not given. Returns out; out[c] is 0 below the low
   *  cutoff. */
  estimate(spectrum: ArrayLike<number>, out: Float64Array = new Float64Array(this.channels), offset = 0, channels?: Int32Array): Float64Array {
    const C = this.channels;
    const first = this.first;
    const { v, z, prefix, smoothHalf, smoothScale, flatIn, flatOut, runs, runStart, copy, copyStart } = this;
    // Prefix sums for the moving average (channels from `first` on), of the flattened spectrum.
    // (The running sum in a local: the same additions as prefix[c] + ..., without reading prefix[c] back.) A
    // cube's Uint32Array counts are finite and >= 0: no test per channel (which took half of this loop's time).
    let sum = 0;
    prefix[first] = 0;
    if (spectrum instanceof Uint32Array) {
      for (let c = first; c < C; c++) {
        sum += spectrum[offset + c]! * flatIn[c]!;
        prefix[c + 1] = sum;
      }
    } else {
      for (let c = first; c < C; c++) {
        const y = spectrum[offset + c]!;
        sum += (y > 0 && y < Infinity ? y : 0) * flatIn[c]!;
        prefix[c + 1] = sum;
      }
    }
    const n = channels ? channels.length : C;
    if (sum === 0) {
      // No counts (prefix sums of values >= 0 are 0 only then): what the general path gives, precomputed.
      const bg = this.emptyBackground;
      for (let i = 0; i < n; i++) {
        const c = channels ? channels[i]! : i;
        out[c] = bg[c]!;
      }
      return out;
    }
    // Moving average and LLS, into both ping-pong buffers (the channels the clip never changes must be in both).
    const T = LLS_TABLE!;
    for (let c = first; c < C; c++) {
      const s = smoothHalf[c]!;
      const y = (prefix[c + s + 1]! - prefix[c - s]!) * smoothScale[c]!;
      let t: number;
      if (y >= LLS_Y_LO && y < LLS_Y_HI) {
        // Segment: exponent and top 6 mantissa bits of y (64 segments per octave); cubic in y - y0.
        BITS_F64[0] = y;
        const k = ((BITS_U32[BITS_HI]! >>> (20 - LLS_OCTAVE_BITS)) - LLS_INDEX_BASE) * 5;
        const d = y - T[k]!;
        t = T[k + 1]! + d * (T[k + 2]! + d * (T[k + 3]! + d * T[k + 4]!));
      } else t = y === 0 ? LLS_ZERO : llsExact(y);
      v[c] = t;
      z[c] = t;
    }
    // The clip: pass p on the channels whose half-width reaches p (see the header); a and b swap after each pass
    // (aAt, bAt: their byte offsets in the SIMD kernel's memory).
    const clipRun = this.clipRun;
    let a = v;
    let b = z;
    let aAt = 0;
    let bAt = 8 * C;
    for (let p = 1; p <= this.maxWindow; p++) {
      if (clipRun) {
        for (let r = runStart[p]!, rEnd = runStart[p + 1]!; r < rEnd; r++) clipRun(aAt, bAt, runs[2 * r]!, runs[2 * r + 1]!, p);
      } else {
        for (let r = runStart[p]!, rEnd = runStart[p + 1]!; r < rEnd; r++) {
          const lo = runs[2 * r]!;
          const hi = runs[2 * r + 1]!;
          // Channels in steps of p: channel c's right neighbour c + p is channel c + p's centre, so each step
          // loads one value instead of three (~20 % of the clip's time).
          for (let start = lo, top = Math.min(lo + p - 1, hi); start <= top; start++) {
            let left = a[start - p]!;
            let x = a[start]!;
            for (let c = start; c <= hi; c += p) {
              const right = a[c + p]!;
              // min(x, mean) without a branch (a data-dependent branch here mispredicts on noisy spectra, and V8
              // compiles both `m < x ? m : x` and Math.min to one): d > 0 gives x - d, which is the mean exactly
              // whenever x - mean is exact (x <= 2 mean, Sterbenz) and within 1 ulp of it otherwise; d <= 0 gives x.
              const d = x - 0.5 * (left + right);
              b[c] = x - 0.5 * (d + Math.abs(d));
              left = x;
              x = right;
            }
          }
        }
      }
      for (let i = copyStart[p]!, iEnd = copyStart[p + 1]!; i < iEnd; i++) {
        const c = copy[i]!;
        b[c] = a[c]!;
      }
      const t = a;
      a = b;
      b = t;
      const tAt = aAt;
      aAt = bAt;
      bAt = tAt;
    }
    // Inverse LLS, times the flat continuum's shape.
    const I = INV_TABLE!;
    for (let i = 0; i < n; i++) {
      const c = channels ? channels[i]! : i;
      if (c < first) {
        out[c] = 0;
        continue;
      }
      const va = a[c]!;
      const x = (va - LLS_ZERO) * INV_SEGMENTS_PER_UNIT;
      let g: number;
      if (x >= 0 && x < INV_N) {
        const j = x | 0;
        const t = x - j;
        const k = 4 * j;
        g = I[k]! + t * (I[k + 1]! + t * (I[k + 2]! + t * I[k + 3]!));
      } else g = llsInverseExact(va);
      const y = g * flatOut[c]!;
      out[c] = y > 0 ? y : 0;
    }
    return out;
  }
}

// ---- The clip kernel: one pass over a run of channels, in WebAssembly with 2-lane SIMD. ----
//
// clip(a, b, lo, hi, p): for c in lo .. hi, b[c] = pmin(a[c], 0.5 * (a[c - p] + a[c + p])), a and b byte offsets
// of Float64 arrays in the kernel's memory. f64x2.pmin(x, m) is `m < x ? m : x`, the reference's expression,
// bit for bit, and one minpd instruction (no branch); two channels per step, no bounds checks. ~2.5x the
// JavaScript loop's speed (docs/results.md). The module is small enough to be written out here in bytes; each
// line of the function body is one WAT instruction group (params a b lo hi p: locals 0-4; i, end: 5, 6; half: 7).
type ClipRun = (a: number, b: number, lo: number, hi: number, p: number) => void;

const CLIP_BODY = [
  0x02, 0x02, 0x7f, 0x01, 0x7b, // locals: 2 x i32 (i, end), 1 x v128 (half)
  0x20, 0x02, 0x41, 0x03, 0x74, 0x21, 0x05, // i = lo << 3 (byte offset of channel lo)
  0x20, 0x03, 0x41, 0x03, 0x74, 0x21, 0x06, // end = hi << 3
  0x20, 0x04, 0x41, 0x03, 0x74, 0x21, 0x04, // p = p << 3
  0x44, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 0xfd, 0x14, 0x21, 0x07, // half = f64x2.splat(0.5)
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x05, 0x41, 0x08, 0x6a, 0x20, 0x06, 0x4a, 0x0d, 0x01, //   br_if out (i + 8 > end: fewer than 2 channels left)
  0x20, 0x01, 0x20, 0x05, 0x6a, //   b + i (store address)
  0x20, 0x00, 0x20, 0x05, 0x6a, 0xfd, 0x00, 0x03, 0x00, //   x = v128.load(a + i)
  0x20, 0x00, 0x20, 0x05, 0x6a, 0x20, 0x04, 0x6b, 0xfd, 0x00, 0x03, 0x00, //   v128.load(a + i - p)
  0x20, 0x00, 0x20, 0x05, 0x6a, 0x20, 0x04, 0x6a, 0xfd, 0x00, 0x03, 0x00, //   v128.load(a + i + p)
  0xfd, 0xf0, 0x01, 0x20, 0x07, 0xfd, 0xf2, 0x01, //   m = f64x2.mul(f64x2.add(left, right), half)
  0xfd, 0xf6, 0x01, 0xfd, 0x0b, 0x03, 0x00, //   v128.store(b + i, f64x2.pmin(x, m))
  0x20, 0x05, 0x41, 0x10, 0x6a, 0x21, 0x05, 0x0c, 0x00, 0x0b, 0x0b, //   i += 16; br loop; end loop, block
  0x20, 0x05, 0x20, 0x06, 0x4c, 0x04, 0x40, // if (i <= end): the last channel of an odd count
  0x20, 0x01, 0x20, 0x05, 0x6a, //   b + i
  0x20, 0x00, 0x20, 0x05, 0x6a, 0x2b, 0x03, 0x00, //   x = f64.load(a + i)
  0x20, 0x00, 0x20, 0x05, 0x6a, 0x20, 0x04, 0x6b, 0x2b, 0x03, 0x00, //   f64.load(a + i - p)
  0x20, 0x00, 0x20, 0x05, 0x6a, 0x20, 0x04, 0x6a, 0x2b, 0x03, 0x00, //   f64.load(a + i + p)
  0xa0, 0x44, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 0xa2, //   m = (left + right) * 0.5
  0xa4, 0x39, 0x03, 0x00, 0x0b, //   f64.store(b + i, f64.min(x, m)) (= pmin: no NaN, no -0 here); end if
  0x0b, // end
];

function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

const section = (id: number, body: number[]): number[] => [id, ...leb128(body.length), ...body];

const CLIP_MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
  ...section(1, [0x01, 0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]), // type: (i32 x 5) -> ()
  ...section(2, [0x01, 0x03, ...'env'.split('').map((c) => c.charCodeAt(0)), 0x06, ...'memory'.split('').map((c) => c.charCodeAt(0)), 0x02, 0x00, 0x01]), // import env.memory (min 1 page)
  ...section(3, [0x01, 0x00]), // one function of type 0
  ...section(7, [0x01, 0x04, ...'clip'.split('').map((c) => c.charCodeAt(0)), 0x00, 0x00]), // export it as clip
  ...section(10, [0x01, ...leb128(CLIP_BODY.length), ...CLIP_BODY]),
]);

/** The few members of the WebAssembly JS API used here (the project's TypeScript lib declares none). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number }) => { buffer: ArrayBuffer };
}

/** undefined: not compiled yet; null: this runtime has no WebAssembly SIMD (the JavaScript loop clips). */
let clipModule: object | null | undefined;

/** A clip kernel with its own memory for two Float64 buffers of `channels`, or null without WebAssembly SIMD. */
function clipKernel(channels: number): { clip: ClipRun; memory: { buffer: ArrayBuffer } } | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return null;
  if (clipModule === undefined) clipModule = wasm.validate(CLIP_MODULE_BYTES) ? new wasm.Module(CLIP_MODULE_BYTES) : null;
  if (!clipModule) return null;
  const memory = new wasm.Memory({ initial: Math.max(1, Math.ceil((16 * channels) / 65536)) });
  const instance = new wasm.Instance(clipModule, { env: { memory } });
  return { clip: instance.exports.clip as ClipRun, memory };
}

// ---- The LLS tables (module-wide, built by the first SnipBackground; each worker thread builds its own). ----

/** LLS table: 2^LLS_OCTAVE_BITS segments per octave of y over [2^LLS_EXP_LO, 2^LLS_EXP_HI). */
const LLS_OCTAVE_BITS = 7;
const LLS_EXP_LO = -10;
const LLS_EXP_HI = 24;
const LLS_Y_LO = 2 ** LLS_EXP_LO;
const LLS_Y_HI = 2 ** LLS_EXP_HI;
/** The high 32 bits of a double y >= 0, shifted right by 20 - LLS_OCTAVE_BITS, are its biased exponent followed
 *  by the top mantissa bits: minus this, the segment index. */
const LLS_INDEX_BASE = (1023 + LLS_EXP_LO) << LLS_OCTAVE_BITS;
const LLS_ZERO = llsExact(0);
/** Inverse table: uniform segments in v from LLS(0) past LLS(2^LLS_EXP_HI). */
const INV_SEGMENTS_PER_UNIT = 2048;
const INV_N = Math.ceil((llsExact(LLS_Y_HI) - LLS_ZERO) * INV_SEGMENTS_PER_UNIT) + 1;

/** A double's bits (the index of the LLS segment); which 32-bit half is the high one depends on the platform. */
const BITS_F64 = new Float64Array(1);
const BITS_U32 = new Uint32Array(BITS_F64.buffer);
const BITS_HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Per segment: y0, then the cubic's coefficients in (y - y0). */
let LLS_TABLE: Float64Array | null = null;
/** Per segment: the cubic's coefficients in t = (v - v0) x INV_SEGMENTS_PER_UNIT in [0, 1). */
let INV_TABLE: Float64Array | null = null;

function llsDerivative(y: number): number {
  const s = Math.sqrt(y + 1);
  const l = Math.log(s + 1);
  return 1 / ((1 + l) * (1 + s) * 2 * s);
}

function llsInverseDerivative(v: number): number {
  const ev = Math.exp(v);
  const eu = Math.exp(ev - 1);
  return 2 * (eu - 1) * eu * ev;
}

function buildTables(): void {
  if (LLS_TABLE && INV_TABLE) return;
  const perOctave = 1 << LLS_OCTAVE_BITS;
  const n = (LLS_EXP_HI - LLS_EXP_LO) * perOctave;
  const lls = new Float64Array(5 * n);
  for (let k = 0; k < n; k++) {
    const octave = 2 ** (LLS_EXP_LO + Math.floor(k / perOctave));
    const j = k % perOctave;
    const y0 = octave * (1 + j / perOctave);
    const y1 = octave * (1 + (j + 1) / perOctave);
    const h = y1 - y0;
    const f0 = llsExact(y0);
    const g0 = llsDerivative(y0);
    const g1 = llsDerivative(y1);
    const slope = (llsExact(y1) - f0) / h;
    lls.set([y0, f0, g0, (3 * slope - 2 * g0 - g1) / h, (g0 + g1 - 2 * slope) / (h * h)], 5 * k);
  }
  const inv = new Float64Array(4 * INV_N);
  const step = 1 / INV_SEGMENTS_PER_UNIT;
  for (let k = 0; k < INV_N; k++) {
    const v0 = LLS_ZERO + k * step;
    const v1 = LLS_ZERO + (k + 1) * step;
    const f0 = llsInverseExact(v0);
    const f1 = llsInverseExact(v1);
    const g0 = llsInverseDerivative(v0) * step;
    const g1 = llsInverseDerivative(v1) * step;
    inv.set([f0, g0, 3 * (f1 - f0) - 2 * g0 - g1, 2 * (f0 - f1) + g0 + g1], 4 * k);
  }
  LLS_TABLE = lls;
  INV_TABLE = inv;
}

/** Floor of the flat-continuum shape, as a share of its peak. */
const MIN_SHAPE = 0.01;

/** What the detector records of a flat incident continuum (1 photon per keV from 0.5 keV to a few FWHM past the
 *  grid): window and gas efficiency (the argon K edge at 3.2 keV), escape and resolution, the low cutoff. */
function flatContinuum(grid: EnergyGrid, det: DetectorParams): Float64Array {
  const step = 0.02;
  const top = grid.eMaxKeV + 3 * fwhmKeV(grid.eMaxKeV, det);
  const energies: number[] = [];
  const weights: number[] = [];
  for (let e = 0.5 + step / 2; e < top; e += step) {
    energies.push(e);
    weights.push(step);
  }
  const out = new Float64Array(grid.channels);
  const coarse = coarsenSpectrum(energies, weights, det);
  recordPhotons(out, grid, coarse.energies, coarse.weights, det, { throughWindow: true });
  applyThreshold(out, grid, det);
  return out;
}
