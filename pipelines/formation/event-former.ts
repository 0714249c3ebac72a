// Event formation for the strip readout: HitBatch -> EventBatch. Per plane a gap clusterer (plane-clusterer.ts),
// then a matcher that pairs X and Y clusters (after ESS's event-formation-unit GapMatcher).
//
// Release rule. Hits may arrive out of time order by up to latencyNs (several ASICs and boards). Each plane's
// clock is the latest hit time seen on it; `settled` = min(clock X, clock Y) - latencyNs is the time up to which
// every hit has arrived. A cluster closes when its last hit + timeGapNs <= settled, and a cluster is matched
// only when the other plane's frontier (plane-clusterer.ts) is past its start + matchWindowNs, so every
// candidate partner is known. Nothing depends on where batches begin or end: any split of the same hit
// stream gives the same events (tested). A hit older than what was already settled is late: dropped, counted.
// If one plane goes silent its clock stops; once a plane holds more than maxPendingHits, the later clock
// settles instead (counted as stalledSettles), so memory stays bounded.
// Clock resets. A device that restarts without sending END (power cycle, firmware reset) starts its clock
// again near 0. Without care every later hit would be older than the time already settled and dropped as
// late until the new clock passed the old one: hours of data. A hit more than clockResetNs older than the
// latest hit time seen on its plane is therefore taken as a new clock epoch: everything pending is released as at the end of a
// stream (flush), the former starts afresh, and the hit and those after it are formed in the new epoch
// (counted as clockResets). Hits only slightly late (up to clockResetNs) are still dropped as late.
//
// Matching. Clusters are taken in start-time order across both planes. The earliest one picks, among the
// unmatched clusters of the other plane starting within matchWindowNs, the partner that minimises
// |dt| / matchWindowNs + |ln(qX / qY)| (time first, charge similarity to untangle coincident photons).
// No partner: x-only / y-only. A pair is then rejected, in this order, as too wide (either cluster spans more
// than maxClusterStrips strips), too long (either lasts more than maxClusterSpanNs) or ratio (qX / qY outside
// [chargeRatioMin, chargeRatioMax]); else it becomes an event. Every cluster ends in exactly one counter:
// clustersX = events + tooWide + tooLong + ratio + xOnly (same for Y with yOnly).
//
// Output event: x = floor((cX + 0.5) * width / stripsPerPlane) (strip k covers [k, k+1) on the plane, so its
// centre is k + 0.5), clamped to [0, width); y likewise from the Y plane with height (the simulator's strip
// geometry, simulator/generators/hits.ts). adc = qX + qY, the charge of both planes: the avalanche's charge is
// shared between the planes, so the sum is the photon's whole charge (the X/Y split fluctuates, the sum does
// not), and it is the same ADC scale as an events-level stream, so one calibration serves both. Saturated at
// 65535 (counted). t = the earlier of the two cluster start times.
import { allocEventBatch, type EventBatch, type HitBatch } from '../../drivers/batches.js';
import type { DetectorConfig, FormationConfig } from '../../config/schema.js';
import { ClusterQueue } from './cluster-queue.js';
import type { EventFormerState } from './former-state.js';
import { PlaneClusterer } from './plane-clusterer.js';

export interface FormationCounters {
  hitsIn: number;
  /** plane > 1 */
  hitsBadPlane: number;
  /** strip >= stripsPerPlane */
  hitsBadStrip: number;
  /** older than the time already settled (arrived later than latencyNs allows) */
  hitsLate: number;
  clustersX: number;
  clustersY: number;
  events: number;
  xOnly: number;
  yOnly: number;
  tooWide: number;
  tooLong: number;
  ratio: number;
  adcSaturated: number;
  /** time clusters cut at the size limit instead of at a time gap (pile-up) */
  forcedCuts: number;
  /** settles driven by one plane alone because the other plane's clock stalled */
  stalledSettles: number;
  /** device clock restarts seen (a hit more than clockResetNs before its plane's latest hit time): formation restarted */
  clockResets: number;
}

