// Energy calibration from a scan of several known lines (`gemxrf calibrate --line A --line B ...`):
// offset and gain (and with 3+ lines optionally a quadratic term) by weighted least squares, and the
// per-pixel gain map from one reference line.
//
// Peak search (whole detector): the strongest peak of the histogram is taken to be one of the lines (the
// anchor), which gives a gain-only estimate E = gain * adc; the other lines are then searched nearest
// energy first, each at the adc where the calibration so far puts its model peak, with a window of
// +-1 FWHM (resolution model at the line's energy, over the calibration's slope), and the calibration is
// refitted after each (offset + gain from two lines on). A line whose centroid walks off more than half
// a FWHM from that prediction is not there (or the anchor is wrong): the lines are tried as anchors in
// the order given and the first assignment that finds every line wins. With a pedestal the gain-only
// first prediction is off by |offset| x (1 - E_k / E_anchor) / gain; half a FWHM tolerates offsets up to
// ~1 keV for lines a few keV apart. Then every peak is re-centred with the final calibration's windows
// and the fit repeated until the positions settle.
//
// Peak energies: each line's model peak (line-calibration.ts, parseCalibrationLine): the centroid of the
// element's modelled GEM response by the same routine, so the element's own unresolved lines (Ka/Kb,
// La/Lb...) bias model and data alike. Lines of DIFFERENT elements are not in the model: two lines closer
// than 1.5 FWHM are refused (a neighbour of equal height at 1.5 FWHM pulls the +-1 FWHM centroid by
// ~8% of a FWHM, ~13% at 3x the height: the background line through the window edges sits on its
// flank), and 1.5..2 FWHM draws a warning (2-4% at 2 FWHM, <0.2% at 2.5).
// Cu-Ka/Zn-Ka (0.6 keV apart, FWHM 1.3 keV at resolution 0.18) is far too close; Cu-Ka/Pb-La (1.7 FWHM)
// draws the warning; Ti-Ka/Cu-Ka/Sr-Ka is clean.
//
// Uncertainties: see energy-fit.ts and peak-centroid.ts centroidError (statistical only).
// Gain map and the fit with a non-uniform gain: see calibrateFromLines.
import { DEFAULT_DETECTOR, fwhmKeV, type DetectorParams } from '../../physics/index.js';
import type { AdcHistograms } from './adc-histograms.js';
import { blockGainMap, gainCorrectedSum, type GainMapReport } from './block-gain-map.js';
import { adcAt, energyAt, fitEnergyPolynomial, slopeAt, type CalibrationPoint, type EnergyFit, type EnergyPolynomial } from './energy-fit.js';
import { modelSigmaKeV, type CalibrationLine } from './line-calibration.js';
import { centroidError, refinePeak, strongestPeak, type PeakEstimate } from './peak-centroid.js';

/** Lines closer than this many FWHM (the larger of the two) are refused, closer than WARN_SEPARATION_FWHM warned about. */
export const MIN_SEPARATION_FWHM = 1.5;
export const WARN_SEPARATION_FWHM = 2;

/** Throws when two lines are too close to separate; returns warnings for pairs that are marginal. */
export function checkLineSeparation(lines: readonly CalibrationLine[], det: DetectorParams): string[] {
  const warnings: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    for (let j = i + 1; j < lines.length; j++) {
      const a = lines[i]!;
      const b = lines[j]!;
      const d = Math.abs(a.peakKeV - b.peakKeV);
      const fwhm = Math.max(fwhmKeV(a.peakKeV, det), fwhmKeV(b.peakKeV, det));
      const pair = `${a.label} (${a.peakKeV.toFixed(3)} keV) and ${b.label} (${b.peakKeV.toFixed(3)} keV)`;
      if (d < MIN_SEPARATION_FWHM * fwhm) {
        throw new Error(
          `lines ${pair} are ${d.toFixed(2)} keV apart, closer than ${MIN_SEPARATION_FWHM} FWHM (${(MIN_SEPARATION_FWHM * fwhm).toFixed(2)} keV at resolution ${det.resolution}): the GEM does not separate their peaks; use lines further apart`,
        );
      }
      if (d < WARN_SEPARATION_FWHM * fwhm) {
        warnings.push(`${pair} are only ${(d / fwhm).toFixed(2)} FWHM apart: each may pull the other's centroid by a few % of a FWHM`);
      }
    }
  }
  return warnings;
}

