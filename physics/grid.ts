// Energy grids: a histogram's channels over [eMinKeV, eMaxKeV) (same shape as the config's `histogram`).

export interface EnergyGrid {
  channels: number;
  eMinKeV: number;
  eMaxKeV: number;
}

/** The histogram default: 256 channels over 0..20.48 keV (80 eV per channel). */
export const DEFAULT_GRID: EnergyGrid = Object.freeze({ channels: 256, eMinKeV: 0, eMaxKeV: 20.48 });

export function validateGrid(grid: EnergyGrid): void {
  if (!Number.isInteger(grid.channels) || grid.channels < 1) throw new Error(`energy grid: channels must be a positive integer, got ${grid.channels}`);
  if (!Number.isFinite(grid.eMinKeV) || !Number.isFinite(grid.eMaxKeV) || !(grid.eMaxKeV > grid.eMinKeV)) {
    throw new Error(`energy grid: need finite eMinKeV < eMaxKeV, got ${grid.eMinKeV}..${grid.eMaxKeV}`);
  }
}

/** Width of one channel, keV. Bin i covers [eMin + i*w, eMin + (i+1)*w). */
export function binWidth(grid: EnergyGrid): number {
  return (grid.eMaxKeV - grid.eMinKeV) / grid.channels;
}

export function binCenters(grid: EnergyGrid): Float64Array {
  const w = binWidth(grid);
  const c = new Float64Array(grid.channels);
  for (let i = 0; i < c.length; i++) c[i] = grid.eMinKeV + (i + 0.5) * w;
  return c;
}

export function gridKey(grid: EnergyGrid): string {
  return `${grid.channels}:${grid.eMinKeV}:${grid.eMaxKeV}`;
}

/** Scales an array in place to unit sum (left all zero when its sum is zero). Returns it. */
export function normaliseInPlace(a: Float64Array): Float64Array {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  if (s > 0) {
    const k = 1 / s;
    for (let i = 0; i < a.length; i++) a[i]! *= k;
  }
  return a;
}
