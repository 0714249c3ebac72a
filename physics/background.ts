// The sample's background: a smooth continuum from the support/ground (wood, canvas, chalk/gesso) and the
// tube's radiation scattered by the sample (Rayleigh at the tube energy, Compton shifted), both as recorded.
import { ResponseCache } from './cache.js';
import { detectorKey, validateDetector, type DetectorParams } from './detector.js';
import { gridKey, normaliseInPlace, validateGrid, type EnergyGrid } from './grid.js';
import { createRng } from './random.js';
import { applyThreshold, coarsenSpectrum, recordPhotons } from './recorded.js';
import { tubeSpectrum, TUBE_STEP_KEV, validateTube, type TubeAnode } from './tube.js';

export type Substrate = 'wood' | 'canvas' | 'chalk' | 'none';
export const SUBSTRATES: readonly Substrate[] = ['wood', 'canvas', 'chalk', 'none'];

export interface BackgroundParams {
  /** Smooth continuum shape of the support/ground. */
  substrate: Substrate;
  tubeAnode: TubeAnode;
  tubeKV: number;
  /** Share of background counts that is scattered tube radiation (the rest: substrate continuum). */
  scatterShare: number;
  /** 0 nominal; > 0 multiplies the substrate continuum by exp(shapeJitter * g(E)), g a smooth random curve of
   *  unit scale drawn from createRng(jitterSeed). Same (shapeJitter, jitterSeed) -> same shape. */
  shapeJitter: number;
  /** Seed of the jitter curve (default 0). */
  jitterSeed?: number;
}

export const DEFAULT_BACKGROUND: BackgroundParams = Object.freeze({
  substrate: 'wood', tubeAnode: 'W', tubeKV: 40, scatterShare: 0.3, shapeJitter: 0, jitterSeed: 0,
});

/** Continuum hump (E/peak)^a * exp(a (1 - E/peak)) per substrate, in incident energy, before detection.
 *  Organic supports scatter and give a broad low hump; a chalk/gesso ground (Ca) absorbs the low end. */
const SUBSTRATE_SHAPE: Record<Exclude<Substrate, 'none'>, { peakKeV: number; a: number }> = {
  wood: { peakKeV: 6, a: 2 },
  canvas: { peakKeV: 5, a: 1.6 },
  chalk: { peakKeV: 8, a: 3 },
};

/** Scattering angle for the Compton shift (pinhole camera looking at the sample at ~90 degrees to the beam). */
const SCATTER_ANGLE_RAD = Math.PI / 2;
/** Compton share of the scattered photons: incoherent dominates in a light matrix, more so at high energy. */
function comptonShare(e: number): number {
  return 1 - 0.5 / (1 + e / 10);
}
/** Thick light matrix: scattered yield ~ sigma_s / (sigma_s + tau), tau ~ E^-3 (crossover ~ 12 keV). */
function scatterYield(e: number): number {
  return 1 / (1 + Math.pow(12 / e, 3));
}

const cache = new ResponseCache(1024);
/** The jitter curve varies over 0..20 keV, where a GEM records nearly all of the continuum. */
const JITTER_SPAN_KEV = 20;

export function validateBackground(bg: BackgroundParams): void {
  if (!SUBSTRATES.includes(bg.substrate)) throw new Error(`background.substrate must be one of ${SUBSTRATES.join(', ')}, got '${bg.substrate}'`);
  validateTube({ anode: bg.tubeAnode, kV: bg.tubeKV });
  if (!(bg.scatterShare >= 0 && bg.scatterShare <= 1)) throw new Error(`background.scatterShare must be in [0, 1], got ${bg.scatterShare}`);
  if (!(bg.shapeJitter >= 0 && Number.isFinite(bg.shapeJitter))) throw new Error(`background.shapeJitter must be >= 0, got ${bg.shapeJitter}`);
}

