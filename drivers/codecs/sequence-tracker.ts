// Sequence-number accounting for one stream (a gemx link, or one gemroc board's packet counter).
// It remembers which of the last WINDOW numbers arrived, so it can tell a late (reordered) frame from a
// duplicate, and undo the loss it counted when the late frame shows up.

export interface SequenceCounters {
  /** Gap events: a number jumped ahead by more than one. */
  seqGaps: number;
  /** Frames missing, net of those that arrived late. */
  framesLost: number;
  /** Frames whose number was already seen (dropped: delivering them would double count). */
  duplicates: number;
  /** Frames that arrived after a later number (delivered). */
  reordered: number;
  /** The sender restarted its counter (number 0 out of turn, or a jump back beyond the window). */
  seqResets: number;
}

export function zeroSequenceCounters(): SequenceCounters {
  return { seqGaps: 0, framesLost: 0, duplicates: 0, reordered: 0, seqResets: 0 };
}

export type SequenceVerdict = 'first' | 'next' | 'gap' | 'duplicate' | 'reordered' | 'reset';

const WINDOW = 1024; // power of two

/** What a tracker remembers (checkpoints): the last number (-1: none yet) and which of the last WINDOW arrived. */
export interface SequenceTrackerState {
  last: number;
  seen: Uint8Array;
}

export class SequenceTracker {
  private last = -1;
  private readonly seen = new Uint8Array(WINDOW);

  /** @param modulus counter wrap (2^32 for gemx; 2^53 for gemroc's u64 counter as far as JS numbers go) */
  constructor(readonly counters: SequenceCounters = zeroSequenceCounters(), private readonly modulus = 0x1_0000_0000) {}

  /** Forget the stream (a new connection, or an END frame): the next number starts afresh. */
  reset(): void {
    this.last = -1;
  }

  snapshot(): SequenceTrackerState {
    return { last: this.last, seen: this.seen.slice() };
  }

  restore(s: SequenceTrackerState): void {
    if (s.seen.length !== WINDOW) throw new Error(`sequence tracker state: window of ${s.seen.length}, expected ${WINDOW}`);
    this.last = s.last;
    this.seen.set(s.seen);
  }

  /** Classifies `seq`. A 'duplicate' should be dropped; everything else delivered. */
  observe(seq: number): SequenceVerdict {
    const c = this.counters;
    if (this.last < 0) return this.restart(seq, 'first');
    let d = seq - this.last;
    // signed distance on the ring
    if (d > this.modulus / 2) d -= this.modulus;
    else if (d < -this.modulus / 2) d += this.modulus;
    const slot = seq & (WINDOW - 1);
    if (d === 1) {
      this.seen[slot] = 1;
      this.last = seq;
      return 'next';
    }
    if (d === 0) {
      c.duplicates++;
      return 'duplicate';
    }
    if (d < 0) {
      if (seq === 0) { c.seqResets++; return this.restart(seq, 'reset'); }
      if (-d >= WINDOW) { c.seqResets++; return this.restart(seq, 'reset'); }
      if (this.seen[slot]) { c.duplicates++; return 'duplicate'; }
      this.seen[slot] = 1;
      c.reordered++;
      if (c.framesLost > 0) c.framesLost--;
      return 'reordered';
    }
    // d > 1: a gap of d - 1 numbers; mark them missing so a late arrival is recognised
    const lostNow = d - 1;
    const clear = Math.min(lostNow, WINDOW);
    for (let k = 1; k <= clear; k++) this.seen[(seq - k) & (WINDOW - 1)] = 0;
    this.seen[slot] = 1;
    c.seqGaps++;
    c.framesLost += lostNow;
    this.last = seq;
    return 'gap';
  }

  private restart(seq: number, verdict: SequenceVerdict): SequenceVerdict {
    this.seen.fill(0);
    this.seen[seq & (WINDOW - 1)] = 1;
    this.last = seq;
    return verdict;
  }
}
