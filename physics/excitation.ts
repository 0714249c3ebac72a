// Which of an element's lines a tube excites, and how strongly. Thick-sample primary fluorescence (Sherman):
// a tube photon of energy E is absorbed by the analyte with probability ~ tau_a(E) / (mu_m(E) + mu_m(Ef)),
// where mu_m is a generic paint matrix; tau_a is split between shells by the jump ratios, vacancies cascade
// (Coster-Kronig, radiative), and each line's photons are vacancies x yield x radiative rate. See docs/physics.md.
import { elementSymbol } from './elements.js';
import { siegbahnName, tableElement } from './line-table.js';
import { familyOf, SHELLS } from './table-types.js';
import { tubeSpectrum, type TubeParams } from './tube.js';
import { cascade, lineEmission, photoabsorptionShares } from './vacancies.js';

/** Generic paint matrix (binder + mixed pigments/fillers), mass attenuation cm^2/g:
 *  mu_m(E) = MATRIX_MU10 * (E/10)^-2.8 + MATRIX_SCATTER. Equal incidence and take-off angles. */
export const MATRIX_MU10 = 15;
const MATRIX_SCATTER = 0.2;
export function matrixMu(energyKeV: number): number {
  return MATRIX_MU10 * Math.pow(energyKeV / 10, -2.8) + MATRIX_SCATTER;
}

export interface ExcitedLine {
  iupac: string;
  siegbahn: string;
  family: 'K' | 'L' | 'M';
  energyKeV: number;
  /** Share of the element's emitted fluorescence photons (all lines sum to 1), before detection. */
  weight: number;
}

/** Lines weaker than this share of the strongest are dropped (negligible for any count rate we simulate). */
const MIN_LINE_WEIGHT = 1e-4;

const cache = new Map<string, ExcitedLine[]>();

/** The element's fluorescence lines as this tube excites them, strongest first. */
export function excitedLines(symbolOrZ: string | number, tube: TubeParams): ExcitedLine[] {
  const el = tableElement(symbolOrZ);
  const key = `${el.z}:${tube.anode}:${tube.kV}`;
  let lines = cache.get(key);
  if (lines === undefined) {
    const spec = tubeSpectrum(tube);
    // Emission per line for one vacancy in each shell (the cascade is linear).
    const perShell = SHELLS.map((_, s) => {
      const v = new Float64Array(SHELLS.length);
      v[s] = 1;
      cascade(el, v);
      return lineEmission(el, v);
    });
    const lineMu = el.lines.map(([, e]) => matrixMu(e));
    const em = new Float64Array(el.lines.length);
    const shares = new Float64Array(SHELLS.length);
    for (let i = 0; i < spec.energies.length; i++) {
      const e = spec.energies[i]!;
      const tau = photoabsorptionShares(el, e, shares);
      const w = spec.weights[i]! * tau;
      const muE = matrixMu(e);
      for (let s = 0; s < SHELLS.length; s++) {
        const ws = w * shares[s]!;
        if (ws === 0) continue;
        const row = perShell[s]!;
        for (let k = 0; k < em.length; k++) if (row[k]! > 0) em[k]! += (ws * row[k]!) / (muE + lineMu[k]!);
      }
    }
    let total = 0;
    let max = 0;
    for (const v of em) { total += v; max = Math.max(max, v); }
    lines = [];
    if (total > 0) {
      el.lines.forEach(([iupac, energyKeV], k) => {
        if (em[k]! >= MIN_LINE_WEIGHT * max) lines!.push({ iupac, siegbahn: siegbahnName(iupac), family: familyOf(iupac), energyKeV, weight: em[k]! / total });
      });
      lines.sort((a, b) => b.weight - a.weight);
    }
    if (lines.length === 0) throw new Error(`${elementSymbol(el.z)}: a ${tube.anode} tube at ${tube.kV} kV excites none of its lines`);
    cache.set(key, lines);
  }
  return lines.map((l) => ({ ...l }));
}

/** Share of the element's fluorescence photons in each family for this tube. */
export function familyShares(symbolOrZ: string | number, tube: TubeParams): Record<'K' | 'L' | 'M', number> {
  const out = { K: 0, L: 0, M: 0 };
  for (const l of excitedLines(symbolOrZ, tube)) out[l.family] += l.weight;
  return out;
}
