// /api/lines.json: the main fluorescence lines per element for the page's spectrum markers, from the same
// line table the simulator and the fits use (physics/). Computed once per daemon: it never changes.
import { linesOf, PIGMENT_ELEMENTS } from '../../physics/index.js';

/** Argon escape: a photon above the Ar K edge can leave an Ar Ka photon behind (ARCHITECTURE.md, physics). */
export const ESCAPE_KEV = 2.957;
export const ESCAPE_THRESHOLD_KEV = 3.206;

export interface MarkerLine {
  name: string;
  energyKeV: number;
  /** Relative intensity within its family (strongest = 1). */
  rel: number;
}

export interface LinesDocument {
  escapeKeV: number;
  escapeThresholdKeV: number;
  elements: Record<string, MarkerLine[]>;
}

/** Lines weaker than minRel of their family, below minKeV (an argon GEM sees little under ~1 keV) or
 *  above maxKeV are left out; lines closer than mergeKeV (Ka1/Ka2) become one marker named after the stronger. */
export function markerLines(symbol: string, opts: { minKeV?: number; maxKeV?: number; minRel?: number; mergeKeV?: number } = {}): MarkerLine[] {
  const { minKeV = 1, maxKeV = 100, minRel = 0.1, mergeKeV = 0.05 } = opts;
  const picked = linesOf(symbol)
    .filter((l) => l.relIntensity >= minRel && l.energyKeV >= minKeV && l.energyKeV <= maxKeV)
    .sort((a, b) => b.relIntensity - a.relIntensity);
  const out: MarkerLine[] = [];
  for (const l of picked) {
    if (out.some((m) => Math.abs(m.energyKeV - l.energyKeV) < mergeKeV)) continue;
    out.push({ name: l.siegbahn, energyKeV: Number(l.energyKeV.toFixed(4)), rel: Number(l.relIntensity.toFixed(3)) });
  }
  return out.sort((a, b) => a.energyKeV - b.energyKeV);
}

/** The pigment palette plus the configured map elements, each with its marker lines up to maxKeV. */
export function linesDocument(extraElements: readonly string[], maxKeV: number): LinesDocument {
  const symbols = [...new Set([...PIGMENT_ELEMENTS, ...extraElements])];
  const elements: Record<string, MarkerLine[]> = {};
  for (const s of symbols) {
    const lines = markerLines(s, { maxKeV });
    if (lines.length) elements[s] = lines;
  }
  return { escapeKeV: ESCAPE_KEV, escapeThresholdKeV: ESCAPE_THRESHOLD_KEV, elements };
}
