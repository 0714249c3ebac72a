// Line markers for the spectrum plot: the main lines of the chosen elements (from /api/lines.json, built
// from physics/ by the daemon), and their argon escape peaks at E - 2.957 keV for lines above the Ar K edge.

export interface MarkerLine {
  name: string;
  energyKeV: number;
  rel: number;
}

export interface LinesDoc {
  escapeKeV: number;
  escapeThresholdKeV: number;
  elements: Record<string, MarkerLine[]>;
}

export interface Marker {
  element: string;
  label: string;
  energyKeV: number;
  escape: boolean;
}

/** Markers of elements inside [eMin, eMax]; escape peaks only of lines at least half their family's strongest. */
export function buildMarkers(doc: LinesDoc, elements: readonly string[], withEscapes: boolean, eMin: number, eMax: number): Marker[] {
  const out: Marker[] = [];
  for (const el of elements) {
    for (const l of doc.elements[el] ?? []) {
      if (l.energyKeV >= eMin && l.energyKeV <= eMax) out.push({ element: el, label: `${el} ${l.name}`, energyKeV: l.energyKeV, escape: false });
      if (withEscapes && l.rel >= 0.5 && l.energyKeV > doc.escapeThresholdKeV) {
        const e = l.energyKeV - doc.escapeKeV;
        if (e >= eMin && e <= eMax) out.push({ element: el, label: `${el} esc`, energyKeV: Number(e.toFixed(4)), escape: true });
      }
    }
  }
  return out.sort((a, b) => a.energyKeV - b.energyKeV);
}

/** Rows for labels so that none overlaps another in its row (widths in the same unit as x). */
export function labelRows(xs: readonly number[], widths: readonly number[], rows: number): number[] {
  const ends = new Array<number>(rows).fill(-Infinity);
  return xs.map((x, i) => {
    let r = ends.findIndex((end) => x - widths[i]! / 2 > end + 2);
    if (r < 0) r = ends.indexOf(Math.min(...ends));
    ends[r] = x + widths[i]! / 2;
    return r;
  });
}
