// Which lines of an element the GEM "sees" on a given energy grid: the family to use (K for light
// elements, L for heavy ones whose K lines lie above the grid, M last) and, within it, the groups of
// lines that the detector cannot separate (Ka1+Ka2, La1+La2, Lb1+Lb2...) strong enough to count.
import { fwhmKeV, linesOf, type DetectorParams, type EnergyGrid, type XrfLine } from '../../physics/index.js';

export interface LineGroup {
  /** Siegbahn names of the lines in the group, strongest first. */
  names: string[];
  family: 'K' | 'L' | 'M';
  /** Lowest and highest line energy in the group (keV). */
  eLowKeV: number;
  eHighKeV: number;
  /** Intensity-weighted mean energy (keV). */
  centroidKeV: number;
  /** Summed relative intensity of the group's lines. */
  intensity: number;
}

export interface MainLineOptions {
  /** Keep groups at least this share of the strongest group (default 0.35: La and Lb for Pb, Ka only for Cu). */
  minRelative?: number;
  /** Use this family instead of choosing one (e.g. Pb L lines on a grid that also holds Pb K). */
  family?: 'K' | 'L' | 'M';
}

/** The strongest visible line groups of one element, strongest first; empty if no line is on the grid. */
export function mainLineGroups(symbol: string, grid: EnergyGrid, det: DetectorParams, opts: MainLineOptions = {}): LineGroup[] {
  const minRelative = opts.minRelative ?? 0.35;
  const lo = Math.max(grid.eMinKeV, det.lowCutoffKeV);
  const all = linesOf(symbol);
  for (const family of opts.family ? [opts.family] : (['K', 'L', 'M'] as const)) {
    // A family counts only if its strongest line is on the grid: a K family whose Ka is above eMax
    // but whose weak lines are not would be a poor choice next to the element's L lines.
    const fam = all.filter((l) => l.family === family && l.relIntensity > 0);
    if (fam.length === 0) continue;
    const strongest = fam.reduce((a, b) => (b.relIntensity > a.relIntensity ? b : a));
    if (strongest.energyKeV < lo || strongest.energyKeV > grid.eMaxKeV) continue;
    const visible = fam.filter((l) => l.energyKeV >= lo && l.energyKeV <= grid.eMaxKeV);
    const groups = groupLines(visible, det, family);
    const top = Math.max(...groups.map((g) => g.intensity));
    return groups.filter((g) => g.intensity >= minRelative * top).sort((a, b) => b.intensity - a.intensity);
  }
  return [];
}

/** Lines within a quarter FWHM of a stronger line join that line's group (Ka1+Ka2, La1+La2, Lb1+Lb2):
 *  the GEM records them as one peak. Grouping is seeded by the strongest lines, not chained, so a run of
 *  weak lines cannot bridge La and Lb into one wide group; lines under 5% of the family's strongest are
 *  ignored (they move no window). */
function groupLines(lines: XrfLine[], det: DetectorParams, family: 'K' | 'L' | 'M'): LineGroup[] {
  const byIntensity = [...lines].sort((a, b) => b.relIntensity - a.relIntensity);
  const floor = 0.05 * (byIntensity[0]?.relIntensity ?? 0);
  const groups: XrfLine[][] = [];
  for (const l of byIntensity) {
    if (l.relIntensity < floor) break;
    const g = groups.find((grp) => Math.abs(grp[0]!.energyKeV - l.energyKeV) < 0.25 * fwhmKeV(grp[0]!.energyKeV, det));
    if (g) g.push(l);
    else groups.push([l]);
  }
  return groups.map((g) => {
    let intensity = 0;
    let moment = 0;
    let eLowKeV = Infinity;
    let eHighKeV = -Infinity;
    for (const l of g) {
      intensity += l.relIntensity;
      moment += l.relIntensity * l.energyKeV;
      eLowKeV = Math.min(eLowKeV, l.energyKeV);
      eHighKeV = Math.max(eHighKeV, l.energyKeV);
    }
    return { names: g.map((l) => l.siegbahn), family, eLowKeV, eHighKeV, centroidKeV: moment / intensity, intensity };
  });
}
