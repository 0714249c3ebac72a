// Energy calibration from a scan of one known line (`gemxrf calibrate`).
//
// Peak position: iterative background-subtracted centroid in a window of +-1 FWHM (FWHM from the
// resolution model at the line's energy, scaled to ADC by the current estimate), the background a
// straight line through the window's two outermost bins on each side. The same routine is run on the
// physics model of the element's response, which gives the energy at which the GEM records the peak:
// a GEM cannot separate Cu Ka from Kb, so the blended peak sits above Ka, and calibrating against the
// model's centroid instead of the Ka energy removes that bias.
// Gain and offset: E = gain * adc + offset. One line fixes one point, so offset is 0 and
// gain = E_peak / peak_adc (an ADC pedestal, if any, then shows up as a gain error at other energies:
// calibrate with a line near the energies that matter).
// Several lines (offset, gain, optionally quadratic by weighted least squares): multi-line-calibration.ts.
// Gain map: the same centroid per block of pixels (starting from the whole detector's peak); a block's
// relative gain is its peak over the whole detector's peak (recorded adc = true adc x gain, the
// definition pipelines/calibration reads), see block-gain-map.ts.
import { DEFAULT_DETECTOR, canonicalSymbol, elementResponse, fwhmKeV, type DetectorParams } from '../../physics/index.js';
import { mainLineGroups } from './lines.js';
import type { AdcHistograms } from './adc-histograms.js';
import { blockGainMap, type GainMapReport } from './block-gain-map.js';
import { refinePeak, strongestPeak, type PeakEstimate } from './peak-centroid.js';

export { refinePeak, strongestPeak, type PeakEstimate };

export interface CalibrationLine {
  label: string;
  /** Energy of the named line (group centroid), or the number given. */
  lineKeV: number;
  /** Where the GEM's peak for it lies (model centroid, see top); equals lineKeV for a bare number. */
  peakKeV: number;
}

/** "Cu-Ka", "Cu Ka", "CuKa", "Mn-Kb", "Pb-La", "Pb-Lb" or an energy in keV ("5.9"). */
export function parseCalibrationLine(text: string, det: DetectorParams = DEFAULT_DETECTOR): CalibrationLine {
  const t = text.trim();
  const value = Number(t);
  if (t !== '' && Number.isFinite(value)) {
    if (!(value > 0.5 && value < 100)) throw new Error(`line energy must be between 0.5 and 100 keV, got ${value}`);
    return { label: `${value} keV`, lineKeV: value, peakKeV: value };
  }
  const m = /^([A-Za-z]{1,2}?)[-\s_]?([KLM])(a|b|α|β)?$/i.exec(t);
  if (!m) throw new Error(`cannot parse line '${text}': expected e.g. Cu-Ka, Mn-Ka, Pb-La or an energy in keV`);
  let symbol: string;
  try {
    symbol = canonicalSymbol(m[1]!);
  } catch {
    throw new Error(`unknown element '${m[1]}' in line '${text}'`);
  }
  const family = m[2]!.toUpperCase() as 'K' | 'L' | 'M';
  const sub = (m[3] ?? 'a').toLowerCase() === 'b' || m[3] === 'β' ? 'b' : 'a';
  // A grid wide enough for any line of the element; groups of the requested family only.
  const wide = { channels: 4000, eMinKeV: 0, eMaxKeV: 100 };
  const groups = mainLineGroups(symbol, wide, { ...det, lowCutoffKeV: 0 }, { minRelative: 0, family });
  const group = groups.find((g) => g.names.some((n) => n.startsWith(`${family}${sub}`)));
  if (!group) throw new Error(`${symbol} has no ${family}${sub} line`);
  const label = `${symbol}-${family}${sub}`;
  const lineKeV = group.centroidKeV;
  // The model response on a 10 eV grid and the same centroid as the data get.
  const top = Math.max(2 * lineKeV, lineKeV + 5);
  const grid = { channels: Math.ceil(top / 0.01), eMinKeV: 0, eMaxKeV: Math.ceil(top / 0.01) * 0.01 };
  const response = elementResponse(grid, symbol, det);
  const est = refinePeak(response, lineKeV / 0.01, fwhmKeV(lineKeV, det) / 0.01);
  const peakKeV = est ? est.position * 0.01 : lineKeV;
  return { label, lineKeV, peakKeV };
}

export interface LineCalibration extends GainMapReport {
  line: CalibrationLine;
  /** Peak position in the whole detector's ADC histogram (continuous ADC coordinate). */
  peakAdc: number;
  gainKeVPerAdc: number;
  offsetKeV: number;
  /** FWHM fraction at 5.9 keV estimated from the median block peak width (NaN if undetermined). */
  resolutionEstimate: number;
}

export interface LineCalibrationOptions {
  detector?: DetectorParams;
  /** A block needs this many net counts in its peak to get its own gain (default 200). */
  minCounts?: number;
  /** Ignore ADC bins below this (threshold noise) when looking for the peak (default 2% of the range). */
  minAdc?: number;
}

export function calibrateFromHistograms(h: AdcHistograms, line: CalibrationLine, opts: LineCalibrationOptions = {}): LineCalibration {
  const det = opts.detector ?? DEFAULT_DETECTOR;
  const minCounts = opts.minCounts ?? 200;
  const relFwhm = fwhmKeV(line.peakKeV, det) / line.peakKeV;

  // Whole detector: strongest peak, then the centroid (twice: the first pass fixes the window's scale).
  let peak = strongestPeak(h.sum, opts.minAdc ?? 0.02 * h.bins);
  let whole: PeakEstimate | null = null;
  for (let pass = 0; pass < 2; pass++) {
    whole = refinePeak(h.sum, peak, relFwhm * peak);
    if (!whole) throw new Error('no peak found in the ADC histogram');
    peak = whole.position;
  }
  const gainKeVPerAdc = line.peakKeV / peak;

  // Blocks: start at the whole detector's peak; with one line and no offset the reference line's true
  // adc is the whole detector's peak itself, and keV per recorded adc x block peak is line.peakKeV.
  const map = blockGainMap(h, { startAdc: peak, windowPerAdc: relFwhm, refTrueAdc: peak, keVScale: line.peakKeV, minCounts });
  const { gainMap, validBlocks, gainMin, gainMax, sigmaKeV } = map;
  const nb = map.blocks;
  // The model peak's own width (Ka/Kb blend) at resolution r scales with r: compare the two.
  const resolutionEstimate = (sigmaKeV / modelSigmaKeV(line, det)) * det.resolution;
  return {
    line, peakAdc: peak, gainKeVPerAdc, offsetKeV: 0, gainMap, width: h.width, height: h.height, blockSize: h.blockSize,
    blocks: nb, validBlocks, gainMin, gainMax, resolutionEstimate,
  };
}

/** Sigma (keV) of the model peak by the same log-parabola; a pure Gaussian for a bare energy. */
export function modelSigmaKeV(line: CalibrationLine, det: DetectorParams): number {
  const pure = fwhmKeV(line.peakKeV, det) / 2.3548;
  const m = /^([A-Za-z]+)-/.exec(line.label);
  if (!m) return pure;
  const top = Math.max(2 * line.lineKeV, line.lineKeV + 5);
  const grid = { channels: Math.ceil(top / 0.01), eMinKeV: 0, eMaxKeV: Math.ceil(top / 0.01) * 0.01 };
  const est = refinePeak(elementResponse(grid, m[1]!, det), line.peakKeV / 0.01, fwhmKeV(line.peakKeV, det) / 0.01);
  return est && Number.isFinite(est.sigma) ? est.sigma * 0.01 : pure;
}
