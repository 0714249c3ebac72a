// Weighted least-squares fit of the energy calibration E(a) = offset + gain * a [+ quadratic * a^2] to
// calibration points (true adc a_k, model peak energy E_k), for `gemxrf calibrate` with several lines.
//
// Errors: the model energies are exact; each peak position a_k carries a statistical error s_k (ADC),
// which the calibration turns into an energy error sigma_k = E'(a_k) * s_k (first order: the slope at
// the point, from the previous estimate). The weights are 1 / sigma_k^2, the parameters' covariance is
// (A^T W A)^-1: purely statistical. chi2 / dof > 1 (3+ lines) means the points scatter more than their
// counting statistics allow (overlapping peaks, a model peak that is off, non-linearity): the reported
// uncertainties do not include that.

export interface CalibrationPoint {
  /** True (gain-corrected) adc of the peak. */
  adc: number;
  /** Standard error of adc (ADC units, > 0). */
  adcError: number;
  /** Model peak energy (keV). */
  keV: number;
}

export interface EnergyPolynomial {
  offsetKeV: number;
  gainKeVPerAdc: number;
  quadraticKeVPerAdc2: number;
}

export interface EnergyFit extends EnergyPolynomial {
  /** Standard errors (statistical); quadratic's is 0 when it was not fitted. */
  offsetErrorKeV: number;
  gainErrorKeVPerAdc: number;
  quadraticErrorKeVPerAdc2: number;
  /** Parameter covariance, row-major over [offset, gain(, quadratic)]. */
  covariance: number[];
  chi2: number;
  /** Points minus parameters. */
  dof: number;
}

export function energyAt(p: EnergyPolynomial, a: number): number {
  return p.offsetKeV + a * (p.gainKeVPerAdc + p.quadraticKeVPerAdc2 * a);
}

export function slopeAt(p: EnergyPolynomial, a: number): number {
  return p.gainKeVPerAdc + 2 * p.quadraticKeVPerAdc2 * a;
}

/** The adc at which E(a) = keV (the root on the increasing branch); NaN when there is none. */
export function adcAt(p: EnergyPolynomial, keV: number): number {
  const d = keV - p.offsetKeV;
  const disc = p.gainKeVPerAdc * p.gainKeVPerAdc + 4 * p.quadraticKeVPerAdc2 * d;
  if (!(disc >= 0)) return NaN;
  // 2d / (g + sqrt(disc)) is the same root as (-g + sqrt(disc)) / 2q without the cancellation, and is
  // d / g when q = 0.
  return (2 * d) / (p.gainKeVPerAdc + Math.sqrt(disc));
}

/** Standard error of E(a) at a given adc from the parameters' covariance (a itself exact). */
export function energyErrorAt(fit: EnergyFit, a: number): number {
  const n = Math.round(Math.sqrt(fit.covariance.length));
  const basis = [1, a, a * a].slice(0, n);
  let v = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v += basis[i]! * fit.covariance[i * n + j]! * basis[j]!;
  return Math.sqrt(Math.max(v, 0));
}

/**
 * Fits degree 1 (offset, gain) or 2 (+ quadratic) to the points; `slopeFrom` gives E'(a) for turning adc
 * errors into energy errors (default: the straight line through the first and last points). Needs at
 * least degree + 1 points; throws on a singular system (points at the same adc).
 */
export function fitEnergyPolynomial(points: readonly CalibrationPoint[], degree: 1 | 2, slopeFrom?: EnergyPolynomial): EnergyFit {
  const m = degree + 1;
  if (points.length < m) throw new Error(`a degree-${degree} energy calibration needs at least ${m} lines, got ${points.length}`);
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const chord = (last.keV - first.keV) / (last.adc - first.adc);
  const slope = (a: number) => (slopeFrom ? slopeAt(slopeFrom, a) : chord);
  // Normal equations N p = r with N = A^T W A, r = A^T W E. Columns are scaled by powers of a typical
  // adc so the 3x3 system stays well conditioned (a^2 reaches 1e7 and more).
  const scale = Math.max(...points.map((p) => Math.abs(p.adc)), 1);
  const N = new Float64Array(m * m);
  const r = new Float64Array(m);
  for (const p of points) {
    const sigma = Math.abs(slope(p.adc)) * p.adcError;
    if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`calibration point at adc ${p.adc.toFixed(1)} has no usable error (${sigma} keV)`);
    const w = 1 / (sigma * sigma);
    const u = p.adc / scale;
    const basis = [1, u, u * u];
    for (let i = 0; i < m; i++) {
      r[i]! += w * basis[i]! * p.keV;
      for (let j = 0; j < m; j++) N[i * m + j]! += w * basis[i]! * basis[j]!;
    }
  }
  const inv = invertSymmetric(N, m);
  if (!inv) throw new Error('energy calibration fit is singular: the lines give too few distinct peak positions');
  const q = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) q[i]! += inv[i * m + j]! * r[j]!;
  // Undo the column scaling: parameter i was fitted per (adc / scale)^i.
  const unscale = [1, 1 / scale, 1 / (scale * scale)];
  const covariance: number[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) covariance.push(inv[i * m + j]! * unscale[i]! * unscale[j]!);
  const poly: EnergyPolynomial = {
    offsetKeV: q[0]!,
    gainKeVPerAdc: q[1]! * unscale[1]!,
    quadraticKeVPerAdc2: m > 2 ? q[2]! * unscale[2]! : 0,
  };
  let chi2 = 0;
  for (const p of points) chi2 += ((energyAt(poly, p.adc) - p.keV) / (Math.abs(slope(p.adc)) * p.adcError)) ** 2;
  return {
    ...poly,
    offsetErrorKeV: Math.sqrt(covariance[0]!),
    gainErrorKeVPerAdc: Math.sqrt(covariance[m + 1]!),
    quadraticErrorKeVPerAdc2: m > 2 ? Math.sqrt(covariance[2 * m + 2]!) : 0,
    covariance,
    chi2,
    dof: points.length - m,
  };
}

/** Inverse of a small symmetric positive-definite matrix by Gauss-Jordan with partial pivoting; null if singular. */
function invertSymmetric(M: Float64Array, n: number): Float64Array | null {
  const a = Float64Array.from(M);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  const norm = Math.max(...Array.from(M, Math.abs));
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[piv * n + c]!)) piv = r;
    if (!(Math.abs(a[piv * n + c]!) > 1e-12 * norm)) return null;
    if (piv !== c) {
      for (let k = 0; k < n; k++) {
        [a[c * n + k], a[piv * n + k]] = [a[piv * n + k]!, a[c * n + k]!];
        [inv[c * n + k], inv[piv * n + k]] = [inv[piv * n + k]!, inv[c * n + k]!];
      }
    }
    const d = a[c * n + c]!;
    for (let k = 0; k < n; k++) {
      a[c * n + k]! /= d;
      inv[c * n + k]! /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c]!;
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        a[r * n + k]! -= f * a[c * n + k]!;
        inv[r * n + k]! -= f * inv[c * n + k]!;
      }
    }
  }
  return inv;
}
