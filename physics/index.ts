// physics/ public API (first, simplified version: Moseley-law K/L lines, plain Gaussians).
// The full line table and detector response replace these bodies; the signatures stay.

export const PIGMENT_ELEMENTS: readonly string[] = [
  'S', 'Cl', 'K', 'Ca', 'Ti', 'V', 'Cr', 'Mn', 'Fe', 'Co', 'Ni', 'Cu', 'Zn', 'As', 'Se', 'Sr', 'Ag', 'Cd', 'Sn', 'Sb', 'Ba', 'Au', 'Hg', 'Pb',
];

const SYMBOLS = [
  '', 'H', 'He', 'Li', 'Be', 'B', 'C', 'N', 'O', 'F', 'Ne', 'Na', 'Mg', 'Al', 'Si', 'P', 'S', 'Cl', 'Ar', 'K', 'Ca', 'Sc', 'Ti', 'V', 'Cr', 'Mn',
  'Fe', 'Co', 'Ni', 'Cu', 'Zn', 'Ga', 'Ge', 'As', 'Se', 'Br', 'Kr', 'Rb', 'Sr', 'Y', 'Zr', 'Nb', 'Mo', 'Tc', 'Ru', 'Rh', 'Pd', 'Ag', 'Cd',
  'In', 'Sn', 'Sb', 'Te', 'I', 'Xe', 'Cs', 'Ba', 'La', 'Ce', 'Pr', 'Nd', 'Pm', 'Sm', 'Eu', 'Gd', 'Tb', 'Dy', 'Ho', 'Er', 'Tm', 'Yb', 'Lu',
  'Hf', 'Ta', 'W', 'Re', 'Os', 'Ir', 'Pt', 'Au', 'Hg', 'Tl', 'Pb', 'Bi', 'Po', 'At', 'Rn', 'Fr', 'Ra', 'Ac', 'Th', 'Pa', 'U',
];

export function elementZ(symbol: string): number {
  const s = symbol.trim().toLowerCase();
  const z = SYMBOLS.findIndex((x) => x.toLowerCase() === s);
  if (z < 1) throw new Error(`unknown element '${symbol}'`);
  return z;
}

export function elementSymbol(z: number): string {
  if (!Number.isInteger(z) || z < 1 || z >= SYMBOLS.length) throw new Error(`unknown element Z=${z}`);
  return SYMBOLS[z]!;
}

export interface XrfLine { iupac: string; siegbahn: string; family: 'K' | 'L' | 'M'; energyKeV: number; relIntensity: number }

export function linesOf(symbolOrZ: string | number): XrfLine[] {
  const z = typeof symbolOrZ === 'number' ? symbolOrZ : elementZ(symbolOrZ);
  elementSymbol(z);
  const ka = 0.010204 * (z - 1) ** 2;
  const la = 0.00188 * (z - 7.4) ** 2;
  return [
    { iupac: 'KL3', siegbahn: 'Ka1', family: 'K', energyKeV: ka, relIntensity: 1 },
    { iupac: 'KM3', siegbahn: 'Kb1', family: 'K', energyKeV: ka * 1.1, relIntensity: 0.15 },
    { iupac: 'L3M5', siegbahn: 'La1', family: 'L', energyKeV: la, relIntensity: 1 },
  ];
}

export interface EnergyGrid { channels: number; eMinKeV: number; eMaxKeV: number }
export function binWidth(grid: EnergyGrid): number { return (grid.eMaxKeV - grid.eMinKeV) / grid.channels; }
export function binCenters(grid: EnergyGrid): Float64Array {
  const w = binWidth(grid);
  const c = new Float64Array(grid.channels);
  for (let i = 0; i < c.length; i++) c[i] = grid.eMinKeV + (i + 0.5) * w;
  return c;
}

export interface DetectorParams {
  resolution: number; noiseKeV: number; escapeScale: number; cuShare: number; alShare: number;
  lowCutoffKeV: number; gainScale: number; pileupFraction: number;
}
export const DEFAULT_DETECTOR: DetectorParams = {
  resolution: 0.18, noiseKeV: 0, escapeScale: 1, cuShare: 0.01, alShare: 0.005, lowCutoffKeV: 1, gainScale: 1, pileupFraction: 0,
};

export interface BackgroundParams {
  substrate: 'wood' | 'canvas' | 'chalk' | 'none';
  tubeAnode: 'W' | 'Mo' | 'Rh' | 'Ag' | 'Cu'; tubeKV: number;
  scatterShare: number; shapeJitter: number;
}
export const DEFAULT_BACKGROUND: BackgroundParams = { substrate: 'wood', tubeAnode: 'W', tubeKV: 40, scatterShare: 0.3, shapeJitter: 0 };

export function fwhmKeV(energyKeV: number, det: DetectorParams): number {
  const stat = det.resolution * 5.9 * Math.sqrt(Math.max(energyKeV, 0) / 5.9);
  return Math.sqrt(stat * stat + det.noiseKeV * det.noiseKeV);
}

function addGaussian(out: Float64Array, grid: EnergyGrid, e: number, weight: number, det: DetectorParams): void {
  const c = binCenters(grid);
  const s = fwhmKeV(e, det) / 2.3548;
  for (let i = 0; i < c.length; i++) out[i]! += weight * Math.exp(-0.5 * ((c[i]! - e * det.gainScale) / s) ** 2);
}

function normalise(a: Float64Array): Float64Array {
  let s = 0;
  for (const v of a) s += v;
  if (s > 0) for (let i = 0; i < a.length; i++) a[i]! /= s;
  else a.fill(1 / a.length);
  return a;
}

export function elementResponse(grid: EnergyGrid, symbol: string, det: DetectorParams): Float64Array {
  const out = new Float64Array(grid.channels);
  for (const l of linesOf(symbol)) addGaussian(out, grid, l.energyKeV, l.relIntensity, det);
  return normalise(out);
}

export function backgroundResponse(grid: EnergyGrid, _bg: BackgroundParams, _det: DetectorParams): Float64Array {
  const c = binCenters(grid);
  const out = new Float64Array(grid.channels);
  for (let i = 0; i < c.length; i++) out[i] = Math.exp(-c[i]! / 8);
  return normalise(out);
}

export function detectorLinesResponse(grid: EnergyGrid, det: DetectorParams): Float64Array {
  const out = new Float64Array(grid.channels);
  addGaussian(out, grid, 8.048, det.cuShare || 1, det);
  addGaussian(out, grid, 1.487, det.alShare || 1, det);
  return normalise(out);
}

export interface Mixture { elements: Record<string, number>; background: number }

export function synthesize(grid: EnergyGrid, mix: Mixture, det: DetectorParams, bg: BackgroundParams): { expected: Float64Array; fractions: Record<string, number> } {
  const detShare = det.cuShare + det.alShare;
  let total = mix.background;
  for (const v of Object.values(mix.elements)) total += v;
  const scale = total > 0 ? (1 - detShare) / total : 0;
  const expected = new Float64Array(grid.channels);
  const fractions: Record<string, number> = {};
  const add = (r: Float64Array, w: number) => { for (let i = 0; i < r.length; i++) expected[i]! += w * r[i]!; };
  for (const [el, v] of Object.entries(mix.elements)) {
    fractions[el] = v * scale;
    add(elementResponse(grid, el, det), v * scale);
  }
  add(backgroundResponse(grid, bg, det), mix.background * scale);
  add(detectorLinesResponse(grid, det), detShare);
  return { expected: normalise(expected), fractions };
}

export { createRng, type Rng } from './random.js';
