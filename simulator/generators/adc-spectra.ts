// Spectra on the detector's raw ADC grid: channel a holds energies [E(a), E(a+1)) with
// E(a) = offset + gain*a + quadratic*a^2 from the calibration. The physics responses are computed on a
// linear energy grid; a non-zero quadratic term is handled by integrating a finer linear-grid response
// over each ADC channel's energy interval (cumulative interpolation), so counts are conserved.
import {
  backgroundResponse,
  detectorLinesResponse,
  elementResponse,
  type BackgroundParams,
  type DetectorParams,
  type EnergyGrid,
} from '../../physics/index.js';

export interface AdcCalibration {
  gainKeVPerAdc: number;
  offsetKeV: number;
  quadraticKeVPerAdc2: number;
}

export const DEFAULT_ADC_CALIBRATION: AdcCalibration = { gainKeVPerAdc: 0.005, offsetKeV: 0, quadraticKeVPerAdc2: 0 };

/** Energy (keV) at ADC value a (a may be fractional: a channel's lower edge is a = channel). */
export function adcToKeV(cal: AdcCalibration, a: number): number {
  return cal.offsetKeV + cal.gainKeVPerAdc * a + cal.quadraticKeVPerAdc2 * a * a;
}

function checkCalibration(cal: AdcCalibration, channels: number): void {
  if (!Number.isInteger(channels) || channels < 2) throw new Error(`ADC channels must be an integer >= 2, got ${channels}`);
  if (!(cal.gainKeVPerAdc > 0)) throw new Error(`calibration gain must be > 0 keV/ADC, got ${cal.gainKeVPerAdc}`);
  // E(a) must increase over the whole ADC range: E'(a) = gain + 2*quadratic*a > 0 at both ends.
  const slopeEnd = cal.gainKeVPerAdc + 2 * cal.quadraticKeVPerAdc2 * channels;
  if (!(slopeEnd > 0)) throw new Error('calibration: energy must increase with ADC over the whole range (quadratic term too negative)');
}

/** A unit-sum response on the ADC grid from a unit-sum response function on a linear energy grid. */
export function responseOnAdc(response: (grid: EnergyGrid) => Float64Array, cal: AdcCalibration, channels: number): Float64Array {
  checkCalibration(cal, channels);
  const eMin = adcToKeV(cal, 0);
  const eMax = adcToKeV(cal, channels);
  if (cal.quadraticKeVPerAdc2 === 0) return response({ channels, eMinKeV: eMin, eMaxKeV: eMax });
  const fine = 4 * channels;
  const r = response({ channels: fine, eMinKeV: eMin, eMaxKeV: eMax });
  const cdf = new Float64Array(fine + 1);
  for (let i = 0; i < fine; i++) cdf[i + 1] = cdf[i]! + r[i]!;
  const at = (e: number): number => {
    const x = ((e - eMin) / (eMax - eMin)) * fine;
    if (x <= 0) return 0;
    if (x >= fine) return cdf[fine]!;
    const i = Math.floor(x);
    return cdf[i]! + (x - i) * (cdf[i + 1]! - cdf[i]!);
  };
  const out = new Float64Array(channels);
  let prev = 0;
  for (let a = 0; a < channels; a++) {
    const next = at(adcToKeV(cal, a + 1));
    out[a] = Math.max(next - prev, 0);
    prev = next;
  }
  return out;
}

/** The spectral components a phantom's pixels mix: one per element, then background, then detector lines. */
export function componentResponsesOnAdc(
  elements: readonly string[],
  bg: BackgroundParams,
  det: DetectorParams,
  cal: AdcCalibration,
  channels: number,
): Float64Array[] {
  const tube = { anode: bg.tubeAnode, kV: bg.tubeKV };
  return [
    ...elements.map((el) => responseOnAdc((g) => elementResponse(g, el, det, tube), cal, channels)),
    responseOnAdc((g) => backgroundResponse(g, bg, det), cal, channels),
    responseOnAdc((g) => detectorLinesResponse(g, det), cal, channels),
  ];
}
