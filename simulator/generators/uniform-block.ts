// Uniforms in bulk for the generators' hot loops. A call through physics Rng.next() costs ~10 ns (its
// xoshiro128** state lives in a closure context); the event loop needs 4-5 uniforms per event, so it draws
// them here in one tight loop with the state in local variables (~3 ns each). Same algorithm as
// physics/random.ts (xoshiro128**, 32-bit uniforms), seeded from a physics Rng so seeds mean the same thing.
import type { Rng } from '../../physics/random.js';

export class UniformBlock {
  private readonly s = new Uint32Array(4);
  private buf = new Float64Array(0);

  constructor(seedFrom: Rng) {
    const s = this.s;
    for (let i = 0; i < 4; i++) s[i] = seedFrom.uint32();
    if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  }

  /** n uniforms in [0, 1) (32-bit resolution). The array is reused by the next call. */
  fill(n: number): Float64Array {
    if (this.buf.length < n) this.buf = new Float64Array(Math.max(n, 2 * this.buf.length));
    const out = this.buf;
    const st = this.s;
    let s0 = st[0]!, s1 = st[1]!, s2 = st[2]!, s3 = st[3]!;
    for (let i = 0; i < n; i++) {
      const x = Math.imul(s1, 5);
      const r = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      out[i] = r * 2.3283064365386963e-10; // 2^-32
    }
    st[0] = s0;
    st[1] = s1;
    st[2] = s2;
    st[3] = s3;
    return out;
  }
}
