// Unit-sum detector responses of one element's fluorescence and of the detector's own Cu/Al fluorescence.
import { ResponseCache } from './cache.js';
import { canonicalSymbol } from './elements.js';
import { detectorKey, validateDetector, type DetectorParams } from './detector.js';
import { excitedLines } from './excitation.js';
import { gridKey, normaliseInPlace, validateGrid, type EnergyGrid } from './grid.js';
import { linesOf } from './line-table.js';
import { applyThreshold, recordPhotons } from './recorded.js';
import { DEFAULT_TUBE, validateTube, type TubeParams } from './tube.js';

const cache = new ResponseCache(4096);

/** Unit-sum response (grid.channels) of one element's fluorescence as the GEM detector records it: all its
 *  lines the tube excites, detection efficiency, argon escape peaks, Gaussian resolution, gain and threshold.
 *  All zeros when none of it lands on the grid above the threshold. Returns a fresh array (safe to modify). */
export function elementResponse(grid: EnergyGrid, symbol: string, det: DetectorParams, tube: TubeParams = DEFAULT_TUBE): Float64Array {
  const sym = canonicalSymbol(symbol);
  const key = `el:${sym}:${gridKey(grid)}:${detectorKey(det)}:${tube.anode}:${tube.kV}`;
  return cache.get(key, () => {
    validateGrid(grid);
    validateDetector(det);
    validateTube(tube);
    const lines = excitedLines(sym, tube);
    const out = new Float64Array(grid.channels);
    recordPhotons(out, grid, lines.map((l) => l.energyKeV), lines.map((l) => l.weight), det, { throughWindow: true });
    applyThreshold(out, grid, det);
    return normaliseInPlace(out);
  });
}

/** Unit-sum response of the K lines of a detector material (photons born inside the detector: gas only). */
function materialResponse(grid: EnergyGrid, symbol: 'Cu' | 'Al', det: DetectorParams): Float64Array {
  return cache.get(`det:${symbol}:${gridKey(grid)}:${detectorKey(det)}`, () => {
    const lines = linesOf(symbol).filter((l) => l.family === 'K');
    const out = new Float64Array(grid.channels);
    recordPhotons(out, grid, lines.map((l) => l.energyKeV), lines.map((l) => l.relIntensity), det, { throughWindow: false });
    applyThreshold(out, grid, det);
    return normaliseInPlace(out);
  });
}

/** Unit-sum response of the detector's own fluorescence: Cu K (GEM foils, 8.05 keV) and Al K (1.49 keV),
 *  mixed in the ratio cuShare : alShare (Cu only when both are zero). */
export function detectorLinesResponse(grid: EnergyGrid, det: DetectorParams): Float64Array {
  validateGrid(grid);
  validateDetector(det);
  const cu = materialResponse(grid, 'Cu', det);
  const total = det.cuShare + det.alShare;
  if (total === 0 || det.alShare === 0) return cu;
  const al = materialResponse(grid, 'Al', det);
  const a = det.cuShare / total;
  for (let i = 0; i < cu.length; i++) cu[i] = a * cu[i]! + (1 - a) * al[i]!;
  return normaliseInPlace(cu);
}

export function clearResponseCache(): void {
  cache.clear();
}
