// Perceptually uniform colormaps as 256-entry RGB lookup tables, and value -> RGBA mapping for maps.
// viridis, magma and inferno are the matplotlib maps by Stéfan van der Walt and Nathaniel Smith (CC0),
// kept here as 33 evenly spaced control points sampled from the published 256-entry tables; linear
// interpolation between them rebuilds the tables to within 2/255 per channel.
import type { RGB } from './canvas.js';

export const COLORMAP_NAMES = ['viridis', 'magma', 'inferno', 'gray'] as const;
export type ColormapName = (typeof COLORMAP_NAMES)[number];

/** Colour for pixels with no data (NaN): a neutral mid-grey, far from every colour of the perceptual maps. */
export const NO_DATA_COLOR: RGB = [128, 128, 128];
/** The gray colormap contains mid-grey itself, so its no-data colour is a muted blue instead. */
const GRAY_NO_DATA_COLOR: RGB = [90, 130, 200];

/** The no-data (NaN) colour used with a colormap. */
export function noDataColor(name: ColormapName = 'viridis'): RGB {
  return name === 'gray' ? GRAY_NO_DATA_COLOR : NO_DATA_COLOR;
}

// prettier-ignore
const VIRIDIS_33 = [
  68, 1, 84,  71, 13, 96,  72, 24, 106,  72, 35, 116,  71, 45, 123,  69, 54, 129,
  66, 64, 134,  63, 73, 137,  59, 82, 139,  55, 90, 141,  51, 99, 141,  47, 106, 142,
  44, 114, 142,  41, 122, 142,  38, 129, 142,  35, 137, 142,  33, 144, 140,  31, 152, 139,
  31, 159, 136,  33, 166, 133,  40, 174, 128,  49, 181, 123,  62, 188, 116,  76, 194, 108,
  93, 201, 99,  110, 206, 88,  130, 211, 76,  150, 216, 63,  171, 220, 50,  192, 223, 36,
  213, 226, 26,  234, 229, 26,  253, 231, 37,
];
// prettier-ignore
const MAGMA_33 = [
  0, 0, 4,  3, 3, 17,  10, 8, 34,  19, 13, 51,  29, 17, 70,  40, 17, 90,
  54, 16, 106,  67, 15, 118,  80, 18, 124,  93, 23, 127,  105, 28, 129,  118, 33, 129,
  130, 38, 129,  143, 42, 129,  156, 46, 127,  169, 50, 125,  182, 55, 121,  195, 59, 117,
  207, 65, 112,  219, 72, 106,  230, 81, 99,  238, 92, 94,  245, 105, 92,  249, 120, 93,
  251, 135, 97,  253, 150, 104,  254, 165, 113,  254, 180, 123,  254, 195, 135,  254, 209, 148,
  253, 224, 162,  252, 238, 176,  252, 253, 191,
];
// prettier-ignore
const INFERNO_33 = [
  0, 0, 4,  4, 3, 18,  11, 7, 36,  21, 11, 55,  33, 12, 74,  46, 10, 90,
  60, 9, 101,  74, 12, 107,  87, 16, 109,  99, 20, 110,  112, 25, 110,  125, 30, 109,
  137, 34, 106,  150, 39, 102,  163, 43, 97,  175, 49, 92,  187, 55, 85,  198, 62, 77,
  209, 70, 68,  219, 79, 59,  227, 89, 50,  235, 101, 40,  241, 113, 30,  246, 127, 20,
  249, 141, 10,  251, 156, 6,  252, 171, 15,  251, 186, 31,  249, 202, 50,  245, 217, 73,
  242, 232, 101,  243, 245, 134,  252, 255, 164,
];
const GRAY_2 = [0, 0, 0, 255, 255, 255];

/** Expands evenly spaced RGB control points into a 256×3 lookup table by linear interpolation. */
function expand(points: readonly number[]): Uint8Array {
  const n = points.length / 3;
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const p = (i / 255) * (n - 1);
    const k = Math.min(n - 2, Math.floor(p));
    const f = p - k;
    for (let c = 0; c < 3; c++) {
      const a = points[k * 3 + c]!;
      const b = points[(k + 1) * 3 + c]!;
      lut[i * 3 + c] = Math.round(a + (b - a) * f);
    }
  }
  return lut;
}

const LUTS: Record<ColormapName, Uint8Array> = {
  viridis: expand(VIRIDIS_33),
  magma: expand(MAGMA_33),
  inferno: expand(INFERNO_33),
  gray: expand(GRAY_2),
};

export function isColormapName(name: string): name is ColormapName {
  return (COLORMAP_NAMES as readonly string[]).includes(name);
}

/** The 256×3 RGB table of a colormap (shared: do not modify). Unknown names throw. */
export function colormapLut(name: ColormapName = 'viridis'): Uint8Array {
  const lut = LUTS[name];
  if (!lut) throw new RangeError(`unknown colormap "${name}" (known: ${COLORMAP_NAMES.join(', ')})`);
  return lut;
}

/** Colour of a position t in 0..1 along the colormap (clamped). */
export function colormapColor(name: ColormapName, t: number): RGB {
  const lut = colormapLut(name);
  const i = Math.round(Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * 255) * 3;
  return [lut[i]!, lut[i + 1]!, lut[i + 2]!];
}

export interface ColormapOptions {
  min: number;
  max: number;
  name?: ColormapName;
  /** Logarithmic scaling between min and max; values <= 0 map to the bottom colour. */
  log?: boolean;
}

/**
 * The scalar -> [0, 1] normalisation a colormap uses, so the colorbar and the image agree exactly.
 * A degenerate range (max <= min, or non-finite) maps every finite value to 0: a constant map shows the
 * bottom colour rather than an arbitrary one.
 */
export function makeNormalizer({ min, max, log = false }: ColormapOptions): (v: number) => number {
  if (log) {
    const lo = Math.log10(min > 0 ? min : Number.MIN_VALUE);
    const hi = Math.log10(max > 0 ? max : Number.MIN_VALUE);
    const span = hi - lo;
    if (!(span > 0) || !Number.isFinite(span)) return () => 0;
    return (v) => (v > 0 ? Math.min(1, Math.max(0, (Math.log10(v) - lo) / span)) : 0);
  }
  const span = max - min;
  if (!(span > 0) || !Number.isFinite(span)) return () => 0;
  return (v) => Math.min(1, Math.max(0, (v - min) / span));
}

/**
 * Maps values (row-major, width × height) to opaque RGBA pixels. NaN pixels (no data) get
 * noDataColor(name); ±Infinity clamp to the colormap's ends.
 */
export function applyColormap(
  values: ArrayLike<number>,
  width: number,
  height: number,
  opts: ColormapOptions,
): Uint8ClampedArray {
  const n = width * height;
  if (values.length < n) throw new RangeError(`colormap input has ${values.length} values, need ${width}×${height}`);
  const lut = colormapLut(opts.name ?? 'viridis');
  const noData = noDataColor(opts.name);
  const normalize = makeNormalizer(opts);
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const o = i * 4;
    if (Number.isNaN(v)) {
      out[o] = noData[0];
      out[o + 1] = noData[1];
      out[o + 2] = noData[2];
    } else {
      const t = v === Infinity ? 1 : v === -Infinity ? 0 : normalize(v);
      const k = Math.round(t * 255) * 3;
      out[o] = lut[k]!;
      out[o + 1] = lut[k + 1]!;
      out[o + 2] = lut[k + 2]!;
    }
    out[o + 3] = 255;
  }
  return out;
}
