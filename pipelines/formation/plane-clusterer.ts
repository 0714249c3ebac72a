// Gap clusterer for one plane (after ESS's event-formation-unit GapClusterer): time-sorted hits are cut into
// time clusters where consecutive hits are more than timeGapNs apart, then each time cluster is sorted by strip
// and cut where neighbouring strips are more than stripGap apart. A time cluster is closed (and its strip
// clusters queued) only when no hit that could still arrive can join it: its last hit + timeGapNs <= settled,
// where `settled` is the time up to which all hits are known to have arrived.
import type { ClusterQueue } from './cluster-queue.js';
import type { PlaneClustererState } from './former-state.js';
import { PlaneBuffer } from './plane-buffer.js';

/** A time cluster longer than this many hits is cut here (counted): bounds memory and work under pile-up. */
export const MAX_TIME_CLUSTER_HITS = 4096;
// Sort key of a hit in its time cluster: strip (16 bits) << KEY_SHIFT | its index in the cluster (< 2^13):
// at most 2^29, a positive int32.
const KEY_SHIFT = 13;
const KEY_MASK = (1 << KEY_SHIFT) - 1;
/** Strip clusters of one time cluster split without sorting: at most one per strip offset in [0, 255]. */
const MASK_STRIPS = 256;

export class PlaneClusterer {
  readonly hits = new PlaneBuffer();
  /** Time clusters cut at MAX_TIME_CLUSTER_HITS instead of at a gap. */
  forcedCuts = 0;
  /** Strip clusters queued so far. */
  clusters = 0;
  /** Sort keys of one time cluster: strip << KEY_SHIFT | index in the cluster (m <= MAX_TIME_CLUSTER_HITS). */
  private keys = new Int32Array(MAX_TIME_CLUSTER_HITS);
  // The cluster id of each strip offset of one time cluster, and per strip cluster its lowest and highest
  // offset, charge sums, first and last time and hit count.
  private readonly clusterOf = new Uint8Array(MASK_STRIPS);
  private readonly words = new Int32Array(MASK_STRIPS >>> 5);
  private readonly subLo = new Int32Array(MASK_STRIPS);
  private readonly subHi = new Int32Array(MASK_STRIPS);
  private readonly subCharge = new Float64Array(MASK_STRIPS);
  private readonly subMoment = new Float64Array(MASK_STRIPS);
  private readonly subStart = new Float64Array(MASK_STRIPS);
  private readonly subEnd = new Float64Array(MASK_STRIPS);
  private readonly subHits = new Int32Array(MASK_STRIPS);

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