export interface LinePeak {
  line: CalibrationLine;
  /** Centroid in the whole detector's histogram (recorded adc). */
  peakAdc: number;
  /** Its statistical standard error (ADC). */
  peakAdcError: number;
  /** Net counts in the +-1 FWHM window. */
  net: number;
  /** Peak sigma (log-parabola, ADC; NaN if undetermined). */
  sigmaAdc: number;
  /** E(peakAdc) under the fitted calibration (keV). */
  fittedKeV: number;
  /** fittedKeV - line.peakKeV, in eV. */
  residualEv: number;
  /** Statistical error of the peak's position expressed in eV (slope x peakAdcError). */
  peakErrorEv: number;
}

export interface LinesFit {
  peaks: LinePeak[];
  fit: EnergyFit;
  degree: 1 | 2;
  /** The line the strongest peak was assigned to. */
  anchor: string;
}

export interface LinesFitOptions {
  detector?: DetectorParams;
  /** Fit the quadratic term too (needs 3+ lines). */
  quadratic?: boolean;
  /** Ignore ADC bins below this (threshold noise) when looking for the strongest peak (default 2% of the range). */
  minAdc?: number;
}

interface Found {
  index: number;
  est: PeakEstimate;
  /** Statistical error of est.position (ADC), see centroidError. */
  error: number;
}

function foundPeak(sum: ArrayLike<number>, index: number, est: PeakEstimate, halfWidth: number): Found {
  return { index, est, error: centroidError(sum, est.position, halfWidth) };
}

/** A centroid's error, never 0 (a noise-free model histogram has none): a floor of 1e-6 FWHM keeps the weights finite. */
function pointOf(lines: readonly CalibrationLine[], f: Found, fwhmAdc: number): CalibrationPoint {
  return { adc: f.est.position, adcError: Math.max(f.error, 1e-6 * fwhmAdc), keV: lines[f.index]!.peakKeV };
}

function fitFound(lines: readonly CalibrationLine[], found: readonly Found[], det: DetectorParams, degree: 1 | 2, prev?: EnergyPolynomial): EnergyFit | EnergyPolynomial {
  if (found.length === 1) {
    const f = found[0]!;
    return { offsetKeV: 0, gainKeVPerAdc: lines[f.index]!.peakKeV / f.est.position, quadraticKeVPerAdc2: 0 };
  }
  const points = found
    .map((f) => {
      const slope = prev ? slopeAt(prev, f.est.position) : lines[f.index]!.peakKeV / f.est.position;
      return pointOf(lines, f, fwhmKeV(lines[f.index]!.peakKeV, det) / slope);
    })
    .sort((a, b) => a.adc - b.adc);
  return fitEnergyPolynomial(points, degree, prev);
}

/** Finds every line assuming the strongest peak (at `start`) is lines[anchor]; a reason string on failure. */
function searchFrom(sum: ArrayLike<number>, lines: readonly CalibrationLine[], anchor: number, start: number, det: DetectorParams): Found[] | { reason: string; found: number } {
  const a = lines[anchor]!;
  const relFwhm = fwhmKeV(a.peakKeV, det) / a.peakKeV;
  let pos = start;
  let est: PeakEstimate | null = null;
  for (let pass = 0; pass < 2; pass++) {
    est = refinePeak(sum, pos, relFwhm * pos);
    if (!est) return { reason: 'no peak found in the ADC histogram', found: 0 };
    pos = est.position;
  }
  const found: Found[] = [foundPeak(sum, anchor, est!, relFwhm * pos)];
  let cal = fitFound(lines, found, det, 1);
  const order = lines.map((_, i) => i).filter((i) => i !== anchor).sort((i, j) => Math.abs(lines[i]!.peakKeV - a.peakKeV) - Math.abs(lines[j]!.peakKeV - a.peakKeV));
  for (const k of order) {
    const line = lines[k]!;
    const predicted = adcAt(cal, line.peakKeV);
    const known = found.map((f) => lines[f.index]!.label).join(', ');
    if (!(predicted > 0 && predicted < sum.length)) {
      return { reason: `line ${line.label}: the calibration from ${known} puts it at ADC ${predicted.toFixed(0)}, outside the ADC range 0..${sum.length}`, found: found.length };
    }
    const fwhmAdc = fwhmKeV(line.peakKeV, det) / slopeAt(cal, predicted);
    const e = refinePeak(sum, predicted, fwhmAdc);
    if (!e || !(e.net > 0)) {
      return { reason: `line ${line.label}: no peak (no net counts) near ADC ${predicted.toFixed(0)}, where the calibration from ${known} puts it`, found: found.length };
    }
    if (Math.abs(e.position - predicted) > 0.5 * fwhmAdc) {
      return {
        reason: `line ${line.label}: no peak near ADC ${predicted.toFixed(0)}, where the calibration from ${known} puts it (the nearest centroid is at ${e.position.toFixed(0)}, ${(Math.abs(e.position - predicted) / fwhmAdc).toFixed(1)} FWHM away)`,
        found: found.length,
      };
    }
    found.push(foundPeak(sum, k, e, fwhmAdc));
    cal = fitFound(lines, found, det, 1, found.length > 2 ? cal : undefined);
  }
  return found;
}

