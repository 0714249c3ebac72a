// One plane's pending strip hits: struct-of-arrays typed buffers kept sorted by time. New hits are appended;
// sortByTime() is stable and adaptive: insertion sort while disorder is local (the usual case: a cluster's
// hits arrive a few ns out of order), else a natural merge sort (interleaved time-ordered runs from several
// ASICs/boards cost one merge pass per doubling of runs). Consumed hits are dropped from the
// front by moving the short remainder down (cheaper than ring-buffer index arithmetic in every hot loop).
// The event former's intake (event-former.ts, ingest) usually inserts hits in time order itself, so that
// sortByTime() finds nothing to do; any stable sort of the same sequence gives the same order.
import type { PlaneHitsState } from './former-state.js';

export class PlaneBuffer {
  t: Float64Array;
  strip: Uint16Array;
  adc: Uint16Array;
  n = 0;
  /** [0, sortedUpTo) is known to be sorted (the former's intake keeps it up to date while it inserts in order). */
  sortedUpTo = 0;
  private st: Float64Array;
  private ss: Uint16Array;
  private sa: Uint16Array;
  private runs: Int32Array;

  constructor(capacity = 4096) {
    this.t = new Float64Array(capacity);
    this.strip = new Uint16Array(capacity);
    this.adc = new Uint16Array(capacity);
    this.st = new Float64Array(capacity);
    this.ss = new Uint16Array(capacity);
    this.sa = new Uint16Array(capacity);
    this.runs = new Int32Array(64);
  }

  /** Makes room for `extra` more hits (doubling; allocation only when a burst outgrows the buffer). */
  reserve(extra: number): void {
    const need = this.n + extra;
    if (need <= this.t.length) return;
    let cap = this.t.length * 2;
    while (cap < need) cap *= 2;
    const grow = <T extends Float64Array | Uint16Array>(a: T, make: (c: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(0, this.n));
      return b;
    };
    this.t = grow(this.t, (c) => new Float64Array(c));
    this.strip = grow(this.strip, (c) => new Uint16Array(c));
    this.adc = grow(this.adc, (c) => new Uint16Array(c));
    this.st = new Float64Array(cap);
    this.ss = new Uint16Array(cap);
    this.sa = new Uint16Array(cap);
  }

  /** Caller reserves first. */
  push(t: number, strip: number, adc: number): void {
    const i = this.n++;
    this.t[i] = t;
    this.strip[i] = strip;
    this.adc[i] = adc;
  }

  /** Drops the first k hits (already clustered). */
  dropFront(k: number): void {
    if (k <= 0) return;
    const rest = this.n - k;
    if (rest > 0) {
      this.t.copyWithin(0, k, this.n);
      this.strip.copyWithin(0, k, this.n);
      this.adc.copyWithin(0, k, this.n);
    }
    this.n = rest;
    this.sortedUpTo = Math.max(0, this.sortedUpTo - k);
  }

  clear(): void {
    this.n = 0;
    this.sortedUpTo = 0;
  }

  /** A copy of the pending hits in buffer order (a checkpoint; never on the hot path). */
  snapshot(): PlaneHitsState {
    const n = this.n;
    return { t: this.t.slice(0, n), strip: this.strip.slice(0, n), adc: this.adc.slice(0, n) };
  }

  /**
   * Replaces the pending hits with a snapshot's. The sorted-prefix hint starts at 0: sortByTime() rescans it,
   * and a stable sort of the same sequence gives the same order whatever the hint was.
   */
  restore(s: PlaneHitsState): void {
    const n = s.t.length;
    if (s.strip.length !== n || s.adc.length !== n) throw new Error('plane hits state: arrays of different lengths');
    this.clear();
    this.reserve(n);
    this.t.set(s.t);
    this.strip.set(s.strip);
    this.adc.set(s.adc);
    this.n = n;
  }

  /** Stable sort of all pending hits by time. */
  sortByTime(): void {
    const n = this.n;
    const t = this.t;
    let i = this.sortedUpTo > 0 ? this.sortedUpTo : 1;
    while (i < n && t[i]! >= t[i - 1]!) i++;
    if (i >= n) {
      this.sortedUpTo = n;
      return;
    }
    if (!this.insertionSort(i)) this.mergeSort();
    this.sortedUpTo = n;
  }

  /**
   * Insertion sort of [from, n) into the sorted prefix: linear when disorder is local (hits of one cluster
   * arriving in strip order, a few ns apart). Gives up (returning false, data still a valid permutation with a
   * longer sorted prefix) once it has shifted more than a few times the number of hits.
   */
  private insertionSort(from: number): boolean {
    const n = this.n;
    const t = this.t;
    const strip = this.strip;
    const adc = this.adc;
    let budget = 8 * (n - from) + 64;
    for (let i = from; i < n; i++) {
      const tv = t[i]!;
      let j = i;
      if (t[j - 1]! <= tv) continue;
      const sv = strip[i]!;
      const av = adc[i]!;
      do {
        t[j] = t[j - 1]!;
        strip[j] = strip[j - 1]!;
        adc[j] = adc[j - 1]!;
        j--;
      } while (j > 0 && t[j - 1]! > tv);
      t[j] = tv;
      strip[j] = sv;
      adc[j] = av;
      budget -= i - j;
      if (budget < 0) return false;
    }
    return true;
  }

  /** Natural bottom-up merge sort: find ascending runs, merge neighbours until one run is left. */
  private mergeSort(): void {
    const n = this.n;
    let runs = this.runs;
    let nr = 0;
    {
      const t = this.t;
      let i = 0;
      while (i < n) {
        if (nr + 2 > runs.length) {
          const r = new Int32Array(runs.length * 2);
          r.set(runs);
          runs = this.runs = r;
        }
        runs[nr++] = i;
        i++;
        while (i < n && t[i]! >= t[i - 1]!) i++;
      }
      runs[nr] = n;
    }
    let srcT = this.t, srcS = this.strip, srcA = this.adc;
    let dstT = this.st, dstS = this.ss, dstA = this.sa;
    while (nr > 1) {
      let out = 0;
      for (let r = 0; r < nr; r += 2) {
        const a0 = runs[r]!;
        const a1 = runs[r + 1]!;
        const b1 = r + 2 <= nr ? runs[Math.min(r + 2, nr)]! : a1;
        let i = a0, j = a1, k = a0;
        // Stable: on equal times the earlier run (earlier arrival) goes first.
        while (i < a1 && j < b1) {
          if (srcT[j]! < srcT[i]!) {
            dstT[k] = srcT[j]!; dstS[k] = srcS[j]!; dstA[k] = srcA[j]!; j++;
          } else {
            dstT[k] = srcT[i]!; dstS[k] = srcS[i]!; dstA[k] = srcA[i]!; i++;
          }
          k++;
        }
        while (i < a1) { dstT[k] = srcT[i]!; dstS[k] = srcS[i]!; dstA[k] = srcA[i]!; i++; k++; }
        while (j < b1) { dstT[k] = srcT[j]!; dstS[k] = srcS[j]!; dstA[k] = srcA[j]!; j++; k++; }
        runs[out++] = a0;
      }
      runs[out] = n;
      nr = out;
      [srcT, dstT] = [dstT, srcT];
      [srcS, dstS] = [dstS, srcS];
      [srcA, dstA] = [dstA, srcA];
    }
    if (srcT !== this.t) {
      // The sorted data ended up in the scratch arrays: swap roles instead of copying back.
      this.st = this.t; this.ss = this.strip; this.sa = this.adc;
      this.t = srcT; this.strip = srcS; this.adc = srcA;
    }
  }
}
