// Wire faults for robustness tests, deterministic by seed: frames dropped (their sequence numbers are
// skipped), bit flips inside frames (the receiver's CRC must catch them), and random garbage bytes between
// frames (the receiver must resynchronise). Probabilities are per frame.
import { createRng, type Rng } from '../../physics/random.js';

export interface FaultOptions {
  /** Probability that a frame gets one flipped bit (0..1). */
  corrupt?: number;
  /** Probability that a frame is lost on the wire (0..1). */
  drop?: number;
  /** Probability that 1..64 random bytes precede a frame (0..1). */
  garbage?: number;
  /** Unplug / drop the link every this many seconds (the endpoint decides what that means). */
  disconnectEverySec?: number;
}

export type FrameFate = 'send' | 'drop' | 'corrupt';

export function checkFaults(f: FaultOptions): void {
  for (const key of ['corrupt', 'drop', 'garbage'] as const) {
    const v = f[key];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new Error(`${key}: a probability 0..1, got ${v}`);
  }
  if (f.disconnectEverySec !== undefined && !(f.disconnectEverySec > 0)) throw new Error(`disconnectEverySec: must be > 0, got ${f.disconnectEverySec}`);
}

export class FaultInjector {
  private readonly rng: Rng;
  readonly active: boolean;

  constructor(private readonly f: FaultOptions, seed: number) {
    checkFaults(f);
    // A stream of its own, so faults do not shift the generator's random numbers.
    this.rng = createRng((seed ^ 0x5eed_fa17) >>> 0);
    this.active = (f.corrupt ?? 0) > 0 || (f.drop ?? 0) > 0 || (f.garbage ?? 0) > 0;
  }

  /** What happens to the next frame. */
  fate(): FrameFate {
    if ((this.f.drop ?? 0) > 0 && this.rng.next() < this.f.drop!) return 'drop';
    if ((this.f.corrupt ?? 0) > 0 && this.rng.next() < this.f.corrupt!) return 'corrupt';
    return 'send';
  }

  /** A copy of the frame with one bit flipped at a random position. */
  corrupt(frame: Uint8Array): Uint8Array {
    const copy = frame.slice();
    const bit = this.rng.int(copy.length * 8);
    copy[bit >>> 3]! ^= 1 << (bit & 7);
    return copy;
  }

  /** Random bytes to put before the next frame, or null. Never contains the gemx sync word's first byte 'G'. */
  garbage(): Uint8Array | null {
    if (!((this.f.garbage ?? 0) > 0) || this.rng.next() >= this.f.garbage!) return null;
    const out = new Uint8Array(1 + this.rng.int(64));
    for (let i = 0; i < out.length; i++) {
      let b = this.rng.int(256);
      // Keeping 'G' out means garbage can never fake a sync word, so the receiver's skipped-byte count
      // equals the garbage injected exactly (a test relies on it).
      if (b === 0x47) b = 0x46;
      out[i] = b;
    }
    return out;
  }
}