/** Finds each line's peak in a whole-detector ADC histogram (raw counts) and fits the energy calibration. */
export function fitLinesFromHistogram(sum: ArrayLike<number>, lines: readonly CalibrationLine[], opts: LinesFitOptions = {}): LinesFit {
  const det = opts.detector ?? DEFAULT_DETECTOR;
  if (lines.length < 2) throw new Error(`a multi-line calibration needs at least 2 lines, got ${lines.length}`);
  const degree: 1 | 2 = opts.quadratic ? 2 : 1;
  if (degree === 2 && lines.length < 3) throw new Error(`the quadratic term needs at least 3 lines, got ${lines.length}`);
  const start = strongestPeak(sum, opts.minAdc ?? 0.02 * sum.length);

  let found: Found[] | null = null;
  let anchor = -1;
  let failure = { reason: '', found: -1 };
  for (let j = 0; j < lines.length && !found; j++) {
    const r = searchFrom(sum, lines, j, start, det);
    if (Array.isArray(r)) {
      found = r;
      anchor = j;
    } else if (r.found > failure.found) failure = r;
  }
  if (!found) throw new Error(`${failure.reason} (the strongest peak, at ADC ${start.toFixed(0)}, must be one of the lines)`);

  // Re-centre every peak with the final calibration's windows, refit, until the positions settle.
  let cal = fitFound(lines, found, det, 1);
  for (let round = 0; round < 5; round++) {
    let moved = 0;
    found = found.map((f) => {
      const line = lines[f.index]!;
      const fwhmAdc = fwhmKeV(line.peakKeV, det) / slopeAt(cal, f.est.position);
      const e = refinePeak(sum, f.est.position, fwhmAdc);
      if (!e || !(e.net > 0)) throw new Error(`line ${line.label}: its peak at ADC ${f.est.position.toFixed(0)} vanished when re-centred (no net counts)`);
      moved = Math.max(moved, Math.abs(e.position - f.est.position) / fwhmAdc);
      return foundPeak(sum, f.index, e, fwhmAdc);
    });
    cal = fitFound(lines, found, det, degree, cal);
    if (moved < 1e-4) break;
  }
  const fit = cal as EnergyFit;
  const peaks: LinePeak[] = lines.map((line, i) => {
    const f = found!.find((x) => x.index === i)!;
    const fittedKeV = energyAt(fit, f.est.position);
    return {
      line,
      peakAdc: f.est.position,
      peakAdcError: f.error,
      net: f.est.net,
      sigmaAdc: f.est.sigma,
      fittedKeV,
      residualEv: (fittedKeV - line.peakKeV) * 1000,
      peakErrorEv: slopeAt(fit, f.est.position) * f.error * 1000,
    };
  });
  return { peaks, fit, degree, anchor: lines[anchor]!.label };
}

/** Throws when the fitted calibration is unusable: energy must rise with adc over the whole ADC range. */
export function checkFittedCalibration(fit: EnergyPolynomial, adcRange: number): void {
  if (!(fit.gainKeVPerAdc > 0)) {
    throw new Error(`the fit gives a non-positive gain (${fit.gainKeVPerAdc.toPrecision(4)} keV/ADC): the lines are misassigned or their peaks wrong`);
  }
  const top = slopeAt(fit, adcRange);
  if (!(top > 0)) {
    throw new Error(`the fitted quadratic term (${fit.quadraticKeVPerAdc2.toPrecision(3)} keV/ADC^2) makes energy fall with ADC below ADC ${adcRange}: fit without --quadratic`);
  }
  if (!(Math.abs(fit.offsetKeV) <= 10)) throw new Error(`the fitted offset ${fit.offsetKeV.toFixed(2)} keV is outside the configuration's range (-10..10 keV)`);
}

