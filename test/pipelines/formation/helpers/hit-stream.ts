// Test helper: strip hits for known photons (the truth), and crafted hit lists. Deterministic (seeded).
// The charge of each photon (truth `charge`, = the sum over both planes) is split between the X and Y planes (ratio jitter), spread over neighbouring strips
// by a Gaussian cloud, blurred by ADC noise, cut by a threshold; hit times jitter and arrive out of order.
import { allocHitBatch, type HitBatch } from '../../../../drivers/batches.js';

export interface Hit { plane: number; strip: number; adc: number; t: number }
export interface TruePhoton { t: number; xStrip: number; yStrip: number; charge: number }

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): plenty for strip charge fractions.
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
const phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));

export interface StreamOptions {
  photons: number;
  ratePerSecond: number;
  seed: number;
  strips?: number;
  cloudSigmaStrips?: number;
  chargeMin?: number;
  chargeMax?: number;
  /** relative sigma of the X/Y charge split */
  splitSigma?: number;
  noiseAdc?: number;
  thresholdAdc?: number;
  timeJitterNs?: number;
  /** hits arrive up to this much later than their time (readout disorder) */
  disorderNs?: number;
}

export function photonStream(o: StreamOptions): { hits: Hit[]; truth: TruePhoton[] } {
  const r = rng(o.seed);
  const strips = o.strips ?? 128;
  const sigma = o.cloudSigmaStrips ?? 0.7;
  const noise = o.noiseAdc ?? 3;
  const thr = o.thresholdAdc ?? 8;
  const jitter = o.timeJitterNs ?? 8;
  const disorder = o.disorderNs ?? 0;
  const hits: Array<Hit & { arrival: number }> = [];
  const truth: TruePhoton[] = [];
  let t = 1000;
  for (let k = 0; k < o.photons; k++) {
    t += (-Math.log(1 - r()) / o.ratePerSecond) * 1e9;
    const xs = 4 + r() * (strips - 8);
    const ys = 4 + r() * (strips - 8);
    const q = (o.chargeMin ?? 600) + r() * ((o.chargeMax ?? 3000) - (o.chargeMin ?? 600));
    const d = (o.splitSigma ?? 0.05) * gauss(r);
    truth.push({ t, xStrip: xs, yStrip: ys, charge: q });
    for (const [plane, c, qp] of [[0, xs, (q * (1 + d)) / 2], [1, ys, (q * (1 - d)) / 2]] as const) {
      for (let s = Math.floor(c - 4 * sigma); s <= Math.floor(c + 4 * sigma); s++) {
        if (s < 0 || s >= strips) continue;
        const frac = phi((s + 1 - c) / sigma) - phi((s - c) / sigma);
        const a = Math.round(qp * frac + noise * gauss(r));
        if (a < thr) continue;
        const th = t + Math.abs(jitter * gauss(r));
        hits.push({ plane, strip: s, adc: Math.min(a, 4095), t: th, arrival: th + disorder * r() });
      }
    }
  }
  hits.sort((a, b) => a.arrival - b.arrival);
  return { hits: hits.map(({ plane, strip, adc, t }) => ({ plane, strip, adc, t })), truth };
}

export function toBatch(hits: readonly Hit[]): HitBatch {
  const b = allocHitBatch(hits.length);
  hits.forEach((h, i) => {
    b.plane[i] = h.plane;
    b.strip[i] = h.strip;
    b.adc[i] = h.adc;
    b.t[i] = h.t;
  });
  b.n = hits.length;
  return b;
}

/** Events as plain tuples, for deep comparison. */
export function eventList(batches: ReadonlyArray<{ n: number; x: Uint16Array; y: Uint16Array; adc: Uint16Array; t: Float64Array }>): Array<[number, number, number, number]> {
  const out: Array<[number, number, number, number]> = [];
  for (const b of batches) for (let i = 0; i < b.n; i++) out.push([b.x[i]!, b.y[i]!, b.adc[i]!, b.t[i]!]);
  return out;
}