  /**
   * Cuts hits [i, j) (one time cluster, sorted by time) into strip clusters where neighbouring hit strips are
   * more than stripGap apart, and queues them in start-time order (stable: equal starts keep strip order),
   * written straight into the queue's arrays.
   *
   * No comparison sort in the usual case. One pass gives the strip range and the charge sums; a range within
   * stripGap is one cluster. Else, for a range under MASK_STRIPS, a bit per strip offset marks the strips hit,
   * the set bits in order give the clusters (a new one where the next set bit is more than stripGap above),
   * and a second pass adds each hit to its cluster. Wider ranges take the sort on packed (strip, index) keys.
   * Same results as sorting by strip: the charge sums are sums of integers (exact in any order), and as the
   * hits are in time order a cluster's first hit is its start and its last its end. Only which of -0 and +0
   * is the start depends on the order the hits are visited in, so a time cluster spanning time 0 sorts.
   */
  private splitByStrip(i: number, j: number, out: ClusterQueue): void {
    const buf = this.hits;
    const t = buf.t;
    const strip = buf.strip;
    const adc = buf.adc;
    const m = j - i;
    // At most m strip clusters: room for them first, then the queue's arrays are stable for this call.
    out.reserve(m);
    const qStart = out.tStart;
    const qEnd = out.tEnd;
    const qCentroid = out.centroid;
    const qCharge = out.charge;
    const qSpan = out.span;
    const qHits = out.hits;
    const qUsed = out.used;
    const base = out.n;
    const tFirst = t[i]!;
    const tLast = t[j - 1]!;
    // Pass 1, without data-dependent branches (random strip order would mispredict them): the charge sums and
    // a bit per strip offset from 15 strips below the first hit's strip.
    const sRef = strip[i]! - 15;
    let mask = 0;
    let wide = 0;
    let qAll = 0;
    let qsAll = 0;
    for (let h = i; h < j; h++) {
      const s = strip[h]!;
      const a = adc[h]!;
      qAll += a;
      qsAll += a * s;
      const d = s - sRef;
      wide |= d;
      mask |= 1 << d;
    }
    const stripGap = this.stripGap;
    // Every offset in [0, 30] (none negative or past 31, bit 31 clear) and no time 0 in the cluster.
    if ((wide & ~31) === 0 && mask >= 0 && !(tFirst <= 0 && tLast >= 0)) {
      const low = 31 - Math.clz32(mask & -mask);
      const high = 31 - Math.clz32(mask);
      let one = high - low <= stripGap;
      if (!one) {
        // One cluster when every offset from low to high is within stripGap - 1 above a strip hit.
        let cover = mask;
        for (let k = 1; k < stripGap; k++) cover |= mask << k;
        const full = (-1 >>> (31 - high)) & (-1 << low);
        one = (cover & full) === full;
      }
      if (one) {
        const lo = sRef + low;
        const hi = sRef + high;
        qStart[base] = tFirst;
        qEnd[base] = tLast;
        // Zero total charge (all-zero ADC): fall back to the unweighted centre of the strips spanned.
        qCentroid[base] = qAll > 0 ? qsAll / qAll : (lo + hi) / 2;
        qCharge[base] = qAll;
        qSpan[base] = hi - lo + 1;
        qHits[base] = m;
        qUsed[base] = 0;
        out.n = base + 1;
        this.clusters++;
        return;
      }
      // Several strip clusters: ids by offset in strip order (a new one where the next strip hit is more
      // than stripGap above), then a pass adding each hit to its cluster.
      const id = this.clusterOf;
      const cLo = this.subLo;
      const cHi = this.subHi;
      let nc = 0;
      let prev = -64;
      let bits = mask;
      while (bits !== 0) {
        const bit = bits & -bits;
        bits ^= bit;
        const o = 31 - Math.clz32(bit);
        if (o - prev > stripGap) cLo[nc++] = o;
        cHi[nc - 1] = o;
        id[o] = nc - 1;
        prev = o;
      }
      this.addLabelled(i, j, sRef, nc, out);
      return;
    }

    // Wider: the same with a bit per offset from 128 strips below the first hit's strip, in words.
    if (!(tFirst <= 0 && tLast >= 0)) {
      const sRef2 = strip[i]! - 128;
      const words = this.words;
      for (let w = 0; w < 8; w++) words[w] = 0;
      let wide2 = 0;
      for (let h = i; h < j; h++) {
        const d = strip[h]! - sRef2;
        wide2 |= d;
        words[(d >>> 5) & 7] |= 1 << d;
      }
      if ((wide2 & ~255) === 0) {
        const id = this.clusterOf;
        const cLo = this.subLo;
        const cHi = this.subHi;
        let nc = 0;
        let prev = -512;
        for (let w = 0; w < 8; w++) {
          let bits = words[w]!;
          while (bits !== 0) {
            const bit = bits & -bits;
            bits ^= bit;
            const o = (w << 5) | (31 - Math.clz32(bit));
            if (o - prev > stripGap) cLo[nc++] = o;
            cHi[nc - 1] = o;
            id[o] = nc - 1;
            prev = o;
          }
        }
        this.addLabelled(i, j, sRef2, nc, out);
        return;
      }
    }

    // Sort on (strip, index) keys: hits of one strip stay in time order, as in a stable sort by strip.
    if (this.keys.length < m) this.keys = new Int32Array(m);
    const keys = this.keys;
    if (m <= 32) {
      // Insertion sort (time clusters are a handful of hits); keys are distinct, so this is the stable order.
      for (let k = 0; k < m; k++) {
        const key = (strip[i + k]! << KEY_SHIFT) | k;
        let p = k;
        while (p > 0 && keys[p - 1]! > key) {
          keys[p] = keys[p - 1]!;
          p--;
        }
        keys[p] = key;
      }
    } else {
      // Large (pile-up) clusters: native numeric sort of the keys.
      for (let k = 0; k < m; k++) keys[k] = (strip[i + k]! << KEY_SHIFT) | k;
      keys.subarray(0, m).sort();
    }

    let ns = 0;
    let k = 0;
    while (k < m) {
      let key = keys[k]!;
      const s0 = key >>> KEY_SHIFT;
      let last = s0;
      let q = 0;
      let qs = 0;
      let t0 = Infinity;
      let t1 = -Infinity;
      let count = 0;
      while (true) {
        const h = i + (key & KEY_MASK);
        const a = adc[h]!;
        const th = t[h]!;
        q += a;
        qs += a * last;
        if (th < t0) t0 = th;
        if (th > t1) t1 = th;
        count++;
        k++;
        if (k === m) break;
        key = keys[k]!;
        const s = key >>> KEY_SHIFT;
        if (s - last > stripGap) break;
        last = s;
      }
      // Zero total charge (all-zero ADC): fall back to the unweighted centre of the strips spanned.
      const centroid = q > 0 ? qs / q : (s0 + last) / 2;
      // Insert in start-time order (stable: equal starts keep strip order).
      let p = base + ns++;
      qUsed[p] = 0;
      while (p > base && qStart[p - 1]! > t0) {
        qStart[p] = qStart[p - 1]!;
        qEnd[p] = qEnd[p - 1]!;
        qCentroid[p] = qCentroid[p - 1]!;
        qCharge[p] = qCharge[p - 1]!;
        qSpan[p] = qSpan[p - 1]!;
        qHits[p] = qHits[p - 1]!;
        p--;
      }
      qStart[p] = t0;
      qEnd[p] = t1;
      qCentroid[p] = centroid;
      qCharge[p] = q;
      qSpan[p] = last - s0 + 1;
      qHits[p] = count;
    }
    out.n = base + ns;
    this.clusters += ns;
  }

