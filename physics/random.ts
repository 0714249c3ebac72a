// Seeded pseudo-random numbers for synthetic spectra and the simulator: xoshiro128** (32-bit state
// words, fast in JS integer arithmetic), seeded through splitmix32 so nearby seeds give unrelated streams.
import { lnFactorial } from './special.js';

export interface Rng {
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal N(0, 1) (Marsaglia polar method). */
  normal(): number;
  /** Poisson-distributed integer with the given mean (>= 0): exact inversion below mean 10,
   *  Hörmann's PTRS transformed rejection above (O(1) per draw for any mean). */
  poisson(mean: number): number;
}

const TWO_POW_MINUS_32 = 2 ** -32;

export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`rng seed must be a finite number, got ${seed}`);
  // splitmix32 expands one seed into the four state words (never all zero).
  let sm = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  if (!Number.isInteger(seed)) sm = (sm ^ Math.floor((seed % 1) * 2 ** 32)) >>> 0;
  const splitmix = (): number => {
    sm = (sm + 0x9e3779b9) >>> 0;
    let z = sm;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = splitmix(), s1 = splitmix(), s2 = splitmix(), s3 = splitmix();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const uint32 = (): number => {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return r;
  };
  const next = (): number => uint32() * TWO_POW_MINUS_32;

  let spare = 0;
  let hasSpare = false;
  const normal = (): number => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * next() - 1;
      v = 2 * next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    spare = v * f;
    hasSpare = true;
    return u * f;
  };

  // PTRS constants depend only on the mean; cache them for the common case of repeated means.
  let lastMean = -1;
  let slam = 0, loglam = 0, b = 0, a = 0, invalpha = 0, vr = 0;
  const poisson = (mean: number): number => {
    if (!(mean >= 0) || !Number.isFinite(mean)) throw new Error(`poisson mean must be finite and >= 0, got ${mean}`);
    if (mean === 0) return 0;
    if (mean < 10) {
      // Inversion by sequential search: exact, about mean+1 steps.
      let k = 0;
      let p = Math.exp(-mean);
      let cdf = p;
      const u = next();
      while (u > cdf && k < 1000) {
        k++;
        p *= mean / k;
        cdf += p;
      }
      return k;
    }
    if (mean !== lastMean) {
      lastMean = mean;
      slam = Math.sqrt(mean);
      loglam = Math.log(mean);
      b = 0.931 + 2.53 * slam;
      a = -0.059 + 0.02483 * b;
      invalpha = 1.1239 + 1.1328 / (b - 3.4);
      vr = 0.9277 - 3.6224 / (b - 2);
    }
    for (;;) {
      const U = next() - 0.5;
      const V = next();
      const us = 0.5 - Math.abs(U);
      const k = Math.floor(((2 * a) / us + b) * U + mean + 0.43);
      if (us >= 0.07 && V <= vr) return k;
      if (k < 0 || (us < 0.013 && V > us)) continue;
      if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -mean + k * loglam - lnFactorial(k)) return k;
    }
  };

  const int = (n: number): number => Math.floor(next() * n);
  return { next, uint32, int, normal, poisson };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
