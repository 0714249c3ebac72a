// xoshiro128** as a class with its state in fields: the same numbers, in the same order, as
// physics/random.ts createRng(seed) for every method (same splitmix32 seeding, same Marsaglia polar normal
// with its spare, same Poisson inversion / PTRS), so a generator can switch to it without changing its
// output (test/simulator/xoshiro.test.ts checks it against createRng). Methods are small and monomorphic, so
// V8 inlines them into a hot loop and keeps the 32-bit results unboxed; createRng's closures return
// uint32 values above 2^31 as heap numbers when they are not inlined.
import type { Rng } from '../../physics/random.js';
import { lnFactorial } from '../../physics/special.js';

const TWO_POW_MINUS_32 = 2 ** -32;

export class Xoshiro128 implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;
  // PTRS constants for the last mean.
  private lastMean = -1;
  private slam = 0;
  private loglam = 0;
  private b = 0;
  private a = 0;
  private invalpha = 0;
  private vr = 0;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`rng seed must be a finite number, got ${seed}`);
    let sm = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
    if (!Number.isInteger(seed)) sm = (sm ^ Math.floor((seed % 1) * 2 ** 32)) >>> 0;
    const splitmix = (): number => {
      sm = (sm + 0x9e3779b9) >>> 0;
      let z = sm;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix();
    this.s1 = splitmix();
    this.s2 = splitmix();
    this.s3 = splitmix();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    // Keep the state as int32 (the same bits as createRng's, which mixes uint32 and int32 representations).
    this.s0 |= 0;
    this.s1 |= 0;
    this.s2 |= 0;
    this.s3 |= 0;
  }

  uint32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const r = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const s2 = this.s2 ^ this.s0;
    const s3 = this.s3 ^ s1;
    this.s1 = s1 ^ s2;
    this.s0 ^= s3;
    this.s2 = s2 ^ t;
    this.s3 = (s3 << 11) | (s3 >>> 21);
    return r;
  }

  next(): number {
    return this.uint32() * TWO_POW_MINUS_32;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }

  poisson(mean: number): number {
    if (!(mean >= 0) || !Number.isFinite(mean)) throw new Error(`poisson mean must be finite and >= 0, got ${mean}`);
    if (mean === 0) return 0;
    if (mean < 10) {
      let k = 0;
      let p = Math.exp(-mean);
      let cdf = p;
      const u = this.next();
      while (u > cdf && k < 1000) {
        k++;
        p *= mean / k;
        cdf += p;
      }
      return k;
    }
    if (mean !== this.lastMean) {
      this.lastMean = mean;
      this.slam = Math.sqrt(mean);
      this.loglam = Math.log(mean);
      this.b = 0.931 + 2.53 * this.slam;
      this.a = -0.059 + 0.02483 * this.b;
      this.invalpha = 1.1239 + 1.1328 / (this.b - 3.4);
      this.vr = 0.9277 - 3.6224 / (this.b - 2);
    }
    const a = this.a, b = this.b, vr = this.vr, invalpha = this.invalpha, loglam = this.loglam;
    for (;;) {
      const U = this.next() - 0.5;
      const V = this.next();
      const us = 0.5 - Math.abs(U);
      const k = Math.floor(((2 * a) / us + b) * U + mean + 0.43);
      if (us >= 0.07 && V <= vr) return k;
      if (k < 0 || (us < 0.013 && V > us)) continue;
      if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -mean + k * loglam - lnFactorial(k)) return k;
    }
  }
}
