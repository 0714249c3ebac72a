// GEM gain non-uniformity: the gas gain varies smoothly over the active area (foil sag, hole size,
// field). Modelled as a few broad Gaussian bumps and a tilt with random signs, scaled so that the map's
// largest deviation from 1 equals the requested amplitude. The recorded ADC is the true ADC x gain(x, y).
import { createRng } from '../../physics/random.js';

/** height x width relative gain; amplitude 0 gives all ones. Deterministic for a seed. */
export function smoothGainMap(width: number, height: number, amplitude: number, seed: number): Float32Array {
  if (!(amplitude >= 0 && amplitude < 1)) throw new Error(`gain non-uniformity must be in [0, 1), got ${amplitude}`);
  const map = new Float32Array(width * height).fill(1);
  if (amplitude === 0) return map;
  const rng = createRng(seed ^ 0x6a09e667);
  const bumps = Array.from({ length: 5 }, () => ({
    u: rng.next(), v: rng.next(), s: 0.2 + 0.3 * rng.next(), a: 2 * rng.next() - 1,
  }));
  const tiltU = 2 * rng.next() - 1;
  const tiltV = 2 * rng.next() - 1;
  const raw = new Float64Array(width * height);
  let lo = Infinity, hi = -Infinity;
  for (let y = 0; y < height; y++) {
    const v = (y + 0.5) / height;
    for (let x = 0; x < width; x++) {
      const u = (x + 0.5) / width;
      let d = 0.5 * (tiltU * (u - 0.5) + tiltV * (v - 0.5));
      for (const b of bumps) d += b.a * Math.exp(-((u - b.u) ** 2 + (v - b.v) ** 2) / (2 * b.s * b.s));
      raw[y * width + x] = d;
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
  }
  // Centre the range on 1 and scale its half-width to the amplitude.
  const mid = (lo + hi) / 2;
  const half = (hi - lo) / 2 || 1;
  for (let i = 0; i < raw.length; i++) map[i] = 1 + (amplitude * (raw[i]! - mid)) / half;
  return map;
}
