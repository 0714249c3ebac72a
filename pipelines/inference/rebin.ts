// Rebinning of count spectra between two energy grids: each source bin's counts are shared among the target
// bins it overlaps, in proportion to the overlap (counts are conserved inside the common range).
// Precomputed once as a sparse map so the per-spectrum work is a few multiply-adds per source bin.

export interface Grid {
  channels: number;
  eMinKeV: number;
  eMaxKeV: number;
}

export interface Rebinner {
  readonly identity: boolean;
  /** Adds the rebinned `src` into `dst` (dst is zeroed first). */
  apply(src: ArrayLike<number>, dst: Float32Array, dstOffset?: number): void;
}

export function sameGrid(a: Grid, b: Grid): boolean {
  return a.channels === b.channels && Math.abs(a.eMinKeV - b.eMinKeV) < 1e-9 && Math.abs(a.eMaxKeV - b.eMaxKeV) < 1e-9;
}

export function createRebinner(from: Grid, to: Grid): Rebinner {
  if (sameGrid(from, to)) {
    return {
      identity: true,
      apply(src, dst, off = 0) {
        for (let i = 0; i < to.channels; i++) dst[off + i] = src[i]!;
      },
    };
  }
  const wf = (from.eMaxKeV - from.eMinKeV) / from.channels;
  const wt = (to.eMaxKeV - to.eMinKeV) / to.channels;
  // Flattened sparse entries: (source index, target index, weight).
  const srcIdx: number[] = [];
  const dstIdx: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < from.channels; i++) {
    const lo = from.eMinKeV + i * wf;
    const hi = lo + wf;
    const j0 = Math.max(0, Math.floor((lo - to.eMinKeV) / wt));
    const j1 = Math.min(to.channels - 1, Math.floor((hi - to.eMinKeV) / wt));
    for (let j = j0; j <= j1; j++) {
      const tlo = to.eMinKeV + j * wt;
      const overlap = Math.min(hi, tlo + wt) - Math.max(lo, tlo);
      if (overlap > 1e-12) {
        srcIdx.push(i);
        dstIdx.push(j);
        weight.push(overlap / wf);
      }
    }
  }
  const s = Int32Array.from(srcIdx);
  const d = Int32Array.from(dstIdx);
  const w = Float32Array.from(weight);
  const n = s.length;
  return {
    identity: false,
    apply(src, dst, off = 0) {
      dst.fill(0, off, off + to.channels);
      for (let k = 0; k < n; k++) dst[off + d[k]!]! += src[s[k]!]! * w[k]!;
    },
  };
}
