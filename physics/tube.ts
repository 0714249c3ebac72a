// The X-ray tube that excites the sample: Kramers bremsstrahlung through a beryllium window, plus the
// anode's characteristic lines when the voltage exceeds their edge. Relative photon numbers only.
import { linesOf, tableElement } from './line-table.js';

export type TubeAnode = 'W' | 'Mo' | 'Rh' | 'Ag' | 'Cu';
export const TUBE_ANODES: readonly TubeAnode[] = ['W', 'Mo', 'Rh', 'Ag', 'Cu'];

export interface TubeParams {
  anode: TubeAnode;
  kV: number;
}

export const DEFAULT_TUBE: TubeParams = Object.freeze({ anode: 'W', kV: 40 });

/** Continuum sampling step, keV. */
export const TUBE_STEP_KEV = 0.05;
/** Be window: transmission exp(-(beKeV/E)^3). */
const BE_WINDOW_KEV = 1.5;

export interface TubeSpectrum {
  energies: Float64Array;
  /** Photons per sample (continuum samples carry TUBE_STEP_KEV worth of spectrum); sums to 1. */
  weights: Float64Array;
  /** Index where the characteristic lines start (continuum before it). */
  firstLine: number;
}

export function validateTube(t: TubeParams): void {
  if (!TUBE_ANODES.includes(t.anode)) throw new Error(`tube anode must be one of ${TUBE_ANODES.join(', ')}, got '${t.anode}'`);
  if (!Number.isFinite(t.kV) || t.kV < 5 || t.kV > 100) throw new Error(`tube voltage must be 5..100 kV, got ${t.kV}`);
}

const cache = new Map<string, TubeSpectrum>();

/** Share of the tube's photons in characteristic lines at overvoltage U = kV / edge (parametric; docs/physics.md). */
function characteristicShare(overvoltage: number): number {
  return overvoltage > 1 ? 0.4 * Math.pow(1 - 1 / overvoltage, 1.5) : 0;
}

export function tubeSpectrum(tube: TubeParams): TubeSpectrum {
  validateTube(tube);
  const key = `${tube.anode}:${tube.kV}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const e0 = tube.kV;
  const cont: number[] = [];
  const contW: number[] = [];
  for (let e = 1 + TUBE_STEP_KEV / 2; e < e0; e += TUBE_STEP_KEV) {
    cont.push(e);
    contW.push(((e0 - e) / e) * Math.exp(-Math.pow(BE_WINDOW_KEV / e, 3)));
  }
  // Characteristic lines of the highest family whose edge the voltage exceeds (K for Mo/Rh/Ag/Cu at
  // ordinary voltages, L for W below 69.5 kV).
  const anode = tableElement(tube.anode);
  let family: 'K' | 'L' | null = null;
  let edge = 0;
  if (anode.edges.K !== undefined && e0 > anode.edges.K) { family = 'K'; edge = anode.edges.K; }
  else if (anode.edges.L3 !== undefined && e0 > anode.edges.L3) { family = 'L'; edge = anode.edges.L3; }
  const lines = family === null ? [] : linesOf(tube.anode).filter((l) => l.family === family && l.relIntensity >= 0.01 && l.energyKeV < e0);
  const share = lines.length ? characteristicShare(e0 / edge) : 0;
  const contSum = contW.reduce((s, v) => s + v, 0);
  const lineSum = lines.reduce((s, l) => s + l.relIntensity, 0);
  const n = cont.length + lines.length;
  const energies = new Float64Array(n);
  const weights = new Float64Array(n);
  cont.forEach((e, i) => { energies[i] = e; weights[i] = ((1 - share) * contW[i]!) / contSum; });
  lines.forEach((l, j) => { energies[cont.length + j] = l.energyKeV; weights[cont.length + j] = (share * l.relIntensity) / lineSum; });
  const spec = { energies, weights, firstLine: cont.length };
  cache.set(key, spec);
  return spec;
}
