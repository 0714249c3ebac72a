// REFERENCE COPY (pre-optimisation HitGenerator, commit d94f41d), kept unchanged for bench/generator.bench.ts and
// test/simulator/hits-equivalence.test.ts: the fast generator in hits.ts must produce bit-identical output.
// Not exported from simulator/index.ts; do not use it elsewhere.
//
// Strip hits from events, as the GEM's two orthogonal strip planes record them: the avalanche's charge cloud
// spreads over neighbouring strips of the X plane (plane 0) and the Y plane (plane 1); the planes share the
// charge with a ratio that scatters around 1; strips below threshold stay silent, dead strips never fire,
// noisy channels add random hits, and each hit's time carries the drift/shaping jitter.
//
// Geometry: strip s covers strip coordinate [s, s+1); pixel x covers [x, x+1) in pixel coordinate and
// strip coordinate = pixel coordinate * stripsPerPlane / width (likewise y with height). So the charge-
// weighted mean strip index c of a cluster maps back to pixel floor((c + 0.5) * width / stripsPerPlane).
//
// Charge: an event's ADC is the total charge of both planes: X gets adc * r / (1 + r), Y gets adc / (1 + r),
// r log-normal around 1. Each strip gets its Gaussian share (integrated over the strip) plus electronic
// noise, rounded to an integer ADC, saturating at the ADC's top.
//
// Order: within a batch all hits are sorted by time (both planes interleaved). Across batches a hit can
// precede the previous batch's last hits by at most the time jitter (a few tens of ns), as with a real
// readout that flushes per frame.
import { allocEventBatch, allocHitBatch, type EventBatch, type HitBatch } from '../../drivers/batches.js';
import { createRng, type Rng } from '../../physics/random.js';
import { normalMass } from '../../physics/special.js';
import { EventGenerator, type EventGeneratorOptions } from './events.js';
import { DEFAULT_STRIP_READOUT, type HitBatchWithTruth, type StripReadoutOptions } from './hits.js';

export class ReferenceHitGenerator {
  readonly events: EventGenerator;
  readonly readout: Required<StripReadoutOptions>;
  private readonly rng: Rng;
  private readonly dead: Uint8Array;
  private readonly maxAdc: number;
  // Scratch reused across batches (grown on demand).
  private truth: EventBatch = allocEventBatch(0);
  private raw: HitBatch = allocHitBatch(0);
  private rawEvent = new Int32Array(0);
  private out: HitBatch = allocHitBatch(0);
  private outEvent = new Int32Array(0);
  private sx = new Float64Array(0);
  private sy = new Float64Array(0);
  private lastTimeNs: number;
  /** When the device clock started: no hit is earlier (the time jitter of the first events would be). */
  private readonly clockStartNs: number;

