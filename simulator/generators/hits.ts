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
import { Xoshiro128 } from './xoshiro.js';
import { erfcFromNonNegative, erfcNonNegative } from '../../physics/special.js';
import { EventGenerator, type EventGeneratorOptions } from './events.js';

export interface StripReadoutOptions {
  stripsPerPlane?: number;
  /** Charge cloud sigma in strips: drawn per event uniformly in [min, max] (sets cluster size 1..5). */
  cloudSigmaStrips?: [number, number];
  /** Widest cluster a single event makes (strips, odd). */
  maxClusterStrips?: number;
  /** Strips with less charge than this (ADC) stay silent. */
  thresholdAdc?: number;
  /** Electronic noise added to each strip's charge (ADC, sigma). */
  stripNoiseAdc?: number;
  /** Sigma of ln(X/Y charge ratio). */
  ratioSpread?: number;
  /** Sigma of the per-plane time offset of an event's cluster (ns). */
  planeJitterNs?: number;
  /** Sigma of the per-strip time jitter within a cluster (ns). */
  stripJitterNs?: number;
  /** Random noise hits per strip per second (both planes). */
  noiseRatePerStripHz?: number;
  /** Strips that never fire. */
  deadStrips?: ReadonlyArray<{ plane: 0 | 1; strip: number }>;
}

/** Upper bounds of normalMass over an interval whose near end is z >= 0 (in units of sigma * sqrt 2) from the
 *  mean: MASS_BOUND[j] = erfc(j / MASS_BOUND_PER_Z) >= erfc(z) for z >= j / MASS_BOUND_PER_Z, twice the
 *  mass bound erfc(z) / 2 (a margin far above erfc's 1.2e-7 fractional error and the rounding of j). */
const MASS_BOUND_PER_Z = 64;
const MASS_BOUND_LAST = 6 * MASS_BOUND_PER_Z;
const MASS_BOUND: Float64Array = (() => {
  const b = new Float64Array(MASS_BOUND_LAST + 1);
  for (let j = 0; j <= MASS_BOUND_LAST; j++) b[j] = erfcNonNegative(j / MASS_BOUND_PER_Z);
  return b;
})();

export const DEFAULT_STRIP_READOUT: Required<StripReadoutOptions> = {
  stripsPerPlane: 128,
  cloudSigmaStrips: [0.15, 0.7],
  maxClusterStrips: 5,
  thresholdAdc: 8,
  stripNoiseAdc: 2,
  ratioSpread: 0.1,
  planeJitterNs: 8,
  stripJitterNs: 3,
  noiseRatePerStripHz: 20,
  deadStrips: [],
};

/** One batch of hits with the events that caused them. */
export interface HitBatchWithTruth {
  hits: HitBatch;
  /** The true events, in time order; hits refer to them by index. */
  truth: EventBatch;
  /** Per hit: index of its event in `truth`, or -1 for a noise hit. */
  hitEvent: Int32Array;
  /** Per true event: the exact position in strip coordinates (continuous) of X and Y. */
  truthStripX: Float64Array;
  truthStripY: Float64Array;
}

