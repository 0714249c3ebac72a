// The straightforward SNIP estimate (the first implementation of SnipBackground.estimate, verbatim but for
// reading the estimator's settings): Math.sqrt/log/exp per channel for LLS and its inverse, every channel visited
// on every clip pass. Not used by the maps: it is what the fast estimate (snip-background.ts, see its header) is
// tested against (test/pipelines/maps/snip-fast.test.ts) and benchmarked next to (bench/roi-background.bench.ts).
import type { SnipBackground } from './snip-background.js';

export class SnipReference {
  private readonly invShape: Float64Array | null;
  private readonly v: Float64Array;
  private readonly z: Float64Array;
  private readonly prefix: Float64Array;

  /** Same settings (channels, windows, flat-continuum shape) as `snip`; its own scratch. */
  constructor(readonly snip: SnipBackground) {
    const C = snip.channels;
    this.invShape = snip.shape ? snip.shape.map((s) => 1 / s) : null;
    this.v = new Float64Array(C);
    this.z = new Float64Array(C);
    this.prefix = new Float64Array(C + 1);
  }

  /** As SnipBackground.estimate without its `channels` argument. */
  estimate(spectrum: ArrayLike<number>, out: Float64Array = new Float64Array(this.snip.channels), offset = 0): Float64Array {
    const { channels: C, first, halfWidth, smoothHalf, shape, maxWindow } = this.snip;
    const { v, z, prefix, invShape } = this;
    prefix[first] = 0;
    for (let c = first; c < C; c++) {
      let y = spectrum[offset + c]!;
      y = y > 0 && y < Infinity ? y : 0;
      prefix[c + 1] = prefix[c]! + (invShape ? y * invShape[c]! : y);
    }
    for (let c = first; c < C; c++) {
      const s = smoothHalf[c]!;
      const y = (prefix[c + s + 1]! - prefix[c - s]!) / (2 * s + 1);
      v[c] = Math.log(Math.log(Math.sqrt(y + 1) + 1) + 1);
    }
    let a = v;
    let b = z;
    for (let p = 1; p <= maxWindow; p++) {
      for (let c = first; c < C; c++) {
        const x = a[c]!;
        if (p <= halfWidth[c]!) {
          const m = 0.5 * (a[c - p]! + a[c + p]!);
          b[c] = m < x ? m : x;
        } else b[c] = x;
      }
      const t = a;
      a = b;
      b = t;
    }
    for (let c = 0; c < first; c++) out[c] = 0;
    for (let c = first; c < C; c++) {
      const e = Math.exp(Math.exp(a[c]!) - 1) - 1;
      const y = (e * e - 1) * (shape ? shape[c]! : 1);
      out[c] = y > 0 ? y : 0;
    }
    return out;
  }
}
