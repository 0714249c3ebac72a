// Nuisance conditions of a dataset: how the detector and background vary in real data. 'nominal' stays
// within what a calibrated instrument and the fit baseline model; 'drift' draws conditions they do not
// (large gain drift, worse resolution, unknown background shape, pile-up) to test robustness.
import type { BackgroundParams, DetectorParams } from '../../physics/index.js';
import type { Rng } from '../../physics/random.js';

export type DatasetShift = 'nominal' | 'drift';
export const DATASET_SHIFTS: readonly DatasetShift[] = ['nominal', 'drift'];

type Range = readonly [number, number];

/** The ranges a shift draws from (uniform unless noted); written to meta.json. */
export interface NuisanceRanges {
  gainScale: Range;
  resolution: Range;
  noiseKeV: Range;
  escapeScale: Range;
  cuShare: Range;
  alShare: Range;
  lowCutoffKeV: Range;
  pileupFraction: Range;
  substrates: readonly BackgroundParams['substrate'][];
  tubeAnodes: readonly BackgroundParams['tubeAnode'][];
  /** Drawn uniformly, rounded to whole kV. */
  tubeKV: Range;
  scatterShare: Range;
  shapeJitter: Range;
}

const SUBSTRATES = ['wood', 'canvas', 'chalk', 'none'] as const;
const NOMINAL: NuisanceRanges = {
  gainScale: [0.98, 1.02],
  resolution: [0.15, 0.22],
  noiseKeV: [0, 0.1],
  escapeScale: [0.7, 1.3],
  cuShare: [0, 0.03],
  alShare: [0, 0.01],
  lowCutoffKeV: [0.9, 1.1],
  pileupFraction: [0, 0],
  substrates: SUBSTRATES,
  tubeAnodes: ['W', 'Mo', 'Rh'],
  tubeKV: [30, 50],
  scatterShare: [0.1, 0.5],
  shapeJitter: [0, 0.15],
};
const DRIFT: NuisanceRanges = {
  ...NOMINAL,
  gainScale: [0.94, 1.06],
  resolution: [0.22, 0.3],
  tubeAnodes: ['W', 'Mo', 'Rh', 'Ag', 'Cu'],
  shapeJitter: [0.5, 1.0],
  pileupFraction: [0, 0.05],
};

export function nuisanceRanges(shift: DatasetShift): NuisanceRanges {
  if (shift === 'nominal') return NOMINAL;
  if (shift === 'drift') return DRIFT;
  throw new Error(`unknown dataset shift '${String(shift)}': expected ${DATASET_SHIFTS.join(' or ')}`);
}

export interface Nuisance {
  det: DetectorParams;
  bg: BackgroundParams;
}

export function drawNuisance(rng: Rng, r: NuisanceRanges): Nuisance {
  const u = (range: Range) => range[0] + (range[1] - range[0]) * rng.next();
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const det: DetectorParams = {
    resolution: u(r.resolution),
    noiseKeV: u(r.noiseKeV),
    escapeScale: u(r.escapeScale),
    cuShare: u(r.cuShare),
    alShare: u(r.alShare),
    lowCutoffKeV: u(r.lowCutoffKeV),
    gainScale: u(r.gainScale),
    pileupFraction: u(r.pileupFraction),
  };
  const bg: BackgroundParams = {
    substrate: pick(r.substrates),
    tubeAnode: pick(r.tubeAnodes),
    // Whole kV, as tube supplies are set: a few dozen tube settings, so physics' per-tube excitation cache
    // serves every block after the first few (a continuous kV would recompute it each block).
    tubeKV: Math.round(u(r.tubeKV)),
    scatterShare: u(r.scatterShare),
    shapeJitter: u(r.shapeJitter),
    jitterSeed: rng.uint32(),
  };
  return { det, bg };
}
