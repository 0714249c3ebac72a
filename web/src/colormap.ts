// The page colours maps with the same viridis table as the daemon's PNG maps (daemon/render/colormap.ts),
// so a screenshot and a `gemxrf maps` PNG of the same data agree. paintMap writes into a caller-owned
// RGBA buffer: a map update allocates nothing.
import { colormapLut, noDataColor } from '../../daemon/render/colormap.js';

export const VIRIDIS: Uint8Array = colormapLut('viridis');
const NO_DATA = noDataColor('viridis');

export interface ColorScale {
  min: number;
  max: number;
  log: boolean;
}

/** The [0, 1] position of v on the scale (the colorbar uses the same function). */
export function scalePosition(v: number, s: ColorScale): number {
  if (s.log) {
    const lo = Math.log10(Math.max(s.min, 1e-12));
    const hi = Math.log10(Math.max(s.max, 1e-12));
    if (!(hi > lo)) return 0;
    return v > 0 ? Math.min(1, Math.max(0, (Math.log10(v) - lo) / (hi - lo))) : 0;
  }
  if (!(s.max > s.min)) return 0;
  return Math.min(1, Math.max(0, (v - s.min) / (s.max - s.min)));
}

/** Colours n values into out (RGBA, 4n bytes); NaN pixels get the no-data grey. */
export function paintMap(values: ArrayLike<number>, n: number, scale: ColorScale, out: Uint8ClampedArray, lut: Uint8Array = VIRIDIS): void {
  const lin = !scale.log;
  const span = scale.max - scale.min;
  const ok = span > 0 && Number.isFinite(span);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const o = i * 4;
    if (v !== v) {
      out[o] = NO_DATA[0];
      out[o + 1] = NO_DATA[1];
      out[o + 2] = NO_DATA[2];
    } else {
      // The linear case inline: this loop runs for every pixel of every map frame.
      let k: number;
      if (lin) {
        // Same arithmetic as the daemon's normaliser, so rounding at .5 boundaries agrees too.
        const t = ok ? (v - scale.min) / span : 0;
        k = Math.round((t <= 0 ? 0 : t >= 1 ? 1 : t) * 255) * 3;
      } else k = Math.round(scalePosition(v, scale) * 255) * 3;
      out[o] = lut[k]!;
      out[o + 1] = lut[k + 1]!;
      out[o + 2] = lut[k + 2]!;
    }
    out[o + 3] = 255;
  }
}

/** Min and max of the finite values (0, 0 when there are none). */
export function valueRange(values: ArrayLike<number>, n: number): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v - v !== 0) continue; // NaN or ±Infinity: painted no-data / clamped, not part of the scale
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return Number.isFinite(min) && Number.isFinite(max) ? { min, max } : { min: 0, max: 0 };
}
