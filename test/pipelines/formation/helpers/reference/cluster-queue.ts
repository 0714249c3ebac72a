// Reference copy (commit d94f41d) for the differential test and the formation bench: see event-former.ts here.
// Closed clusters of one plane waiting to be matched, in order of start time. Struct-of-arrays, growable;
// matched clusters are flagged `used` and skipped when they reach the head.
import type { ClusterQueueState } from '../../../../../pipelines/formation/former-state.js';

export class ClusterQueue {
  tStart: Float64Array;
  tEnd: Float64Array;
  /** Charge-weighted mean strip index (strip k is centred at k + 0.5 on the plane, see event-former.ts). */
  centroid: Float64Array;
  charge: Float64Array;
  /** Strips from the lowest to the highest hit strip, inclusive. */
  span: Int32Array;
  hits: Int32Array;
  used: Uint8Array;
  head = 0;
  n = 0;

  constructor(capacity = 1024) {
    this.tStart = new Float64Array(capacity);
    this.tEnd = new Float64Array(capacity);
    this.centroid = new Float64Array(capacity);
    this.charge = new Float64Array(capacity);
    this.span = new Int32Array(capacity);
    this.hits = new Int32Array(capacity);
    this.used = new Uint8Array(capacity);
  }

  get length(): number {
    return this.n - this.head;
  }

  push(tStart: number, tEnd: number, centroid: number, charge: number, span: number, hits: number): void {
    if (this.n === this.tStart.length) this.makeRoom();
    const i = this.n++;
    this.tStart[i] = tStart;
    this.tEnd[i] = tEnd;
    this.centroid[i] = centroid;
    this.charge[i] = charge;
    this.span[i] = span;
    this.hits[i] = hits;
    this.used[i] = 0;
  }

  /** Skips used clusters at the head. */
  skipUsed(): void {
    while (this.head < this.n && this.used[this.head] === 1) this.head++;
  }

  clear(): void {
    this.head = 0;
    this.n = 0;
  }

  /** A copy of the live part [head, n) (a checkpoint). Indices shift, but matching only uses positions
   *  relative to the head. */
  snapshot(): ClusterQueueState {
    const a = this.head;
    const b = this.n;
    return {
      tStart: this.tStart.slice(a, b), tEnd: this.tEnd.slice(a, b), centroid: this.centroid.slice(a, b), charge: this.charge.slice(a, b),
      span: this.span.slice(a, b), hits: this.hits.slice(a, b), used: this.used.slice(a, b),
    };
  }

  restore(s: ClusterQueueState): void {
    const n = s.tStart.length;
    for (const a of [s.tEnd, s.centroid, s.charge, s.span, s.hits, s.used]) if (a.length !== n) throw new Error('cluster queue state: arrays of different lengths');
    this.clear();
    if (this.tStart.length < n) {
      let cap = this.tStart.length;
      while (cap < n) cap *= 2;
      this.tStart = new Float64Array(cap);
      this.tEnd = new Float64Array(cap);
      this.centroid = new Float64Array(cap);
      this.charge = new Float64Array(cap);
      this.span = new Int32Array(cap);
      this.hits = new Int32Array(cap);
      this.used = new Uint8Array(cap);
    }
    this.tStart.set(s.tStart);
    this.tEnd.set(s.tEnd);
    this.centroid.set(s.centroid);
    this.charge.set(s.charge);
    this.span.set(s.span);
    this.hits.set(s.hits);
    this.used.set(s.used);
    this.n = n;
  }

  /** Moves the live part to the front, or doubles the arrays when more than half is live. */
  private makeRoom(): void {
    const live = this.n - this.head;
    if (this.head > 0 && live <= this.tStart.length / 2) {
      for (const a of [this.tStart, this.tEnd, this.centroid, this.charge, this.span, this.hits, this.used]) a.copyWithin(0, this.head, this.n);
      this.n = live;
      this.head = 0;
      return;
    }
    const cap = this.tStart.length * 2;
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (c: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(this.head, this.n));
      return b;
    };
    this.tStart = grow(this.tStart, (c) => new Float64Array(c));
    this.tEnd = grow(this.tEnd, (c) => new Float64Array(c));
    this.centroid = grow(this.centroid, (c) => new Float64Array(c));
    this.charge = grow(this.charge, (c) => new Float64Array(c));
    this.span = grow(this.span, (c) => new Int32Array(c));
    this.hits = grow(this.hits, (c) => new Int32Array(c));
    this.used = grow(this.used, (c) => new Uint8Array(c));
    this.n = live;
    this.head = 0;
  }
}
