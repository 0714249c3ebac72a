// The GEM detector (Ar/CO2 70/30, drift gap of a few mm, thin entrance window): resolution, detection
// efficiency, argon escape, and the recorded-energy mapping. Parameter choices are documented in docs/physics.md.
import { tableElement } from './line-table.js';

export interface DetectorParams {
  /** FWHM fraction at 5.9 keV (0.18): FWHM(E) = r*5.9*sqrt(E/5.9) keV, combined in quadrature with noiseKeV. */
  resolution: number;
  /** Constant electronic noise FWHM, keV. */
  noiseKeV: number;
  /** Multiplies the default (energy-dependent) argon escape probability. */
  escapeScale: number;
  /** Detector's own Cu K fluorescence (GEM foil electrodes), share of total counts. */
  cuShare: number;
  /** Detector's own Al K fluorescence (frame, window support), share of total counts. */
  alShare: number;
  /** Discriminator threshold on the recorded energy, keV: nothing below it is recorded. */
  lowCutoffKeV: number;
  /** Recorded energy = gainScale * true energy (1 = calibrated; != 1 = gain drift). */
  gainScale: number;
  /** Fraction of recorded counts that are pile-up sums of two photons. */
  pileupFraction: number;
}

export const DEFAULT_DETECTOR: DetectorParams = Object.freeze({
  resolution: 0.18,
  noiseKeV: 0,
  escapeScale: 1,
  cuShare: 0.01,
  alShare: 0.003,
  lowCutoffKeV: 1.0,
  gainScale: 1,
  pileupFraction: 0,
});

/** Argon fluorescence energies (keV) and the escape-peak Kb/Ka split. */
export const ARGON = Object.freeze({ kEdgeKeV: 3.2060, kaKeV: 2.957, kbKeV: 3.190, kbOverKa: 0.10 });

/** The fixed gas/window model (see docs/physics.md). Mass attenuation in cm^2/g, densities g/cm^3, lengths cm. */
export const GAS_MODEL = Object.freeze({
  driftGapCm: 0.5,
  argonDensity: 0.7 * 1.662e-3, // 70 % Ar by volume, 1 atm, 20 C
  co2Density: 0.3 * 1.842e-3,
  /** Ar photoabsorption above its K edge: muAr(E) = muAr10 * (E/10)^-2.7 (fits NIST XCOM within ~10 % for 3.2..20 keV). */
  muAr10: 57,
  arExponent: 2.7,
  /** CO2: muCO2(E) = muCO2at6 * (E/6)^-3 (no edges above 1 keV). */
  muCO2at6: 18.5,
  co2Exponent: 3.0,
  /** Entrance window + air path: transmission exp(-(windowKeV/E)^2.8) (about 25 um Kapton plus ~2 cm air). */
  windowKeV: 2.0,
  windowExponent: 2.8,
  /** Share of escaping Ar K photons that leave the gas without being reabsorbed (mean path ~ gap, mu ~ 0.28/cm). */
  escapeGeometry: 0.87,
});

function argonTable(): { jumpK: number; yieldK: number } {
  const ar = tableElement(18);
  return { jumpK: ar.jumps.K ?? 9.05, yieldK: ar.yields.K ?? 0.12 };
}
let ar: { jumpK: number; yieldK: number } | null = null;

/** Linear attenuation of the gas split into argon-K photoabsorption and the rest, 1/cm. */
function gasMu(energyKeV: number): { arK: number; total: number } {
  ar ??= argonTable();
  const g = GAS_MODEL;
  let muAr = g.muAr10 * Math.pow(energyKeV / 10, -g.arExponent);
  let arK = 0;
  if (energyKeV >= ARGON.kEdgeKeV) arK = muAr * (1 - 1 / ar.jumpK);
  else muAr /= ar.jumpK;
  const muCO2 = g.muCO2at6 * Math.pow(energyKeV / 6, -g.co2Exponent);
  return { arK: arK * g.argonDensity, total: muAr * g.argonDensity + muCO2 * g.co2Density };
}

/** Probability that a photon of this energy is absorbed in the drift gap (before the entrance window). */
export function gasAbsorption(energyKeV: number): number {
  if (!(energyKeV > 0)) return 0;
  return 1 - Math.exp(-gasMu(energyKeV).total * GAS_MODEL.driftGapCm);
}

/** Transmission of the entrance window and the air path between sample and detector. */
export function windowTransmission(energyKeV: number): number {
  if (!(energyKeV > 0)) return 0;
  return Math.exp(-Math.pow(GAS_MODEL.windowKeV / energyKeV, GAS_MODEL.windowExponent));
}

/** Detection efficiency for photons from the sample: window transmission x gas absorption. */
export function detectionEfficiency(energyKeV: number): number {
  return windowTransmission(energyKeV) * gasAbsorption(energyKeV);
}

/** Probability that a detected photon's event loses an argon K photon (recorded at E - 2.957 or E - 3.190 keV):
 *  share of gas absorption in the argon K shell x argon K fluorescence yield x chance the Ar K photon leaves
 *  the gas, times escapeScale. Zero below the argon K edge (3.206 keV). */
export function escapeProbability(energyKeV: number, det: DetectorParams): number {
  if (energyKeV < ARGON.kEdgeKeV) return 0;
  ar ??= argonTable();
  const mu = gasMu(energyKeV);
  const p = (mu.arK / mu.total) * ar.yieldK * GAS_MODEL.escapeGeometry * det.escapeScale;
  return Math.min(1, Math.max(0, p));
}

/** Energy resolution (FWHM, keV) at a true energy. */
export function fwhmKeV(energyKeV: number, det: DetectorParams): number {
  const stat = det.resolution * 5.9 * Math.sqrt(Math.max(energyKeV, 0) / 5.9);
  return Math.sqrt(stat * stat + det.noiseKeV * det.noiseKeV);
}

export function validateDetector(det: DetectorParams): void {
  const check = (name: keyof DetectorParams, ok: (v: number) => boolean, want: string): void => {
    const v = det[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`detector.${name}: expected ${want}, got ${String(v)}`);
  };
  check('resolution', (v) => v > 0 && v < 5, 'a number in (0, 5)');
  check('noiseKeV', (v) => v >= 0, 'a number >= 0');
  check('escapeScale', (v) => v >= 0, 'a number >= 0');
  check('cuShare', (v) => v >= 0 && v < 1, 'a share in [0, 1)');
  check('alShare', (v) => v >= 0 && v < 1, 'a share in [0, 1)');
  if (det.cuShare + det.alShare >= 1) throw new Error('detector: cuShare + alShare must be below 1');
  check('lowCutoffKeV', (v) => v >= 0, 'a number >= 0');
  check('gainScale', (v) => v > 0, 'a number > 0');
  check('pileupFraction', (v) => v >= 0 && v < 1, 'a fraction in [0, 1)');
}

export function detectorKey(det: DetectorParams): string {
  return `${det.resolution}:${det.noiseKeV}:${det.escapeScale}:${det.lowCutoffKeV}:${det.gainScale}`;
}
