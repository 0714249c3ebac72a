// Detector events from a phantom: Poisson arrivals at a count rate, pixel drawn by brightness, energy drawn
// from the pixel's spectrum, recorded ADC scaled by the GEM gain map.
//
// Sampling is exact and needs no quantisation of mixtures: a pixel's expected spectrum is a linear mix of
// a few component spectra (each element present in the phantom, background, detector lines), so an event
// is drawn in two O(1) alias steps — a source (pixel and component together, weight = pixel rate x the
// component's share there) and a channel (by the component's response). Tables are packed (alias and
// threshold in one float64) so each step is one cache miss. Memory: 8 bytes x (pixels x components +
// components x channels): 0.5 MB for 100 x 100 with 6 components.
import { allocEventBatch, type EventBatch } from '../../drivers/batches.js';
import { DEFAULT_DETECTOR, type BackgroundParams, type DetectorParams } from '../../physics/index.js';
import { createRng, type Rng } from '../../physics/random.js';
import { aliasScratch, allocAliasTables, buildAliasRow, packAliasTables } from '../alias.js';
import { loadPhantom, type Phantom, type PhantomRaster } from '../phantoms/index.js';
import { componentResponsesOnAdc, DEFAULT_ADC_CALIBRATION, type AdcCalibration } from './adc-spectra.js';
import { exponentialFromUniform } from './exponential.js';
import { smoothGainMap } from './gain-map.js';
import { UniformBlock } from './uniform-block.js';

export interface EventGeneratorOptions {
  /** A phantom or its name ('phantom-painting', 'old-master', 'uniform:Fe', 'png:DIR'). */
  phantom: Phantom | string;
  /** Image grid (pixels); default 100 x 100. */
  width?: number;
  height?: number;
  /** ADC resolution in bits (channels = 2^bits); default 12. */
  adcBits?: number;
  /** ADC -> keV of the simulated detector; default 0.005 keV/ADC, offset 0. */
  calibration?: Partial<AdcCalibration>;
  /** Mean event rate over the whole area (events per second). */
  ratePerSecond: number;
  seed: number;
  /** Detector response (resolution, escape, detector lines...); default physics DEFAULT_DETECTOR. */
  detector?: Partial<DetectorParams>;
  /** Overrides of the phantom's background parameters. */
  background?: Partial<BackgroundParams>;
  /** Half-range of the smooth GEM gain non-uniformity (0.1 = ±10%); default 0 (uniform gain). */
  gainNonUniformity?: number;
  /** Time of the first arrival's clock origin (ns); default 0. */
  startNs?: number;
}

export class EventGenerator {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly phantom: Phantom;
  readonly raster: PhantomRaster;
  readonly calibration: AdcCalibration;
  readonly detector: DetectorParams;
  readonly background: BackgroundParams;
  /** height x width relative gain applied to the ADC (all ones when non-uniformity is 0). */
  readonly gainMap: Float32Array;
  /** Component spectra on the ADC grid (unit sum): elements of the phantom, background, detector lines. */
  readonly components: readonly Float64Array[];
  /** pixels x components: each pixel's recorded-count share per component (rows sum to 1; 0 for a pixel
   *  that records nothing). */
  readonly pixelShares: Float64Array;

  private readonly rng: Rng;
  private readonly uniforms: UniformBlock;
  /** Packed alias table over (pixel, component) pairs, weight = pixel rate x component share: one draw
   *  picks where and what. Packed tables: see packAliasTables. */
  private readonly sourceTable: Float64Array;
  /** Packed alias tables, one row of channels per component. */
  private readonly channelTable: Float64Array;
  private readonly uniformGain: boolean;
  private meanIntervalNs: number;
  private nextArrivalNs: number;
  private emitted = 0;
  /** End of the span the last generate() covered (ns). */
  private spanEnd: number;
  private own: EventBatch = allocEventBatch(0);