/** All formation counters at zero (a hits-level stream before its first hit). */
export function zeroFormationCounters(): FormationCounters {
  return {
    hitsIn: 0, hitsBadPlane: 0, hitsBadStrip: 0, hitsLate: 0, clustersX: 0, clustersY: 0, events: 0,
    xOnly: 0, yOnly: 0, tooWide: 0, tooLong: 0, ratio: 0, adcSaturated: 0, forcedCuts: 0, stalledSettles: 0,
    clockResets: 0,
  };
}

export type FormationDetector = Pick<DetectorConfig, 'stripsPerPlane' | 'width' | 'height'>;

export interface EventFormerOptions {
  /** A plane holding more pending hits than this settles on the later clock. */
  maxPendingHits?: number;
}

export class EventFormer {
  private readonly planes: [PlaneClusterer, PlaneClusterer];
  private readonly queues: [ClusterQueue, ClusterQueue];
  private clock = new Float64Array([-Infinity, -Infinity]);
  private settled = -Infinity;
  private readonly c: FormationCounters = zeroFormationCounters();
  private out = allocEventBatch(1024);
  private readonly xScale: number;
  private readonly yScale: number;
  private readonly maxPendingHits: number;

  constructor(private readonly params: FormationConfig, private readonly detector: FormationDetector, options: EventFormerOptions = {}) {
    this.planes = [new PlaneClusterer(params.timeGapNs, params.stripGap), new PlaneClusterer(params.timeGapNs, params.stripGap)];
    this.queues = [new ClusterQueue(), new ClusterQueue()];
    this.xScale = detector.width / detector.stripsPerPlane;
    this.yScale = detector.height / detector.stripsPerPlane;
    this.maxPendingHits = options.maxPendingHits ?? 1 << 16;
  }

  /** Takes one batch of hits; returns the events that became final (possibly none). */
  push(batch: HitBatch): EventBatch {
    this.out.n = 0;
    let from = 0;
    // Each pass forms hits up to the end of the batch or up to a clock reset, which ends the epoch.
    while (from < batch.n) {
      const reset = this.ingest(batch, from);
      if (reset < 0) break;
      this.endEpoch();
      this.c.clockResets++;
      from = reset;
    }
    return this.take();
  }