/** Incident photon spectrum of the substrate continuum, sampled every TUBE_STEP_KEV up to the tube voltage. */
function substrateContinuum(bg: BackgroundParams): { energies: Float64Array; weights: Float64Array } {
  const energies: number[] = [];
  const weights: number[] = [];
  if (bg.substrate === 'none') return { energies: new Float64Array(0), weights: new Float64Array(0) };
  const { peakKeV, a } = SUBSTRATE_SHAPE[bg.substrate];
  // Jitter curve: tilt + curvature + one slow wave, coefficients N(0,1)/sqrt(3) from the seed.
  let c1 = 0, c2 = 0, c3 = 0, phase = 0;
  if (bg.shapeJitter > 0) {
    const rng = createRng(bg.jitterSeed ?? 0);
    c1 = rng.normal() / Math.sqrt(3);
    c2 = rng.normal() / Math.sqrt(3);
    c3 = rng.normal() / Math.sqrt(3);
    phase = 2 * Math.PI * rng.next();
  }
  for (let e = 0.5 + TUBE_STEP_KEV / 2; e < bg.tubeKV; e += TUBE_STEP_KEV) {
    const x = e / bg.tubeKV;
    const xj = Math.min(1, e / JITTER_SPAN_KEV);
    let w = Math.pow(e / peakKeV, a) * Math.exp(a * (1 - e / peakKeV)) * (1 - x);
    if (bg.shapeJitter > 0) w *= Math.exp(bg.shapeJitter * (c1 * (2 * xj - 1) + c2 * (6 * xj * xj - 6 * xj + 1) + c3 * Math.sin(2 * Math.PI * xj + phase)));
    energies.push(e);
    weights.push(w);
  }
  return { energies: Float64Array.from(energies), weights: Float64Array.from(weights) };
}

/** Tube photons scattered by the sample toward the detector (Rayleigh + Compton-shifted copies). */
function scatteredTube(bg: BackgroundParams): { energies: Float64Array; weights: Float64Array } {
  const spec = tubeSpectrum({ anode: bg.tubeAnode, kV: bg.tubeKV });
  const n = spec.energies.length;
  const energies = new Float64Array(2 * n);
  const weights = new Float64Array(2 * n);
  const oneMinusCos = 1 - Math.cos(SCATTER_ANGLE_RAD);
  for (let i = 0; i < n; i++) {
    const e = spec.energies[i]!;
    const w = spec.weights[i]! * scatterYield(e);
    const c = comptonShare(e);
    energies[2 * i] = e;
    weights[2 * i] = w * (1 - c);
    energies[2 * i + 1] = e / (1 + (e / 511) * oneMinusCos);
    weights[2 * i + 1] = w * c;
  }
  return { energies, weights };
}

function recordedUnit(grid: EnergyGrid, det: DetectorParams, src: { energies: Float64Array; weights: Float64Array }): Float64Array {
  const out = new Float64Array(grid.channels);
  const coarse = coarsenSpectrum(src.energies, src.weights, det);
  recordPhotons(out, grid, coarse.energies, coarse.weights, det, { throughWindow: true });
  applyThreshold(out, grid, det);
  return normaliseInPlace(out);
}

/** Unit-sum recorded background: (1 - scatterShare) substrate continuum + scatterShare scattered tube radiation
 *  (each part unit-sum first, so the shares are count shares; with substrate 'none' it is all scatter). */
export function backgroundResponse(grid: EnergyGrid, bg: BackgroundParams, det: DetectorParams): Float64Array {
  const key = `bg:${bg.substrate}:${bg.tubeAnode}:${bg.tubeKV}:${bg.scatterShare}:${bg.shapeJitter}:${bg.jitterSeed ?? 0}:${gridKey(grid)}:${detectorKey(det)}`;
  return cache.get(key, () => {
    validateGrid(grid);
    validateDetector(det);
    validateBackground(bg);
    const scatter = cache.get(`sc:${bg.tubeAnode}:${bg.tubeKV}:${gridKey(grid)}:${detectorKey(det)}`, () => recordedUnit(grid, det, scatteredTube(bg)));
    if (bg.substrate === 'none' || bg.scatterShare === 1) return scatter;
    const sub = recordedUnit(grid, det, substrateContinuum(bg));
    const s = bg.scatterShare;
    for (let i = 0; i < sub.length; i++) sub[i] = (1 - s) * sub[i]! + s * scatter[i]!;
    return normaliseInPlace(sub);
  });
}