  /**
   * Given cluster ids by strip offset from sRef (clusterOf) and each cluster's lowest and highest offset
   * (subLo, subHi), adds each hit of [i, j) to its cluster and queues the nc clusters in start-time order
   * (stable: equal starts keep strip order). The hits are in time order: a cluster's first hit is its start,
   * its last its end. The caller reserved room for j - i clusters.
   */
  private addLabelled(i: number, j: number, sRef: number, nc: number, out: ClusterQueue): void {
    const buf = this.hits;
    const t = buf.t;
    const strip = buf.strip;
    const adc = buf.adc;
    const id = this.clusterOf;
    const cLo = this.subLo;
    const cHi = this.subHi;
    const qStart = out.tStart;
    const qEnd = out.tEnd;
    const qCentroid = out.centroid;
    const qCharge = out.charge;
    const qSpan = out.span;
    const qHits = out.hits;
    const qUsed = out.used;
    const base = out.n;
    const cq = this.subCharge;
    const cqs = this.subMoment;
    const ct0 = this.subStart;
    const ct1 = this.subEnd;
    const cn = this.subHits;
    for (let c = 0; c < nc; c++) cn[c] = 0;
    for (let h = i; h < j; h++) {
      const s = strip[h]!;
      const a = adc[h]!;
      const c = id[s - sRef]!;
      const th = t[h]!;
      // Hits in time order: a cluster's first hit is its start, its last its end.
      if (cn[c] === 0) {
        ct0[c] = th;
        cq[c] = a;
        cqs[c] = a * s;
      } else {
        cq[c] += a;
        cqs[c] += a * s;
      }
      ct1[c] = th;
      cn[c]++;
    }
    for (let c = 0; c < nc; c++) {
      const t0 = ct0[c]!;
      const q = cq[c]!;
      const s0 = sRef + cLo[c]!;
      const last = sRef + cHi[c]!;
      const centroid = q > 0 ? cqs[c]! / q : (s0 + last) / 2;
      // Insert in start-time order (stable: equal starts keep strip order).
      let p = base + c;
      qUsed[p] = 0;
      while (p > base && qStart[p - 1]! > t0) {
        qStart[p] = qStart[p - 1]!;
        qEnd[p] = qEnd[p - 1]!;
        qCentroid[p] = qCentroid[p - 1]!;
        qCharge[p] = qCharge[p - 1]!;
        qSpan[p] = qSpan[p - 1]!;
        qHits[p] = qHits[p - 1]!;
        p--;
      }
      qStart[p] = t0;
      qEnd[p] = ct1[c]!;
      qCentroid[p] = centroid;
      qCharge[p] = q;
      qSpan[p] = last - s0 + 1;
      qHits[p] = cn[c]!;
    }
    out.n = base + nc;
    this.clusters += nc;
  }

}