  /**
   * Forms hits [from, n) of the batch, or up to the first hit that shows a clock reset; returns that hit's
   * index (the hits before it are formed and settled), or -1 when the whole rest was taken.
   */
  private ingest(batch: HitBatch, from: number): number {
    const n = batch.n;
    const plane = batch.plane;
    const strip = batch.strip;
    const adc = batch.adc;
    const t = batch.t;
    const strips = this.detector.stripsPerPlane;
    const settled = this.settled;
    const resetNs = this.params.clockResetNs;
    const b0 = this.planes[0].hits;
    const b1 = this.planes[1].hits;
    b0.reserve(n - from);
    b1.reserve(n - from);
    // The plane buffers' arrays and counts in locals for the loop (reserve() above made the room; nothing in the
    // loop reallocates them): no per-hit loads and stores of the buffers' fields.
    const t0a = b0.t, s0a = b0.strip, a0a = b0.adc;
    const t1a = b1.t, s1a = b1.strip, a1a = b1.adc;
    let n0 = b0.n;
    let n1 = b1.n;
    // Each plane's buffer is kept in stable time order as hits come in (insertion from the end: hits are
    // late by a few ns at most, usually), so sortByTime() later has nothing to do. `last` is the latest time
    // in the buffer; a hit not before it is appended. Once a plane's insertions have shifted more than a budget
    // (heavy disorder: interleaved runs), its hits are only appended from there on (`sorted` marks the sorted
    // prefix) and sortByTime() sorts the rest (merge sort). A buffer not sorted on entry (restored from a
    // checkpoint, or left so by an earlier call) is appended to.
    let budget0 = b0.sortedUpTo === n0 ? 8 * (n - from) + 64 : -1;
    let budget1 = b1.sortedUpTo === n1 ? 8 * (n - from) + 64 : -1;
    let sorted0 = b0.sortedUpTo;
    let sorted1 = b1.sortedUpTo;
    let last0 = n0 > 0 ? t0a[n0 - 1]! : -Infinity;
    let last1 = n1 > 0 ? t1a[n1 - 1]! : -Infinity;
    let c0 = this.clock[0]!;
    let c1 = this.clock[1]!;
    // Per plane, relative to the latest hit time seen on that plane (not to the settled time), so that where
    // batches are cut does not change where a reset is seen, and a plane that was silent for a while and
    // then sends its buffered, older hits is not taken for a reset by the other plane's clock.
    let reset0 = c0 - resetNs;
    let reset1 = c1 - resetNs;
    let badPlane = 0;
    let badStrip = 0;
    let late = 0;
    let reset = -1;
    let i = from;
    for (; i < n; i++) {
      const p = plane[i]!;
      const s = strip[i]!;
      const ti = t[i]!;
      if (s >= strips) {
        if (p > 1) badPlane++;
        else badStrip++;
        continue;
      }
      if (p === 0 ? ti < reset0 : p === 1 && ti < reset1) {
        reset = i;
        break;
      }
      // `!(ti > settled)` also drops NaN times.
      if (!(ti > settled)) {
        if (p > 1) badPlane++;
        else late++;
        continue;
      }
      if (p === 0) {
        if (ti >= last0 || budget0 < 0) {
          t0a[n0] = ti;
          s0a[n0] = s;
          a0a[n0] = adc[i]!;
          last0 = ti;
        } else {
          let j = n0;
          do {
            t0a[j] = t0a[j - 1]!;
            s0a[j] = s0a[j - 1]!;
            a0a[j] = a0a[j - 1]!;
            j--;
          } while (j > 0 && t0a[j - 1]! > ti);
          t0a[j] = ti;
          s0a[j] = s;
          a0a[j] = adc[i]!;
          budget0 -= n0 - j;
        }
        n0++;
        if (budget0 >= 0) sorted0 = n0;
        if (ti > c0) {
          c0 = ti;
          reset0 = ti - resetNs;
        }
      } else if (p === 1) {
        if (ti >= last1 || budget1 < 0) {
          t1a[n1] = ti;
          s1a[n1] = s;
          a1a[n1] = adc[i]!;
          last1 = ti;
        } else {
          let j = n1;
          do {
            t1a[j] = t1a[j - 1]!;
            s1a[j] = s1a[j - 1]!;
            a1a[j] = a1a[j - 1]!;
            j--;
          } while (j > 0 && t1a[j - 1]! > ti);
          t1a[j] = ti;
          s1a[j] = s;
          a1a[j] = adc[i]!;
          budget1 -= n1 - j;
        }
        n1++;
        if (budget1 >= 0) sorted1 = n1;
        if (ti > c1) {
          c1 = ti;
          reset1 = ti - resetNs;
        }
      } else badPlane++;
    }
    b0.sortedUpTo = sorted0;
    b1.sortedUpTo = sorted1;
    b0.n = n0;
    b1.n = n1;
    this.clock[0] = c0;
    this.clock[1] = c1;
    this.c.hitsIn += i - from;
    this.c.hitsBadPlane += badPlane;
    this.c.hitsBadStrip += badStrip;
    this.c.hitsLate += late;

    let st = Math.min(c0, c1) - this.params.latencyNs;
    if (b0.n > this.maxPendingHits || b1.n > this.maxPendingHits) {
      const s2 = Math.max(c0, c1) - this.params.latencyNs;
      if (s2 > st) {
        st = s2;
        this.c.stalledSettles++;
      }
    }
    if (st > this.settled) {
      this.settled = st;
      this.advance(st);
    }
    return reset;
  }

  /** End of stream: everything still pending is final. The former is then ready for a new stream. */
  flush(): EventBatch {
    this.out.n = 0;
    this.endEpoch();
    return this.take();
  }

  /** Releases everything pending into `out` and forgets the clocks (end of stream or clock reset). */
  private endEpoch(): void {
    this.advance(Infinity);
    this.clock[0] = -Infinity;
    this.clock[1] = -Infinity;
    this.settled = -Infinity;
    this.planes[0].hits.clear();
    this.planes[1].hits.clear();
    this.queues[0].clear();
    this.queues[1].clear();
  }