  constructor(opts: EventGeneratorOptions) {
    this.width = opts.width ?? 100;
    this.height = opts.height ?? 100;
    const adcBits = opts.adcBits ?? 12;
    if (!Number.isInteger(adcBits) || adcBits < 8 || adcBits > 16) throw new Error(`adcBits must be an integer in 8..16, got ${adcBits}`);
    this.channels = 2 ** adcBits;
    if (this.width * this.height > 2 ** 24) throw new Error('event generator: image grid too large');
    this.phantom = typeof opts.phantom === 'string' ? loadPhantom(opts.phantom) : opts.phantom;
    this.calibration = { ...DEFAULT_ADC_CALIBRATION, ...opts.calibration };
    this.detector = { ...DEFAULT_DETECTOR, ...opts.detector };
    this.background = { ...this.phantom.background, ...opts.background };
    // Pile-up depends on the rate and on time coincidences, not on a fixed spectrum share: silently mixing
    // a self-convolved spectrum in here would be wrong at any rate but one.
    if (this.detector.pileupFraction !== 0) throw new Error('event generator: pile-up is not modelled per event; detector.pileupFraction must be 0');
    if (!Number.isFinite(opts.seed)) throw new Error(`seed must be a number, got ${opts.seed}`);
    this.rng = createRng(opts.seed);
    this.uniforms = new UniformBlock(this.rng);
    this.meanIntervalNs = 0;
    this.setRate(opts.ratePerSecond);
    this.gainMap = smoothGainMap(this.width, this.height, opts.gainNonUniformity ?? 0, opts.seed);
    this.uniformGain = (opts.gainNonUniformity ?? 0) === 0;

    this.raster = this.phantom.render(this.width, this.height);
    this.components = componentResponsesOnAdc(this.raster.elements, this.background, this.detector, this.calibration, this.channels);
    const K = this.components.length;
    const E = this.raster.elements.length;
    const P = this.width * this.height;
    const detShare = this.detector.cuShare + this.detector.alShare;
    if (!(detShare >= 0 && detShare < 1)) throw new Error(`detector line shares must sum to [0, 1), got ${detShare}`);

    // A component none of whose photons land on the ADC range above threshold (all-zero response) is
    // never recorded: it adds nothing to the pixel's recorded rate.
    const recorded = this.components.map((r) => r.reduce((a, b) => a + b, 0) > 0);
    // Per-pixel component shares and total rate (the brightness the pixel table samples by).
    this.pixelShares = new Float64Array(P * K);
    const rate = new Float64Array(P);
    const w = new Float64Array(K);
    for (let p = 0; p < P; p++) {
      let sample = this.raster.backgroundAmount[p]!;
      for (let e = 0; e < E; e++) sample += this.raster.amounts[e * P + p]!;
      const total = sample / (1 - detShare);
      if (total > 0) {
        for (let e = 0; e < E; e++) w[e] = this.raster.amounts[e * P + p]! / total;
        w[E] = this.raster.backgroundAmount[p]! / total;
        w[E + 1] = detShare;
      } else w.fill(0);
      let live = 0;
      for (let k = 0; k < K; k++) {
        if (!recorded[k]) w[k] = 0;
        live += w[k]!;
      }
      rate[p] = total * live;
      for (let k = 0; k < K; k++) this.pixelShares[p * K + k] = live > 0 ? w[k]! / live : 0;
    }
    if (!(rate.reduce((a, b) => a + b, 0) > 0)) throw new Error(`phantom ${this.phantom.name} records no counts on this detector (all amounts zero or below threshold)`);
    const joint = new Float64Array(P * K);
    for (let p = 0; p < P; p++) for (let k = 0; k < K; k++) joint[p * K + k] = rate[p]! * this.pixelShares[p * K + k]!;
    const sources = allocAliasTables(1, P * K);
    buildAliasRow(sources, 0, joint);
    this.sourceTable = packAliasTables(sources);
    const channels = allocAliasTables(K, this.channels);
    const scratchC = aliasScratch(this.channels);
    this.components.forEach((r, k) => buildAliasRow(channels, k, recorded[k] ? r : new Float64Array(this.channels).fill(1), scratchC));
    this.channelTable = packAliasTables(channels);

    this.spanEnd = opts.startNs ?? 0;
    this.nextArrivalNs = this.spanEnd + this.drawIntervalNs();
  }

  /** The two packed sampling stages (for benchmarks and tests): `source` over pixel x components + component
   *  (one row), `channel` over channels (one row per component). */
  get aliasTables(): { source: Float64Array; channel: Float64Array } {
    return { source: this.sourceTable, channel: this.channelTable };
  }

  /** Changes the mean event rate from the next arrival on. */
  setRate(ratePerSecond: number): void {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new Error(`event rate must be > 0 per second, got ${ratePerSecond}`);
    this.meanIntervalNs = 1e9 / ratePerSecond;
  }

  /** Events generated so far. */
  get count(): number {
    return this.emitted;
  }

  /** Time of the next event that will be generated (ns). */
  get nextTimeNs(): number {
    return this.nextArrivalNs;
  }

