// ADC -> energy channel, with the per-pixel gain correction. Everything that does not depend on the event is
// computed once here, so the cube's hot loop is a table read (uniform gain) or a divide and a polynomial.
//
// Definition (what "exact" means in the tests):
//   true adc    a  = adc / g[y * width + x]          (g = relative gain map, 1 when there is none)
//   energy      E  = offset + gain * a + quadratic * a^2                          (keV)
//   channel     ch = floor(c0 + a * (c1 + c2 * a)),  c0 = (offset - eMin) / w, c1 = gain / w, c2 = quadratic / w
//               with w = (eMax - eMin) / channels; kept when 0 <= ch < channels.
// The fractional-channel polynomial equals (E - eMin) / w up to float64 rounding, which can only move an
// event that sits within ~1e-12 of a bin edge. Both paths (table and gain map) evaluate the same
// polynomial, so a gain map of all ones gives bit-identical histograms to no gain map.
// The gain correction divides (not multiplies by a stored 1/g): that is the definition, and a divide per
// event is cheap next to the cache miss of the cube increment.
import type { CalibrationConfig, DetectorConfig, HistogramConfig } from '../../config/schema.js';
import { readGainMap } from './gain-map.js';

/** ADC values are Uint16 in EventBatch, so the table covers every possible value. */
export const ADC_RANGE = 65536;

export interface CalibrationInput {
  detector: Pick<DetectorConfig, 'width' | 'height'>;
  calibration: CalibrationConfig;
  histogram: HistogramConfig;
}

export class Calibration {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly eMinKeV: number;
  readonly eMaxKeV: number;
  readonly binWidthKeV: number;
  readonly offsetKeV: number;
  readonly gainKeVPerAdc: number;
  readonly quadraticKeVPerAdc2: number;
  /** Fractional channel = c0 + a * (c1 + c2 * a), a = true adc. */
  readonly c0: number;
  readonly c1: number;
  readonly c2: number;
  /** adc -> channel at unit gain; -1 when the energy falls outside the histogram. */
  readonly lut: Int16Array;
  /** Relative gain per pixel (index y * width + x); NaN marks a dead pixel (gain <= 0 or not finite). null: uniform. */
  readonly gain: Float64Array | null;
  /** Pixels whose gain map entry was unusable (events there are dropped and counted by the cube). */
  readonly deadPixels: number;

  constructor(input: CalibrationInput, gainMap?: Float32Array | Float64Array | null) {
    const { detector, calibration, histogram } = input;
    this.width = detector.width;
    this.height = detector.height;
    this.channels = histogram.channels;
    if (this.channels > 32767) throw new Error(`calibration: ${this.channels} channels exceed the Int16 channel table`);
    this.eMinKeV = histogram.eMinKeV;
    this.eMaxKeV = histogram.eMaxKeV;
    this.binWidthKeV = (histogram.eMaxKeV - histogram.eMinKeV) / histogram.channels;
    this.offsetKeV = calibration.offsetKeV;
    this.gainKeVPerAdc = calibration.gainKeVPerAdc;
    this.quadraticKeVPerAdc2 = calibration.quadraticKeVPerAdc2;
    this.c0 = (this.offsetKeV - this.eMinKeV) / this.binWidthKeV;
    this.c1 = this.gainKeVPerAdc / this.binWidthKeV;
    this.c2 = this.quadraticKeVPerAdc2 / this.binWidthKeV;

    this.lut = new Int16Array(ADC_RANGE);
    for (let adc = 0; adc < ADC_RANGE; adc++) this.lut[adc] = this.channelOfTrueAdc(adc);

    let dead = 0;
    if (gainMap) {
      const n = this.width * this.height;
      if (gainMap.length !== n) throw new Error(`calibration: gain map has ${gainMap.length} values, the ${this.width}x${this.height} grid needs ${n}`);
      const g = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = gainMap[i]!;
        if (v > 0 && Number.isFinite(v)) g[i] = v;
        else {
          g[i] = NaN;
          dead++;
        }
      }
      this.gain = g;
    } else {
      this.gain = null;
    }
    this.deadPixels = dead;
  }

  /** From the configuration; reads calibration.gainMapFile when it is set (raw float32 or .npy). */
  static fromConfig(input: CalibrationInput): Calibration {
    const file = input.calibration.gainMapFile;
    const map = file ? readGainMap(file, input.detector.width, input.detector.height) : null;
    return new Calibration(input, map);
  }

  /** Channel for a gain-corrected (true) adc value, or -1 outside the histogram. */
  channelOfTrueAdc(a: number): number {
    const f = this.c0 + a * (this.c1 + this.c2 * a);
    // NaN (dead pixel) fails both comparisons and lands in the -1 branch.
    return f >= 0 && f < this.channels ? Math.floor(f) : -1;
  }

  /** Channel of an event at pixel (x, y) with raw adc, or -1 (out of range, dead pixel or off the grid). */
  channelOf(adc: number, x: number, y: number): number {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return -1;
    if (!this.gain) return this.lut[adc & 0xffff]!;
    return this.channelOfTrueAdc(adc / this.gain[y * this.width + x]!);
  }

  /** Energy (keV) of a raw adc at pixel (x, y) (NaN on a dead pixel). */
  energyKeV(adc: number, x = 0, y = 0): number {
    const a = this.gain ? adc / this.gain[y * this.width + x]! : adc;
    return this.offsetKeV + this.gainKeVPerAdc * a + this.quadraticKeVPerAdc2 * a * a;
  }

  /** Lower edge of each channel and the upper edge of the last: channels + 1 values (keV). */
  channelEdgesKeV(): Float64Array {
    const e = new Float64Array(this.channels + 1);
    for (let i = 0; i <= this.channels; i++) e[i] = this.eMinKeV + i * this.binWidthKeV;
    return e;
  }

  /** Centre of each channel (keV). */
  channelCentersKeV(): Float64Array {
    const c = new Float64Array(this.channels);
    for (let i = 0; i < this.channels; i++) c[i] = this.eMinKeV + (i + 0.5) * this.binWidthKeV;
    return c;
  }
}
