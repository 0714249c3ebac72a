// Reference copy (commit d94f41d) for the differential test and the formation bench: see event-former.ts here.
// Gap clusterer for one plane (after ESS's event-formation-unit GapClusterer): time-sorted hits are cut into
// time clusters where consecutive hits are more than timeGapNs apart, then each time cluster is sorted by strip
// and cut where neighbouring strips are more than stripGap apart. A time cluster is closed (and its strip
// clusters queued) only when no hit that could still arrive can join it: its last hit + timeGapNs <= settled,
// where `settled` is the time up to which all hits are known to have arrived.
import type { ClusterQueue } from './cluster-queue.js';
import type { PlaneClustererState } from '../../../../../pipelines/formation/former-state.js';
import { PlaneBuffer } from './plane-buffer.js';

/** A time cluster longer than this many hits is cut here (counted): bounds memory and work under pile-up. */
export const MAX_TIME_CLUSTER_HITS = 4096;

export class PlaneClusterer {
  readonly hits = new PlaneBuffer();
  /** Time clusters cut at MAX_TIME_CLUSTER_HITS instead of at a gap. */
  forcedCuts = 0;
  /** Strip clusters queued so far. */
  clusters = 0;
  private order = new Int32Array(256);
  private keys = new Float64Array(256);
  // Strip clusters of the current time cluster, before they are queued in start-time order.
  private subStart = new Float64Array(64);
  private subEnd = new Float64Array(64);
  private subCentroid = new Float64Array(64);
  private subCharge = new Float64Array(64);
  private subSpan = new Int32Array(64);
  private subHits = new Int32Array(64);

  constructor(private readonly timeGapNs: number, private readonly stripGap: number) {}

  snapshot(): PlaneClustererState {
    return { hits: this.hits.snapshot(), forcedCuts: this.forcedCuts, clusters: this.clusters };
  }

  restore(s: PlaneClustererState): void {
    this.hits.restore(s.hits);
    this.forcedCuts = s.forcedCuts;
    this.clusters = s.clusters;
  }

  /**
   * Closes every time cluster that can no longer grow, pushes its strip clusters to `out` and drops its hits.
   * Returns the plane's frontier: every cluster that will ever start before it is now in `out`.
   */
  process(settled: number, out: ClusterQueue): number {
    const buf = this.hits;
    buf.sortByTime();
    const n = buf.n;
    const t = buf.t;
    const gap = this.timeGapNs;
    let i = 0;
    while (i < n) {
      let j = i + 1;
      let prev = t[i]!;
      let cut = false;
      while (j < n) {
        const tj = t[j]!;
        if (tj - prev > gap) break;
        if (j - i >= MAX_TIME_CLUSTER_HITS) {
          cut = true;
          break;
        }
        prev = tj;
        j++;
      }
      // [i, j) is a time cluster; closed if nothing still to come can join it (or cut at the size limit).
      if (!cut && !(prev + gap <= settled)) break;
      if (cut) this.forcedCuts++;
      this.splitByStrip(i, j, out);
      i = j;
    }
    buf.dropFront(i);
    return buf.n > 0 ? Math.min(buf.t[0]!, settled) : settled;
  }

  /** Sorts hits [i, j) by strip, cuts on strip gaps, queues the strip clusters in start-time order. */
  private splitByStrip(i: number, j: number, out: ClusterQueue): void {
    const buf = this.hits;
    const t = buf.t;
    const strip = buf.strip;
    const adc = buf.adc;
    const m = j - i;
    if (m === 1) {
      this.clusters++;
      out.push(t[i]!, t[i]!, strip[i]!, adc[i]!, 1, 1);
      return;
    }
    if (this.order.length < m) {
      this.order = new Int32Array(Math.max(m, this.order.length * 2));
      this.keys = new Float64Array(this.order.length);
    }
    const order = this.order;
    if (m <= 32) {
      // Insertion sort by strip (stable): time clusters are a handful of hits.
      for (let k = 0; k < m; k++) {
        const h = i + k;
        const s = strip[h]!;
        let p = k;
        while (p > 0 && strip[order[p - 1]!]! > s) {
          order[p] = order[p - 1]!;
          p--;
        }
        order[p] = h;
      }
    } else {
      // Large (pile-up) clusters: native numeric sort of packed (strip, index) keys.
      const keys = this.keys.subarray(0, m);
      for (let k = 0; k < m; k++) keys[k] = strip[i + k]! * 4294967296 + (i + k);
      keys.sort();
      for (let k = 0; k < m; k++) order[k] = keys[k]! % 4294967296;
    }

    let ns = 0;
    const stripGap = this.stripGap;
    let k = 0;
    while (k < m) {
      let h = order[k]!;
      const s0 = strip[h]!;
      let last = s0;
      let q = 0;
      let qs = 0;
      let t0 = Infinity;
      let t1 = -Infinity;
      let count = 0;
      while (true) {
        const a = adc[h]!;
        const s = strip[h]!;
        const th = t[h]!;
        q += a;
        qs += a * s;
        if (th < t0) t0 = th;
        if (th > t1) t1 = th;
        count++;
        last = s;
        k++;
        if (k === m) break;
        h = order[k]!;
        if (strip[h]! - last > stripGap) break;
      }
      // Zero total charge (all-zero ADC): fall back to the unweighted centre of the strips spanned.
      const centroid = q > 0 ? qs / q : (s0 + last) / 2;
      if (ns === this.subStart.length) this.growSub();
      // Insert in start-time order (stable: equal starts keep strip order).
      let p = ns++;
      while (p > 0 && this.subStart[p - 1]! > t0) {
        this.subStart[p] = this.subStart[p - 1]!;
        this.subEnd[p] = this.subEnd[p - 1]!;
        this.subCentroid[p] = this.subCentroid[p - 1]!;
        this.subCharge[p] = this.subCharge[p - 1]!;
        this.subSpan[p] = this.subSpan[p - 1]!;
        this.subHits[p] = this.subHits[p - 1]!;
        p--;
      }
      this.subStart[p] = t0;
      this.subEnd[p] = t1;
      this.subCentroid[p] = centroid;
      this.subCharge[p] = q;
      this.subSpan[p] = last - s0 + 1;
      this.subHits[p] = count;
    }
    this.clusters += ns;
    for (let c = 0; c < ns; c++)
      out.push(this.subStart[c]!, this.subEnd[c]!, this.subCentroid[c]!, this.subCharge[c]!, this.subSpan[c]!, this.subHits[c]!);
  }

  private growSub(): void {
    const cap = this.subStart.length * 2;
    const g64 = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b; };
    const g32 = (a: Int32Array) => { const b = new Int32Array(cap); b.set(a); return b; };
    this.subStart = g64(this.subStart);
    this.subEnd = g64(this.subEnd);
    this.subCentroid = g64(this.subCentroid);
    this.subCharge = g64(this.subCharge);
    this.subSpan = g32(this.subSpan);
    this.subHits = g32(this.subHits);
  }
}