  /** Expected spectrum of pixel (x, y) on the ADC grid before the gain map (unit sum). */
  expectedSpectrum(x: number, y: number): Float64Array {
    const p = y * this.width + x;
    const K = this.components.length;
    const out = new Float64Array(this.channels);
    for (let k = 0; k < K; k++) {
      const s = this.pixelShares[p * K + k]!;
      const r = this.components[k]!;
      for (let c = 0; c < out.length; c++) out[c]! += s * r[c]!;
    }
    return out;
  }

  /**
   * The next n events. Writes into `out` when given (capacity >= n), else into the generator's own
   * batch, which the next call overwrites: copy what you keep.
   */
  next(n: number, out?: EventBatch): EventBatch {
    if (!Number.isInteger(n) || n < 0) throw new Error(`event count must be a non-negative integer, got ${n}`);
    const b = out ?? this.ownBatch(n);
    if (b.x.length < n) throw new Error(`event batch capacity ${b.x.length} < ${n}`);
    this.fill(b, n, Infinity);
    return b;
  }

  /**
   * All events arriving in the next durationNs (from the end of the previous call's span), up to
   * maxEvents (the rest follow in the next call). Same batch reuse rule as next().
   */
  generate(durationNs: number, out?: EventBatch, maxEvents = 1 << 22): EventBatch {
    if (!(durationNs >= 0)) throw new Error(`duration must be >= 0 ns, got ${durationNs}`);
    const expected = durationNs / this.meanIntervalNs;
    const cap = Math.min(maxEvents, Math.ceil(expected + 6 * Math.sqrt(expected) + 16));
    const b = out ?? this.ownBatch(cap);
    this.fill(b, Math.min(cap, b.x.length), this.spanEnd + durationNs);
    this.spanEnd += durationNs;
    return b;
  }

  private ownBatch(n: number): EventBatch {
    if (this.own.x.length < n) this.own = allocEventBatch(Math.max(n, this.own.x.length * 2));
    return this.own;
  }

  private drawIntervalNs(): number {
    return exponentialFromUniform(this.rng.next(), this.rng) * this.meanIntervalNs;
  }

  /** The hot loop: up to n events with arrival time < endNs. Two packed alias draws (source, channel) and an
   *  exponential per event, on uniforms drawn in bulk: four per event (two make the source draw's 53-bit
   *  uniform, so large tables keep full precision), plus one per event for the gain map's dither. */
  private fill(b: EventBatch, n: number, endNs: number): void {
    const K = this.components.length;
    const S = this.sourceTable.length;
    const C = this.channels;
    const src = this.sourceTable;
    const chan = this.channelTable;
    const gain = this.gainMap;
    const uniformGain = this.uniformGain;
    const width = this.width;
    const maxAdc = C - 1;
    const meanInterval = this.meanIntervalNs;
    const xs = b.x, ys = b.y, adcs = b.adc, ts = b.t;
    const rng = this.rng;
    let t = this.nextArrivalNs;
    let i = 0;
    // Uniforms come in chunks so a long generate() does not allocate 4 doubles per event up front; a
    // span-limited call may stop inside a chunk: the uniforms it does not use are simply skipped.
    while (i < n && t < endNs) {
      const end = Math.min(n, i + 16384);
      const U = this.uniforms.fill(4 * (end - i));
      for (let o = 0; i < end && t < endNs; i++, o += 4) {
        let x = (U[o]! + U[o + 1]! * 2.3283064365386963e-10) * S;
        let j = x | 0;
        let v = src[j]!;
        let a = v | 0;
        const source = x - j < v - a ? j : a;
        const pix = (source / K) | 0;
        const comp = source - pix * K;
        x = U[o + 2]! * C;
        j = x | 0;
        v = chan[comp * C + j]!;
        a = v | 0;
        const y = (pix / width) | 0;
        xs[i] = pix - y * width;
        ys[i] = y;
        adcs[i] = x - j < v - a ? j : a;
        ts[i] = t;
        t += exponentialFromUniform(U[o + 3]!, rng) * meanInterval;
      }
    }
    this.nextArrivalNs = t;
    this.emitted += i;
    b.n = i;
    if (!uniformGain) {
      // A second pass keeps the main loop lean. Dither inside the channel before scaling so the gain map
      // does not comb the spectrum; the ADC saturates at its top channel.
      for (let e0 = 0; e0 < i; e0 += 65536) {
        const m = Math.min(65536, i - e0);
        const D = this.uniforms.fill(m);
        for (let d = 0; d < m; d++) {
          const e = e0 + d;
          const a = ((adcs[e]! + D[d]!) * gain[ys[e]! * width + xs[e]!]!) | 0; // positive: truncation is floor
          adcs[e] = a > maxAdc ? maxAdc : a;
        }
      }
    }
  }
}