export interface MultiLineCalibration extends LinesFit, GainMapReport {
  /** The line whose block peaks make the gain map: the one with the most net counts. */
  reference: string;
  /** True adc of the reference line's model peak under the fitted calibration (gain map denominator). */
  referenceTrueAdc: number;
  /** FWHM fraction at 5.9 keV from the reference line's width in the gain-corrected sum (NaN if undetermined). */
  resolutionEstimate: number;
  warnings: string[];
}

export interface MultiLineCalibrationOptions extends LinesFitOptions {
  /** A block needs this many net counts in the reference peak to get its own gain (default 200). */
  minCounts?: number;
}

export function calibrateFromLines(h: AdcHistograms, lines: readonly CalibrationLine[], opts: MultiLineCalibrationOptions = {}): MultiLineCalibration {
  const det = opts.detector ?? DEFAULT_DETECTOR;
  const warnings = checkLineSeparation(lines, det);
  const minCounts = opts.minCounts ?? 200;
  // The line with the most net counts makes the gain map (the best per-block statistics).
  const reference = (fit: LinesFit) => fit.peaks.reduce((best, p) => (p.net > best.net ? p : best));
  const mapFor = (fit: LinesFit, startAdc: number) => {
    const ref = reference(fit);
    const aRef = adcAt(fit.fit, ref.line.peakKeV);
    const slope = slopeAt(fit.fit, aRef);
    const map = blockGainMap(h, { startAdc, windowPerAdc: fwhmKeV(ref.line.peakKeV, det) / slope / aRef, refTrueAdc: aRef, keVScale: slope * aRef, minCounts });
    return { ref, aRef, map };
  };
  // Pass 1 on the raw sum gives block gains; pass 2 fits the lines on the sum over gain-corrected adc
  // (see gainCorrectedSum: the raw blend biases the offset), and its calibration makes the final map.
  const raw = fitLinesFromHistogram(h.sum, lines, opts);
  const first = mapFor(raw, reference(raw).peakAdc);
  const result = fitLinesFromHistogram(gainCorrectedSum(h, first.map.blockGains), lines, opts);
  checkFittedCalibration(result.fit, h.bins);
  if (result.fit.dof > 0 && result.fit.chi2 / result.fit.dof > 25) {
    warnings.push(`chi2/dof = ${(result.fit.chi2 / result.fit.dof).toFixed(1)}: the peaks scatter about the fit far more than their counting statistics (overlapping lines or a non-linear ADC?); the uncertainties are statistical only`);
  }

  // Gain map: the reference line's block peaks over its true adc E^-1(model peak), not over the whole
  // detector's centroid: see block-gain-map.ts. A pedestal that does not scale with the gas gain
  // (recorded adc = P + g * k * E, where the pipeline assumes g * (P + k * E)) leaves, after this
  // correction, an error of about -offset * (g - 1) * (a - a_ref) / a_ref keV at true adc a in a block of
  // gain g: e.g. 0.25 keV x 0.1 x 0.5 = 12 eV, a percent of a FWHM.
  const { ref, aRef, map } = mapFor(result, reference(result).peakAdc);
  // Resolution from the reference peak's width in the gain-corrected whole-detector sum (keV per true adc
  // = the slope there): the per-block widths the one-line calibration uses are too noisy when the
  // counts are shared among several lines (the log-parabola over a few counts per bin comes out narrow).
  // What is left of the gain spread inside a block widens it slightly.
  const resolutionEstimate = ((ref.sigmaAdc * slopeAt(result.fit, ref.peakAdc)) / modelSigmaKeV(ref.line, det)) * det.resolution;
  return {
    ...result,
    reference: ref.line.label,
    referenceTrueAdc: aRef,
    gainMap: map.gainMap,
    width: h.width,
    height: h.height,
    blockSize: h.blockSize,
    blocks: map.blocks,
    validBlocks: map.validBlocks,
    gainMin: map.gainMin,
    gainMax: map.gainMax,
    resolutionEstimate,
    warnings,
  };
}