  counters(): FormationCounters {
    const [px, py] = this.planes;
    return { ...this.c, clustersX: px.clusters, clustersY: py.clusters, forcedCuts: px.forcedCuts + py.forcedCuts };
  }

  /**
   * Everything pending (plane hits, queued clusters, clocks, settled time, counters), copied: a former
   * restored from it forms exactly the events this one would from the same later hits. For checkpoints only
   * (it copies the pending state); the hot path never calls it.
   */
  snapshot(): EventFormerState {
    return {
      times: new Float64Array([this.clock[0]!, this.clock[1]!, this.settled]),
      counters: { ...this.c },
      planes: [this.planes[0].snapshot(), this.planes[1].snapshot()],
      queues: [this.queues[0].snapshot(), this.queues[1].snapshot()],
    };
  }

  /** Takes a snapshot's state (from a former with the same parameters; the caller checks that). */
  restore(s: EventFormerState): void {
    if (s.times.length !== 3) throw new Error('event former state: times must hold 3 values');
    this.planes[0].restore(s.planes[0]);
    this.planes[1].restore(s.planes[1]);
    this.queues[0].restore(s.queues[0]);
    this.queues[1].restore(s.queues[1]);
    this.clock[0] = s.times[0]!;
    this.clock[1] = s.times[1]!;
    this.settled = s.times[2]!;
    Object.assign(this.c, s.counters);
    this.out.n = 0;
  }

  /** Hits waiting in the plane buffers (not yet in a closed cluster). */
  get pendingHits(): number {
    return this.planes[0].hits.n + this.planes[1].hits.n;
  }

  private advance(settled: number): void {
    const fx = this.planes[0].process(settled, this.queues[0]);
    const fy = this.planes[1].process(settled, this.queues[1]);
    this.match(fx, fy);
  }

