// Shape of physics/tables/lines.json, the committed line table (built by physics/scripts/build-line-table.ts).

/** Inner shells the table tracks: vacancies there produce the K, L and M lines. */
export const SHELLS = ['K', 'L1', 'L2', 'L3', 'M1', 'M2', 'M3', 'M4', 'M5'] as const;
export type Shell = (typeof SHELLS)[number];

/** Coster-Kronig transitions kept: F12 = probability that an L1 vacancy moves to L2, etc. */
export const CK_TRANSITIONS = ['F12', 'F13', 'F23', 'FM12', 'FM13', 'FM14', 'FM15', 'FM23', 'FM24', 'FM25', 'FM34', 'FM35', 'FM45'] as const;
export type CkTransition = (typeof CK_TRANSITIONS)[number];

/** One emission line: [IUPAC name, energy keV, radiative rate (share of the initial shell's radiative decays),
 *  relative intensity within its family (strongest = 1) when every subshell of the family is excited]. */
export type TableLine = [iupac: string, energyKeV: number, radRate: number, relIntensity: number];

export interface TableElement {
  z: number;
  symbol: string;
  atomicWeight: number;
  /** Absorption edge energies, keV (only shells present in xraylib's table). */
  edges: Partial<Record<Shell, number>>;
  /** Fluorescence yields. */
  yields: Partial<Record<Shell, number>>;
  /** Edge jump ratios r = tau(above edge) / tau(below edge). */
  jumps: Partial<Record<Shell, number>>;
  ck: Partial<Record<CkTransition, number>>;
  lines: TableLine[];
}

export interface LineTableFile {
  source: string;
  generatedBy: string;
  notes: string[];
  elements: TableElement[];
}

/** The shell a line's initial vacancy sits in ('KL3' -> 'K', 'L3M5' -> 'L3'). */
export function initialShell(iupac: string): Shell {
  const s = iupac[0] === 'K' ? 'K' : iupac.slice(0, 2);
  if (!(SHELLS as readonly string[]).includes(s)) throw new Error(`line ${iupac}: initial shell ${s} not tracked`);
  return s as Shell;
}

/** The shell the line's transition fills from, when it is a tracked shell ('KL3' -> 'L3'); else null. */
export function finalShell(iupac: string): Shell | null {
  const rest = iupac[0] === 'K' ? iupac.slice(1) : iupac.slice(2);
  const s = rest.slice(0, 2);
  return (SHELLS as readonly string[]).includes(s) ? (s as Shell) : null;
}

export function familyOf(iupac: string): 'K' | 'L' | 'M' {
  const f = iupac[0];
  if (f !== 'K' && f !== 'L' && f !== 'M') throw new Error(`line ${iupac}: not a K, L or M line`);
  return f;
}