export class HitGenerator {
  readonly events: EventGenerator;
  readonly readout: Required<StripReadoutOptions>;
  private readonly rng: Xoshiro128;
  private readonly dead: Uint8Array;
  private readonly maxAdc: number;
  // Scratch reused across batches (grown on demand).
  private truth: EventBatch = allocEventBatch(0);
  private hits: HitBatch = allocHitBatch(0);
  private hitEvent = new Int32Array(0);
  private noiseT = new Float64Array(0);
  private noiseCh = new Uint32Array(0);
  private noiseAdc = new Uint16Array(0);
  private noiseOrder = new Uint32Array(0);
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
    this.rng = new Xoshiro128((opts.seed ^ 0x5bd1e995) >>> 0);
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
    // Same model, same random draws in the same order as the straightforward version (kept as
    // ReferenceHitGenerator in hits-reference.ts; test/simulator/hits-equivalence.test.ts checks the output is
    // bit-identical), but: erfc at each strip boundary is evaluated once and shared by the two strips that
    // meet there (same arithmetic as normalMass, so the same charge shares); event hits are kept in time
    // order as they are made (insertion from the end: hits are already nearly in order, the jitter only
    // swaps hits of one cluster or of events closer than the jitter), the few noise hits are sorted apart and
    // merged in; no per-batch allocation. Ties keep generation order (event hits before noise hits).
    const r = this.readout;
    const S = r.stripsPerPlane;
    const n = truth.n;
    const spanStart = this.lastTimeNs;
    const spanEnd = n > 0 ? truth.t[n - 1]! : spanStart;
    this.lastTimeNs = Math.max(spanEnd, spanStart);
    const noiseMean = r.noiseRatePerStripHz * 2 * S * (Math.max(spanEnd - spanStart, 0) * 1e-9);
    const nNoise = this.rng.poisson(noiseMean);
    const cap = n * 2 * r.maxClusterStrips + nNoise;
    this.ensure(cap, n, nNoise);
    const hits = this.hits, hitEvent = this.hitEvent;
    const P = hits.plane, ST = hits.strip, A = hits.adc, T = hits.t;
    const half = (r.maxClusterStrips - 1) / 2;
    const scaleX = S / this.events.width;
    const scaleY = S / this.events.height;
    const rng = this.rng;
    const clockStart = this.clockStartNs;
    const dead = this.dead, maxAdc = this.maxAdc;
    const sx = this.sx, sy = this.sy;
    const tx = truth.x, ty = truth.y, tadc = truth.adc, tt = truth.t;
    const ratioSpread = r.ratioSpread, sigmaMin = r.cloudSigmaStrips[0], sigmaRange = r.cloudSigmaStrips[1] - r.cloudSigmaStrips[0];
    const planeJitter = r.planeJitterNs, stripJitter = r.stripJitterNs, stripNoise = r.stripNoiseAdc, threshold = r.thresholdAdc;
    // Insertion budget: past it (only with a time jitter far above the event spacing) the rest is appended
    // and the event hits get one stable sort at the end.
    let shiftBudget = 64 * n + 4096;
    let inOrder = true;
    let h = 0;
    for (let e = 0; e < n; e++) {
      const px = (tx[e]! + rng.next()) * scaleX;
      const py = (ty[e]! + rng.next()) * scaleY;
      sx[e] = px;
      sy[e] = py;
      const ratio = Math.exp(ratioSpread * rng.normal());
      const q = tadc[e]!;
      const sigma = sigmaMin + sigmaRange * rng.next();
      const k = 1 / (Math.SQRT2 * sigma); // as normalMass computes it
      const t0 = tt[e]!;
      for (let plane = 0; plane < 2; plane++) {
        const centre = plane === 0 ? px : py;
        const charge = plane === 0 ? (q * ratio) / (1 + ratio) : q / (1 + ratio);
        const tp = t0 + planeJitter * rng.normal();
        const c0 = Math.floor(centre);
        const deadBase = plane * S;
        // erfc at the lower boundary of strip s, when the previous strip computed it as its upper boundary.
        let haveLow = false, zLow = 0, eLow = 0;
        for (let s = c0 - half; s <= c0 + half; s++) {
          if (s < 0 || s >= S || dead[deadBase + s]) {
            haveLow = false;
            continue;
          }
          const za = haveLow ? zLow : (s - centre) * k;
          const zb = (s + 1 - centre) * k;
          const noise = stripNoise * rng.normal();
          // A strip wholly to one side of the centre has mass <= erfc(near boundary) / 2 < MASS_BOUND[j]; if
          // even that bound rounds below threshold (rounding and float + / * are monotone), the exact mass
          // cannot fire either: skip its exponential (the silent outer strips of narrow clouds).
          if (za >= 0 || zb <= 0) {
            const j = (za >= 0 ? za : -zb) * MASS_BOUND_PER_Z;
            const bound = MASS_BOUND[j < MASS_BOUND_LAST ? Math.floor(j) : MASS_BOUND_LAST]!;
            if (Math.round(charge * bound + noise) < threshold) {
              haveLow = false;
              continue;
            }
          }
          // normalMass(s, s + 1, centre, sigma), with erfc(+-z) from one exponential per boundary.
          const ea = haveLow ? eLow : erfcNonNegative(Math.abs(za));
          const eb = erfcNonNegative(Math.abs(zb));
          zLow = zb;
          eLow = eb;
          haveLow = true;
          const mass =
            za >= 0 ? 0.5 * (erfcFromNonNegative(za, ea) - erfcFromNonNegative(zb, eb))
            : zb <= 0 ? 0.5 * (erfcFromNonNegative(-zb, eb) - erfcFromNonNegative(-za, ea))
            : 1 - 0.5 * (erfcFromNonNegative(-za, ea) + erfcFromNonNegative(zb, eb));
          const a = Math.round(charge * mass + noise);
          if (a < threshold) continue;
          let th = tp + stripJitter * rng.normal();
          if (!(th > clockStart)) th = clockStart; // events within the jitter of the start (gemx times are unsigned)
          // Insert at its place in time order (after any hit with an equal time: stable), shifting the later
          // ones up by one (a few at most: the strips of this cluster, hits of events within the jitter).
          let i = h;
          if (inOrder && i > 0 && T[i - 1]! > th) {
            if (shiftBudget <= 0) inOrder = false; // budget spent: append, sort at the end
            else {
              const stop = h > shiftBudget ? h - shiftBudget : 0;
              do {
                P[i] = P[i - 1]!;
                ST[i] = ST[i - 1]!;
                A[i] = A[i - 1]!;
                T[i] = T[i - 1]!;
                hitEvent[i] = hitEvent[i - 1]!;
                i--;
              } while (i > stop && T[i - 1]! > th);
              shiftBudget -= h - i;
              if (i > 0 && T[i - 1]! > th) inOrder = false; // stopped short of its place: sort at the end
            }
          }
          P[i] = plane;
          ST[i] = s;
          A[i] = a > maxAdc ? maxAdc : a;
          T[i] = th;
          hitEvent[i] = e;
          h++;
        }
      }
    }
    if (!inOrder) this.sortByTime(h);
    h = this.mergeNoise(h, nNoise, spanStart, spanEnd);
    hits.n = h;
    return {
      hits,
      truth,
      hitEvent: hitEvent.subarray(0, h),
      truthStripX: sx.subarray(0, n),
      truthStripY: sy.subarray(0, n),
    };
  }

  /** Draws the noise hits (after all event hits, as the random stream has them), sorts them and merges them
   *  into the time-ordered event hits [0, h); returns the new hit count. */
  private mergeNoise(h: number, nNoise: number, spanStart: number, spanEnd: number): number {
    const S = this.readout.stripsPerPlane, threshold = this.readout.thresholdAdc, stripNoise = this.readout.stripNoiseAdc;
    const rng = this.rng, dead = this.dead, maxAdc = this.maxAdc;
    const hits = this.hits, hitEvent = this.hitEvent;
    const P = hits.plane, ST = hits.strip, A = hits.adc, T = hits.t;
    // Noise hits: uniform over the span, any strip of either plane, charge just above threshold.
    const nt = this.noiseT, nch = this.noiseCh, nadc = this.noiseAdc;
    let m = 0;
    for (let k = 0; k < nNoise; k++) {
      const ch = rng.int(2 * S);
      if (dead[ch]) continue;
      nch[m] = ch;
      nadc[m] = Math.min(maxAdc, Math.round(threshold + 4 * stripNoise * -Math.log(1 - rng.next())));
      nt[m] = spanStart + (spanEnd - spanStart) * rng.next();
      m++;
    }
    if (m > 0) {
      const order = this.noiseOrder.subarray(0, m);
      for (let i = 0; i < m; i++) order[i] = i;
      order.sort((a, b) => nt[a]! - nt[b]! || a - b);
      // Merge from the back into the free space after the event hits; on equal times the noise hit goes after.
      let i = h - 1, j = m - 1, w = h + m - 1;
      while (j >= 0) {
        const o = order[j]!;
        const tn = nt[o]!;
        if (i >= 0 && T[i]! > tn) {
          P[w] = P[i]!;
          ST[w] = ST[i]!;
          A[w] = A[i]!;
          T[w] = T[i]!;
          hitEvent[w] = hitEvent[i]!;
          i--;
        } else {
          const ch = nch[o]!;
          P[w] = ch < S ? 0 : 1;
          ST[w] = ch < S ? ch : ch - S;
          A[w] = nadc[o]!;
          T[w] = tn;
          hitEvent[w] = -1;
          j--;
        }
        w--;
      }
      h += m;
    }
    return h;
  }

  /** Stable sort of the first h hits by time, in place (only when the insertion budget ran out). */
  private sortByTime(h: number): void {
    const hits = this.hits, hitEvent = this.hitEvent;
    const order = new Uint32Array(h);
    for (let i = 0; i < h; i++) order[i] = i;
    const t = hits.t;
    order.sort((a, b) => t[a]! - t[b]! || a - b);
    const out = allocHitBatch(h), outEvent = new Int32Array(h);
    for (let i = 0; i < h; i++) {
      const j = order[i]!;
      out.plane[i] = hits.plane[j]!;
      out.strip[i] = hits.strip[j]!;
      out.adc[i] = hits.adc[j]!;
      out.t[i] = hits.t[j]!;
      outEvent[i] = hitEvent[j]!;
    }
    hits.plane.set(out.plane);
    hits.strip.set(out.strip);
    hits.adc.set(out.adc);
    hits.t.set(out.t);
    hitEvent.set(outEvent);
  }

  private ensure(hits: number, events: number, noise: number): void {
    if (this.hits.plane.length < hits) {
      const c = Math.max(hits, 2 * this.hits.plane.length);
      this.hits = allocHitBatch(c);
      this.hitEvent = new Int32Array(c);
    }
    if (this.sx.length < events) {
      const c = Math.max(events, 2 * this.sx.length);
      this.sx = new Float64Array(c);
      this.sy = new Float64Array(c);
    }
    if (this.noiseT.length < noise) {
      const c = Math.max(noise, 2 * this.noiseT.length);
      this.noiseT = new Float64Array(c);
      this.noiseCh = new Uint32Array(c);
      this.noiseAdc = new Uint16Array(c);
      this.noiseOrder = new Uint32Array(c);
    }
  }
}