  /**
   * Decides clusters in start-time order while every candidate partner is known. The queues' arrays, heads and
   * the counters live in locals here (nothing in the loop reallocates the queues). A partner's cost (a log) is
   * computed only when there are two or more candidates: a lone candidate is the best whatever its cost, as
   * every cost is finite (times within the window of a finite start, a finite |log| of a charge ratio or 1e9).
   */
  private match(frontierX: number, frontierY: number): void {
    const qx = this.queues[0];
    const qy = this.queues[1];
    const win = this.params.matchWindowNs;
    const xStart = qx.tStart;
    const yStart = qy.tStart;
    const xCharge = qx.charge;
    const yCharge = qy.charge;
    const xUsed = qx.used;
    const yUsed = qy.used;
    const nx = qx.n;
    const ny = qy.n;
    let hx = qx.head;
    let hy = qy.head;
    let xOnly = 0;
    let yOnly = 0;
    // The pair's checks and the event (see the header): queue arrays, limits and counters in locals too.
    const xSpan = qx.span;
    const ySpan = qy.span;
    const xEnd = qx.tEnd;
    const yEnd = qy.tEnd;
    const xCentroid = qx.centroid;
    const yCentroid = qy.centroid;
    const p = this.params;
    const maxStrips = p.maxClusterStrips;
    const maxSpanNs = p.maxClusterSpanNs;
    const ratioMin = p.chargeRatioMin;
    const ratioMax = p.chargeRatioMax;
    const xScale = this.xScale;
    const yScale = this.yScale;
    const w = this.detector.width;
    const h = this.detector.height;
    let tooWide = 0;
    let tooLong = 0;
    let ratio = 0;
    let saturated = 0;
    let events = 0;
    let out = this.out;
    let k = out.n;
    for (;;) {
      while (hx < nx && xUsed[hx] === 1) hx++;
      while (hy < ny && yUsed[hy] === 1) hy++;
      const ax = hx < nx;
      const ay = hy < ny;
      if (!ax && !ay) break;
      // Earliest head; X first on equal start times.
      const takeX = ax && (!ay || xStart[hx]! <= yStart[hy]!);
      const i = takeX ? hx : hy;
      const tc = takeX ? xStart[hx]! : yStart[hy]!;
      if (!(tc + win < (takeX ? frontierY : frontierX))) break;
      const qc = takeX ? xCharge[hx]! : yCharge[hy]!;
      const oStart = takeX ? yStart : xStart;
      const oUsed = takeX ? yUsed : xUsed;
      const oCharge = takeX ? yCharge : xCharge;
      const oEnd = takeX ? ny : nx;
      // Best partner among the other plane's unmatched clusters starting within the window.
      let first = -1;
      let best = -1;
      let bestCost = Infinity;
      for (let j = takeX ? hy : hx; j < oEnd; j++) {
        const tj = oStart[j]!;
        if (tj - tc > win) break;
        if (oUsed[j] === 1 || tc - tj > win) continue;
        if (first < 0) {
          first = j;
          continue;
        }
        if (best < 0) {
          const q1 = oCharge[first]!;
          bestCost = Math.abs(oStart[first]! - tc) / win + (qc > 0 && q1 > 0 ? Math.abs(Math.log(qc / q1)) : 1e9);
          best = first;
        }
        const qo = oCharge[j]!;
        const chargeCost = qc > 0 && qo > 0 ? Math.abs(Math.log(qc / qo)) : 1e9;
        const cost = Math.abs(tj - tc) / win + chargeCost;
        if (cost < bestCost) {
          bestCost = cost;
          best = j;
        }
      }
      if (best < 0) best = first;
      if (takeX) xUsed[i] = 1;
      else yUsed[i] = 1;
      if (best < 0) {
        if (takeX) xOnly++;
        else yOnly++;
        continue;
      }
      oUsed[best] = 1;
      const ix = takeX ? i : best;
      const iy = takeX ? best : i;
      if (xSpan[ix]! > maxStrips || ySpan[iy]! > maxStrips) {
        tooWide++;
        continue;
      }
      const tx = xStart[ix]!;
      const ty = yStart[iy]!;
      if (xEnd[ix]! - tx > maxSpanNs || yEnd[iy]! - ty > maxSpanNs) {
        tooLong++;
        continue;
      }
      const chX = xCharge[ix]!;
      const chY = yCharge[iy]!;
      const r = chX / chY;
      if (!(r >= ratioMin && r <= ratioMax)) {
        ratio++;
        continue;
      }
      // Grow first, then take the (possibly new) batch: writing into the batch read before growOut() lost one
      // event per growth (the write landed past the old batch's end and its count went to the discarded batch).
      if (k === out.x.length) {
        out.n = k;
        this.growOut();
        out = this.out;
      }
      let x = Math.floor((xCentroid[ix]! + 0.5) * xScale);
      let y = Math.floor((yCentroid[iy]! + 0.5) * yScale);
      x = x < 0 ? 0 : x >= w ? w - 1 : x;
      y = y < 0 ? 0 : y >= h ? h - 1 : y;
      out.x[k] = x;
      out.y[k] = y;
      let a = chX + chY; // integer ADC sums
      if (a > 65535) {
        a = 65535;
        saturated++;
      }
      out.adc[k] = a;
      out.t[k] = tx < ty ? tx : ty;
      k++;
      events++;
    }
    out.n = k;
    qx.head = hx;
    qy.head = hy;
    const c = this.c;
    c.xOnly += xOnly;
    c.yOnly += yOnly;
    c.tooWide += tooWide;
    c.tooLong += tooLong;
    c.ratio += ratio;
    c.adcSaturated += saturated;
    c.events += events;
  }

  private growOut(): void {
    const old = this.out;
    const b = allocEventBatch(old.x.length * 2);
    b.x.set(old.x);
    b.y.set(old.y);
    b.adc.set(old.adc);
    b.t.set(old.t);
    b.n = old.n;
    this.out = b;
  }

  /** Copies the released events into a batch of their own (the consumer may keep it). */
  private take(): EventBatch {
    const o = this.out;
    const n = o.n;
    return { kind: 'events', n, x: o.x.slice(0, n), y: o.y.slice(0, n), adc: o.adc.slice(0, n), t: o.t.slice(0, n) };
  }
}