  constructor(opts: EventGeneratorOptions & { readout?: StripReadoutOptions }) {
    this.events = new EventGenerator(opts);
    this.readout = { ...DEFAULT_STRIP_READOUT, ...opts.readout };
    const r = this.readout;
    if (!Number.isInteger(r.stripsPerPlane) || r.stripsPerPlane < 2 || r.stripsPerPlane > 65535)
      throw new Error(`stripsPerPlane must be an integer in 2..65535, got ${r.stripsPerPlane}`);
    if (!(r.cloudSigmaStrips[0] > 0 && r.cloudSigmaStrips[1] >= r.cloudSigmaStrips[0]))
      throw new Error('cloudSigmaStrips must be [min, max] with 0 < min <= max');
    if (!Number.isInteger(r.maxClusterStrips) || r.maxClusterStrips < 1 || r.maxClusterStrips % 2 === 0)
      throw new Error(`maxClusterStrips must be a positive odd integer, got ${r.maxClusterStrips}`);
    for (const [k, v] of [['thresholdAdc', r.thresholdAdc], ['stripNoiseAdc', r.stripNoiseAdc], ['ratioSpread', r.ratioSpread],
      ['planeJitterNs', r.planeJitterNs], ['stripJitterNs', r.stripJitterNs], ['noiseRatePerStripHz', r.noiseRatePerStripHz]] as const)
      if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`${k} must be a finite number >= 0, got ${v}`);
    this.dead = new Uint8Array(2 * r.stripsPerPlane);
    for (const d of r.deadStrips) {
      if ((d.plane !== 0 && d.plane !== 1) || !Number.isInteger(d.strip) || d.strip < 0 || d.strip >= r.stripsPerPlane)
        throw new Error(`dead strip ${JSON.stringify(d)}: plane must be 0 or 1 and strip in 0..${r.stripsPerPlane - 1}`);
      this.dead[d.plane * r.stripsPerPlane + d.strip] = 1;
    }
    this.maxAdc = this.events.channels - 1;
    // Its own stream, so the events are the same as an EventGenerator's with the same seed.
    this.rng = createRng((opts.seed ^ 0x5bd1e995) >>> 0);
    this.lastTimeNs = opts.startNs ?? 0;
    this.clockStartNs = this.lastTimeNs;
  }

  /** Hits of the next n events (plus noise hits over their time span). Buffers are reused by the next call. */
  next(n: number): HitBatchWithTruth {
    if (this.truth.x.length < n) this.truth = allocEventBatch(Math.max(n, 2 * this.truth.x.length));
    const truth = this.events.next(n, this.truth);
    return this.toHits(truth);
  }

  /** Hits of all events in the next durationNs. Buffers are reused by the next call. */
  generate(durationNs: number): HitBatchWithTruth {
    const truth = this.events.generate(durationNs);
    // Copy: the event generator's own batch is overwritten by its next call.
    if (this.truth.x.length < truth.n) this.truth = allocEventBatch(Math.max(truth.n, 2 * this.truth.x.length));
    const t = this.truth;
    t.x.set(truth.x.subarray(0, truth.n));
    t.y.set(truth.y.subarray(0, truth.n));
    t.adc.set(truth.adc.subarray(0, truth.n));
    t.t.set(truth.t.subarray(0, truth.n));
    t.n = truth.n;
    return this.toHits(t);
  }

  private toHits(truth: EventBatch): HitBatchWithTruth {
    const r = this.readout;
    const S = r.stripsPerPlane;
    const n = truth.n;
    const spanStart = this.lastTimeNs;
    const spanEnd = n > 0 ? truth.t[n - 1]! : spanStart;
    this.lastTimeNs = Math.max(spanEnd, spanStart);
    const noiseMean = r.noiseRatePerStripHz * 2 * S * (Math.max(spanEnd - spanStart, 0) * 1e-9);
    const nNoise = this.rng.poisson(noiseMean);
    const cap = n * 2 * r.maxClusterStrips + nNoise;
    this.ensure(cap, n);
    const raw = this.raw, rawEvent = this.rawEvent;
    const half = (r.maxClusterStrips - 1) / 2;
    const scaleX = S / this.events.width;
    const scaleY = S / this.events.height;
    const rng = this.rng;
    const clockStart = this.clockStartNs;
    let h = 0;
    for (let e = 0; e < n; e++) {
      const px = (truth.x[e]! + rng.next()) * scaleX;
      const py = (truth.y[e]! + rng.next()) * scaleY;
      this.sx[e] = px;
      this.sy[e] = py;
      const ratio = Math.exp(r.ratioSpread * rng.normal());
      const q = truth.adc[e]!;
      const sigma = r.cloudSigmaStrips[0] + (r.cloudSigmaStrips[1] - r.cloudSigmaStrips[0]) * rng.next();
      const t0 = truth.t[e]!;
      for (let plane = 0; plane < 2; plane++) {
        const centre = plane === 0 ? px : py;
        const charge = plane === 0 ? (q * ratio) / (1 + ratio) : q / (1 + ratio);
        const tp = t0 + r.planeJitterNs * rng.normal();
        const c0 = Math.floor(centre);
        for (let s = c0 - half; s <= c0 + half; s++) {
          if (s < 0 || s >= S || this.dead[plane * S + s]) continue;
          const a = Math.round(charge * normalMass(s, s + 1, centre, sigma) + r.stripNoiseAdc * rng.normal());
          if (a < r.thresholdAdc) continue;
          raw.plane[h] = plane;
          raw.strip[h] = s;
          raw.adc[h] = a > this.maxAdc ? this.maxAdc : a;
          const th = tp + r.stripJitterNs * rng.normal();
          raw.t[h] = th > clockStart ? th : clockStart; // events within the jitter of the start (gemx times are unsigned)
          rawEvent[h] = e;
          h++;
        }
      }
    }
    // Noise hits: uniform over the span, any strip of either plane, charge just above threshold.
    for (let k = 0; k < nNoise; k++) {
      const ch = rng.int(2 * S);
      if (this.dead[ch]) continue;
      raw.plane[h] = ch < S ? 0 : 1;
      raw.strip[h] = ch < S ? ch : ch - S;
      raw.adc[h] = Math.min(this.maxAdc, Math.round(r.thresholdAdc + 4 * r.stripNoiseAdc * -Math.log(1 - rng.next())));
      raw.t[h] = spanStart + (spanEnd - spanStart) * rng.next();
      rawEvent[h] = -1;
      h++;
    }
    raw.n = h;
    this.sortByTime(h);
    return {
      hits: this.out,
      truth,
      hitEvent: this.outEvent.subarray(0, h),
      truthStripX: this.sx.subarray(0, n),
      truthStripY: this.sy.subarray(0, n),
    };
  }

  /** Sorts raw hits by time into `out` (stable: equal times keep generation order). */
  private sortByTime(h: number): void {
    const raw = this.raw, out = this.out;
    const order = new Uint32Array(h);
    for (let i = 0; i < h; i++) order[i] = i;
    const t = raw.t;
    order.sort((a, b) => t[a]! - t[b]! || a - b);
    for (let i = 0; i < h; i++) {
      const j = order[i]!;
      out.plane[i] = raw.plane[j]!;
      out.strip[i] = raw.strip[j]!;
      out.adc[i] = raw.adc[j]!;
      out.t[i] = raw.t[j]!;
      this.outEvent[i] = this.rawEvent[j]!;
    }
    out.n = h;
  }

  private ensure(hits: number, events: number): void {
    if (this.raw.plane.length < hits) {
      const c = Math.max(hits, 2 * this.raw.plane.length);
      this.raw = allocHitBatch(c);
      this.out = allocHitBatch(c);
      this.rawEvent = new Int32Array(c);
      this.outEvent = new Int32Array(c);
    }
    if (this.sx.length < events) {
      const c = Math.max(events, 2 * this.sx.length);
      this.sx = new Float64Array(c);
      this.sy = new Float64Array(c);
    }
  }
}
