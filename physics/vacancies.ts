// Inner-shell vacancy bookkeeping: how photoabsorption splits between shells (edge jump ratios), how
// vacancies move before they decay (Coster-Kronig and radiative cascades), and the photons that result.
import { SHELLS, finalShell, initialShell, type Shell, type TableElement } from './table-types.js';

export type ShellVector = Float64Array; // indexed like SHELLS

const SHELL_INDEX: Record<Shell, number> = Object.fromEntries(SHELLS.map((s, i) => [s, i])) as Record<Shell, number>;

export function shellIndex(s: Shell): number {
  return SHELL_INDEX[s];
}

/** Photoabsorption of a photon of energy E by this element, split by shell, with the jump-ratio model:
 *  every edge below E takes the share (r - 1) / r of what the edges above it left. Also returns the
 *  cross-section relative to a power law E^-2.75 drawn above all edges (each edge above E divides by its r). */
export function photoabsorptionShares(el: TableElement, energyKeV: number, out: ShellVector): number {
  out.fill(0);
  let remaining = 1;
  let tauFactor = 1;
  for (let i = 0; i < SHELLS.length; i++) {
    const s = SHELLS[i]!;
    const edge = el.edges[s];
    const r = el.jumps[s] ?? 1;
    if (edge === undefined || r <= 1) continue;
    if (edge <= energyKeV) {
      const share = (remaining * (r - 1)) / r;
      out[i] = share;
      remaining -= share;
    } else {
      tauFactor /= r;
    }
  }
  return tauFactor * Math.pow(energyKeV, -2.75);
}

/** Moves vacancies down the shells before they decay: Coster-Kronig transitions within L and M, and the
 *  radiative transitions that leave a vacancy in a lower tracked shell (KL3 leaves one in L3, L3M5 in M5).
 *  Shells are processed from K outwards, so cascades accumulate. Non-radiative (Auger) transfers between
 *  different shells are not modelled (see docs/physics.md). Modifies `vac` in place. */
export function cascade(el: TableElement, vac: ShellVector): void {
  const ck = el.ck;
  const move = (from: Shell, to: Shell, p: number | undefined): void => {
    if (!p) return;
    const n = vac[SHELL_INDEX[from]]! * p;
    vac[SHELL_INDEX[to]]! += n;
    vac[SHELL_INDEX[from]]! -= n;
  };
  for (let i = 0; i < SHELLS.length; i++) {
    const s = SHELLS[i]!;
    // Coster-Kronig out of this subshell happens before its decay.
    if (s === 'L1') { move('L1', 'L2', ck.F12); move('L1', 'L3', ck.F13); }
    if (s === 'L2') move('L2', 'L3', ck.F23);
    if (s === 'M1') { move('M1', 'M2', ck.FM12); move('M1', 'M3', ck.FM13); move('M1', 'M4', ck.FM14); move('M1', 'M5', ck.FM15); }
    if (s === 'M2') { move('M2', 'M3', ck.FM23); move('M2', 'M4', ck.FM24); move('M2', 'M5', ck.FM25); }
    if (s === 'M3') { move('M3', 'M4', ck.FM34); move('M3', 'M5', ck.FM35); }
    if (s === 'M4') move('M4', 'M5', ck.FM45);
    const n = vac[i]!;
    if (n === 0) continue;
    const w = el.yields[s] ?? 0;
    for (const [iupac, , rate] of el.lines) {
      if (initialShell(iupac) !== s) continue;
      const f = finalShell(iupac);
      if (f !== null && SHELL_INDEX[f] > i) vac[SHELL_INDEX[f]]! += n * w * rate;
    }
  }
}

/** Photons per line for the given vacancies (after cascade): vacancies x fluorescence yield x radiative rate. */
export function lineEmission(el: TableElement, vac: ShellVector): Float64Array {
  const out = new Float64Array(el.lines.length);
  el.lines.forEach(([iupac, , rate], k) => {
    const s = initialShell(iupac);
    out[k] = vac[SHELL_INDEX[s]]! * (el.yields[s] ?? 0) * rate;
  });
  return out;
}

/** Vacancies created when a photon above every edge of one family is absorbed, counting only that family's
 *  subshells (the within-family split used for XrfLine.relIntensity). */
export function familyPrimaryVacancies(el: TableElement, family: 'K' | 'L' | 'M'): ShellVector {
  const vac = new Float64Array(SHELLS.length);
  let remaining = 1;
  for (let i = 0; i < SHELLS.length; i++) {
    const s = SHELLS[i]!;
    if (s[0] !== family) continue;
    const r = el.jumps[s] ?? 1;
    if (el.edges[s] === undefined || r <= 1) continue;
    vac[i] = (remaining * (r - 1)) / r;
    remaining -= vac[i]!;
  }
  return vac;
}
